"""SLA arithmetic: when each deadline of a round falls due, and when time-driven steps are owed.

Every due time is computed from the round's start (reception, or the reopen) with the round's
pauses left out, so a reclassification or a resumed pause simply recomputes from the time
already spent: one formula for all of them.
"""

from __future__ import annotations

from datetime import datetime

from domain.calendar import BusinessCalendar, due_at
from domain.events import ScheduledDeadline
from domain.policy import Policy
from domain.state import ComplaintState
from domain.vocabulary import DEADLINE_ORDER, DeadlineKind, Status


def schedule(
    policy: Policy, tier: int, start: datetime, pauses: list[tuple[datetime, datetime | None]]
) -> list[ScheduledDeadline] | None:
    """Due times of the tier's deadlines for a round started at `start`; None while paused."""
    clock = policy.clock(tier)
    deadlines = policy.tier(tier).deadlines
    capped_kinds = policy.business_hours.after_hours_applies_to
    cap = None
    if isinstance(clock, BusinessCalendar):
        reply_by = clock.first_reply_by(start, policy.business_hours.after_hours_first_reply_by)
        # As a budget (business time from reception to 09:30), so pauses push it back too.
        cap = clock.elapsed(start, reply_by) if reply_by else None
    out = []
    for kind in (k for k in DEADLINE_ORDER if k in deadlines):
        budget = policy.budget(tier, kind)
        if cap is not None and kind in capped_kinds:
            budget = min(budget, cap)
        due = due_at(clock, start, budget, pauses)
        if due is None:
            return None
        share = policy.deadline_warning_share
        warn = due_at(clock, start, budget * share, pauses) if share and budget else None
        out.append(ScheduledDeadline(kind=kind, due_at=due, warn_at=warn))
    return out


def max_level(policy: Policy, tier: int) -> int:
    return len(policy.tier(tier).escalation_chain) - 1


def role_at(policy: Policy, tier: int, level: int) -> str:
    chain = policy.tier(tier).escalation_chain
    return chain[min(level, len(chain) - 1)]


def re_escalation_at(state: ComplaintState, policy: Policy) -> datetime | None:
    """When the chain climbs again: a breached deadline still unanswered, and room to climb."""
    if state.status is not Status.OPEN or state.escalation_level >= max_level(policy, state.tier):
        return None
    if not any(d.overdue_unanswered for d in state.current_deadlines()):
        return None
    # On a business-hours tier the interval is business time: a climb owed at 17:30 with two
    # hours to go falls at 10:30 the next working day, not at night when nobody is there.
    every = policy.re_escalate_every(state.tier)
    if not policy.business_time_rules:
        return state.last_escalated_at + every
    return policy.clock(state.tier).advance(state.last_escalated_at, every)


def quiet_until(policy: Policy, tier: int, now: datetime) -> datetime | None:
    """Until when a message to staff about a complaint of `tier` decided at `now` waits: the
    next opening, if a business-hours tier decides it while the business is closed (quiet
    hours). Round-the-clock tiers never wait, nor does anything for the customer."""
    clock = policy.clock(tier)
    if not policy.business_time_rules or not isinstance(clock, BusinessCalendar):
        return None
    return None if clock.is_open(now) else clock.next_opening(now)


def auto_close_at(state: ComplaintState, policy: Policy) -> datetime | None:
    if state.status is not Status.RESOLVED:
        return None
    return state.resolved_at + policy.confirmation_window_span()


def reopen_deadline(state: ComplaintState, policy: Policy) -> datetime | None:
    """Until when the customer may reject the resolution, or come back to a complaint closed
    for want of their reply (and the complaint stays live)."""
    if state.status not in (Status.RESOLVED, Status.CLOSED):
        return None
    return (state.resolved_at or state.closed_at) + policy.reopen_window_span()


def archive_at(state: ComplaintState, policy: Policy) -> datetime | None:
    return reopen_deadline(state, policy) if state.status is Status.CLOSED else None


# --- the closed loop with the customer ---------------------------------------------------------


def _after(policy: Policy, tier: int, start: datetime, text: str | None) -> datetime | None:
    """`text` (a tier key's duration) after `start` on the tier's clock; None if not set."""
    if text is None or not policy.closed_loop:
        return None
    return policy.clock(tier).advance(start, policy.tier_span(tier, text))


def progress_update_due(state: ComplaintState, policy: Policy) -> datetime | None:
    """When the customer is owed word from us, while their complaint is open."""
    if state.status is not Status.OPEN or state.informed_at is None:
        return None
    every = policy.tier(state.tier).keep_customer_informed_every
    return _after(policy, state.tier, state.informed_at, every)


def customer_answer_due(state: ComplaintState, policy: Policy) -> datetime | None:
    """When the customer's last unanswered message is owed an answer, while it is open."""
    if state.status is not Status.OPEN or state.unanswered_since is None:
        return None
    within = policy.tier(state.tier).answer_customer_within
    return _after(policy, state.tier, state.unanswered_since, within)


def _waiting_since(state: ComplaintState) -> datetime | None:
    if state.status is not Status.WAITING_ON_CUSTOMER:
        return None
    return state.pauses[-1].started_at


def reminder_at(state: ComplaintState, policy: Policy) -> datetime | None:
    """When the customer we are waiting on is reminded (once per request)."""
    since = _waiting_since(state)
    if since is None or state.pauses[-1].reminded_at is not None:
        return None
    return _after(policy, state.tier, since, policy.tier(state.tier).remind_customer_after)


def no_reply_close_at(state: ComplaintState, policy: Policy) -> datetime | None:
    """When a complaint still waiting on the customer's information closes as "no reply"."""
    since = _waiting_since(state)
    if since is None:
        return None
    return _after(policy, state.tier, since, policy.tier(state.tier).close_without_reply_after)


def expected_completion(state: ComplaintState, policy: Policy, now: datetime) -> datetime | None:
    """What the customer is told to expect: the resolution deadline while it is ahead; once it
    has passed, a fresh resolution budget from now (the escalation has put a more senior person
    on it, and the new promise is one the tier's own terms can keep)."""
    resolution = state.deadline(DeadlineKind.RESOLUTION)
    if resolution is not None and resolution.due_at > now:
        return resolution.due_at
    if DeadlineKind.RESOLUTION not in policy.tier(state.tier).deadlines:
        return None
    return policy.clock(state.tier).advance(now, policy.budget(state.tier, DeadlineKind.RESOLUTION))


def next_alarm(state: ComplaintState, policy: Policy) -> datetime | None:
    """The earliest moment at which `tick` would have something to decide."""
    moments = [
        re_escalation_at(state, policy),
        auto_close_at(state, policy),
        archive_at(state, policy),
        progress_update_due(state, policy),
        customer_answer_due(state, policy),
        reminder_at(state, policy),
        no_reply_close_at(state, policy),
    ]
    if state.status is Status.OPEN:
        moments += [d.due_at for d in state.current_deadlines() if d.pending]
        moments += [d.warn_at for d in state.current_deadlines() if d.warning_owed]
    return min((m for m in moments if m is not None), default=None)
