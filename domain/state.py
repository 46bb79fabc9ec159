"""A complaint's state: nothing but a fold of its events (`evolve`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

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


def _schedule(state: ComplaintState, event: ev.DeadlinesScheduled) -> list[DeadlineState]:
    settled = [d for d in state.deadlines if d.round != event.round or not d.pending]
    settled_kinds = {d.kind for d in settled if d.round == event.round}
    fresh = [
        DeadlineState(round=event.round, kind=s.kind, due_at=s.due_at, warn_at=s.warn_at)
        for s in event.deadlines
        if s.kind not in settled_kinds
    ]
    return settled + fresh


def _mark(
    state: ComplaintState,
    event: ev.DeadlineMet | ev.DeadlineBreached | ev.DeadlineWarningIssued,
    field: str,
) -> list[DeadlineState]:
    """The deadlines with the event's time stamped on the one it is about."""
    return [
        d.model_copy(update={field: event.at})
        if d.round == event.round and d.kind == event.kind
        else d
        for d in state.deadlines
    ]


def _with_last_pause(state: ComplaintState, **changes: object) -> list[Pause]:
    return [*state.pauses[:-1], state.pauses[-1].model_copy(update=changes)]


def evolve(state: ComplaintState, event: ev.Event) -> ComplaintState:
    """The state after `event`. Copy on write: `state` is never changed, and the new state
    shares every part the event leaves alone (a deep copy per event was most of what a decision
    cost the worker), so nothing may change a state's lists or deadlines in place."""
    s = state.model_copy()
    _apply(s, event)
    return s


def fold(events: Iterable[ev.Event], state: ComplaintState | None = None) -> ComplaintState:
    """The state after `events`, from `state` (never changed) or from nothing. One copy for
    the whole fold rather than one per event: _apply replaces every field it changes, so the
    states in between, which nobody sees, need no copies of their own (a read model's rebuild
    folds millions of events)."""
    s = (state or ComplaintState()).model_copy()
    for event in events:
        _apply(s, event)
    return s


def _apply(s: ComplaintState, event: ev.Event) -> None:
    """Change `s` to the state after `event`, replacing (never changing in place) any list or
    deadline it holds, since those are shared with the states it was copied from."""
    s.version += 1
    match event:
        case ev.ComplaintRegistered():
            s.complaint_id = event.complaint_id
            s.status = Status.OPEN
            s.channel = event.channel
            s.received_at = event.received_at
            s.registered_at = event.at
            s.urgent = event.urgent
            s.contract, s.policy_version = event.contract, event.policy_version
            s.round = 1
            s.round_started_at = event.received_at
        case ev.ComplaintClassified() | ev.ComplaintReclassified():
            s.tier, s.category = event.tier, event.category
            if isinstance(event, ev.ComplaintClassified):
                s.classified_by_rule = event.rule
        case ev.ComplaintAssigned() | ev.ComplaintReassigned():
            s.team, s.assignee = event.team, event.assignee
        case ev.DeadlinesScheduled():
            s.deadlines = _schedule(s, event)
        case ev.DeadlineMet():
            s.deadlines = _mark(s, event, "met_at")
        case ev.DeadlineWarningIssued():
            s.deadlines = _mark(s, event, "warned_at")
        case ev.DeadlineBreached():
            s.deadlines = _mark(s, event, "breached_at")
            s.breached = True
        case ev.ComplaintEscalated():
            s.escalation_level = event.level
            s.last_escalated_at = event.at
        case ev.InformationRequested():
            s.status = Status.WAITING_ON_CUSTOMER
            s.pauses = [*s.pauses, Pause(started_at=event.at, question=event.question)]
        case ev.CustomerReplied():
            s.status = Status.OPEN
            s.pauses = _with_last_pause(s, ended_at=event.at)
            s.informed_at = event.at
        case ev.CustomerReminded():
            s.pauses = _with_last_pause(s, reminded_at=event.at)
        case ev.NotificationRequested() if event.recipient == CUSTOMER:
            s.informed_at = event.at
        case ev.ProgressUpdateMissed():
            s.informed_at = event.due_at
            s.breached = True
        case ev.CustomerMessageDelivered() | ev.CustomerMessageUndelivered():
            s.deliveries_recorded = [*s.deliveries_recorded, event.key]
        case ev.ComplaintResolved():
            s.status = Status.RESOLVED
            s.resolved_at = event.at
        case ev.FeedbackRecorded():
            s.rating = event.rating
        case ev.ComplaintReopened():
            s.status = Status.OPEN
            s.round = event.round
            s.round_started_at = s.informed_at = event.at
            s.resolved_at = s.closed_at = s.rating = None
        case ev.ComplaintClosed():
            s.status = Status.CLOSED
            s.closed_at = event.at
            if s.pauses and s.pauses[-1].ended_at is None:  # closed for want of a reply
                s.pauses = _with_last_pause(s, ended_at=event.at)
        case ev.ComplaintArchived():
            s.status = Status.ARCHIVED
        case ev.PolicyAmended():
            s.policy_version = event.to_version
        case (
            ev.NotificationRequested()
            | ev.FirstResponseGiven()
            | ev.InitialSolutionGiven()
            | ev.NoteAdded()
            | ev.AttachmentAdded()
        ):
            pass  # recorded for the timeline; they change no decision
