"""Many writers at once, and readers following the global log while they write."""

import threading
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine, event

from store import AppendResult, ConcurrencyConflict, EventStore, NewEvent, RecordedEvent
from store.one_statement_append import PREPARED_NAME
from tests.store.builders import new_events
from tests.store.waiting import wait_until, watch_turn

WRITERS = 8
EVENTS_PER_WRITER = 50
SHARED_APPENDS_PER_WRITER = 3


class PollingReader:
    """Follows the global log the way a projection does: from its checkpoint, never looking back."""

    def __init__(self, store: EventStore) -> None:
        self._store = store
        self.checkpoint = 0
        self.seen: list[RecordedEvent] = []

    def poll(self) -> None:
        for recorded in self._store.read_all(after_position=self.checkpoint):
            self.seen.append(recorded)
            self.checkpoint = recorded.position


def append_with_retry(store: EventStore, stream_id: str, events: Sequence[NewEvent]) -> None:
    for _ in range(200):
        try:
            store.append(stream_id, store.stream_version(stream_id), events)
            return
        except ConcurrencyConflict:
            continue  # another writer got there first: try again at the new version
    raise AssertionError(f"could not append to {stream_id} in 200 attempts")


def test_concurrent_writers_lose_nothing_and_duplicate_nothing(store: EventStore) -> None:
    follower = PollingReader(store)
    writers_done = threading.Event()

    def follow() -> None:
        while not writers_done.is_set():
            follower.poll()

    def write(writer: int) -> None:
        own_stream = f"complaint-{writer}"
        for version in range(EVENTS_PER_WRITER):
            batch = new_events(1)
            assert store.append(own_stream, version, batch).written == 1
        # The last append again, as a retried activity would do it.
        assert store.append(own_stream, EVENTS_PER_WRITER - 1, batch).written == 0
        for _ in range(SHARED_APPENDS_PER_WRITER):
            append_with_retry(store, "complaint-shared", new_events(1))

    with ThreadPoolExecutor(WRITERS + 1) as pool:
        following = pool.submit(follow)
        for writing in [pool.submit(write, writer) for writer in range(WRITERS)]:
            writing.result()
        writers_done.set()
        following.result()
    follower.poll()

    everything = store.read_all(limit=10_000)
    assert len(everything) == WRITERS * (EVENTS_PER_WRITER + SHARED_APPENDS_PER_WRITER)
    assert len({recorded.event_id for recorded in everything}) == len(everything)
    positions = [recorded.position for recorded in everything]
    assert positions == sorted(set(positions))
    versions_in_log_order: dict[str, list[int]] = defaultdict(list)
    for recorded in everything:
        versions_in_log_order[recorded.stream_id].append(recorded.version)
    for stream_id, versions in versions_in_log_order.items():
        assert versions == list(range(1, len(versions) + 1)), stream_id
    assert len(versions_in_log_order["complaint-shared"]) == WRITERS * SHARED_APPENDS_PER_WRITER
    assert follower.seen == everything


def test_identical_appends_racing_each_other_are_written_once(store: EventStore) -> None:
    batch = new_events(3)
    start_together = threading.Barrier(4)

    def attempt(_: int) -> AppendResult:
        start_together.wait()
        return store.append("complaint-1", 0, batch)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(attempt, range(4)))

    assert sorted(result.written for result in results) == [0, 0, 0, 3]
    assert {result.version for result in results} == {3}
    assert len(store.read_all()) == 3


def test_a_reader_never_skips_an_append_that_commits_late(
    store: EventStore, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writer A inserts and holds its transaction open; writer B appends meanwhile. B must wait
    for A, or at least never commit a position below A's uncommitted ones, or a reader that
    moves its checkpoint past B's events would never see A's."""
    a_inserted, release_a = threading.Event(), threading.Event()
    b_queued, b_done = threading.Event(), threading.Event()

    def spot_b_asking_for_the_write_lock(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        asks_for_lock = (
            statement == "BEGIN IMMEDIATE"
            or "pg_advisory_xact_lock" in statement
            or PREPARED_NAME in statement
        )
        if asks_for_lock and threading.current_thread().name == "writer-b":
            b_queued.set()

    # On every engine: on PostgreSQL an append's own statement runs in a pool of its own
    # (store.db.autocommit_engine).
    event.listen(Engine, "before_cursor_execute", spot_b_asking_for_the_write_lock)

    def append_and_hold_a() -> None:
        with engine.begin() as connection:
            store.append_in(connection, "complaint-a", 0, new_events(3))
            a_inserted.set()
            release_a.wait(timeout=30)

    def append_b() -> None:
        store.append("complaint-b", 0, new_events(3))
        b_done.set()

    # On SQLite B waits for A's turn before it asks SQLite for anything (store.sqlite_writers).
    turn = watch_turn(monkeypatch, engine) if engine.dialect.name == "sqlite" else None
    reader = PollingReader(store)
    writer_a = threading.Thread(target=append_and_hold_a, name="writer-a")
    writer_b = threading.Thread(target=append_b, name="writer-b")
    try:
        writer_a.start()
        wait_until(a_inserted.is_set, "A has inserted")
        reader.poll()
        writer_b.start()
        wait_until(
            lambda: b_done.is_set() or b_queued.is_set() or bool(turn and turn.waits(writer_b)),
            "B has committed or waits for A",
        )
        reader.poll()
    finally:
        release_a.set()
        event.remove(Engine, "before_cursor_execute", spot_b_asking_for_the_write_lock)
    while writer_a.is_alive() or writer_b.is_alive():
        reader.poll()
        writer_b.join(timeout=0.01)
    writer_a.join()
    reader.poll()

    everything = store.read_all(limit=10_000)
    assert len(everything) == 6 and b_done.is_set()
    assert [recorded.event_id for recorded in reader.seen] == [
        recorded.event_id for recorded in everything
    ]
    a_then_b = ["complaint-a"] * 3 + ["complaint-b"] * 3
    assert [recorded.stream_id for recorded in everything] == a_then_b
