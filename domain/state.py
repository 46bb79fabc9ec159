"""A complaint's state: nothing but a fold of its events (`evolve`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from domain import events as ev
from domain.vocabulary import CUSTOMER, Channel, DeadlineKind, Status


class DeadlineState(BaseModel):
    round: int
    kind: DeadlineKind
    due_at: datetime
    warn_at: datetime | None = None
    warned_at: datetime | None = None
    met_at: datetime | None = None
    breached_at: datetime | None = None

    @property
    def pending(self) -> bool:
        return self.met_at is None and self.breached_at is None

    @property
    def warning_owed(self) -> bool:
        return self.pending and self.warn_at is not None and self.warned_at is None

    @property
    def overdue_unanswered(self) -> bool:
        """Breached and its action still not done: what keeps escalation climbing."""
        return self.breached_at is not None and self.met_at is None


class Pause(BaseModel):
    started_at: datetime
    ended_at: datetime | None = None
    question: str = ""  # what we asked: the reminder repeats it
    reminded_at: datetime | None = None


class ComplaintState(BaseModel):
    complaint_id: str = ""
    version: int = 0  # events in the stream so far
    status: Status | None = None  # None: not registered yet
    channel: Channel | None = None
    received_at: datetime | None = None
    registered_at: datetime | None = None
    urgent: bool = False
    contract: str | None = None  # None: registered before contracts (the "default" contract)
    policy_version: str | None = None
    tier: int = 0
    category: str | None = None
    classified_by_rule: str = ""
    team: str = ""
    assignee: str = ""
    round: int = 0  # 1 from registration; +1 on every reopen
    round_started_at: datetime | None = None
    deadlines: list[DeadlineState] = []
    pauses: list[Pause] = []
    escalation_level: int = 0
    last_escalated_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    rating: int | None = None
    breached: bool = False
    # The closed loop: since when the customer has been waiting to hear from us (their last
    # message from us, their own reply or reopening, or the last missed update), and which
    # delivery results the workflow has recorded (by the message's key), so each counts once.
    informed_at: datetime | None = None
    deliveries_recorded: list[str] = []
    # Since when the customer's own message (CustomerWrote, or CustomerReplied: their answer to
    # our question) waits for an answer in staff's own words; None once one is given (or
    # missed: it is breached once).
    unanswered_since: datetime | None = None

    def current_deadlines(self) -> list[DeadlineState]:
        return [d for d in self.deadlines if d.round == self.round]

    def deadline(self, kind: DeadlineKind) -> DeadlineState | None:
        return next((d for d in self.current_deadlines() if d.kind == kind), None)

    def round_pauses(self) -> list[tuple[datetime, datetime | None]]:
        return [
            (p.started_at, p.ended_at)
            for p in self.pauses
            if p.ended_at is None or p.ended_at > self.round_started_at
        ]


# The two deadline rules, on a list of deadlines so that every fold keeps them: the state's
# (below) and the reports' ledger (store.report_model), which keeps no state of its own.


def rescheduled(
    deadlines: list[DeadlineState], event: ev.DeadlinesScheduled
) -> list[DeadlineState]:
    """A new schedule replaces its round's pending deadlines; settled ones (met or breached)
    stand, and a kind already settled in the round is not scheduled again."""
    settled = [d for d in deadlines if d.round != event.round or not d.pending]
    settled_kinds = {d.kind for d in settled if d.round == event.round}
    fresh = [
        DeadlineState(round=event.round, kind=s.kind, due_at=s.due_at, warn_at=s.warn_at)
        for s in event.deadlines
        if s.kind not in settled_kinds
    ]
    return settled + fresh


DeadlineStamp = ev.DeadlineMet | ev.DeadlineBreached | ev.DeadlineWarningIssued
_STAMPED_FIELD = {
    ev.DeadlineMet: "met_at",
    ev.DeadlineBreached: "breached_at",
    ev.DeadlineWarningIssued: "warned_at",
}


def stamped(deadlines: list[DeadlineState], event: DeadlineStamp) -> list[DeadlineState]:
    """The deadlines with the event's time stamped on the one it is about (met, breached or
    warned); the others are the same objects."""
    field = _STAMPED_FIELD[type(event)]
    return [
        d.model_copy(update={field: event.at})
        if d.round == event.round and d.kind == event.kind
        else d
        for d in deadlines
    ]


DeadlineEvent = ev.DeadlinesScheduled | DeadlineStamp
# Their type names, for a fold that validates only the events these rules read.
DEADLINE_EVENT_TYPES = frozenset(
    t.model_fields["type"].default for t in (ev.DeadlinesScheduled, *_STAMPED_FIELD)
)


def deadlines_after(deadlines: list[DeadlineState], event: DeadlineEvent) -> list[DeadlineState]:
    """The deadlines after a schedule or a stamp; `deadlines` is never changed."""
    if isinstance(event, ev.DeadlinesScheduled):
        return rescheduled(deadlines, event)
    return stamped(deadlines, event)


def _with_last_pause(state: ComplaintState, **changes: object) -> list[Pause]:
    return [*state.pauses[:-1], state.pauses[-1].model_copy(update=changes)]


def evolve(state: ComplaintState, event: ev.Event) -> ComplaintState:
    """The state after `event`. Copy on write: `state` is never changed, and the new state
    shares every part the event leaves alone (a deep copy per event was most of what a decision
    cost the worker), so nothing may change a state's lists or deadlines in place."""
    return fold((event,), state)


