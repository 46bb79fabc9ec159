"""A herd of deadlines: N first-response deadlines due at one instant (or spread over S seconds).

Every morning at 09:30 the complaints received overnight owe their first reply at once. This
starts `complaints run` (dev server on its SQLite file, worker, API) on free loopback ports with a
throw-away data directory, registers N tier-3 complaints whose reception is backdated so that
every first-response deadline (10 minutes) falls at one instant T, waits until each breach is
recorded, and prints how late they were (p50, p99, max), breaches per second, warnings recorded,
the history of one complaint, and the memory of the engine and of the Temporal server. Then, on
the same server, N breach-shaped workflows with nothing of the engine's in them (Temporal's own
floor for a herd, bench/floor_workflow.py) and N bare one-activity workflows, the yardstick; it
prints the engine's share of the floor and both rates against the yardstick.
With --spread S the deadlines fall evenly over S seconds from T instead (complaint i due at
T + i*S/N): lateness only, as breaches per second would measure the spread, not the engine.

    .venv/bin/python bench/herd.py [-n 500] [--margin SECONDS] [--spread SECONDS]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from temporalio.api.enums.v1 import EventType

sys.path.insert(0, str(Path(__file__).resolve().parent))
from floor_workflow import FloorWorkflow, floor_worker, lateness  # noqa: E402
from intake import (  # noqa: E402
    CpuMeter,
    bare_baseline,
    children,
    cpu_per_item,
    engine_settings,
    free_port,
    rss_mib,
    start_engine,
    stop_engine,
    timed,
    wait_ready,
)

from domain import commands as c  # noqa: E402
from domain.events import CustomerDetails  # noqa: E402
from domain.policy import parse_policy  # noqa: E402
from engine.intake import new_complaint_id, submit  # noqa: E402
from engine.settings import DEFAULT_POLICY  # noqa: E402
from engine.temporal import connect  # noqa: E402

FIRST_RESPONSE = timedelta(minutes=10)  # tier 3's, in the default policy


def herd_policy(path: Path) -> Path:
    """The default policy, but a backdated tier-3 complaint is acknowledged in time: only the
    first response (and its warning) fall in the herd."""
    text = DEFAULT_POLICY.read_text()
    text = text.replace(
        'deadlines = { acknowledge = "0m", first_response = "10m"',
        'deadlines = { acknowledge = "15m", first_response = "10m"',
    )
    assert 'acknowledge = "15m"' in text, "the default policy's tier 3 changed: update herd.py"
    path.write_text(text)
    return path


def read_store(database: Path, query: str, parameters: tuple = ()) -> list[tuple]:
    """The rows of `query` on the engine's SQLite store, read-only, beside the running engine."""
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)) as db:
        return db.execute(query, parameters).fetchall()


def breaches(database: Path, kind: str) -> list[tuple[datetime, datetime]]:
    """(recorded at, due at) of every DeadlineBreached of `kind` (or warning, kind "warning")."""
    wanted = "DeadlineWarningIssued" if kind == "warning" else "DeadlineBreached"
    rows = read_store(database, "SELECT occurred_at, data FROM events WHERE type = ?", (wanted,))
    out = []
    for at, data in rows:
        fact = json.loads(data)
        if kind == "warning" or fact["kind"] == kind:
            recorded = datetime.fromisoformat(at).replace(tzinfo=UTC)
            out.append((recorded, datetime.fromisoformat(fact["due_at"])))
    return out


async def workflow_tasks_timed_out(client, ids: list[str]) -> tuple[int, int]:
    """Workflow tasks the server timed out in these complaints' histories (a task left on the
    worker's sticky queue past its schedule-to-start timeout goes back to the shared queue, and
    the worker that takes it there replays the complaint from its whole history), and how many
    histories were read."""
    count, timed_out = 0, EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT
    for complaint_id in ids:
        history = await client.get_workflow_handle(complaint_id).fetch_history()
        count += sum(e.event_type == timed_out for e in history.events)
    return count, len(ids)


async def until(moment: datetime) -> None:
    await asyncio.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


