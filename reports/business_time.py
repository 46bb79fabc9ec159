"""First response and resolution in business time, for the complaints on business-hours tiers.

The contracts count a business-hours tier's time in its calendar's open hours (DOMAIN.md: working
days 09:00-18:00, holidays out, make-up days in), so a complaint received Friday 17:30 and
answered Monday 09:30 took one business hour, not 64 wall-clock ones. The clock is the domain's
own (domain.policy.Policy.calendar, BusinessCalendar.elapsed: the same one the deadlines run on);
this module only picks which complaints it applies to and ranks the durations. Wall-clock time
of the same complaints is kept beside it, so the two read side by side.

The calendar is the contract's as the deployment serves it now (its make-up days and holidays
included); a complaint of a contract no longer served, or not yet classified, has no
business-hours tier and is left out. Time waiting on the customer is not taken out, as in the
wall-clock figures: both measure receipt to the first answer / resolution.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from domain.calendar import BusinessCalendar
from domain.contracts import Contract
from reports.spread import Spread, spread
from store.report_model import ComplaintFacts

# The business calendar a complaint's times count in, or None when its tier runs round the clock.
ClockOf = Callable[[ComplaintFacts], BusinessCalendar | None]


@dataclass(frozen=True)
class BusinessHoursTimes:
    """The complaints on business-hours tiers: their first response and resolution in business
    time, and in wall-clock time beside it (seconds, median and p90)."""

    tiers: list[int]
    first_response: Spread
    first_response_wall_clock: Spread
    resolution: Spread
    resolution_wall_clock: Spread


def business_clocks(contracts: Mapping[str, Contract]) -> ClockOf:
    """The calendar of each complaint's tier under its contract (None: round the clock)."""
    calendars: dict[str, BusinessCalendar] = {}

    def clock_of(facts: ComplaintFacts) -> BusinessCalendar | None:
        contract = contracts.get(facts.contract)
        if contract is None or str(facts.tier) not in contract.policy.tiers:
            return None
        if contract.policy.tier(facts.tier).clock != "business":
            return None
        if facts.contract not in calendars:
            calendars[facts.contract] = contract.policy.calendar()
        return calendars[facts.contract]

    return clock_of


def business_hours_times(
    facts: Iterable[ComplaintFacts], clock_of: ClockOf
) -> BusinessHoursTimes | None:
    """The figures over `facts` on business-hours tiers; None when there are none."""
    on_hours = [(f, clock) for f in facts if (clock := clock_of(f)) is not None]
    if not on_hours:
        return None
    first_response = _durations(on_hours, lambda f: f.first_response_at)
    resolution = _durations(on_hours, lambda f: f.resolved_at)
    return BusinessHoursTimes(
        tiers=sorted({f.tier for f, _ in on_hours}),
        first_response=spread(first_response[0]),
        first_response_wall_clock=spread(first_response[1]),
        resolution=spread(resolution[0]),
        resolution_wall_clock=spread(resolution[1]),
    )


def _durations(
    on_hours: list[tuple[ComplaintFacts, BusinessCalendar]],
    moment: Callable[[ComplaintFacts], datetime | None],
) -> tuple[list[float], list[float]]:
    """Receipt to `moment`, in business seconds and in wall-clock seconds."""
    business, wall = [], []
    for f, calendar in on_hours:
        at = moment(f)
        if at is None:
            continue
        business.append(calendar.elapsed(f.received_at, at).total_seconds())
        wall.append((at - f.received_at).total_seconds())
    return business, wall
