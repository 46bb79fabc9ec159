"""Projections: read models kept up to date by following the event log.

A ProjectionRunner feeds each projection the events after its checkpoint, a batch at a time. The
read model's changes and the new checkpoint commit in one transaction, so a crash between (or
during) batches neither loses an event nor applies one twice: either the batch and its
checkpoint are both there, or neither is and the next run starts from the same place.

Positions become visible in order (see EventStore.append_in), so reading "position >
checkpoint" never skips an event that commits late.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import structlog
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Engine,
    cast,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import BIT

from domain.events import EVENT_TYPES
from store.db import for_reading
from store.event_store import EventStore
from store.polling import poll_until_stopped
from store.records import RecordedEvent
from store.tables import ProjectionCheckpointRow

log = structlog.get_logger(__name__)


# A projection's writes for one batch, made in the runner's write transaction.
Writes = Callable[[Connection], None]


class Projection(Protocol):
    """A read model built from the event log."""

    name: str  # also the key of its checkpoint

    def prepare(self, connection: Connection, events: list[RecordedEvent]) -> Writes:
        """Fold `events` (in log order) into the read model as `connection` shows it, writing
        nothing; returns the writes that store the outcome. The fold is most of a batch's work:
        on SQLite the runner does it before its write transaction (ProjectionRunner._step)."""
        ...

    def reset(self, connection: Connection) -> None:
        """Empty the read model's tables, within the caller's transaction."""
        ...


def no_writes(_connection: Connection) -> None:
    """The writes of a batch that changes nothing in the read model."""


def complaint_events_by_stream(events: list[RecordedEvent]) -> dict[str, list[RecordedEvent]]:
    """A batch's domain events per complaint, in log order. Other records in the log (delivery
    results in companion streams, see delivery.dispatcher) are left out."""
    by_stream: dict[str, list[RecordedEvent]] = {}
    for record in events:
        if record.type in EVENT_TYPES:
            by_stream.setdefault(record.stream_id, []).append(record)
    return by_stream


class CheckpointMoved(RuntimeError):
    """The checkpoint changed under a batch: the batch is rolled back and read again."""


class ProjectionRunner:
    """Runs projections over the event log.

    Several runners (one per worker process) may run at once. Two things keep them from
    applying a batch twice:

    - the checkpoint is advanced with a compare-and-set (UPDATE ... WHERE position = <the
      position this batch started from>) in the same transaction as the read-model change. A
      runner whose batch started from a stale checkpoint updates no row, raises, and rolls the
      whole batch back. This alone makes double counting impossible, on every backend.
    - on SQLite a batch is folded from the read model as a read connection shows it, before
      the write transaction; the checkpoint, read again inside that transaction, shows that no
      batch was applied in between, so the rows it was folded from are still the ones stored.
    - on PostgreSQL each batch also holds a transaction-scoped advisory lock per projection,
      taken with pg_try_advisory_xact_lock: a second runner skips the round at once instead of
      folding the same events only to be rolled back. (SQLite needs no lock: every write
      transaction starts with BEGIN IMMEDIATE, so writers already take turns.)
    """

    def __init__(self, engine: Engine, projections: Sequence[Projection]) -> None:
        names = [p.name for p in projections]
        if len(set(names)) != len(names):
            raise ValueError(f"projection names must be distinct: {names}")
        self._engine = engine
        self._reader = for_reading(engine)
        self._store = EventStore(engine)
        self._projections = {p.name: p for p in projections}

    @property
    def names(self) -> list[str]:
        return list(self._projections)

    def run_once(self, batch: int = 500) -> int:
        """Apply at most one batch to each projection; returns how many events were applied."""
        if batch < 1:
            raise ValueError(f"batch: must be at least 1, got {batch}")
        return sum(self._step(p, batch) for p in self._projections.values())

    def run_to_end(self, batch: int = 500) -> int:
        """run_once until every projection has caught up with the log as it stands."""
        total = 0
        while applied := self.run_once(batch):
            total += applied
        return total

    async def run_forever(
        self, stop: asyncio.Event, interval: float = 0.5, batch: int = 500
    ) -> None:
        """Keep the projections up to date until `stop` is set."""
        await poll_until_stopped(
            "projections",
            lambda: self.run_once(batch),
            stop,
            interval,
            projections=list(self._projections),
        )

    def rebuild(
        self,
        name: str,
        batch: int = 5000,
        progress: Callable[[int, int], None] | None = None,
    ) -> int:
        """Empty the projection's tables, reset its checkpoint and apply the whole log again;
        returns how many events were applied. `progress(position, last_position)` is called
        after every batch (positions may have gaps, so that ratio is the share done).

        All in one transaction: readers see the old read model until the new one commits, and
        a rebuild that fails leaves the old one as it was.
        """
        projection = self._projections.get(name)
        if projection is None:
            raise ValueError(f"name: no projection {name!r}; one of {list(self._projections)}")
        applied = 0
        with self._engine.begin() as connection:
            _lock(connection, name, wait=True)
            projection.reset(connection)
            start = _checkpoint(connection, name)
            last = self._store.last_position()
            position = 0
            # The next batch is read (on another connection) while this one is applied, so the
            # database's work on one overlaps our decoding of the other.
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rebuild-read") as reader:
                upcoming = reader.submit(self._store.read_all, 0, batch)
                while events := upcoming.result():
                    upcoming = reader.submit(self._store.read_all, events[-1].position, batch)
                    projection.prepare(connection, events)(connection)  # fold, then write
                    position = events[-1].position
                    applied += len(events)
                    if progress is not None:
                        progress(position, max(last, position))
            _advance(connection, name, start, position)
        log.info("projection rebuilt", projection=name, events=applied, position=position)
        return applied

    def checkpoint(self, name: str) -> int:
        with self._reader.connect() as connection:
            position = connection.scalar(
                select(ProjectionCheckpointRow.position).where(ProjectionCheckpointRow.name == name)
            )
        return position or 0

    def _step(self, projection: Projection, batch: int) -> int:
        # Read outside the write transaction, so the write lock (SQLite's single one above
        # all) is held only while the batch is applied, and not at all when there is nothing new.
        start = self.checkpoint(projection.name)
        events = self._store.read_all(after_position=start, limit=batch)
        if not events:
            return 0
        # On SQLite the batch is folded before the write transaction too: its write lock is
        # every writer's, and a decision's append would wait for the fold. On PostgreSQL the
        # projection's own lock is taken first, so that a second runner skips the round instead
        # of folding the same batch for nothing (appends do not wait for that lock).
        writes = None
        if self._engine.dialect.name != "postgresql":
            with self._reader.connect() as reading:
                writes = projection.prepare(reading, events)
        with self._engine.begin() as connection:
            if not _lock(connection, projection.name, wait=False):
                return 0  # another runner has this projection right now
            if _checkpoint(connection, projection.name) != start:
                return 0  # another runner got there first; read again next round
            if writes is None:
                writes = projection.prepare(connection, events)
            writes(connection)
            _advance(connection, projection.name, start, events[-1].position)
        return len(events)


def _lock(connection: Connection, name: str, *, wait: bool) -> bool:
    """Take the projection's advisory lock until the end of the transaction (PostgreSQL only);
    False if `wait` is off and another session holds it."""
    if connection.dialect.name != "postgresql":
        return True
    key = _lock_key(name)
    if wait:
        connection.execute(select(func.pg_advisory_xact_lock(key)))
        return True
    return bool(connection.scalar(select(func.pg_try_advisory_xact_lock(key))))


def _lock_key(name: str) -> ColumnElement[int]:
    """The projection's advisory lock key, a signed 64-bit number made in SQL from its name and
    the schema it is kept in: advisory locks belong to the whole database, and a runner must
    not wait for (or skip a round because of) the same projection of another schema (another
    deployment sharing the database, or a test run beside this one)."""
    named = literal("projection:") + func.current_schema() + literal(f":{name}")
    hex_digits = literal("x") + func.substr(func.md5(named), 1, 16)
    return cast(cast(hex_digits, BIT(64)), BigInteger)


def _checkpoint(connection: Connection, name: str) -> int:
    """The projection's checkpoint, created at 0 the first time (the caller writes under a
    lock, so two runners cannot both create it; should they, the primary key stops one)."""
    position = connection.scalar(
        select(ProjectionCheckpointRow.position).where(ProjectionCheckpointRow.name == name)
    )
    if position is None:
        connection.execute(insert(ProjectionCheckpointRow), {"name": name, "position": 0})
        return 0
    return position


def _advance(connection: Connection, name: str, start: int, position: int) -> None:
    moved = connection.execute(
        update(ProjectionCheckpointRow)
        .where(ProjectionCheckpointRow.name == name, ProjectionCheckpointRow.position == start)
        .values(position=position)
    )
    if moved.rowcount != 1:
        raise CheckpointMoved(f"checkpoint of {name!r} is no longer {start}; batch rolled back")
