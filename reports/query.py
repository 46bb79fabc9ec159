"""One report request, checked: the period, grouping and date range a caller asked for, read from
the report read model and computed. Shared by the API, the pages and the CLI."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from domain.policy import Policy
from reports.metrics import GROUP_BYS, SlaReport, sla_report
from reports.periods import PERIODS, day_bounds, default_range
from store.report_model import ReportFacts

# A report reads every complaint of its range into memory; keep that bounded.
MAX_RANGE = timedelta(days=3 * 366)


def report(
    facts: ReportFacts,
    policy: Policy,
    *,
    period: str,
    group_by: str,
    first_day: date | None,
    last_day: date | None,
    today: date,
) -> SlaReport:
    """The SLA report; ValueError naming the field for a request that makes no sense."""
    if period not in PERIODS:
        raise ValueError(f"period: must be one of {', '.join(PERIODS)}, got {period!r}")
    if group_by not in GROUP_BYS:
        raise ValueError(f"group_by: must be one of {', '.join(GROUP_BYS)}, got {group_by!r}")
    default_first, default_last = default_range(today, period)  # type: ignore[arg-type]
    first_day = first_day or (
        default_first if last_day is None else last_day - (today - default_first)
    )
    last_day = last_day or default_last
    if last_day - first_day > MAX_RANGE:
        raise ValueError(f"to: at most {MAX_RANGE.days} days after from")
    zone = ZoneInfo(policy.timezone)
    start, end = day_bounds(first_day, last_day, zone)  # refuses to < from
    return sla_report(
        facts.received_between(start, end),
        period=period,  # type: ignore[arg-type]
        group_by=group_by,  # type: ignore[arg-type]
        first_day=first_day,
        last_day=last_day,
        zone=zone,
        review=policy.performance_review,
    )