async def floor_herd(client, n: int, concurrency: int, meter: CpuMeter) -> tuple[float, str]:
    """Breaches per second of N FloorWorkflows (bench/floor_workflow.py) due at one instant on
    the engine's server, decided by a worker of their own in this process, and the CPU per
    breach each process spent from a second before the instant."""
    due = datetime.now(UTC) + timedelta(seconds=30 + n / 25)  # room to start them all
    lateness.clear()
    async with floor_worker(client) as queue:

        async def start(i: int) -> None:
            await client.start_workflow(FloorWorkflow.run, due, id=f"{queue}-{i}", task_queue=queue)

        await timed(n, concurrency, start)
        if datetime.now(UTC) >= due:
            print("warning: the floor's workflows started after their instant")
        await until(due - timedelta(seconds=1))
        before = meter.read()
        while len(lateness) < n:
            await asyncio.sleep(0.5)
        spent = meter.spent(before)
    return n / max(max(lateness), 1e-3), cpu_per_item(spent, n)


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(n: int, margin: float, spread: float, concurrency: int) -> None:
    api_port, temporal_port = free_port(), free_port()
    data = Path(tempfile.mkdtemp(prefix="bench-herd-"))
    policy = herd_policy(data / "policy.toml")
    engine = start_engine(data, api_port, temporal_port, COMPLAINTS_POLICY=str(policy))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_port}") as http:
            await wait_ready(http)
        settings = engine_settings(data, temporal_port)
        client = await connect(settings)
        rules = parse_policy(policy.read_text())
        due = datetime.now(UTC) + timedelta(seconds=margin)
        ids = [new_complaint_id() for _ in range(n)]

        async def register(i: int) -> None:
            received = due + timedelta(seconds=i * spread / n) - FIRST_RESPONSE
            registration = c.Register(
                complaint_id=ids[i], channel="phone", subject="Kettle",
                description="The kettle caught fire", received_at=received,
                customer=CustomerDetails(name="Bench Customer"),
            )  # fmt: skip
            await submit(client, settings.task_queue, rules, registration)

        _, took = await timed(n, concurrency, register)
        when = f"over {spread:g} s from T" if spread else "at T"
        print(f"{n} complaints registered in {took:.1f} s; their first responses fall due {when}")
        if datetime.now(UTC) >= due:
            print("warning: registration overran the margin; raise --margin")
        database = data / "complaints.sqlite3"
        meter = CpuMeter(engine.pid)
        # The CPU of the breaches alone: read after the warnings' own herd, a second before T.
        await until(due - timedelta(seconds=1))
        before = meter.read()
        deadline = time.monotonic() + margin + spread + 1800
        while len(breaches(database, "first_response")) < n:
            if time.monotonic() > deadline:
                raise SystemExit("not every breach was recorded within 30 minutes")
            await asyncio.sleep(1)
        herd_cpu = cpu_per_item(meter.spent(before), n)
        late = [
            (at - due_at).total_seconds() for at, due_at in breaches(database, "first_response")
        ]
        cleared = max(late)
        breach_rate = n / max(cleared, 1e-3)
        warnings = len(breaches(database, "warning"))
        history = await client.get_workflow_handle(ids[0]).fetch_history()
        timed_out = await workflow_tasks_timed_out(client, ids[:: max(1, n // 100)])
        server_pid = children(engine.pid)
        memory = {"engine (worker + API)": rss_mib(engine.pid)} | {
            f"Temporal dev server (pid {p})": rss_mib(p) for p in server_pid
        }
        herd = f"spread over {spread:g} s" if spread else "due at one instant"
        print(
            f"lateness of {n} breaches {herd}: p50 {statistics.median(late):.2f} s, "
            f"p99 {quantile(late, 0.99):.2f} s, max {cleared:.2f} s"
        )
        if not spread:  # spread, the rate would be the spread's, not the engine's
            print(
                f"breaches per second while clearing: {breach_rate:.1f}; CPU per breach {herd_cpu}"
            )
        print(f"warnings recorded: {warnings} of {n}")
        print(f"history of one complaint after its breach: {len(history.events)} events")
        print(f"workflow tasks timed out, in {timed_out[1]} sampled histories: {timed_out[0]}")
        for name, mib in memory.items():
            print(f"RSS {name}: {mib:.0f} MiB")

        floor_rate = None
        if not spread:
            floor_rate, floor_cpu = await floor_herd(client, n, concurrency, meter)
            print(
                f"floor, Temporal alone (a breach's workflow task, nothing of the engine's): "
                f"{floor_rate:.1f} breaches/s; the engine reaches {breach_rate / floor_rate:.2f}; "
                f"CPU per breach {floor_cpu}"
            )
        bare_rate = (await bare_baseline(data, temporal_port, n, concurrency, meter))["rate"]
        if not spread:
            print(f"ratio breaches/s ÷ bare workflows/s: {breach_rate / bare_rate:.2f}")
            print(f"ratio floor breaches/s ÷ bare workflows/s: {floor_rate / bare_rate:.2f}")
    finally:
        stop_engine(engine, data)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=500)
    parser.add_argument(
        "--margin", type=float, default=None, help="seconds from now to T (default: fits N)"
    )
    parser.add_argument(
        "--spread", type=float, default=0, help="seconds the deadlines spread over (default 0)"
    )
    parser.add_argument("-c", "--concurrency", type=int, default=32)
    args = parser.parse_args()
    # Room to register them all, plus the 2 minutes before T when their warnings (at 80% of
    # the 10 minutes) form a herd of their own.
    margin = args.margin if args.margin is not None else 130 + args.n / 8
    if args.spread < 0 or margin + args.spread >= FIRST_RESPONSE.total_seconds():
        raise SystemExit(
            "--margin + --spread must stay under 10 minutes (reception cannot be in the future)"
        )
    asyncio.run(main(args.n, margin, args.spread, args.concurrency))
