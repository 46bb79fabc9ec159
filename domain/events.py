"""Domain events: each complaint's truth is its stream of these.

Names are in the past tense and never change meaning once shipped: add a new event type instead.
The customer's personal data lives only in the `customer` field, which the store keeps apart
(`split_personal`) so it can be encrypted per customer and erased without touching the rest.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter

from domain.vocabulary import Channel, DeadlineKind

PERSONAL_FIELD = "customer"


class _Fact(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    at: datetime


def _none(value: object) -> bool:
    return value is None


# Who acted, added after events with `by` alone were stored: optional, so those still load, and
# left out of the stored data when absent, so an event recorded without one reads as it did.
ByKey = Annotated[str | None, Field(exclude_if=_none)]  # the API key of `by`
OptionalBy = Annotated[str | None, Field(exclude_if=_none)]  # absent: the customer


class CustomerDetails(BaseModel):
    """The customer's personal data. Its limits are loose on purpose: it is part of a fact, and
    a fact once stored must always load again."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    email: (
        Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")] | None
    ) = None
    phone: Annotated[str, StringConstraints(max_length=40, pattern=r"^[0-9+()\-. ]+$")] | None = (
        None
    )
    address: Annotated[str, StringConstraints(max_length=500)] | None = None
    locale: Annotated[str, StringConstraints(max_length=20)] = "en"


class PersonalDataWithheld(BaseModel):
    """Stands in for the customer's personal data where it cannot be read: `erased` once the
    customer's key has been destroyed (erasure: the data is gone for good), `sealed` for a reader
    not given the keys (the read models, which never need it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    withheld: Literal["erased", "sealed"]


class SealedPersonal(BaseModel):
    """The customer's personal data sealed with their own data key at intake (store.vault's
    stored form), before it reaches Temporal: the workflow's history holds only this envelope,
    so erasing the customer (destroying the key) makes that copy unreadable too. The domain
    never opens it; it only carries it into ComplaintRegistered."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    key: str  # the data key's id
    sealed: str  # base64 of nonce and ciphertext, bound to the key id and the complaint


ERASED = PersonalDataWithheld(withheld="erased")
SEALED = PersonalDataWithheld(withheld="sealed")


class ComplaintRegistered(_Fact):
    type: Literal["ComplaintRegistered"] = "ComplaintRegistered"
    complaint_id: str
    channel: Channel
    subject: str
    description: str
    urgent: bool
    external_ref: str | None = None
    received_at: datetime
    # Sealed as the workflow carries it (in clear in histories from before intake sealed it);
    # in clear, or withheld, as the store's readers get it back.
    customer: CustomerDetails | SealedPersonal | PersonalDataWithheld
    # The contract the complaint belongs to and the version (content hash) of the terms that
    # govern it; absent for complaints registered before contracts (the "default" contract).
    contract: str | None = None
    policy_version: str | None = None


class ComplaintClassified(_Fact):
    type: Literal["ComplaintClassified"] = "ComplaintClassified"
    category: str  # one of the contract's categories
    tier: int
    rule: str
    urgent_raised: bool


class ComplaintAssigned(_Fact):
    type: Literal["ComplaintAssigned"] = "ComplaintAssigned"
    team: str
    assignee: str
    # Why this member (domain.assignment); absent in assignments made before it was recorded,
    # and left out of their stored data, so those read as they did.
    reason: Annotated[str | None, Field(exclude_if=_none)] = None


