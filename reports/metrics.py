"""The SLA report: figures per period and group, computed from the complaints' facts.

Every figure counts the complaints *received* in the period (in the company's time zone):

- times to register / first response / initial solution / resolution: wall-clock time from
  receipt to the first time it happened (a resolution also counts as a first response and an
  initial solution, as it meets those deadlines); median and p90, nearest-rank;
- deadlines met (in time) and breached, over every round;
- first-contact resolution rate: resolved with no escalation and no reopen, among resolved;
- reopen rate: reopened at least once, among resolved;
- resolution rate: first-round resolution deadline met in time, among those met or breached
  (still running ones wait); this is the rate the team review watches;
- first response in time: the first round's first answer to the customer within its deadline
  (its first-response deadline, or for a tier without one the next it has: ComplaintFacts),
  among those met or breached;
- satisfaction: average and distribution of the latest rating of each complaint;
- business hours: first response and resolution of the business-hours tiers in business time
  (their contract's calendar), wall clock beside (reports.business_time).

Contracts: a row whose complaints all belong to one contract (the report is for one contract, or
grouped by contract) checks that contract's quality targets against the row's own figures; the
team review runs per contract, under each contract's own rule.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from domain.contracts import Contract, QualityTargets
from domain.policy import PerformanceReview
from domain.vocabulary import DEFAULT_CONTRACT
from reports.business_time import (
    BusinessHoursTimes,
    ClockOf,
    business_clocks,
    business_hours_times,
)
from reports.periods import Period, label, local_day, period_start
from reports.spread import Spread, spread
from store.report_model import ComplaintFacts

GroupBy = Literal["team", "tier", "category", "channel", "contract", "all"]
GROUP_BYS: tuple[GroupBy, ...] = ("team", "tier", "category", "channel", "contract", "all")
RATINGS = (1, 2, 3, 4, 5)
# Upper bounds (seconds) of the first-response distribution's buckets; the last is open-ended.
RESPONSE_BUCKETS: tuple[tuple[str, float], ...] = (
    ("<=10m", 600),
    ("<=30m", 1800),
    ("<=1h", 3600),
    ("<=4h", 4 * 3600),
    ("<=24h", 24 * 3600),
    (">24h", math.inf),
)


# Each quality target a contract may set (domain.contracts.QualityTargets) and the figure of a
# report row that measures it; a target is met when the figure is at least the target.
TARGET_FIGURES: dict[str, str] = {
    "first_contact_resolution": "first_contact_resolution_rate",
    "csat": "satisfaction_average",
    "resolution_rate": "resolution_rate",
    "first_response_in_time": "first_response_in_time_rate",
}
MET, MISSED, NO_DATA = "met", "missed", "no_data"


@dataclass(frozen=True)
class TargetCheck:
    target: str  # a QualityTargets field
    promised: float
    actual: float | None
    status: str  # MET, MISSED, or NO_DATA when the row has nothing settled to measure


@dataclass(frozen=True)
class Figures:
    period: str  # 2026-W48 or 2026-11
    period_start: date
    group: str
    volume: int
    time_to_register: Spread
    time_to_first_response: Spread
    first_response_distribution: dict[str, int]  # complaints per RESPONSE_BUCKETS bucket
    time_to_initial_solution: Spread
    time_to_resolution: Spread
    deadlines_met: int
    deadlines_breached: int
    # The customer left without word from us, or without an answer to their message.
    closed_loop_breaches: int
    resolved: int
    first_contact_resolution_rate: float | None
    reopen_rate: float | None
    resolution_rate: float | None
    first_response_in_time_rate: float | None
    satisfaction_average: float | None
    satisfaction_distribution: dict[int, int]
    # The contract all the row's complaints belong to, when the report is for one contract or
    # grouped by contract (else None), with its name and its targets checked on this row.
    contract: str | None = None
    contract_name: str | None = None
    targets: list[TargetCheck] = field(default_factory=list)
    # First response and resolution of the row's business-hours tiers in business time, wall
    # clock beside (reports.business_time); None when the row has none, or no calendar was given.
    business_hours: BusinessHoursTimes | None = None


@dataclass(frozen=True)
class TeamFlag:
    """A team of a contract whose resolution rate stayed below the contract's threshold for
    enough weeks running."""

    team: str
    weeks: list[str]
    resolution_rates: list[float]
    contract: str = DEFAULT_CONTRACT


@dataclass(frozen=True)
class Coverage:
    """The contracts a report covers (reports.query.coverage decides)."""

    # The contracts the report may show, by id: their names, targets and review rules.
    contracts: Mapping[str, Contract] = field(default_factory=dict)
    one: str | None = None  # the contract the whole report is for, if it is for one
    zone_of: str | None = None  # the contract whose time zone the periods are in
    only: frozenset[str] | None = None  # whose complaints are read; None: every contract's


@dataclass(frozen=True)
class SlaReport:
    period: Period
    group_by: GroupBy
    first_day: date
    last_day: date
    timezone: str
    rows: list[Figures]
    flagged_teams: list[TeamFlag] = field(default_factory=list)
    contract: str | None = None  # Coverage.one
    timezone_of: str | None = None  # the contract whose time zone `timezone` is
    contracts: list[str] = field(default_factory=list)  # the contracts covered, when limited


def distribution(durations: Sequence[float]) -> dict[str, int]:
    counts = dict.fromkeys((name for name, _ in RESPONSE_BUCKETS), 0)
    for seconds in durations:
        counts[next(name for name, bound in RESPONSE_BUCKETS if seconds <= bound)] += 1
    return counts


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def figures(
    period: str,
    start: date,
    group: str,
    facts: list[ComplaintFacts],
    clock_of: ClockOf | None = None,
) -> Figures:
    """The row's figures; `clock_of` gives the business-hours tiers their calendar (without it,
    wall clock only)."""

    def seconds(pick: Callable[[ComplaintFacts], datetime | None]) -> list[float]:
        return [(pick(f) - f.received_at).total_seconds() for f in facts if pick(f)]

    first_response = seconds(lambda f: f.first_response_at)
    resolved = [f for f in facts if f.resolved_at is not None]
    settled = [f for f in facts if f.resolved_in_time is not None]
    ratings = [f.rating for f in facts if f.rating is not None]
    answered = [f for f in facts if f.first_response_in_time is not None]
    return Figures(
        period=period,
        period_start=start,
        group=group,
        volume=len(facts),
        time_to_register=spread(seconds(lambda f: f.registered_at)),
        time_to_first_response=spread(first_response),
        first_response_distribution=distribution(first_response),
        time_to_initial_solution=spread(seconds(lambda f: f.initial_solution_at)),
        time_to_resolution=spread(seconds(lambda f: f.resolved_at)),
        deadlines_met=sum(f.deadlines_met for f in facts),
        deadlines_breached=sum(f.deadlines_breached for f in facts),
        closed_loop_breaches=sum(f.closed_loop_breaches for f in facts),
        resolved=len(resolved),
        first_contact_resolution_rate=_rate(
            sum(1 for f in resolved if not f.escalated and not f.reopen_count), len(resolved)
        ),
        reopen_rate=_rate(sum(1 for f in resolved if f.reopen_count), len(resolved)),
        resolution_rate=_rate(sum(1 for f in settled if f.resolved_in_time), len(settled)),
        first_response_in_time_rate=_rate(
            sum(1 for f in answered if f.first_response_in_time), len(answered)
        ),
        satisfaction_average=sum(ratings) / len(ratings) if ratings else None,
        satisfaction_distribution={r: ratings.count(r) for r in RATINGS},
        business_hours=business_hours_times(facts, clock_of) if clock_of else None,
    )


def check_targets(row: Figures, targets: QualityTargets) -> list[TargetCheck]:
    """The targets `targets` sets (an unset one is not promised), each against the row."""
    checks = []
    for target, figure in TARGET_FIGURES.items():
        promised = getattr(targets, target)
        if promised is None:
            continue
        actual = getattr(row, figure)
        status = NO_DATA if actual is None else MET if actual >= promised else MISSED
        checks.append(TargetCheck(target, promised, actual, status))
    return checks


def _under_contract(row: Figures, contract_id: str | None, coverage: Coverage) -> Figures:
    """The row with its contract's name and targets, when its complaints have one contract."""
    if contract_id is None:
        return row
    known = coverage.contracts.get(contract_id)  # None: a contract since gone from the files
    return replace(
        row,
        contract=contract_id,
        contract_name=known.name if known else None,
        targets=check_targets(row, known.targets) if known else [],
    )


