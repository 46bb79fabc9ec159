"""Small constructors for store test data."""

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from store import NewEvent, OutboxMessage

OCCURRED_AT = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def new_event(
    event_type: str = "NoteAdded",
    *,
    data: dict[str, Any] | None = None,
    personal: dict[str, Any] | None = None,
    occurred_at: datetime = OCCURRED_AT,
) -> NewEvent:
    return NewEvent(
        event_id=str(uuid4()),
        type=event_type,
        data=data if data is not None else {"note": "called back"},
        personal=personal,
        occurred_at=occurred_at,
    )


def new_events(count: int) -> list[NewEvent]:
    return [new_event(data={"n": n}) for n in range(count)]


def outbox_message(
    stream_id: str, kind: str = "breach_escalation", recipient: str = "team_lead"
) -> OutboxMessage:
    return OutboxMessage(
        key=f"{stream_id}:{kind}:level-1:{recipient}",
        stream_id=stream_id,
        kind=kind,
        recipient=recipient,
        payload={"level": 1},
        created_at=OCCURRED_AT,
    )
