"""What-if: the recorded complaints of a period replayed against another policy's deadlines.

For each complaint the simulation keeps what really happened (when it was received, its tier
after any reclassification, its pauses, when each action was taken) and asks only when the
other policy would have put each deadline, with the domain's own SLA arithmetic
(`domain.sla.schedule`). A deadline is breached when its action came after it was due, or has
not come and the deadline has passed. Only the first round counts, on both sides: a reopened
round starts at the reopen, which depends on the first round's outcome.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from domain.events import DEADLINE_ANSWERED_BY, Event
from domain.policy import Policy
from domain.sla import schedule
from domain.state import fold
from domain.vocabulary import DEADLINE_ORDER, DeadlineKind, kinds_met_by

MET, BREACHED, PENDING = "met", "breached", "pending"


@dataclass(frozen=True)
class Outcomes:
    tier: int
    kind: str
    actual: dict[str, int]  # met / breached / pending under the policy it ran under
    simulated: dict[str, int]  # the same under the other policy


@dataclass(frozen=True)
class Simulation:
    complaints: int
    rows: list[Outcomes]  # by tier, then deadline kind
    complaints_breached_actual: int
    complaints_breached_simulated: int

    def total(self, side: str, outcome: str) -> int:
        return sum(getattr(r, side)[outcome] for r in self.rows)


def simulate(streams: Iterable[list[Event]], policy: Policy, now: datetime) -> Simulation:
    """Each stream is one complaint's events, in order, from its registration."""
    counts: dict[tuple[int, str], dict[str, Counter]] = {}
    complaints = breached_actual = breached_simulated = 0
    for events in streams:
        actual, simulated, tier = _outcomes(events, policy, now)
        complaints += 1
        breached_actual += BREACHED in actual.values()
        breached_simulated += BREACHED in simulated.values()
        for side, outcomes in (("actual", actual), ("simulated", simulated)):
            for kind, outcome in outcomes.items():
                key = (tier, kind.value)
                counts.setdefault(key, {"actual": Counter(), "simulated": Counter()})
                counts[key][side][outcome] += 1
    order = {k.value: n for n, k in enumerate(DEADLINE_ORDER)}
    rows = [
        Outcomes(
            tier,
            kind,
            {o: sides["actual"][o] for o in (MET, BREACHED, PENDING)},
            {o: sides["simulated"][o] for o in (MET, BREACHED, PENDING)},
        )
        for (tier, kind), sides in sorted(counts.items(), key=lambda i: (i[0][0], order[i[0][1]]))
    ]
    return Simulation(complaints, rows, breached_actual, breached_simulated)


def _outcomes(
    events: list[Event], policy: Policy, now: datetime
) -> tuple[dict[DeadlineKind, str], dict[DeadlineKind, str], int]:
    reopened = next((e.at for e in events if e.type == "ComplaintReopened"), None)
    first_round = [e for e in events if reopened is None or e.at < reopened]
    state = fold(first_round)
    answered = _answered(first_round)
    actual = {
        d.kind: BREACHED if d.breached_at else MET if d.met_at else PENDING
        for d in state.deadlines
        if d.round == 1
    }
    pauses = [(p.started_at, p.ended_at) for p in state.pauses]
    planned = schedule(policy, state.tier, state.received_at, pauses)
    simulated = {}
    for deadline in planned or []:  # None: paused right now, so nothing is due yet
        moment = answered.get(deadline.kind)
        if moment is not None:
            simulated[deadline.kind] = MET if moment <= deadline.due_at else BREACHED
        else:
            simulated[deadline.kind] = BREACHED if now > deadline.due_at else PENDING
    return actual, simulated, state.tier


def _answered(events: list[Event]) -> dict[DeadlineKind, datetime]:
    """When each deadline kind was first answered by an action."""
    moments: dict[DeadlineKind, datetime] = {}
    for event in events:
        answered = DEADLINE_ANSWERED_BY.get(event.type)
        for kind in kinds_met_by(answered) if answered else ():
            moments.setdefault(kind, event.at)
    return moments
