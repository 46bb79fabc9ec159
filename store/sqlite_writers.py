"""The writers of one process queue for a SQLite file's write lock in Python, not in SQLite.

SQLite has one write lock per database. A writer that finds it taken waits in SQLite's busy
handler, which sleeps and tries again (after 1, 2, 5, 10, ... up to 100 ms) and is never woken
when the lock comes free. Under load that made the wait far longer than the lock is held: at
intake (bench/intake.py, 16 in flight) appends waited 56 ms on average for a lock each writer
held 2-4 ms. Here the process's writers first take a threading lock of the file, just before
BEGIN IMMEDIATE, and give it back as soon as their transaction has ended, so the next one starts
the moment the previous one commits. A writer in another process (a CLI command beside
`complaints run`) still meets SQLite's busy handler, as before.

How long the writers waited for their turn and how long they held it is tallied here
(TURN_TIMES), for the engine's metrics (`complaints_store_write_lock_*`): with the lock busy
most of the time, appends queue behind each other, and that is the sign to move to PostgreSQL.
"""

from __future__ import annotations

import bisect
import os
import sqlite3
import threading
import time
from dataclasses import dataclass, field

# How long a writer waits for the write lock, here and in SQLite's busy handler (store.db sets
# it there): one that cannot have its turn within it fails as SQLite would fail it, instead of
# waiting for ever (say, a thread that holds one write transaction and opens another on a second
# connection).
TURN_TIMEOUT_SECONDS = 30

# The upper bounds of the tallies' buckets, in seconds; one more bucket counts everything longer
# (a writer that gave up waited TURN_TIMEOUT_SECONDS).
TURN_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)


@dataclass
class Tally:
    """Durations counted into TURN_BUCKETS (the last count is beyond them), and their sum."""

    counts: list[int] = field(default_factory=lambda: [0] * (len(TURN_BUCKETS) + 1))
    total: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, seconds: float) -> None:
        with self._lock:
            self.counts[bisect.bisect_left(TURN_BUCKETS, seconds)] += 1
            self.total += seconds

    def read(self) -> tuple[list[int], float]:
        """The counts and the sum, from one moment."""
        with self._lock:
            return list(self.counts), self.total


@dataclass(frozen=True)
class TurnTimes:
    waited: Tally = field(default_factory=Tally)  # from asking for the turn to having it
    held: Tally = field(default_factory=Tally)  # from having it to the transaction's end


# The process's writers, whichever file (a process writes one store).
TURN_TIMES = TurnTimes()

_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def connection_class(database: str) -> type[sqlite3.Connection]:
    """The sqlite3 connection class (sqlite3.connect's `factory`) whose writers queue on the
    lock of `database`, shared by every engine of this process that opens the same file."""
    with _LOCKS_GUARD:
        lock = _LOCKS.setdefault(os.path.realpath(database), threading.Lock())
    return type("QueuedWriterConnection", (QueuedWriterConnection,), {"_turn": lock})


class QueuedWriterConnection(sqlite3.Connection):
    _turn: threading.Lock
    _has_turn = False
    _turn_taken = 0.0

    def take_turn(self) -> None:
        """Wait for this file's writers ahead; called before BEGIN IMMEDIATE."""
        asked = time.perf_counter()  # before asking: a writer waiting on the lock is timed
        has_turn = self._turn.acquire(timeout=TURN_TIMEOUT_SECONDS)
        self._turn_taken = time.perf_counter()
        TURN_TIMES.waited.add(self._turn_taken - asked)
        if not has_turn:
            raise sqlite3.OperationalError("database is locked")
        self._has_turn = True

    def give_turn(self) -> None:
        """Let the next writer in; for a BEGIN that failed, and after every end of a
        transaction (a connection that holds no turn gives none back)."""
        if self._has_turn:
            self._has_turn = False
            TURN_TIMES.held.add(time.perf_counter() - self._turn_taken)
            self._turn.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.give_turn()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.give_turn()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.give_turn()
