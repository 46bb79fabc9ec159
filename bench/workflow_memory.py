"""What one cached complaint costs the worker's memory, measured in this process.

Starts the Temporal dev server (in memory, loopback), a worker built like the engine's
(engine.worker_assembly.build_worker) on a throw-away SQLite store, registers a few complaints
to warm up, then N more tier-3 complaints that stay open (each one a workflow in the worker's
cache), and prints the process's RSS and Python heap before and after, per complaint. With
--trace it also prints where the heap grew (tracemalloc, by line): slower, and its own
bookkeeping inflates the RSS, so take the RSS figure from a run without it.

With --floor it does the same with Temporal's own floor instead (bench/floor_workflow.py's
FloorLifecycle, registered by update-with-start and left waiting, nothing of the engine's in it,
in a worker of the same cache): what any cached workflow costs the SDK, in this
process. The complaint's figure against it is the engine's own part.

    .venv/bin/python bench/workflow_memory.py [-n 1000] [--trace DEPTH] [--cache 5000] [--floor]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import os
import shutil
import sqlite3
import sys
import tempfile
import time
import tracemalloc
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

sys.path.insert(0, str(Path(__file__).resolve().parent))
from floor_workflow import CACHED, floor_worker  # noqa: E402
from floor_workflow import register as register_floor  # noqa: E402
from intake import rss_mib, timed  # noqa: E402

from activities.events import EventActivities  # noqa: E402
from domain import commands as c  # noqa: E402
from domain.events import CustomerDetails  # noqa: E402
from domain.policy import parse_policy  # noqa: E402
from engine.binaries import temporal_cli  # noqa: E402
from engine.intake import new_complaint_id, submit_registered  # noqa: E402
from engine.logs import configure_logging  # noqa: E402
from engine.settings import DEFAULT_POLICY  # noqa: E402
from engine.temporal import register_search_attributes  # noqa: E402
from engine.worker_assembly import ACTIVITY_THREADS, build_worker  # noqa: E402
from security.codec import data_converter  # noqa: E402
from security.keys import load_key_material  # noqa: E402
from store import EventStore, make_engine, migrate  # noqa: E402
from store.vault import PersonalVault  # noqa: E402

WARM_UP = 20
PROJECT = Path(__file__).resolve().parents[1]
# Where an allocation is charged: the innermost frame of the project's code that led to it, else
# the innermost frame of the Temporal SDK, else the innermost frame.
CHARGED = (str(PROJECT), "/temporalio/")


def bench_keys():
    """Keys made for this run only: the payload codec and the vault work as in production."""
    key = base64.b64encode(os.urandom(32)).decode()
    values = {"codec_keys": f"b:{key}", "master_keys": f"b:{key}", "identity_key": key}
    return load_key_material(values, key_file=None)


def registered(database: Path) -> int:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as db:
        (count,) = db.execute(
            "SELECT count(*) FROM events WHERE type = 'ComplaintRegistered'"
        ).fetchone()
    return count


async def settled(database: Path, expected: int) -> None:
    """Until `expected` complaints are registered and the worker has been idle a moment (the
    store's event count still for two seconds)."""
    last, still_since = -1, time.monotonic()
    while True:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as db:
            (count,) = db.execute("SELECT count(*) FROM events").fetchone()
        if count != last:
            last, still_since = count, time.monotonic()
        elif registered(database) >= expected and time.monotonic() - still_since > 2:
            return
        await asyncio.sleep(0.5)


def heap() -> tuple[float, float]:
    """(RSS, traced Python heap) in MiB, after a full collection."""
    gc.collect()
    traced = tracemalloc.get_traced_memory()[0] / 2**20 if tracemalloc.is_tracing() else 0.0
    return rss_mib(os.getpid()), traced


def charged_to(traceback: tracemalloc.Traceback) -> str:
    frames = list(traceback)  # innermost first
    for marker in CHARGED:
        frame = next(
            (
                f
                for f in frames
                if marker in f.filename
                and "/bench/" not in f.filename
                and ("/.venv/" not in f.filename or marker == "/temporalio/")
            ),
            None,
        )
        if frame is not None:
            name = Path(frame.filename)
            return f"{name.parent.name}/{name.name}:{frame.lineno}"
    frame = frames[0]
    return f"{Path(frame.filename).name}:{frame.lineno}"


def grown(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot) -> list:
    """(line, (bytes, blocks)) the heap grew by, largest first."""
    totals: dict[str, list[int]] = {}
    for stat in after.compare_to(before, "traceback"):
        total = totals.setdefault(charged_to(stat.traceback), [0, 0])
        total[0] += stat.size_diff
        total[1] += stat.count_diff
    return sorted(totals.items(), key=lambda item: -item[1][0])


async def floor(n: int, trace: int, cache: int, concurrency: int) -> None:
    """Temporal's own floor: N FloorLifecycles registered and left waiting in the worker's cache."""
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=temporal_cli(),
        ip="127.0.0.1",
    )
    try:
        await register_search_attributes(env.client, "default")
        async with floor_worker(env.client, cache) as queue:

            async def register(i: int) -> None:
                await register_floor(env.client, queue, i, timedelta(days=1))

            await timed(WARM_UP, concurrency, register)
            measured = await grown_by(
                trace, lambda: timed(n, concurrency, lambda i: register(WARM_UP + i))
            )
        report(measured, n, f"workflows of Temporal's floor (cache {cache})")
    finally:
        await env.shutdown()