def group_value(facts: ComplaintFacts, group_by: GroupBy) -> str:
    return "all" if group_by == "all" else str(getattr(facts, group_by))


def sla_report(
    facts: Iterable[ComplaintFacts],
    *,
    period: Period,
    group_by: GroupBy,
    first_day: date,
    last_day: date,
    zone: ZoneInfo,
    review: PerformanceReview,
    coverage: Coverage | None = None,
) -> SlaReport:
    """The report over `facts` (the complaints received from first_day to last_day, local
    days, inclusive), one row per period and group that received any, in order. `review` is
    the team review's rule for a contract `coverage` does not know."""
    facts = list(facts)
    coverage = coverage or Coverage()
    clock_of = business_clocks(coverage.contracts)
    rows = [
        _under_contract(
            figures(label(start, period), start, group, members, clock_of),
            group if group_by == "contract" else coverage.one,
            coverage,
        )
        for (start, group), members in sorted(_buckets(facts, period, group_by, zone).items())
    ]
    return SlaReport(
        period=period,
        group_by=group_by,
        first_day=first_day,
        last_day=last_day,
        timezone=zone.key,
        rows=rows,
        flagged_teams=_flags_per_contract(facts, zone, review, coverage),
        contract=coverage.one,
        timezone_of=coverage.zone_of,
        contracts=sorted(coverage.only) if coverage.only is not None else [],
    )


