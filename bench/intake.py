"""Intake throughput and latency of the embedded engine, beside a bare one-activity workflow.

Starts `complaints run` (dev server, worker, API) on free loopback ports with a throw-away data
directory, submits N complaints over HTTP with C in flight, then starts N bare one-activity
workflows on the same server with the same concurrency, and prints both and their ratio; between
them, Temporal's own floor for intake (bench/floor_workflow.py: registered by update-with-start,
nothing of the engine's) and the engine's share of it.

    .venv/bin/python bench/intake.py [-n 300] [-c 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
from temporalio.client import Client
from temporalio.worker import Worker

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bare_workflow import BareWorkflow, touch  # noqa: E402
from floor_workflow import floor_worker, register  # noqa: E402

from api.keys import Role, append_entry, new_key  # noqa: E402
from engine.settings import Settings  # noqa: E402
from engine.temporal import connect  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def timed(n: int, concurrency: int, one) -> tuple[list[float], float]:
    """Run one(i) for i < n with `concurrency` in flight: per-call latencies and wall time."""
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def call(i: int) -> None:
        async with gate:
            start = time.perf_counter()
            await one(i)
            latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(call(i) for i in range(n)))
    return latencies, time.perf_counter() - start


def summary(name: str, latencies: list[float], wall: float, cpu: dict | None = None) -> dict:
    """Print and return a phase's row; `cpu` (CpuMeter.spent) adds its CPU per item."""
    cuts = statistics.quantiles(latencies, n=20)
    row = {
        "name": name,
        "p50": cuts[9] * 1000,
        "p95": cuts[18] * 1000,
        "rate": len(latencies) / wall,
    }
    line = f"{name:<28} p50 {row['p50']:7.1f} ms   p95 {row['p95']:7.1f} ms   {row['rate']:6.1f} /s"
    if cpu is not None:
        line += f"   CPU per item {cpu_per_item(cpu, len(latencies))}"
    print(line)
    return row


def cpu_per_item(spent: dict[str, float], n: int) -> str:
    """CpuMeter.spent over `n` items, as "engine 7.5 ms, server 7.8 ms, bench 0.1 ms"."""
    return ", ".join(f"{who} {seconds * 1000 / n:.1f} ms" for who, seconds in spent.items())


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds process `pid` has used (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


class CpuMeter:
    """CPU each process spends in a phase: the engine (`complaints run`), its Temporal dev server
    and this bench (the bare and floor workers run here). On a machine whose cores are all busy
    the throughput ratios follow these: they say who a slower phase is waiting for."""

    def __init__(self, engine_pid: int) -> None:
        (server,) = children(engine_pid)  # the dev server `complaints run` started
        self._pids = {"engine": engine_pid, "server": server}

    def read(self) -> dict[str, float]:
        spent = {who: cpu_seconds(pid) for who, pid in self._pids.items()}
        return spent | {"bench": cpu_seconds(os.getpid())}

    def spent(self, since: dict[str, float]) -> dict[str, float]:
        return {who: seconds - since[who] for who, seconds in self.read().items()}


def start_engine(
    data: Path, api_port: int, temporal_port: int, log: Path | None = None, **env: str
) -> subprocess.Popen:
    """`complaints run` on loopback ports with `data` as its data directory (and `env` as extra
    COMPLAINTS_* settings); no inbound mail receiver, so no fixed port is taken. Its output goes
    to the file `log` when given; else its stderr is ours and its stdout is dropped."""
    command = [str(Path(sys.executable).parent / "complaints"), "run", "--port", str(api_port),
               "--temporal-port", str(temporal_port), "--data-dir", str(data)]  # fmt: skip
    settings = {"COMPLAINTS_LOG_LEVEL": "WARNING", "COMPLAINTS_MAIL_IN_PORT": "0", **env}
    if log is None:
        return subprocess.Popen(command, env={**os.environ, **settings}, stdout=subprocess.DEVNULL)
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            command, env={**os.environ, **settings}, stdout=out, stderr=subprocess.STDOUT
        )


def stop_engine(engine: subprocess.Popen, data: Path) -> None:
    """Stop `complaints run` as Ctrl-C does, and throw its data directory away."""
    engine.send_signal(signal.SIGINT)
    engine.wait(timeout=60)
    shutil.rmtree(data, ignore_errors=True)