def fold(events: Iterable[ev.Event], state: ComplaintState | None = None) -> ComplaintState:
    """The state after `events`, from `state` (never changed) or from nothing. One copy for
    the whole fold rather than one per event: the handlers replace every field they change, so
    the states in between, which nobody sees, need no copies of their own (a read model's
    rebuild folds millions of events)."""
    s = (state or ComplaintState()).model_copy()
    applied = 0
    for event in events:
        _HANDLERS[type(event)](s, event)
        applied += 1
    s.version += applied
    return s


# What each event does to the state. Each handler changes `s` in place, replacing (never
# changing in place) any list or deadline it holds, since those are shared with the states it
# was copied from. Looked up by the event's type, not matched case by case: a read model's
# rebuild runs this for every event of the log.


def _registered(s: ComplaintState, event: ev.ComplaintRegistered) -> None:
    s.complaint_id = event.complaint_id
    s.status = Status.OPEN
    s.channel = event.channel
    s.received_at = event.received_at
    s.registered_at = event.at
    s.urgent = event.urgent
    s.contract, s.policy_version = event.contract, event.policy_version
    s.round = 1
    s.round_started_at = event.received_at


def _classified(s: ComplaintState, event: ev.ComplaintClassified) -> None:
    s.tier, s.category = event.tier, event.category
    s.classified_by_rule = event.rule


def _reclassified(s: ComplaintState, event: ev.ComplaintReclassified) -> None:
    s.tier, s.category = event.tier, event.category


def _assigned(s: ComplaintState, event: ev.ComplaintAssigned | ev.ComplaintReassigned) -> None:
    s.team, s.assignee = event.team, event.assignee


def _deadline_event(s: ComplaintState, event: DeadlineEvent) -> None:
    s.deadlines = deadlines_after(s.deadlines, event)
    if isinstance(event, ev.DeadlineBreached):
        s.breached = True


def _escalated(s: ComplaintState, event: ev.ComplaintEscalated) -> None:
    s.escalation_level = event.level
    s.last_escalated_at = event.at


def _information_requested(s: ComplaintState, event: ev.InformationRequested) -> None:
    _answered(s, event)
    s.status = Status.WAITING_ON_CUSTOMER
    s.pauses = [*s.pauses, Pause(started_at=event.at, question=event.question)]


def _customer_replied(s: ComplaintState, event: ev.CustomerReplied) -> None:
    s.status = Status.OPEN
    s.pauses = _with_last_pause(s, ended_at=event.at)
    s.informed_at = event.at
    s.unanswered_since = event.at


