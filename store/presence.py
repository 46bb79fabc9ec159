"""The supervisors' away marks: one stream per contract in the event log (domain.presence), so
each mark is chained, verified and authored like every other fact."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import select

from domain.presence import (
    PRESENCE_EVENT,
    AwayCancelled,
    AwayMarked,
    AwayPeriod,
    marked_periods,
    presence_stream,
)
from store.db import take_write_lock
from store.event_store import EventStore
from store.records import NewEvent
from store.tables import EventRow

Mark = AwayMarked | AwayCancelled


class PresenceLog:
    def __init__(self, store: EventStore) -> None:
        self._store = store
        # stream -> (its version, the periods standing at it). Every new complaint asks who is
        # away, and a stream keeps every mark ever made: it is read again only once it has grown.
        self._standing: dict[str, tuple[int, list[AwayPeriod]]] = {}

    def marks(self, contract: str | None) -> list[Mark]:
        return [_mark(r.data) for r in self._store.read_stream(presence_stream(contract))]

    def periods(self, contract: str | None) -> list[AwayPeriod]:
        """The periods the supervisors' marks leave standing."""
        stream = presence_stream(contract)
        known = self._standing.get(stream)
        if known is not None and known[0] == self._store.stream_version(stream):
            return list(known[1])
        records = self._store.read_stream(stream)
        periods = marked_periods(_mark(r.data) for r in records)
        self._standing[stream] = (records[-1].version if records else 0, periods)
        return list(periods)

    def record(self, contract: str | None, decide: Callable[[list[AwayPeriod]], Mark]) -> Mark:
        """Append the mark `decide` makes from the standing periods; the write lock is held from
        the read to the append, so two supervisors' marks never decide on the same stale list.
        Whatever `decide` raises is raised, with nothing written."""
        stream = presence_stream(contract)
        with self._store.engine.begin() as connection:
            take_write_lock(connection)
            rows = connection.execute(
                select(EventRow.data).where(EventRow.stream_id == stream).order_by(EventRow.version)
            ).all()
            mark = decide(marked_periods(_mark(r.data) for r in rows))
            event = NewEvent(
                event_id=str(uuid.uuid4()),
                type=mark.type,
                data=mark.model_dump(mode="json"),
                personal=None,
                occurred_at=mark.at,
            )
            self._store.append_in(connection, stream, len(rows), [event])
        return mark


def _mark(data: dict) -> Mark:
    return PRESENCE_EVENT.validate_python(data)
