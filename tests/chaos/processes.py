"""The real processes the fault tests break: the Temporal dev server and the worker, each a
subprocess of the test that can be stopped, killed with SIGKILL and started again."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from temporalio.client import Client

from engine.settings import Settings
from engine.temporal import register_search_attributes
from entrypoints.local import start_dev_server, wait_for_server
from tests.ports import free_port

REPO = Path(__file__).resolve().parents[2]
STARTUP_WAIT = 60.0  # seconds; generous, the machine is shared with other test runs


def _stop(process: subprocess.Popen | None, sig: int = signal.SIGTERM, wait: float = 20) -> None:
    """Stop one process we started (and its session: the dev server has no children, but a
    worker started through a console script might)."""
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, sig)
    try:
        process.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=wait)


class DevServer:
    """`temporal server start-dev` on a loopback port, its state in a SQLite file, so a stop and a
    start keep every workflow and every pending timer (as `complaints run` does)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    async def start(self, settings: Settings) -> Client:
        """Start it (again, on the same port and file) and return a client made with `settings`
        (the workers' own, so it shares their payload codec) once it answers."""
        self.process = start_dev_server(self.directory, self.port, "default", ui_port=None)
        client = await wait_for_server(settings, self.process)
        # Known ones are left alone, so this is also right after a restart.
        await register_search_attributes(client, "default")
        return client

    def stop(self) -> None:
        """A graceful stop, as an operator's Ctrl-C or a host shutdown does."""
        _stop(self.process)


class WorkerProcess:
    """`complaints worker` as its own process, configured only through COMPLAINTS_* variables,
    logging JSON lines to a file the test reads."""

    def __init__(self, directory: Path, settings: dict[str, str], name: str = "worker") -> None:
        self.directory = directory
        self.settings = settings
        self.name = name
        self.runs: list[Path] = []  # one log file per start
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        log_file = self.directory / f"{self.name}-{len(self.runs) + 1}.log"
        self.runs.append(log_file)
        # Nothing of the caller's COMPLAINTS_* configuration leaks in (an SMTP host, say).
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMPLAINTS_")}
        env |= {"COMPLAINTS_LOG_FORMAT": "json", **self.settings}
        with log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).parent / "complaints"), "worker"],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )

    async def wait_started(self) -> None:
        await wait_until(
            lambda: self.logged(
                lambda line: line.get("event") == "worker started", run=len(self.runs)
            ),
            f"{self.name} logs 'worker started' (log: {self.runs[-1]})",
            timeout=STARTUP_WAIT,
            also=self.check_alive,
        )

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(
                f"{self.name} exited with {self.process.returncode}; see {self.runs[-1]}"
            )

    def kill(self) -> None:
        """SIGKILL: no handler runs, in-flight activities and transactions are cut short."""
        _stop(self.process, signal.SIGKILL)

    def stop(self) -> None:
        _stop(self.process)

    def lines(self, run: int | None = None) -> list[dict]:
        """The JSON log lines of one start (1-based), or of every start."""
        files = self.runs if run is None else [self.runs[run - 1]]
        out = []
        for path in files:
            for raw in path.read_text(errors="replace").splitlines():
                try:
                    out.append(json.loads(raw))
                except json.JSONDecodeError:
                    out.append({"event": raw})  # e.g. a traceback printed before logging is set
        return out

    def logged(self, match: Callable[[dict], bool], run: int | None = None) -> list[dict]:
        return [line for line in self.lines(run) if match(line)]


async def wait_until(
    condition: Callable[[], object],
    what: str,
    timeout: float,
    interval: float = 0.25,
    also: Callable[[], None] | None = None,
) -> object:
    """Poll `condition` until it is truthy (returning it); fail naming `what` after `timeout`.
    `also` runs each round to fail early, e.g. when a process we wait on has died."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if also is not None:
            also()
        result = condition()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"gave up after {timeout:.0f} s waiting until {what}")
        await asyncio.sleep(interval)
