"""decide(state, command, now, policy) -> the new events, or a DomainError naming what was refused.

Time comes first: before any command, whatever the clock already owes (a breach, an escalation,
closing) is decided, so an answer given one minute late is recorded as a breach and then a late
answer, never as an answer in time. After the command the clock is consulted again, because a
reclassification can make a deadline already due.
"""

from __future__ import annotations

import zlib
from collections.abc import Collection
from datetime import datetime

from domain import commands as c
from domain import events as ev
from domain import sla
from domain.assignment import choose
from domain.classify import classify
from domain.contracts import contract_of
from domain.policy import Policy
from domain.presence import local_day
from domain.state import ComplaintState, evolve
from domain.vocabulary import CUSTOMER, DeadlineKind, Status, kinds_met_by

PROGRESS_UPDATE = "progress_update"  # the escalation reason of a missed update to the customer
CUSTOMER_ANSWER = "customer_answer"  # ... and of the customer's message left unanswered


class DomainError(Exception):
    """A command the complaint's state forbids; the message says which and why."""


class UnknownCategory(DomainError):
    """A reclassification to a category the complaint's contract does not have: bad input (the
    category field), where other refusals are the state's."""


class _Decision:
    """Collects new events and keeps the state they lead to, so each step sees the last."""

    def __init__(self, state: ComplaintState, now: datetime, policy: Policy) -> None:
        self.state, self.now, self.policy = state, now, policy
        self.events: list[ev.Event] = []

    def emit(self, *events: ev.Event) -> None:
        for event in events:
            self.state = evolve(self.state, event)
            self.events.append(event)

    def notify(self, kind: str, recipient: str, step: str, **details: object) -> None:
        s = self.state
        # Staff are not woken at night for a business-hours complaint; the customer hears from
        # us whenever there is news.
        held = None if recipient == CUSTOMER else sla.quiet_until(self.policy, s.tier, self.now)
        self.emit(
            ev.NotificationRequested(
                at=self.now,
                key=f"{s.complaint_id}:{kind}:{step}:{recipient}",
                kind=kind,
                recipient=recipient,
                not_before=held,
                details={
                    # The contract names whose parties are told (complaints from before
                    # contracts name none: the default contract's).
                    **({"contract": s.contract} if s.contract else {}),
                    "complaint_id": s.complaint_id,
                    "tier": s.tier,
                    "team": s.team,
                    "assignee": s.assignee,
                    **details,
                },
            )
        )


def decide(
    state: ComplaintState, command: c.Command, now: datetime, policy: Policy
) -> list[ev.Event]:
    return _run(state, command, now, policy).events


def decide_with_state(
    state: ComplaintState, command: c.Command, now: datetime, policy: Policy
) -> tuple[list[ev.Event], ComplaintState]:
    """The new events and the state they lead to (saves the caller folding them again)."""
    d = _run(state, command, now, policy)
    return d.events, d.state


def _run(state: ComplaintState, command: c.Command, now: datetime, policy: Policy) -> _Decision:
    d = _Decision(state, now, policy)
    if isinstance(command, c.Register):
        _register(d, command)
    else:
        if state.status is None:
            raise DomainError(f"cannot {command.verb}: the complaint is not registered")
        if state.status is Status.ARCHIVED:
            raise DomainError(f"cannot {command.verb}: complaint {state.complaint_id} is archived")
        _tick(d)
        _HANDLERS[type(command)](d, command)
    _tick(d)
    return d


# --- the clock -------------------------------------------------------------------------------


def _tick(d: _Decision) -> None:
    s, now, policy = d.state, d.now, d.policy
    if s.status is Status.OPEN:
        _warn(d)
        for dl in sorted(s.current_deadlines(), key=lambda x: x.due_at):
            if dl.pending and dl.due_at <= now:
                d.emit(ev.DeadlineBreached(at=now, round=s.round, kind=dl.kind, due_at=dl.due_at))
                _escalate(d, reason=dl.kind, step=f"r{s.round}-{dl.kind}")
    if (at := sla.progress_update_due(d.state, policy)) and at <= now:
        d.emit(ev.ProgressUpdateMissed(at=now, due_at=at))
        _escalate(d, reason=PROGRESS_UPDATE, step=f"u{at:%Y%m%dT%H%M%S}", due_at=at.isoformat())
    if (at := sla.customer_answer_due(d.state, policy)) and at <= now:
        d.emit(ev.CustomerAnswerMissed(at=now, due_at=at))
        _escalate(d, reason=CUSTOMER_ANSWER, step=f"a{at:%Y%m%dT%H%M%S}", due_at=at.isoformat())
    if (at := sla.re_escalation_at(d.state, policy)) and at <= now:
        _escalate(d, reason="still_unanswered", step=f"L{d.state.escalation_level + 1}")
    _wait_on_customer(d)
    if (at := sla.auto_close_at(d.state, policy)) and at <= now:
        d.emit(ev.ComplaintClosed(at=now, reason="no_answer"))
    if (at := sla.archive_at(d.state, policy)) and at <= now:
        d.emit(ev.ComplaintArchived(at=now))


