"""The writers of one process take turns at a SQLite file (store.sqlite_writers): the next one
starts once the previous transaction has ended, however it ended, and never waits for ever."""

import bisect
import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, exc, text

from store import sqlite_writers
from store.db import make_engine
from tests.store.waiting import wait_until, watch_turn


@pytest.fixture
def database(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'events.sqlite3'}"


def _write(engine: Engine, value: int) -> None:
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS t (v INTEGER)"))
        connection.execute(text("INSERT INTO t VALUES (:v)"), {"v": value})


def _values(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return [row.v for row in connection.execute(text("SELECT v FROM t ORDER BY rowid"))]


@contextlib.contextmanager
def _holding(engine: Engine, statement: str) -> Iterator[None]:
    """A thread holds a write transaction (`statement` done) until the block ends."""
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with engine.begin() as connection:
            connection.execute(text(statement))
            holding.set()
            release.wait(timeout=30)

    holder = threading.Thread(target=hold)
    holder.start()
    wait_until(holding.is_set, "the first writer holds its transaction")
    try:
        yield
    finally:
        release.set()
        holder.join(timeout=30)


def test_engines_on_one_file_share_the_turn_and_the_next_writer_starts_when_the_first_ends(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `complaints run` opens the same file through more than one engine.
    first = make_engine(database)
    turn = watch_turn(monkeypatch, first)
    second = make_engine(database)
    _write(first, 0)
    follower = threading.Thread(target=_write, args=(second, 2))
    with _holding(first, "INSERT INTO t VALUES (1)"):
        follower.start()
        wait_until(lambda: turn.waits(follower), "the second writer waits for its turn")
    follower.join(timeout=30)
    assert not follower.is_alive()
    assert _values(first) == [0, 1, 2]


def test_each_turn_is_tallied_with_its_wait_and_its_hold(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    times = sqlite_writers.TurnTimes()
    monkeypatch.setattr(sqlite_writers, "TURN_TIMES", times)
    engine = make_engine(database)
    turn = watch_turn(monkeypatch, engine)
    follower = threading.Thread(target=_write, args=(engine, 1))
    with _holding(engine, "CREATE TABLE t (v INTEGER)"):
        held_from = time.perf_counter()  # the holder's turn was timed from before this
        follower.start()
        wait_until(lambda: turn.waits(follower), "the second writer waits for its turn")
        waited_from = time.perf_counter()  # the follower's wait was timed from before this
        wait_until(lambda: time.perf_counter() - held_from > 0.03, "the holder has held 30 ms")
        released_at = time.perf_counter()
    follower.join(timeout=30)

    waited, waited_sum = times.waited.read()
    held, held_sum = times.held.read()
    assert sum(waited) == sum(held) == 2
    assert waited_sum >= released_at - waited_from > 0
    assert held_sum >= released_at - held_from > 0.03
    # The holder's hold lies beyond the 25 ms bound, in a bucket of its own or a later one.
    assert sum(held[sqlite_writers.TURN_BUCKETS.index(0.025) + 1 :]) >= 1


def test_a_writer_that_gives_up_is_tallied_as_waiting_and_not_as_holding(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_writers, "TURN_TIMEOUT_SECONDS", 0.2)
    times = sqlite_writers.TurnTimes()
    monkeypatch.setattr(sqlite_writers, "TURN_TIMES", times)
    engine = make_engine(database)
    with engine.begin() as outer:
        outer.execute(text("CREATE TABLE t (v INTEGER)"))
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            _write(engine, 2)
    waited, waited_sum = times.waited.read()
    held, _ = times.held.read()
    assert sum(waited) == 2 and sum(held) == 1  # the outer transaction's turn only
    assert waited_sum >= 0.2
    gave_up = bisect.bisect_left(sqlite_writers.TURN_BUCKETS, 0.2)
    assert waited[gave_up] == 1  # a wait of 0.2 s, in the bucket up to 0.25 s


def test_a_transaction_that_fails_gives_the_turn_back(database: str) -> None:
    engine = make_engine(database)
    _write(engine, 0)
    with pytest.raises(exc.OperationalError), engine.begin() as connection:
        connection.execute(text("INSERT INTO no_such_table VALUES (1)"))
    with pytest.raises(RuntimeError), engine.begin() as connection:
        connection.execute(text("INSERT INTO t VALUES (1)"))
        raise RuntimeError("the caller changed its mind")
    _write(engine, 2)  # would wait for a turn never given back
    assert _values(engine) == [0, 2]


def test_a_second_write_transaction_in_the_same_thread_fails_as_sqlite_would(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_writers, "TURN_TIMEOUT_SECONDS", 0.2)
    engine = make_engine(database)
    _write(engine, 0)
    with engine.begin() as outer:
        outer.execute(text("INSERT INTO t VALUES (1)"))
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            _write(engine, 2)
    _write(engine, 3)
    assert _values(engine) == [0, 1, 3]


def test_an_in_memory_database_has_no_queue() -> None:
    engine = make_engine("sqlite:///:memory:")
    with engine.begin() as connection:
        raw = connection.connection.dbapi_connection
        assert not isinstance(raw, sqlite_writers.QueuedWriterConnection)