class ScheduledDeadline(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: DeadlineKind
    due_at: datetime
    warn_at: datetime | None = None  # absent in schedules made before warnings existed


class DeadlinesScheduled(_Fact):
    """The due times of the round's open deadlines; replaces any earlier schedule of them."""

    type: Literal["DeadlinesScheduled"] = "DeadlinesScheduled"
    round: int
    reason: Literal["registered", "resumed", "reclassified", "reopened", "amended"]
    deadlines: list[ScheduledDeadline]


class DeadlineMet(_Fact):
    type: Literal["DeadlineMet"] = "DeadlineMet"
    round: int
    kind: DeadlineKind
    due_at: datetime


class DeadlineWarningIssued(_Fact):
    """A deadline is close (the policy's share of its time has passed) and still open."""

    type: Literal["DeadlineWarningIssued"] = "DeadlineWarningIssued"
    round: int
    kind: DeadlineKind
    due_at: datetime


class DeadlineBreached(_Fact):
    type: Literal["DeadlineBreached"] = "DeadlineBreached"
    round: int
    kind: DeadlineKind
    due_at: datetime


class ComplaintEscalated(_Fact):
    type: Literal["ComplaintEscalated"] = "ComplaintEscalated"
    level: int
    to_role: str
    reason: str  # the breached deadline kind, or "still_unanswered" for a repeat escalation


class NotificationRequested(_Fact):
    """A message to send exactly once; `key` is unique per complaint, kind, step and recipient."""

    type: Literal["NotificationRequested"] = "NotificationRequested"
    key: str
    kind: str
    recipient: str  # a role: customer, assignee, team_lead, supervisor, duty_manager, ...
    details: dict[str, Any]  # never personal data
    # Not sent before this (quiet hours: staff of a business-hours tier hear at the opening);
    # None: at once.
    not_before: datetime | None = None


class CustomerMessageDelivered(_Fact):
    """A message to the customer (a NotificationRequested to them, by its key) reached them."""

    type: Literal["CustomerMessageDelivered"] = "CustomerMessageDelivered"
    key: str
    kind: str
    channels: list[str]


class CustomerMessageUndelivered(_Fact):
    """A message to the customer could not be built or sent, for good (a malformed or missing
    address, a permanent refusal, too many temporary failures, erased data). The reason never
    holds an address."""

    type: Literal["CustomerMessageUndelivered"] = "CustomerMessageUndelivered"
    key: str
    kind: str
    reason: str


class ProgressUpdateMissed(_Fact):
    """The customer went longer than the tier's `keep_customer_informed_every` without hearing
    from us while their complaint was open: a breach, escalated like any other."""

    type: Literal["ProgressUpdateMissed"] = "ProgressUpdateMissed"
    due_at: datetime


class CustomerAnswerMissed(_Fact):
    """Nobody answered the customer's message (CustomerWrote, CustomerReplied) within the
    tier's `answer_customer_within`: a breach, escalated like any other."""

    type: Literal["CustomerAnswerMissed"] = "CustomerAnswerMissed"
    due_at: datetime


class CustomerReminded(_Fact):
    """Information was requested and the customer has not answered: they were reminded."""

    type: Literal["CustomerReminded"] = "CustomerReminded"


class FirstResponseGiven(_Fact):
    type: Literal["FirstResponseGiven"] = "FirstResponseGiven"
    by: str
    by_key: ByKey = None
    message: str


class InitialSolutionGiven(_Fact):
    type: Literal["InitialSolutionGiven"] = "InitialSolutionGiven"
    by: str
    by_key: ByKey = None
    solution: str


class InformationRequested(_Fact):
    type: Literal["InformationRequested"] = "InformationRequested"
    by: str
    by_key: ByKey = None
    question: str


class CustomerReplied(_Fact):
    type: Literal["CustomerReplied"] = "CustomerReplied"
    message: str
    by: OptionalBy = None
    by_key: ByKey = None


class CustomerWrote(_Fact):
    """The customer wrote while their complaint was open, asked nothing (a question's answer is
    CustomerReplied): whoever holds it is told, and owes them an answer (the tier's
    `answer_customer_within`), as for an answer to our question."""

    type: Literal["CustomerWrote"] = "CustomerWrote"
    message: str
    by: OptionalBy = None
    by_key: ByKey = None


class ComplaintResolved(_Fact):
    type: Literal["ComplaintResolved"] = "ComplaintResolved"
    by: str
    by_key: ByKey = None
    resolution: str


class FeedbackRecorded(_Fact):
    type: Literal["FeedbackRecorded"] = "FeedbackRecorded"
    rating: int
    comment: str = ""
    by: OptionalBy = None
    by_key: ByKey = None


class ComplaintReopened(_Fact):
    type: Literal["ComplaintReopened"] = "ComplaintReopened"
    round: int
    reason: str
    by: OptionalBy = None
    by_key: ByKey = None


class ComplaintReclassified(_Fact):
    type: Literal["ComplaintReclassified"] = "ComplaintReclassified"
    by: str
    by_key: ByKey = None
    category: str
    tier: int
    reason: str


class DeadlineMoved(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: DeadlineKind
    old_due_at: datetime
    new_due_at: datetime  # may be past already: the deadline is then breached at once


class PolicyAmended(_Fact):
    """New terms of the complaint's contract reached it on purpose (`complaints contracts
    apply`): from now on they govern it. `deadlines` are the round's open deadlines whose due
    time moved, from the time already spent (a complaint waiting on the customer moves none:
    its deadlines are re-timed under the new terms when the customer replies)."""

    type: Literal["PolicyAmended"] = "PolicyAmended"
    by: str
    from_version: str | None  # None: registered before contracts pinned a version
    to_version: str
    deadlines: list[DeadlineMoved]


class ComplaintReassigned(_Fact):
    type: Literal["ComplaintReassigned"] = "ComplaintReassigned"
    by: str
    by_key: ByKey = None
    team: str
    assignee: str


class NoteAdded(_Fact):
    type: Literal["NoteAdded"] = "NoteAdded"
    by: str
    by_key: ByKey = None
    text: str


class ComplaintClosed(_Fact):
    type: Literal["ComplaintClosed"] = "ComplaintClosed"
    # feedback: the customer rated; no_answer: the confirmation window passed after the
    # resolution; no_reply: information was requested and the customer never answered.
    reason: Literal["feedback", "no_answer", "no_reply"]


class ComplaintArchived(_Fact):
    type: Literal["ComplaintArchived"] = "ComplaintArchived"


class AttachmentAdded(_Fact):
    """A photo or document joined to the complaint. The content and its file name are kept
    apart (store.attachments), sealed with the customer's data key, so erasure reaches them;
    the event names the content by its hash only."""

    type: Literal["AttachmentAdded"] = "AttachmentAdded"
    attachment_id: str  # sha256 of the content, hex
    content_type: str
    size: int
    source: Literal["page", "email", "staff"]


Event = Annotated[
    ComplaintRegistered
    | ComplaintClassified
    | ComplaintAssigned
    | DeadlinesScheduled
    | DeadlineMet
    | DeadlineWarningIssued
    | DeadlineBreached
    | ComplaintEscalated
    | NotificationRequested
    | FirstResponseGiven
    | InitialSolutionGiven
    | InformationRequested
    | CustomerReplied
    | CustomerWrote
    | ComplaintResolved
    | FeedbackRecorded
    | ComplaintReopened
    | ComplaintReclassified
    | ComplaintReassigned
    | NoteAdded
    | ComplaintClosed
    | ComplaintArchived
    | AttachmentAdded
    | CustomerMessageDelivered
    | CustomerMessageUndelivered
    | ProgressUpdateMissed
    | CustomerAnswerMissed
    | CustomerReminded
    | PolicyAmended,
    Field(discriminator="type"),
]

_EVENT = TypeAdapter(Event)

# What the record counts as a breach: a deadline passed, or the customer left without word from
# us or without an answer to their message.
Breach = DeadlineBreached | ProgressUpdateMissed | CustomerAnswerMissed
# ... of which the closed loop's: the customer's, beside the deadlines'.
CLOSED_LOOP_BREACHES: frozenset[str] = frozenset(
    e.model_fields["type"].default for e in (ProgressUpdateMissed, CustomerAnswerMissed)
)

# The type names of the events above. The event log holds other records too (delivery results in
# companion streams, see delivery.dispatcher); read models of complaints keep to these.
EVENT_TYPES: frozenset[str] = frozenset(
    member.model_fields["type"].default for member in get_args(get_args(Event)[0])
)


def split_personal(event: Event) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(data, personal): the event as JSON with the customer's personal data taken out."""
    data = event.model_dump(mode="json")
    personal = data.pop(PERSONAL_FIELD, None)
    return data, personal


def join_personal(data: dict[str, Any], personal: dict[str, Any] | None) -> Event:
    """The inverse of `split_personal`."""
    # Validation only reads `data`: no copy of it when there is nothing to join (a read model's
    # rebuild joins every event of the log).
    whole = data if personal is None else {**data, PERSONAL_FIELD: personal}
    return _EVENT.validate_python(whole)


# The deadline each of these events answers; it answers every earlier kind too (kinds_met_by).
# domain.decide meets exactly these when it records them (a test holds it to that); reports and
# the what-if simulation read action times through this table.
DEADLINE_ANSWERED_BY: dict[str, DeadlineKind] = {
    "ComplaintRegistered": DeadlineKind.ACKNOWLEDGE,
    "FirstResponseGiven": DeadlineKind.FIRST_RESPONSE,
    "InitialSolutionGiven": DeadlineKind.INITIAL_SOLUTION,
    "ComplaintResolved": DeadlineKind.RESOLUTION,
}