def _flags_per_contract(
    facts: list[ComplaintFacts], zone: ZoneInfo, review: PerformanceReview, coverage: Coverage
) -> list[TeamFlag]:
    """The team review per contract: a team is one contract's (two contracts may both name a
    team "quality"), and the threshold is that contract's."""
    by_contract: dict[str, list[ComplaintFacts]] = {}
    for f in facts:
        by_contract.setdefault(f.contract, []).append(f)
    flags = []
    for contract_id, members in sorted(by_contract.items()):
        known = coverage.contracts.get(contract_id)
        weekly_teams = [
            figures(label(start, "week"), start, team, group)
            for (start, team), group in sorted(_buckets(members, "week", "team", zone).items())
        ]
        rule = known.policy.performance_review if known else review
        flags += flag_teams(weekly_teams, rule, contract_id)
    return flags


def _buckets(
    facts: list[ComplaintFacts], period: Period, group_by: GroupBy, zone: ZoneInfo
) -> dict[tuple[date, str], list[ComplaintFacts]]:
    buckets: dict[tuple[date, str], list[ComplaintFacts]] = {}
    starts: dict[date, date] = {}  # local day -> its period's start; days repeat a lot
    for f in facts:
        day = local_day(f.received_at, zone)
        start = starts.get(day) or starts.setdefault(day, period_start(day, period))
        buckets.setdefault((start, group_value(f, group_by)), []).append(f)
    return buckets


def flag_teams(
    weekly: list[Figures], review: PerformanceReview, contract: str = DEFAULT_CONTRACT
) -> list[TeamFlag]:
    """Teams below the review threshold for `consecutive_weeks` weeks running (weekly figures
    grouped by team, in week order). A week without a settled resolution, or one missing
    altogether, ends a run: it is no evidence either way."""
    flags = []
    for team in sorted({f.group for f in weekly}):
        run: list[Figures] = []
        longest: list[Figures] = []
        for f in (w for w in weekly if w.group == team):
            below = (
                f.resolution_rate is not None and f.resolution_rate < review.resolution_rate_below
            )
            follows = run and (f.period_start - run[-1].period_start).days == 7
            run = (run + [f] if follows else [f]) if below else []
            if len(run) > len(longest):
                longest = run
        if len(longest) >= review.consecutive_weeks:
            flags.append(
                TeamFlag(
                    team,
                    [f.period for f in longest],
                    [f.resolution_rate for f in longest],
                    contract,
                )
            )
    return flags