def _warn(d: _Decision) -> None:
    """Tell whoever holds the complaint that a deadline is close. A warning the clock owed but
    that is decided only once its deadline has passed (a herd of deadlines, a server that was
    down) is still recorded, late, so the record never hides it; nobody is told, as the breach
    that follows escalates."""
    s = d.state
    for dl in s.current_deadlines():
        if not dl.warning_owed or d.now < dl.warn_at:
            continue
        in_time = d.now < dl.due_at
        if not in_time and not d.policy.closed_loop:
            continue  # complaints from before this rule dropped a late warning
        d.emit(ev.DeadlineWarningIssued(at=d.now, round=s.round, kind=dl.kind, due_at=dl.due_at))
        if in_time:
            role = sla.role_at(d.policy, s.tier, s.escalation_level)
            d.notify(
                "deadline_warning",
                role,
                f"r{s.round}-{dl.kind}",
                deadline=dl.kind,
                due_at=dl.due_at.isoformat(),
            )


def _escalate(d: _Decision, reason: str, step: str, **details: object) -> None:
    """One level up the chain (unless at its top), tell whoever now holds it, and tell the
    customer how it stands and when to expect the outcome."""
    s = d.state
    level = min(s.escalation_level + 1, sla.max_level(d.policy, s.tier))
    if level > s.escalation_level:
        d.emit(
            ev.ComplaintEscalated(
                at=d.now, level=level, to_role=sla.role_at(d.policy, s.tier, level), reason=reason
            )
        )
    role = sla.role_at(d.policy, s.tier, level)
    d.notify("escalation", role, step, reason=reason, level=level, **details)
    if d.policy.closed_loop:
        expected = sla.expected_completion(d.state, d.policy, d.now)
        due = {"due_at": expected.isoformat()} if expected else {}
        d.notify("progress", CUSTOMER, step, **due)


def _wait_on_customer(d: _Decision) -> None:
    """While we wait on the customer's information: remind them once, then close for want of a
    reply (they may still come back, within the reopen window)."""
    s = d.state
    if (at := sla.reminder_at(s, d.policy)) and at <= d.now:
        d.emit(ev.CustomerReminded(at=d.now))
        d.notify("information_reminder", CUSTOMER, f"p{len(s.pauses)}", text=s.pauses[-1].question)
    if (at := sla.no_reply_close_at(d.state, d.policy)) and at <= d.now:
        d.emit(ev.ComplaintClosed(at=d.now, reason="no_reply"))
        d.notify("closed_no_reply", CUSTOMER, f"p{len(s.pauses)}")


def _meet(d: _Decision, kind: DeadlineKind) -> None:
    for k in kinds_met_by(kind):
        dl = d.state.deadline(k)
        if dl is not None and dl.met_at is None:
            d.emit(ev.DeadlineMet(at=d.now, round=d.state.round, kind=k, due_at=dl.due_at))


def _schedule(d: _Decision, reason: str, skip: tuple[DeadlineKind, ...] = ()) -> None:
    s = d.state
    plan = sla.schedule(d.policy, s.tier, s.round_started_at, s.round_pauses())
    if plan is not None:  # None while paused: the reply will schedule
        wanted = [x for x in plan if x.kind not in skip]
        d.emit(ev.DeadlinesScheduled(at=d.now, round=s.round, reason=reason, deadlines=wanted))


# --- commands --------------------------------------------------------------------------------


def _require(d: _Decision, command: c.Command, *allowed: Status, why: str = "") -> None:
    s = d.state
    if s.status not in allowed:
        detail = f" ({why})" if why else ""
        raise DomainError(
            f"cannot {command.verb}: complaint {s.complaint_id} is {s.status.value}{detail}"
        )