def _customer_wrote(s: ComplaintState, event: ev.CustomerWrote) -> None:
    s.unanswered_since = s.unanswered_since or event.at


def _answered(s: ComplaintState, event: ev.Event) -> None:
    """Staff wrote to the customer in their own words: their message is answered."""
    s.unanswered_since = None


def _customer_answer_missed(s: ComplaintState, event: ev.CustomerAnswerMissed) -> None:
    s.unanswered_since = None
    s.breached = True


def _customer_reminded(s: ComplaintState, event: ev.CustomerReminded) -> None:
    s.pauses = _with_last_pause(s, reminded_at=event.at)


def _notification_requested(s: ComplaintState, event: ev.NotificationRequested) -> None:
    if event.recipient == CUSTOMER:
        s.informed_at = event.at


def _progress_update_missed(s: ComplaintState, event: ev.ProgressUpdateMissed) -> None:
    s.informed_at = event.due_at
    s.breached = True


def _delivery_recorded(
    s: ComplaintState, event: ev.CustomerMessageDelivered | ev.CustomerMessageUndelivered
) -> None:
    s.deliveries_recorded = [*s.deliveries_recorded, event.key]


def _resolved(s: ComplaintState, event: ev.ComplaintResolved) -> None:
    _answered(s, event)
    s.status = Status.RESOLVED
    s.resolved_at = event.at


def _feedback(s: ComplaintState, event: ev.FeedbackRecorded) -> None:
    s.rating = event.rating


def _reopened(s: ComplaintState, event: ev.ComplaintReopened) -> None:
    s.status = Status.OPEN
    s.round = event.round
    s.round_started_at = s.informed_at = event.at
    s.resolved_at = s.closed_at = s.rating = s.unanswered_since = None


def _closed(s: ComplaintState, event: ev.ComplaintClosed) -> None:
    s.status = Status.CLOSED
    s.closed_at = event.at
    if s.pauses and s.pauses[-1].ended_at is None:  # closed for want of a reply
        s.pauses = _with_last_pause(s, ended_at=event.at)


def _archived(s: ComplaintState, event: ev.ComplaintArchived) -> None:
    s.status = Status.ARCHIVED


def _amended(s: ComplaintState, event: ev.PolicyAmended) -> None:
    s.policy_version = event.to_version


def _recorded_only(s: ComplaintState, event: ev.Event) -> None:
    """Recorded for the timeline; changes no decision."""


_HANDLERS: dict[type, Callable[[ComplaintState, Any], None]] = {
    ev.ComplaintRegistered: _registered,
    ev.ComplaintClassified: _classified,
    ev.ComplaintReclassified: _reclassified,
    ev.ComplaintAssigned: _assigned,
    ev.ComplaintReassigned: _assigned,
    ev.DeadlinesScheduled: _deadline_event,
    ev.DeadlineMet: _deadline_event,
    ev.DeadlineWarningIssued: _deadline_event,
    ev.DeadlineBreached: _deadline_event,
    ev.ComplaintEscalated: _escalated,
    ev.InformationRequested: _information_requested,
    ev.CustomerReplied: _customer_replied,
    ev.CustomerWrote: _customer_wrote,
    ev.CustomerAnswerMissed: _customer_answer_missed,
    ev.CustomerReminded: _customer_reminded,
    ev.NotificationRequested: _notification_requested,
    ev.ProgressUpdateMissed: _progress_update_missed,
    ev.CustomerMessageDelivered: _delivery_recorded,
    ev.CustomerMessageUndelivered: _delivery_recorded,
    ev.ComplaintResolved: _resolved,
    ev.FeedbackRecorded: _feedback,
    ev.ComplaintReopened: _reopened,
    ev.ComplaintClosed: _closed,
    ev.ComplaintArchived: _archived,
    ev.PolicyAmended: _amended,
    ev.FirstResponseGiven: _answered,
    ev.InitialSolutionGiven: _answered,
    ev.NoteAdded: _recorded_only,
    ev.AttachmentAdded: _recorded_only,
}
