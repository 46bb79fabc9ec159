"""Waiting on conditions instead of sleeping for fixed times."""

import sys
import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine, text

from store.db import WRITE_LOCK_KEY
from store.sqlite_writers import QueuedWriterConnection


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout} s waiting until {what}")
        time.sleep(0.005)


def waits_for_its_turn(thread: threading.Thread) -> bool:
    """Whether `thread` is queued behind its process's other SQLite writers
    (store.sqlite_writers), which is before it asks SQLite for the write lock, with the clock
    of its wait started (the metrics' tally)."""
    frame = sys._current_frames().get(thread.ident)
    while frame is not None:
        if frame.f_code is QueuedWriterConnection.take_turn.__code__:
            return "asked" in frame.f_locals
        frame = frame.f_back
    return False


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