def _register(d: _Decision, cmd: c.Register) -> None:
    if d.state.status is not None:
        raise DomainError(f"cannot register: complaint {cmd.complaint_id} is already registered")
    received = cmd.received_at or d.now
    if received > d.now:
        raise DomainError("cannot register: received_at is in the future")
    verdict = classify(
        d.policy.classification, cmd.channel, cmd.subject, cmd.description, cmd.urgent
    )
    team = d.policy.team_for(verdict.category)
    members = d.policy.teams[team].members
    if cmd.team_load is not None:
        chosen = choose(members, cmd.team_load, local_day(d.now, d.policy.timezone))
        assignee, reason = chosen.assignee, chosen.reason
    else:  # complaints from before: a stable pick from the id, blind to load and absence
        assignee, reason = members[zlib.crc32(cmd.complaint_id.encode()) % len(members)], None
    d.emit(
        ev.ComplaintRegistered(
            at=d.now,
            complaint_id=cmd.complaint_id,
            channel=cmd.channel,
            subject=cmd.subject,
            description=cmd.description,
            urgent=cmd.urgent,
            external_ref=cmd.external_ref,
            received_at=received,
            customer=cmd.customer,
            contract=cmd.contract,
            policy_version=cmd.policy_version,
        ),
        ev.ComplaintClassified(
            at=d.now,
            category=verdict.category,
            tier=verdict.tier,
            rule=verdict.rule,
            urgent_raised=verdict.urgent_raised,
        ),
        ev.ComplaintAssigned(at=d.now, team=team, assignee=assignee, reason=reason),
    )
    _schedule(d, "registered")
    # Registration tells the customer it was received: that is the acknowledgement. It is in
    # time unless the message reached us long before it was registered (a backdated phone or
    # e-mail intake); then the breach is recorded first and the acknowledgement is a late one.
    ack = d.state.deadline(DeadlineKind.ACKNOWLEDGE)
    if ack is not None and d.now <= ack.due_at:
        _meet(d, DeadlineKind.ACKNOWLEDGE)
    _tick(d)
    _meet(d, DeadlineKind.ACKNOWLEDGE)
    # The receipt also tells the customer when to expect the outcome.
    resolution = d.state.deadline(DeadlineKind.RESOLUTION)
    expected = {"due_at": resolution.due_at.isoformat()} if resolution else {}
    d.notify("acknowledgement", CUSTOMER, "r1", **expected)
    d.notify("assignment", "assignee", "r1")


def _respond(d: _Decision, cmd: c.Respond) -> None:
    _require(d, cmd, Status.OPEN, Status.WAITING_ON_CUSTOMER)
    d.emit(ev.FirstResponseGiven(at=d.now, by=cmd.by, by_key=cmd.by_key, message=cmd.message))
    _meet(d, DeadlineKind.FIRST_RESPONSE)
    _tell_customer(d, "response", cmd.message)


def _initial_solution(d: _Decision, cmd: c.GiveInitialSolution) -> None:
    _require(d, cmd, Status.OPEN, Status.WAITING_ON_CUSTOMER)
    d.emit(ev.InitialSolutionGiven(at=d.now, by=cmd.by, by_key=cmd.by_key, solution=cmd.solution))
    _meet(d, DeadlineKind.INITIAL_SOLUTION)
    _tell_customer(d, "initial_solution", cmd.solution)


def _request_info(d: _Decision, cmd: c.RequestInfo) -> None:
    _require(d, cmd, Status.OPEN)
    d.emit(ev.InformationRequested(at=d.now, by=cmd.by, by_key=cmd.by_key, question=cmd.question))
    d.notify("information_request", CUSTOMER, f"p{len(d.state.pauses)}", **_words(d, cmd.question))


def _words(d: _Decision, text: str) -> dict[str, str]:
    """The agent's own words for the customer's message (complaints from before the closed loop
    sent a form letter, and replay as they ran)."""
    return {"text": text} if d.policy.closed_loop else {}


def _tell_customer(d: _Decision, kind: str, text: str) -> None:
    if d.policy.closed_loop:
        d.notify(kind, CUSTOMER, f"v{d.state.version}", text=text)


def _customer_reply(d: _Decision, cmd: c.RecordCustomerReply) -> None:
    """While we wait on them, their message answers our question and resumes the clock; while
    the complaint is open, it is them writing to us. Either way it is owed an answer in staff's
    own words (the tier's answer_customer_within), and whoever holds the complaint is told."""
    wrote = d.state.status is Status.OPEN
    if wrote:
        d.emit(ev.CustomerWrote(at=d.now, message=cmd.message, by=cmd.by, by_key=cmd.by_key))
    else:
        _require(d, cmd, Status.WAITING_ON_CUSTOMER)
        d.emit(ev.CustomerReplied(at=d.now, message=cmd.message, by=cmd.by, by_key=cmd.by_key))
        _schedule(d, "resumed")
    due = sla.customer_answer_due(d.state, d.policy)
    # An answer to our question is told only where an answer is owed: complaints registered
    # before the rule (no answer_customer_within in their policy) decide as they ran.
    if wrote or due:
        when = {"due_at": due.isoformat()} if due else {}
        d.notify("customer_wrote", "assignee", f"v{d.state.version}", **when)


