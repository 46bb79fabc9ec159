"""What the API answers with, built from domain state; never the customer's personal data."""

from __future__ import annotations

from datetime import datetime
from typing import Any, get_args

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator
from pydantic.json_schema import SkipJsonSchema

from domain import commands as c
from domain.contracts import contract_of
from domain.state import ComplaintState
from domain.vocabulary import Channel, DeadlineKind, Status
from store import RecordedEvent


class DeadlineView(BaseModel):
    kind: DeadlineKind
    due_at: datetime
    met_at: datetime | None
    breached: bool


class PauseView(BaseModel):
    started_at: datetime
    ended_at: datetime | None


class ComplaintView(BaseModel):
    id: str
    contract: str | None  # the client contract it belongs to; None until registered
    status: Status | None
    channel: Channel | None
    urgent: bool
    tier: int
    category: str | None
    team: str
    assignee: str
    deadlines: list[DeadlineView]  # the current round's
    escalation_level: int
    breached: bool
    pauses: list[PauseView]
    round: int
    received_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    rating: int | None
    version: int
    # Since when the customer's own message waits for an answer; None: nothing waits.
    customer_waiting_since: datetime | None = None


class EventView(BaseModel):
    version: int
    type: str
    occurred_at: datetime
    data: dict[str, Any]  # the event without its personal part


class ErrorDetail(BaseModel):
    field: str
    rule: str
    message: str


class ErrorBody(BaseModel):
    error: str
    detail: list[ErrorDetail]


def view_of(state: ComplaintState) -> ComplaintView:
    """The one place a complaint's state becomes what the API shows."""
    return ComplaintView(
        id=state.complaint_id,
        contract=contract_of(state.contract) if state.status else None,
        status=state.status,
        channel=state.channel,
        urgent=state.urgent,
        tier=state.tier,
        category=state.category,
        team=state.team,
        assignee=state.assignee,
        deadlines=[
            DeadlineView(
                kind=d.kind, due_at=d.due_at, met_at=d.met_at, breached=d.breached_at is not None
            )
            for d in state.current_deadlines()
        ],
        escalation_level=state.escalation_level,
        breached=state.breached,
        pauses=[PauseView(started_at=p.started_at, ended_at=p.ended_at) for p in state.pauses],
        round=state.round,
        received_at=state.received_at,
        resolved_at=state.resolved_at,
        closed_at=state.closed_at,
        rating=state.rating,
        version=state.version,
        customer_waiting_since=state.unanswered_since,
    )


def event_view(record: RecordedEvent) -> EventView:
    # RecordedEvent.data never holds the personal part (the store keeps it in `personal`).
    return EventView(
        version=record.version, type=record.type, occurred_at=record.occurred_at, data=record.data
    )


def _refuse_author(value: object) -> object:
    raise c.author_given()


def _action_body(command: type[BaseModel]) -> type[BaseModel]:
    """The command's fields without `action` (the path names it) and without its author (the
    key's holder), for the request body. An author sent anyway is refused by its own rule
    (c.AUTHOR_RULE), not as merely an unknown field: the client learns where authors come from."""
    fields: dict[str, Any] = {
        name: (info.annotation, info)
        for name, info in command.model_fields.items()
        if name != "action" and name not in c.AUTHOR_FIELDS
    }
    fields |= {
        name: (SkipJsonSchema[object], Field(default=None, exclude=True))
        for name in c.AUTHOR_FIELDS
    }
    refusals = {
        f"_refuse_{name}": field_validator(name, mode="before")(_refuse_author)
        for name in c.AUTHOR_FIELDS
    }
    return create_model(
        f"{command.__name__}Body",
        __config__=ConfigDict(extra="forbid", frozen=True),
        __doc__=command.__doc__,
        __validators__=refusals,
        **fields,
    )


# action name (as in the path) -> (domain command, body model). An attachment is joined by
# uploading its content (the customer's page, inbound e-mail), never by naming a hash.
ACTIONS: dict[str, tuple[type[BaseModel], type[BaseModel]]] = {
    command.model_fields["action"].default: (command, _action_body(command))
    for command in get_args(get_args(c.Action)[0])
    if command is not c.AddAttachment
}
