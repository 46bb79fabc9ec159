"""Who gets a new complaint: the team member with the fewest open complaints among those
present; ties go to the first by name; with nobody present, the team lead. The reason is written
into ComplaintAssigned, so the record says why.

The load and the absences are outside the complaint's state: the workflow reads them (the
team_load activity) just before registering, and they reach `decide` in the Register command,
so the decision stays a pure function of its inputs and replays as it ran.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

from domain.classify import classify
from domain.policy import Policy
from domain.presence import AwayPeriod, away_on


class TeamLoad(BaseModel):
    """What the team looked like when the complaint arrived."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    open: dict[str, int]  # member -> complaints open or waiting on the customer (absent: 0)
    away: list[AwayPeriod] = []
    lead: str | None = None  # the team lead (parties file); None: the contract names none


class Assignment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    assignee: str
    reason: str


def team_of(policy: Policy, registration) -> str:  # a commands.Register
    """The team a registration is routed to, as `decide` will route it."""
    r = registration
    verdict = classify(policy.classification, r.channel, r.subject, r.description, r.urgent)
    return policy.team_for(verdict.category)


def choose(members: list[str], load: TeamLoad, day: date) -> Assignment:
    away = away_on(load.away, day)
    absent = "; ".join(f"{m} away until {away[m].isoformat()}" for m in members if m in away)
    present = sorted(m for m in members if m not in away)
    among = "present"
    if not present:
        fallback = f"nobody present ({absent})"
        if load.lead:
            return Assignment(assignee=load.lead, reason=f"{fallback}: to the team lead")
        # No lead to fall back on (a contract without parties): the load alone decides.
        present, among, absent = sorted(members), "the team", f"{fallback}, no team lead named"
    counts = {m: load.open.get(m, 0) for m in present}
    # Fewest open first, then by name: the same inputs always give the same person.
    assignee = min(present, key=lambda m: (counts[m], m))
    listed = ", ".join(f"{m} {counts[m]}" for m in present)
    reason = f"fewest open ({counts[assignee]}) among {among} {listed}"
    return Assignment(assignee=assignee, reason=f"{reason}; {absent}" if absent else reason)