def _resolve(d: _Decision, cmd: c.Resolve) -> None:
    _require(
        d,
        cmd,
        Status.OPEN,
        why="record the customer's reply first"
        if d.state.status is Status.WAITING_ON_CUSTOMER
        else "",
    )
    d.emit(ev.ComplaintResolved(at=d.now, by=cmd.by, by_key=cmd.by_key, resolution=cmd.resolution))
    _meet(d, DeadlineKind.RESOLUTION)
    d.notify("resolution", CUSTOMER, f"r{d.state.round}", **_words(d, cmd.resolution))


def _feedback(d: _Decision, cmd: c.RecordFeedback) -> None:
    _require(d, cmd, Status.RESOLVED, Status.CLOSED)
    if d.state.rating is not None:
        raise DomainError(
            f"cannot record feedback: complaint {d.state.complaint_id} was "
            f"already rated {d.state.rating}"
        )
    d.emit(
        ev.FeedbackRecorded(
            at=d.now, rating=cmd.rating, comment=cmd.comment, by=cmd.by, by_key=cmd.by_key
        )
    )
    if d.state.status is Status.RESOLVED:
        d.emit(ev.ComplaintClosed(at=d.now, reason="feedback"))


def _reopen(d: _Decision, cmd: c.Reopen) -> None:
    _require(d, cmd, Status.RESOLVED, Status.CLOSED)
    s = d.state
    if d.now >= sla.reopen_deadline(s, d.policy):
        raise DomainError(
            f"cannot reopen: the reopen window of complaint {s.complaint_id} "
            f"ended at {sla.reopen_deadline(s, d.policy).isoformat()}"
        )
    d.emit(
        ev.ComplaintReopened(
            at=d.now, round=s.round + 1, reason=cmd.reason, by=cmd.by, by_key=cmd.by_key
        )
    )
    # The complaint was registered and acknowledged long ago; the rest starts again.
    _schedule(d, "reopened", skip=(DeadlineKind.ACKNOWLEDGE,))
    d.notify("reopened", "assignee", f"r{d.state.round}")


def _reassign(d: _Decision, cmd: c.Reassign) -> None:
    _require(d, cmd, Status.OPEN, Status.WAITING_ON_CUSTOMER, Status.RESOLVED)
    team = cmd.team or d.state.team
    if team not in d.policy.teams:
        raise DomainError(f"cannot reassign: team {team!r} is not defined in the policy")
    if (team, cmd.assignee) == (d.state.team, d.state.assignee):
        raise DomainError(f"cannot reassign: {cmd.assignee} already holds this complaint")
    d.emit(
        ev.ComplaintReassigned(
            at=d.now, by=cmd.by, by_key=cmd.by_key, team=team, assignee=cmd.assignee
        )
    )
    d.notify("assignment", "assignee", f"v{d.state.version}")


def _reclassify(d: _Decision, cmd: c.Reclassify) -> None:
    _require(d, cmd, Status.OPEN, Status.WAITING_ON_CUSTOMER)
    s = d.state
    category = cmd.category or s.category
    if category not in d.policy.categories:
        raise UnknownCategory(
            f"cannot reclassify: category {category!r} is not one of this contract's categories "
            f"({', '.join(d.policy.categories)})"
        )
    if (cmd.tier, category) == (s.tier, s.category):
        raise DomainError(
            f"cannot reclassify: complaint {s.complaint_id} is already tier {s.tier}, {category}"
        )
    d.emit(
        ev.ComplaintReclassified(
            at=d.now,
            by=cmd.by,
            by_key=cmd.by_key,
            category=category,
            tier=cmd.tier,
            reason=cmd.reason,
        )
    )
    _schedule(d, "reclassified")