async def grown_by(trace: int, load) -> tuple:
    """Run `load` (it returns (latencies, seconds)): its seconds, the heap before and after it."""
    rss0, heap0 = heap()
    before = tracemalloc.take_snapshot() if trace else None
    _, took = await load()
    rss1, heap1 = heap()
    after = tracemalloc.take_snapshot() if trace else None
    return took, (rss0, heap0, before), (rss1, heap1, after)


def report(measured: tuple, n: int, what: str) -> None:
    took, (rss0, heap0, before), (rss1, heap1, after) = measured
    print(f"{n} {what} registered in {took:.1f} s")
    print(f"RSS: {rss0:.1f} -> {rss1:.1f} MiB, {(rss1 - rss0) * 1024 / n:.1f} KiB per workflow")
    if before is not None:
        print(
            f"Python heap (tracemalloc): {heap0:.1f} -> {heap1:.1f} MiB, "
            f"{(heap1 - heap0) * 1024 / n:.1f} KiB per workflow"
        )
        print("where it grew, charged to the project's or else the SDK's line (per workflow):")
        for where, (size, count) in grown(before, after)[:25]:
            print(f"  {size / n:9.0f} B  {count / n:7.1f} blocks  {where}")


async def main(n: int, trace: int, cache: int, concurrency: int) -> None:
    data = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    keys = bench_keys()
    database = data / "events.sqlite3"
    engine = make_engine(f"sqlite:///{database}")
    migrate(engine)
    policy = parse_policy(DEFAULT_POLICY.read_text())
    env = await WorkflowEnvironment.start_local(
        data_converter=data_converter(keys.codec),
        dev_server_existing_path=temporal_cli(),
        ip="127.0.0.1",
    )
    try:
        await register_search_attributes(env.client, "default")
        queue = f"bench-{uuid.uuid4().hex}"
        events = EventActivities(EventStore(engine, PersonalVault.of(keys)))

        async def register(i: int) -> None:
            registration = c.Register(
                complaint_id=new_complaint_id(), channel="phone", subject="Kettle",
                description="The kettle caught fire", customer=CustomerDetails(name=f"B {i}"),
            )  # fmt: skip
            await submit_registered(env.client, queue, policy, registration, wait=60)

        with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as pool:
            async with build_worker(env.client, queue, events, pool, cached_complaints=cache):
                await timed(WARM_UP, concurrency, register)
                await settled(database, WARM_UP)

                async def load() -> tuple:
                    registrations = await timed(n, concurrency, register)
                    await settled(database, WARM_UP + n)
                    return registrations

                measured = await grown_by(trace, load)
        report(measured, n, f"open complaints (cache {cache})")
    finally:
        await env.shutdown()
        engine.dispose()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000)
    parser.add_argument(
        "--trace", type=int, default=0, metavar="DEPTH",
        help="where the heap grew (tracemalloc, DEPTH frames kept: 1 is fast, 30 finds the cause)",
    )  # fmt: skip
    parser.add_argument("--cache", type=int, default=CACHED, help="the worker's cached workflows")
    parser.add_argument("-c", "--concurrency", type=int, default=32)
    parser.add_argument("--floor", action="store_true", help="Temporal's floor, not complaints")
    args = parser.parse_args()
    configure_logging("console", "WARNING")
    if args.trace:
        tracemalloc.start(args.trace)
    if args.floor:
        asyncio.run(floor(args.n, args.trace, args.cache, args.concurrency))
    else:
        asyncio.run(main(args.n, args.trace, args.cache, args.concurrency))
