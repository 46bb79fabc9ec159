"""Waiting on conditions instead of sleeping for fixed times."""

import os
import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, text

from store import sqlite_writers
from store.db import WRITE_LOCK_KEY


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout} s waiting until {what}")
        time.sleep(0.005)


class WatchedTurn:
    """A SQLite file's turn lock (store.sqlite_writers) that tells which threads wait on it: a
    writer queued behind the process's other writers, before it asks SQLite for the write
    lock, with the clock of its wait started (take_turn reads the clock before it asks).

    It replaced reading the waiting thread's stack from here (sys._current_frames), which races
    with that thread in CPython 3.11: a frame's f_back read while the frame is popped once came
    back as a dict."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: set[int] = set()

    def acquire(self, timeout: float = -1) -> bool:
        me = threading.get_ident()
        self._waiting.add(me)
        try:
            return self._lock.acquire(timeout=timeout)
        finally:
            self._waiting.discard(me)

    def release(self) -> None:
        self._lock.release()

    def waits(self, thread: threading.Thread) -> bool:
        return thread.ident in self._waiting


def watch_turn(monkeypatch: pytest.MonkeyPatch, engine: Engine) -> WatchedTurn:
    """A WatchedTurn in place of the turn lock of `engine`'s SQLite file, for this engine and
    every engine made on the file after it, until the test ends. Call it while no writer holds
    the turn."""
    turn = WatchedTurn()
    database = os.path.realpath(engine.url.database or "")
    monkeypatch.setitem(sqlite_writers._LOCKS, database, turn)
    with engine.connect() as connection:
        writers = type(connection.connection.dbapi_connection)
    assert issubclass(writers, sqlite_writers.QueuedWriterConnection), writers
    monkeypatch.setattr(writers, "_turn", turn)
    return turn


def write_lock_queue_length(engine: Engine) -> int:
    """How many PostgreSQL sessions are waiting for the store's write lock. pg_locks shows the
    lock's 64-bit key as two 32-bit halves."""
    high, low = divmod(WRITE_LOCK_KEY, 2**32)
    with engine.connect() as connection:
        return connection.scalar(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                " AND classid = :high AND objid = :low AND objsubid = 1"
            ),
            {"high": high, "low": low},
        )