def _amend(d: _Decision, cmd: c.AmendPolicy) -> None:
    """New terms reach the complaint on purpose: from now on they decide, and the round's open
    deadlines are re-timed under them from the time already spent (reclassification's formula).
    A deadline moved into the past is breached by the trailing tick, at once, like any other."""
    _require(d, cmd, Status.OPEN, Status.WAITING_ON_CUSTOMER, Status.RESOLVED)
    s = d.state
    owed = {dl.kind: dl for dl in s.current_deadlines() if dl.pending}
    _check_amendment(s, cmd, owed)
    d.policy = cmd.policy
    plan: list[ev.ScheduledDeadline] = []
    # Paused, the clock is stopped: the customer's reply re-times them under these terms.
    if s.status is Status.OPEN:
        fresh = sla.schedule(d.policy, s.tier, s.round_started_at, s.round_pauses()) or []
        plan = [x for x in fresh if x.kind in owed]
    moved = [
        ev.DeadlineMoved(kind=x.kind, old_due_at=owed[x.kind].due_at, new_due_at=x.due_at)
        for x in plan
        if x.due_at != owed[x.kind].due_at
    ]
    d.emit(
        ev.PolicyAmended(
            at=d.now, by=cmd.by, from_version=s.policy_version, to_version=cmd.version,
            deadlines=moved,
        )
    )  # fmt: skip
    # Rescheduled only if something changed: a fresh schedule owes its warnings again.
    if any((x.due_at, x.warn_at) != (owed[x.kind].due_at, owed[x.kind].warn_at) for x in plan):
        d.emit(ev.DeadlinesScheduled(at=d.now, round=s.round, reason="amended", deadlines=plan))


def _check_amendment(s: ComplaintState, cmd: c.AmendPolicy, owed: Collection[DeadlineKind]) -> None:
    """Terms the complaint cannot live under are refused, naming what they lack."""
    why = ""
    new = cmd.policy
    if contract_of(s.contract) != cmd.contract:
        why = f"it belongs to contract {contract_of(s.contract)!r}, not {cmd.contract!r}"
    elif cmd.version == s.policy_version:
        why = f"it is already on version {cmd.version}"
    elif s.category not in new.categories:
        why = f"the new terms' categories lack its category {s.category!r} (reclassify it first)"
    elif s.team not in new.teams:
        why = f"the new terms' teams lack its team {s.team!r} (reassign it first)"
    elif dropped := [k.value for k in owed if k not in new.tier(s.tier).deadlines]:
        why = (
            f"the new terms' tier {s.tier} has no {', '.join(dropped)} deadline, which it still "
            "owes (an amendment re-times deadlines; it never drops one)"
        )
    if why:
        raise DomainError(f"cannot amend the terms of complaint {s.complaint_id}: {why}")


def _note(d: _Decision, cmd: c.AddNote) -> None:
    d.emit(ev.NoteAdded(at=d.now, by=cmd.by, by_key=cmd.by_key, text=cmd.text))


def _attach(d: _Decision, cmd: c.AddAttachment) -> None:
    _require(d, cmd, Status.OPEN, Status.WAITING_ON_CUSTOMER, Status.RESOLVED)
    d.emit(
        ev.AttachmentAdded(
            at=d.now,
            attachment_id=cmd.attachment_id,
            content_type=cmd.content_type,
            size=cmd.size,
            source=cmd.source,
        )
    )


def _record_delivery(d: _Decision, cmd: c.RecordDelivery) -> None:
    """A message to the customer reached them, or never will: then whoever holds the complaint
    is told at once, so the customer hears from a person instead."""
    if cmd.key in d.state.deliveries_recorded:
        raise DomainError(f"cannot record a delivery: {cmd.key} is already recorded")
    if cmd.delivered:
        d.emit(
            ev.CustomerMessageDelivered(at=d.now, key=cmd.key, kind=cmd.kind, channels=cmd.channels)
        )
        return
    d.emit(ev.CustomerMessageUndelivered(at=d.now, key=cmd.key, kind=cmd.kind, reason=cmd.reason))
    d.notify(
        "customer_unreachable",
        "assignee",
        f"v{d.state.version}",
        original_kind=cmd.kind,
        undelivered={"role": CUSTOMER, "reason": cmd.reason},
    )


_HANDLERS = {
    c.Respond: _respond,
    c.GiveInitialSolution: _initial_solution,
    c.RequestInfo: _request_info,
    c.RecordCustomerReply: _customer_reply,
    c.Resolve: _resolve,
    c.RecordFeedback: _feedback,
    c.Reopen: _reopen,
    c.Reassign: _reassign,
    c.Reclassify: _reclassify,
    c.AddNote: _note,
    c.AddAttachment: _attach,
    c.RecordDelivery: _record_delivery,
    c.AmendPolicy: _amend,
    c.Tick: lambda d, cmd: None,
}
