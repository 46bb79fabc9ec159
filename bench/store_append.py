"""Event store appends per second beside the eventsourcing library's PostgreSQL recorder.

Each append writes a batch of 5 events (JSON of a few hundred bytes each, the first with a
sealed personal envelope as intake leaves it) to a new stream. Both stores run in the same
process against the same PostgreSQL server, in a throw-away schema each, with 1 and then 4
writer threads for --seconds each, alternating ours and theirs for --rounds rounds; the best
round of each is printed with the ratio.

The peer is eventsourcing's PostgresApplicationRecorder: like ours it keeps a global order that
a reader never sees skip a late commit (it locks its table for each insert). It is a bench-only
dependency: `.venv/bin/pip install -e '.[bench]'`.

    .venv/bin/python bench/store_append.py [--seconds 10] [--rounds 2] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import make_url, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from store import EventStore, NewEvent, make_engine, migrate  # noqa: E402

OURS_SCHEMA = "bench_store_append_ours"
THEIRS_SCHEMA = "bench_store_append_theirs"
BATCH = 5
WRITERS = (1, 4)

# (type, data): shaped like the domain's events of a complaint's first minutes.
TEMPLATES: list[tuple[str, dict[str, Any]]] = [
    (
        "ComplaintRegistered",
        {
            "channel": "web",
            "subject": "Charged twice for the March invoice",
            "description": "The direct debit ran on the 3rd and again on the 5th for the "
            "same amount; the second payment left my account overdrawn.",
            "received_at": "2026-03-05T09:31:12+00:00",
            "customer_ref": "9f2c4a1e7b3d5f60a8c2e4b6d8f0a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f5",
        },
    ),
    (
        "ComplaintClassified",
        {
            "category": "billing",
            "tier": 3,
            "team": "billing-l1",
            "reason": "keywords: charged twice, invoice, direct debit",
            "at": "2026-03-05T09:31:12+00:00",
        },
    ),
    (
        "DeadlinesSet",
        {
            "first_response_due_at": "2026-03-05T10:01:12+00:00",
            "initial_solution_due_at": "2026-03-05T13:31:12+00:00",
            "resolution_due_at": "2026-03-06T09:31:12+00:00",
            "calendar": "business-hours-uk",
        },
    ),
    (
        "ComplaintAssigned",
        {
            "team": "billing-l1",
            "agent": "agent.chen",
            "by": "router",
            "at": "2026-03-05T09:31:13+00:00",
            "note": "round robin, 4 agents on shift",
        },
    ),
    (
        "CustomerAcknowledged",
        {
            "message_key": "complaint:ack:customer",
            "template": "acknowledgement",
            "promised_reply_by": "2026-03-05T10:01:12+00:00",
            "at": "2026-03-05T09:31:13+00:00",
        },
    ),
]
ENVELOPE = {"key": str(uuid.UUID(int=7)), "sealed": "QUFB" * 40}  # as intake seals a customer
OCCURRED_AT = datetime(2026, 3, 5, 9, 31, 12, tzinfo=UTC)


def our_batch() -> list[NewEvent]:
    return [
        NewEvent(
            event_id=str(uuid.uuid4()),
            type=type_,
            data=data,
            personal=ENVELOPE if n == 0 else None,
            occurred_at=OCCURRED_AT,
        )
        for n, (type_, data) in enumerate(TEMPLATES)
    ]


def their_batch(stored_event: type) -> list[Any]:
    stream = uuid.uuid4()
    return [
        stored_event(
            originator_id=stream,
            originator_version=n + 1,
            topic=type_,
            state=json.dumps(
                {
                    "data": data,
                    "personal": ENVELOPE if n == 0 else None,
                    "occurred_at": OCCURRED_AT.isoformat(),
                    "event_id": str(uuid.uuid4()),
                }
            ).encode(),
        )
        for n, (type_, data) in enumerate(TEMPLATES)
    ]


def rate(append_once: Callable[[], None], writers: int, seconds: float) -> float:
    """Appends per second by `writers` threads, each appending until the time is up."""
    counts = [0] * writers
    start = threading.Barrier(writers + 1)
    stop = threading.Event()

    def write(index: int) -> None:
        start.wait()
        while not stop.is_set():
            append_once()
            counts[index] += 1

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - began)


def ours(url: str, _writers: int) -> tuple[Callable[[], None], Callable[[], None]]:
    engine = make_engine(url, schema=OURS_SCHEMA)
    migrate(engine)
    store = EventStore(engine)

    def append_once() -> None:
        store.append(f"complaint-{uuid.uuid4()}", 0, our_batch())

    return append_once, engine.dispose


def theirs(url: str, writers: int) -> tuple[Callable[[], None], Callable[[], None]]:
    from eventsourcing.persistence import StoredEvent
    from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

    parts = make_url(url)
    datastore = PostgresDatastore(
        dbname=parts.database or "postgres",
        host=parts.host or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or "",
        pool_size=writers,
        schema=THEIRS_SCHEMA,
    )
    recorder = PostgresApplicationRecorder(datastore)
    recorder.create_table()

    def append_once() -> None:
        recorder.insert_events(their_batch(StoredEvent))

    return append_once, datastore.close


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "COMPLAINTS_TEST_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
        ),
    )
    args = parser.parse_args()
    admin = make_engine(args.database_url)

    def fresh_schemas() -> None:
        with admin.begin() as connection:
            for schema in (OURS_SCHEMA, THEIRS_SCHEMA):
                connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
                connection.execute(text(f"CREATE SCHEMA {schema}"))

    best: dict[tuple[str, int], float] = {}
    try:
        for round_ in range(1, args.rounds + 1):
            for writers in WRITERS:
                fresh_schemas()
                for name, make in (("ours", ours), ("eventsourcing", theirs)):
                    append_once, close = make(args.database_url, writers)
                    try:
                        per_second = rate(append_once, writers, args.seconds)
                    finally:
                        close()
                    print(f"round {round_}, {writers} writer(s), {name}: {per_second:,.0f}/s")
                    best[name, writers] = max(best.get((name, writers), 0.0), per_second)
        print(f"\n{BATCH}-event appends/s, best of {args.rounds} rounds of {args.seconds:g} s:")
        for writers in WRITERS:
            mine, peer = best["ours", writers], best["eventsourcing", writers]
            print(
                f"  {writers} writer(s): ours {mine:,.0f}, eventsourcing {peer:,.0f}, "
                f"ratio {mine / peer:.2f}"
            )
    finally:
        with admin.begin() as connection:
            for schema in (OURS_SCHEMA, THEIRS_SCHEMA):
                connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


if __name__ == "__main__":
    main()
