"""The writers of one process queue for a SQLite file's write lock in Python, not in SQLite.

SQLite has one write lock per database. A writer that finds it taken waits in SQLite's busy
handler, which sleeps and tries again (after 1, 2, 5, 10, ... up to 100 ms) and is never woken
when the lock comes free. Under load that made the wait far longer than the lock is held: at
intake (bench/intake.py, 16 in flight) appends waited 56 ms on average for a lock each writer
held 2-4 ms. Here the process's writers first take a threading lock of the file, just before
BEGIN IMMEDIATE, and give it back as soon as their transaction has ended, so the next one starts
the moment the previous one commits. A writer in another process (a CLI command beside
`complaints run`) still meets SQLite's busy handler, as before.
"""

from __future__ import annotations

import os
import sqlite3
import threading

# How long a writer waits for the write lock, here and in SQLite's busy handler (store.db sets
# it there): one that cannot have its turn within it fails as SQLite would fail it, instead of
# waiting for ever (say, a thread that holds one write transaction and opens another on a second
# connection).
TURN_TIMEOUT_SECONDS = 30

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

    def take_turn(self) -> None:
        """Wait for this file's writers ahead; called before BEGIN IMMEDIATE."""
        if not self._turn.acquire(timeout=TURN_TIMEOUT_SECONDS):
            raise sqlite3.OperationalError("database is locked")
        self._has_turn = True

    def give_turn(self) -> None:
        """Let the next writer in; for a BEGIN that failed, and after every end of a
        transaction (a connection that holds no turn gives none back)."""
        if self._has_turn:
            self._has_turn = False
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
