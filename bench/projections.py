"""Read models: rebuild speed over a large synthetic log, and a month's report time.

Writes N events (default 1,000,000) straight into a throw-away PostgreSQL schema (no Temporal):
complaints made by the real domain (`decide`) from a handful of story templates, copied with new
ids and spread over six months. Then rebuilds the `reports` and the `complaint_list` projections
from the first event, each alone, and times the SLA report for the busiest month (by team, and
by tier) and for its weeks.

    .venv/bin/python bench/projections.py [-n 1000000] [--rounds 1] [--rebuilds-only]
        [--database-url URL] [--schema NAME] [--keep]

Each round rebuilds both read models, one after the other, in alternating order (the machine is
shared: a burst of someone else's load then falls on both sides). Every rebuild is timed twice:
by the wall clock, and by CPU time, this process's (the reading thread's included) plus that of
the PostgreSQL server processes serving its connections, which others' load hardly moves. The
ratio complaint_list / reports is printed for both, per round and as the median over the rounds.

Personal data is not needed by the projection: each registration carries a stand-in sealed
envelope, as a store without the vault's keys would see it.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, insert, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domain import commands as c  # noqa: E402
from domain.decide import decide_with_state  # noqa: E402
from domain.events import CustomerDetails, split_personal  # noqa: E402
from domain.policy import Policy, parse_policy  # noqa: E402
from domain.state import ComplaintState  # noqa: E402
from engine.contracts import ContractBook  # noqa: E402
from reports.query import report  # noqa: E402
from store import (  # noqa: E402
    ComplaintListProjection,
    ProjectionRunner,
    ReportFacts,
    ReportProjection,
    make_engine,
    migrate,
)
from store.tables import EventRow  # noqa: E402

POLICY_FILE = Path(__file__).resolve().parents[1] / "domain" / "default_policy.toml"
SCHEMA = f"bench_projections_{os.getpid()}"  # of this run: runs beside it keep their own
START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)  # a Monday
SPAN = timedelta(days=182)
MOMENT_KEYS = ("at", "received_at", "due_at", "warn_at")
ENVELOPE = {"key": "bench", "sealed": "AAAA"}  # a stand-in: never opened here


def story_templates(policy: Policy) -> list[list[tuple[str, dict[str, Any]]]]:
    """A few complaint histories as (type, data) lists, made by the domain itself."""
    agent = "agent.chen"
    stories = [
        (
            "The charger caught fire",
            [
                (c.Respond(by=agent, message="On it"), 5),
                (c.GiveInitialSolution(by=agent, solution="Stop"), 20),
                (c.Resolve(by=agent, resolution="Replaced"), 300),
                (c.RecordFeedback(rating=5), 400),
            ],
        ),
        (
            "Smoke came out of it",
            [
                (c.Tick(), 11),
                (c.Respond(by=agent, message="Sorry"), 14),
                (c.Tick(), 31),
                (c.Tick(), 61),
                (c.Resolve(by=agent, resolution="Refund"), 600),
                (c.RecordFeedback(rating=2), 700),
            ],
        ),
        (
            "My parcel is late",
            [
                (c.Respond(by="agent.wang", message="Checking"), 30),
                (c.Resolve(by="agent.wang", resolution="Found it"), 200),
                (c.Reopen(reason="Still not here"), 300),
                (c.Resolve(by="agent.wang", resolution="Delivered"), 400),
                (c.RecordFeedback(rating=3), 500),
            ],
        ),
        (
            "How do i change my address",
            [(c.Tick(), 31), (c.Tick(), 200), (c.Resolve(by="agent.zhang", resolution="So"), 220)],
        ),
        (
            "I was charged twice",
            [
                (c.Respond(by="agent.li", message="Looking"), 20),
                (c.RequestInfo(by="agent.li", question="Which card?"), 25),
                (c.RecordCustomerReply(message="Visa"), 90),
                (c.Resolve(by="agent.li", resolution="Refunded"), 180),
                (c.RecordFeedback(rating=4), 190),
            ],
        ),
        (
            "The screen is broken",
            [(c.AddNote(by=agent, text="Called twice"), 40), (c.Tick(), 24 * 60 + 1)],
        ),
    ]
    customer = CustomerDetails(name="Bench Customer")
    start = START.astimezone(UTC)
    templates = []
    for n, (text_, steps) in enumerate(stories):
        register = c.Register(
            complaint_id=f"TEMPLATE-{n}",
            channel="web",
            subject=text_,
            description=text_,
            urgent=False,
            received_at=start,
            customer=customer,
        )
        state, events = ComplaintState(), []
        for command, minutes in [(register, 0), *steps]:
            new, state = decide_with_state(
                state, command, start + timedelta(minutes=minutes), policy
            )
            events += new
        templates.append([(e.type, split_personal(e)[0]) for e in events])
    return templates


def shifted(data: Any, offset: timedelta) -> Any:
    """`data` with every moment moved by `offset`."""
    if isinstance(data, dict):
        return {
            k: (
                _moved(v, offset) if k in MOMENT_KEYS and isinstance(v, str) else shifted(v, offset)
            )
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [shifted(v, offset) for v in data]
    return data


def _moved(moment: str, offset: timedelta) -> str:
    return (datetime.fromisoformat(moment) + offset).isoformat()


def generate(engine, templates, total: int, seed: int = 7) -> int:
    """Writes about `total` events; returns the number of complaints. The log is in the order
    the events happened, so complaints interleave as they do in life (and every projection
    batch cuts through many of them)."""
    rng = random.Random(seed)
    recorded = datetime.now(UTC)
    complaints = 0
    rows: list[dict[str, Any]] = []
    while len(rows) < total:
        template = templates[rng.randrange(len(templates))]
        cid = f"C-{uuid.UUID(int=rng.getrandbits(128)).hex[:12].upper()}"
        offset = timedelta(seconds=rng.randrange(int(SPAN.total_seconds())))
        for version, (type_, data) in enumerate(template, start=1):
            moved = shifted(data, offset)
            if type_ == "ComplaintRegistered":
                moved["complaint_id"] = cid
            rows.append(
                {
                    "event_id": str(uuid.UUID(int=rng.getrandbits(128))),
                    "stream_id": cid,
                    "version": version,
                    "type": type_,
                    "data": moved,
                    "personal": ENVELOPE if type_ == "ComplaintRegistered" else None,
                    "occurred_at": datetime.fromisoformat(moved["at"]).astimezone(UTC),
                    "recorded_at": recorded,
                }
            )
        complaints += 1
    rows.sort(key=lambda row: row["occurred_at"])
    started = time.perf_counter()
    for start in range(0, len(rows), 20_000):
        with engine.begin() as connection:
            connection.execute(insert(EventRow), rows[start : start + 20_000])
        written = min(start + 20_000, len(rows))
        rate = written / (time.perf_counter() - started)
        print(f"\r  written {written:,} events, {rate:,.0f}/s", end="", flush=True)
    print(f"\n  {complaints:,} complaints")
    return complaints


def busiest_month(facts: ReportFacts) -> date:
    everything = facts.received_between(START - timedelta(days=1), START + SPAN + timedelta(days=2))
    months: dict[date, int] = {}
    for f in everything:
        first = f.received_at.date().replace(day=1)
        months[first] = months.get(first, 0) + 1
    return max(months, key=months.__getitem__)


def timed(runs: int, call) -> tuple[float, Any]:
    seconds, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = call()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), result


def server_processes(engine: Engine) -> set[int]:
    """The process ids of the PostgreSQL backends serving `engine`'s connections, as they open
    (the server runs on this machine, so their CPU time can be read from /proc)."""
    pids: set[int] = set()

    @event.listens_for(engine, "connect")
    def _note(dbapi_connection, _record) -> None:
        pids.add(dbapi_connection.get_backend_pid())

    return pids


def cpu_seconds(backends: set[int]) -> float:
    """CPU time of this process and of the server processes in `backends` so far."""
    ticks = 0
    for pid in backends:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # a connection closed since: its time is lost to both sides alike
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return time.process_time() + ticks / os.sysconf("SC_CLK_TCK")


def rebuild_both(
    engine: Engine, backends: set[int], complaints: int, round_: int
) -> dict[str, dict[str, float]]:
    """Rebuilds both read models over the same log, the order turned every round; returns
    {"wall" | "cpu": {name: events/s}}."""
    projections = [ReportProjection(), ComplaintListProjection()]
    if round_ % 2:
        projections.reverse()
    rates: dict[str, dict[str, float]] = {"wall": {}, "cpu": {}}
    for projection in projections:
        runner = ProjectionRunner(engine, [projection])
        started, cpu_started = time.perf_counter(), cpu_seconds(backends)
        applied = runner.rebuild(
            projection.name,
            progress=lambda position, last: print(
                f"\r  rebuilding: {position / last:4.0%}", end="", flush=True
            ),
        )
        seconds = time.perf_counter() - started
        cpu = cpu_seconds(backends) - cpu_started
        rates["wall"][projection.name] = applied / seconds
        rates["cpu"][projection.name] = applied / cpu
        print(
            f"\rround {round_ + 1}: rebuild {projection.name}: {applied:,} events,"
            f" {complaints:,} complaints in {seconds:.1f} s = {applied / seconds:,.0f} events/s;"
            f" CPU {cpu:.1f} s = {applied / cpu:,.0f} events/s"
        )
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--events", type=int, default=1_000_000)
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "COMPLAINTS_TEST_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--rounds", type=int, default=1, help="rebuilds of each, alternating")
    parser.add_argument("--rebuilds-only", action="store_true", help="skip the report timings")
    parser.add_argument("--schema", default=SCHEMA, help="the throw-away schema (dropped first)")
    parser.add_argument("--keep", action="store_true", help="leave the schema for a look")
    args = parser.parse_args()
    policy = parse_policy(POLICY_FILE.read_text())

    admin = make_engine(args.database_url)
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {args.schema} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {args.schema}"))
    engine = make_engine(args.database_url, schema=args.schema)
    backends = server_processes(engine)
    try:
        migrate(engine)
        print(f"generating {args.events:,} events into schema {args.schema}")
        complaints = generate(engine, story_templates(policy), args.events)
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))

        rounds = [rebuild_both(engine, backends, complaints, n) for n in range(args.rounds)]
        for clock in ("wall", "cpu"):
            ratios = [r[clock]["complaint_list"] / r[clock]["reports"] for r in rounds]
            rates = {
                name: statistics.median(r[clock][name] for r in rounds)
                for name in ("reports", "complaint_list")
            }
            print(
                f"{clock}: median over {len(rounds)} round(s): reports {rates['reports']:,.0f}"
                f" events/s, complaint_list {rates['complaint_list']:,.0f} events/s,"
                f" complaint_list / reports: {statistics.median(ratios):.2f}"
                f" (rounds: {', '.join(f'{r:.2f}' for r in ratios)})"
            )
        if args.rebuilds_only:
            return

        facts = ReportFacts(engine)
        month = busiest_month(facts)
        last = (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        book, now = ContractBook.serving(policy), datetime.combine(last, datetime.min.time(), UTC)
        for period, group_by in (("month", "team"), ("month", "tier"), ("week", "team")):
            median, got = timed(
                5,
                lambda p=period, g=group_by: report(
                    facts, book, period=p, group_by=g, first_day=month, last_day=last, now=now
                ),
            )
            volume = sum(r.volume for r in got.rows)
            print(
                f"report {period} by {group_by} for {month:%Y-%m}: {len(got.rows)} rows over "
                f"{volume:,} complaints, median of 5: {median * 1000:.0f} ms"
            )
    finally:
        engine.dispose()
        if not args.keep:
            with admin.begin() as connection:
                connection.execute(text(f"DROP SCHEMA IF EXISTS {args.schema} CASCADE"))
        admin.dispose()


if __name__ == "__main__":
    main()
