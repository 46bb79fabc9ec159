"""Who is away, and when: the periods that take a team member out of new assignments.

A period is a span of whole days in the contract's time zone, both ends included. It comes from
the contract's parties file (`[[away]]`) or from a supervisor (`complaints away mark`, POST
/api/away), whose marks are facts of their own stream (`presence_stream`), authored like every
other action. The one rule for a period's dates lives here (`check_period`), for both doors.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter

from domain.contracts import contract_of

PersonId = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class AwayPeriod(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    person: PersonId
    start: date
    end: date  # the last day away
    source: Literal["parties", "supervisor"] = "supervisor"

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end


class BadPeriod(ValueError):
    """A period whose dates break a rule; `field` and `rule` name which (the message says it)."""

    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.rule = field, rule


def check_period(start: date, end: date, today: date) -> None:
    """A period must end on or after its start, and not before today: a period already over
    marks nobody away, so it is a mistake (a mistyped year), not a record worth keeping."""
    if end < start:
        raise BadPeriod(
            "until", "ends_before_start", f"{end.isoformat()} is before from ({start.isoformat()})"
        )
    if end < today:
        raise BadPeriod(
            "until", "ended_in_past", f"{end.isoformat()} is in the past (today is {today})"
        )


def local_day(moment: datetime, timezone: str) -> date:
    """The day `moment` falls on in the contract's time zone: the day periods are counted in."""
    return moment.astimezone(ZoneInfo(timezone)).date()


def away_on(periods: Iterable[AwayPeriod], day: date) -> dict[str, date]:
    """Who is away on `day`, each with the last day of the longest period covering it."""
    away: dict[str, date] = {}
    for p in periods:
        if p.covers(day):
            away[p.person] = max(p.end, away.get(p.person, p.end))
    return away


# --- the supervisor's marks: facts of the contract's presence stream -------------------------


def presence_stream(contract: str | None) -> str:
    """One stream per contract: its people ids are its parties file's."""
    return f"presence/{contract_of(contract)}"


class _Mark(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    at: datetime
    person: PersonId
    start: date
    by: str  # the key's holder (or the CLI's operator), never typed in
    by_key: Annotated[str | None, Field(exclude_if=lambda v: v is None)] = None


class AwayMarked(_Mark):
    type: Literal["AwayMarked"] = "AwayMarked"
    end: date


class AwayCancelled(_Mark):
    """The period of `person` that began on `start` is withdrawn (marked by mistake, or over
    early)."""

    type: Literal["AwayCancelled"] = "AwayCancelled"


PresenceEvent = Annotated[AwayMarked | AwayCancelled, Field(discriminator="type")]
PRESENCE_EVENT = TypeAdapter(PresenceEvent)


def marked_periods(events: Iterable[AwayMarked | AwayCancelled]) -> list[AwayPeriod]:
    """The periods the supervisors' marks leave standing, in the order they were marked (a
    later mark of the same person and start replaces the earlier)."""
    periods: dict[tuple[str, date], AwayPeriod] = {}
    for e in events:
        periods.pop((e.person, e.start), None)
        if isinstance(e, AwayMarked):
            periods[(e.person, e.start)] = AwayPeriod(person=e.person, start=e.start, end=e.end)
    return list(periods.values())