async def wait_ready(http: httpx.AsyncClient) -> None:
    """Until the engine answers /readyz with 200 (a minute at most)."""
    for _ in range(240):
        try:
            if (await http.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.25)
    raise SystemExit("the engine did not become ready")


def engine_settings(data: Path, temporal_port: int) -> Settings:
    """The settings of the engine `start_engine` runs on `data` and `temporal_port`."""
    return Settings(data_dir=data, temporal_address=f"127.0.0.1:{temporal_port}")


async def engine_client(data: Path, temporal_port: int) -> Client:
    """A client of the engine's own server, through the engine's own connect: the codec's keys
    are in the run's data directory."""
    return await connect(engine_settings(data, temporal_port))


async def measured(name: str, n: int, concurrency: int, one, meter: CpuMeter | None) -> dict:
    """timed() and summary() of one phase, with the CPU each process spent given a `meter`."""
    before = meter.read() if meter else None
    latencies, wall = await timed(n, concurrency, one)
    return summary(name, latencies, wall, meter.spent(before) if meter else None)


async def bare_baseline(
    data: Path, temporal_port: int, n: int, concurrency: int, meter: CpuMeter | None = None
) -> dict:
    """The yardstick: N bare one-activity workflows on the engine's own server, `concurrency`
    in flight; their summary row (with the CPU each process spent, given a `meter`)."""
    client = await engine_client(data, temporal_port)
    queue = f"bench-{uuid.uuid4().hex}"
    async with Worker(client, task_queue=queue, workflows=[BareWorkflow], activities=[touch]):

        async def bare(i: int) -> None:
            await client.execute_workflow(
                BareWorkflow.run, i, id=f"bare-{queue}-{i}", task_queue=queue
            )

        return await measured("bare 1-activity workflow", n, concurrency, bare, meter)


async def floor_intake(
    data: Path, temporal_port: int, n: int, concurrency: int, meter: CpuMeter | None = None
) -> dict:
    """Temporal's own floor for intake: N registrations of bench/floor_workflow.py's
    FloorLifecycle by update-with-start (a local activity and a published status, nothing of
    the engine's) on the engine's server, `concurrency` in flight; their summary row."""
    client = await engine_client(data, temporal_port)
    async with floor_worker(client) as queue:

        async def registration(i: int) -> None:
            await register(client, queue, i, timedelta(seconds=5))

        return await measured("floor, Temporal alone", n, concurrency, registration, meter)


async def main(n: int, concurrency: int) -> None:
    api_port, temporal_port = free_port(), free_port()
    data = tempfile.mkdtemp(prefix="bench-intake-")
    # An intake key, as a web form's back end or a channel would hold (the API needs one).
    key, entry = new_key("bench", Role.INTAKE)
    append_entry(Path(data) / "api_keys.toml", entry)
    engine = start_engine(Path(data), api_port, temporal_port)
    base = f"http://127.0.0.1:{api_port}"
    try:
        auth = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(base_url=base, timeout=30, headers=auth) as http:
            await wait_ready(http)

            async def submit(i: int) -> None:
                body = {
                    "customer": {"name": f"Bench {i}"},
                    "channel": "api",
                    "subject": "Kettle",
                    "description": f"The kettle caught fire ({i})",
                }
                answer = await http.post("/api/complaints", json=body)
                answer.raise_for_status()

            await submit(-1)  # warm-up
            meter = CpuMeter(engine.pid)
            intake = await measured("complaint intake (HTTP)", n, concurrency, submit, meter)

        floor = await floor_intake(Path(data), temporal_port, n, concurrency, meter)
        baseline = await bare_baseline(Path(data), temporal_port, n, concurrency, meter)
        print(
            f"ratio intake/bare: p50 {intake['p50'] / baseline['p50']:.2f}x, "
            f"throughput {intake['rate'] / baseline['rate']:.2f}x; the engine reaches "
            f"{intake['rate'] / floor['rate']:.2f} of the floor, the floor "
            f"{floor['rate'] / baseline['rate']:.2f}x bare (n={n}, concurrency={concurrency})"
        )
    finally:
        stop_engine(engine, Path(data))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=300)
    parser.add_argument("-c", "--concurrency", type=int, default=16)
    args = parser.parse_args()
    asyncio.run(main(args.n, args.concurrency))
