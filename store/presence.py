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

    def marks(self, contract: str | None) -> list[Mark]:
        return [
            PRESENCE_EVENT.validate_python(r.data)
            for r in self._store.read_stream(presence_stream(contract))
        ]

    def periods(self, contract: str | None) -> list[AwayPeriod]:
        """The periods the supervisors' marks leave standing."""
        return marked_periods(self.marks(contract))

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
            mark = decide(marked_periods(PRESENCE_EVENT.validate_python(r.data) for r in rows))
            event = NewEvent(
                event_id=str(uuid.uuid4()),
                type=mark.type,
                data=mark.model_dump(mode="json"),
                personal=None,
                occurred_at=mark.at,
            )
            self._store.append_in(connection, stream, len(rows), [event])
        return mark
