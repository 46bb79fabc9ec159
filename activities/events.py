"""The event activities: the only way a complaint's decisions reach the store.

Each call writes one decision in one transaction: the events, the outbox rows for the
notifications they request, and (when archiving) the closure record. A retry of a call whose
first attempt committed finds its event ids already stored and writes nothing, so retries
neither duplicate nor lose anything.
"""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.models import AppendOutcome, AppendRequest, StampedEvent
from domain.closure import closure_record
from domain.events import NotificationRequested, join_personal, split_personal
from engine.metrics import count_recorded
from store import ConcurrencyConflict, EventStore, NewEvent, OutboxMessage

log = structlog.get_logger(__name__)


def stored_event(stamped: StampedEvent) -> NewEvent:
    """The store's form of a stamped domain event: its personal part apart, to be sealed."""
    data, personal = split_personal(stamped.event)
    return NewEvent(
        event_id=stamped.event_id,
        type=stamped.event.type,
        data=data,
        personal=personal,
        occurred_at=stamped.event.at,
    )


def _outbox(req: AppendRequest) -> list[OutboxMessage]:
    return [
        OutboxMessage(
            key=e.key,
            stream_id=req.stream_id,
            kind=e.kind,
            recipient=e.recipient,
            payload=e.details,
            created_at=e.at,
            not_before=e.not_before,
        )
        for e in (s.event for s in req.events)
        if isinstance(e, NotificationRequested)
    ]


class EventActivities:
    def __init__(self, store: EventStore) -> None:
        self._store = store

    @property
    def store(self) -> EventStore:
        return self._store

    @activity.defn(name="append_events")
    def append_events(self, req: AppendRequest) -> AppendOutcome:
        return self._append(req, closure=None)

    @activity.defn(name="archive_complaint")
    def archive_complaint(self, req: AppendRequest) -> AppendOutcome:
        """Append the final events and write the closure record, built from the whole stream."""
        records = self._store.read_stream(req.stream_id)
        stored_ids = {r.event_id for r in records}
        whole = [join_personal(r.data, r.personal) for r in records] + [
            s.event
            for s in req.events
            if s.event_id not in stored_ids  # none on a retry
        ]
        return self._append(req, closure=closure_record(whole))

    def _append(self, req: AppendRequest, closure: dict | None) -> AppendOutcome:
        try:
            result = self._store.append(
                req.stream_id,
                req.expected_version,
                [stored_event(s) for s in req.events],
                outbox=_outbox(req),
                closure_record=closure,
                archived_at=req.events[-1].event.at if closure is not None else None,
            )
        except ConcurrencyConflict as clash:
            adopted = self._committed_past(req)
            if not adopted:  # the stream is behind the workflow: a bug, never retried
                raise ApplicationError(
                    str(clash), type="ConcurrencyConflict", non_retryable=True
                ) from clash
            log.info(
                "a lost attempt's events adopted",
                complaint_id=req.stream_id,
                expected_version=req.expected_version,
                adopted=len(adopted),
            )
            return AppendOutcome(
                version=req.expected_version + len(adopted), written=0, adopted=adopted
            )
        if result.written:  # a retry that found its events stored counts nothing again
            count_recorded(req.tier, (s.event for s in req.events), datetime.now(UTC))
        log.info(
            "events appended",
            complaint_id=req.stream_id,
            version=result.version,
            written=result.written,
            attempt=activity.info().attempt,
        )
        if result.written == 0 and req.events:
            # Stored before under these ids, by an attempt that may have decided at another
            # moment: the stored events are the record, not this request's copies of them.
            return AppendOutcome(
                version=result.version, written=0, adopted=self._committed_past(req)
            )
        return AppendOutcome(version=result.version, written=result.written)

    def _committed_past(self, req: AppendRequest) -> list[StampedEvent]:
        return [
            StampedEvent(event_id=r.event_id, event=join_personal(r.data, r.personal))
            for r in self._store.read_stream(req.stream_id, from_version=req.expected_version + 1)
        ]
