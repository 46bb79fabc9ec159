"""Reporting periods: ISO weeks (Monday to Sunday) and calendar months, in the company's time
zone, so a complaint received at 01:00 Monday in Shanghai counts in that Monday's week."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Period = Literal["week", "month"]
PERIODS: tuple[Period, ...] = ("week", "month")


def period_start(day: date, period: Period) -> date:
    if period == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def next_period_start(start: date, period: Period) -> date:
    if period == "week":
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def label(start: date, period: Period) -> str:
    """2026-W48 for a week (ISO numbering), 2026-11 for a month."""
    if period == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{start:%Y-%m}"


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def day_bounds(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) covering the local days first..last inclusive."""
    if last < first:
        raise ValueError(f"to: {last} is before from {first}")
    start = datetime.combine(first, time(0), zone)
    end = datetime.combine(last + timedelta(days=1), time(0), zone)
    return start, end


def default_range(today: date, period: Period) -> tuple[date, date]:
    """What a report shows when not told: the last 8 weeks or the last 6 months, to today."""
    count = 8 if period == "week" else 6
    start = period_start(today, period)
    for _ in range(count - 1):
        start = period_start(start - timedelta(days=1), period)
    return start, today
