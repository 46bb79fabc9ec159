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
- satisfaction: average and distribution of the latest rating of each complaint.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from domain.policy import PerformanceReview
from reports.periods import Period, label, local_day, period_start
from store.report_model import ComplaintFacts

GroupBy = Literal["team", "tier", "category", "channel", "all"]
GROUP_BYS: tuple[GroupBy, ...] = ("team", "tier", "category", "channel", "all")
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


@dataclass(frozen=True)
class Spread:
    """Durations in seconds: how many, their median and 90th percentile (None when none)."""

    count: int
    median: float | None
    p90: float | None


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
    resolved: int
    first_contact_resolution_rate: float | None
    reopen_rate: float | None
    resolution_rate: float | None
    satisfaction_average: float | None
    satisfaction_distribution: dict[int, int]


@dataclass(frozen=True)
class TeamFlag:
    """A team whose resolution rate stayed below the threshold for enough weeks running."""

    team: str
    weeks: list[str]
    resolution_rates: list[float]


@dataclass(frozen=True)
class SlaReport:
    period: Period
    group_by: GroupBy
    first_day: date
    last_day: date
    timezone: str
    rows: list[Figures]
    flagged_teams: list[TeamFlag] = field(default_factory=list)


def nearest_rank(values: Sequence[float], share: float) -> float | None:
    """The smallest value with at least `share` of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)), 1) - 1]


def spread(values: Sequence[float]) -> Spread:
    return Spread(len(values), nearest_rank(values, 0.5), nearest_rank(values, 0.9))


def distribution(durations: Sequence[float]) -> dict[str, int]:
    counts = dict.fromkeys((name for name, _ in RESPONSE_BUCKETS), 0)
    for seconds in durations:
        counts[next(name for name, bound in RESPONSE_BUCKETS if seconds <= bound)] += 1
    return counts


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def figures(period: str, start: date, group: str, facts: list[ComplaintFacts]) -> Figures:
    def seconds(pick: Callable[[ComplaintFacts], datetime | None]) -> list[float]:
        return [(pick(f) - f.received_at).total_seconds() for f in facts if pick(f)]

    first_response = seconds(lambda f: f.first_response_at)
    resolved = [f for f in facts if f.resolved_at is not None]
    settled = [f for f in facts if f.resolved_in_time is not None]
    ratings = [f.rating for f in facts if f.rating is not None]
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
        resolved=len(resolved),
        first_contact_resolution_rate=_rate(
            sum(1 for f in resolved if not f.escalated and not f.reopen_count), len(resolved)
        ),
        reopen_rate=_rate(sum(1 for f in resolved if f.reopen_count), len(resolved)),
        resolution_rate=_rate(sum(1 for f in settled if f.resolved_in_time), len(settled)),
        satisfaction_average=sum(ratings) / len(ratings) if ratings else None,
        satisfaction_distribution={r: ratings.count(r) for r in RATINGS},
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
) -> SlaReport:
    """The report over `facts` (the complaints received from first_day to last_day, local
    days, inclusive), one row per period and group that received any, in order."""
    facts = list(facts)
    rows = [
        figures(label(start, period), start, group, members)
        for (start, group), members in sorted(_buckets(facts, period, group_by, zone).items())
    ]
    weekly_teams = [
        figures(label(start, "week"), start, team, members)
        for (start, team), members in sorted(_buckets(facts, "week", "team", zone).items())
    ]
    return SlaReport(
        period=period,
        group_by=group_by,
        first_day=first_day,
        last_day=last_day,
        timezone=zone.key,
        rows=rows,
        flagged_teams=flag_teams(weekly_teams, review),
    )


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


def flag_teams(weekly: list[Figures], review: PerformanceReview) -> list[TeamFlag]:
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
                TeamFlag(team, [f.period for f in longest], [f.resolution_rate for f in longest])
            )
    return flags
