"""When a contract's reports go out: the weekly demand summary and the monthly service-execution
report, each at a local time of the contract's time zone (DOMAIN.md: Friday before 17:00, before
the 5th). Pure: parsing and the periods a report covers; the schedules live in engine/.

In the contracts file:

    [contracts.reports]
    weekly = "fri 16:30"     # a weekday (mon..sun) and a 24-hour time
    monthly = "1 09:00"      # a day of the month, 1 to 28 (a day every month has), and a time
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

ReportKind = Literal["weekly", "monthly"]
REPORT_KINDS: tuple[ReportKind, ...] = ("weekly", "monthly")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# The 29th to the 31st are missing from some months: a schedule on them would skip February.
LAST_MONTHLY_DAY = 28

_TIME = r"(?P<hour>[01]?\d|2[0-3]):(?P<minute>[0-5]\d)"
_WEEKLY = re.compile(rf"(?P<day>[a-z]{{3}})\s+{_TIME}")
_MONTHLY = re.compile(rf"(?P<day>\d{{1,2}})\s+{_TIME}")


class ReportTimeError(ValueError):
    """A report time that does not parse or names a day that does not exist; says the rule."""


@dataclass(frozen=True)
class ReportTime:
    """One report's moment: `day` is 0 (Monday) to 6 for a weekly report, 1 to 28 for a
    monthly one."""

    kind: ReportKind
    day: int
    hour: int
    minute: int

    def text(self) -> str:
        day = WEEKDAYS[self.day] if self.kind == "weekly" else str(self.day)
        return f"{day} {self.hour:02d}:{self.minute:02d}"


@dataclass(frozen=True)
class ReportTimes:
    weekly: ReportTime = ReportTime("weekly", WEEKDAYS.index("fri"), 16, 30)
    monthly: ReportTime = ReportTime("monthly", 1, 9, 0)

    def of(self, kind: ReportKind) -> ReportTime:
        return self.weekly if kind == "weekly" else self.monthly


def parse_report_time(kind: ReportKind, text: str) -> ReportTime:
    """ "fri 16:30" (weekly) or "1 09:00" (monthly); ReportTimeError names the rule broken."""
    pattern, example = (_WEEKLY, '"fri 16:30"') if kind == "weekly" else (_MONTHLY, '"1 09:00"')
    found = pattern.fullmatch(text.strip().lower())
    if found is None:
        raise ReportTimeError(f"{text!r} is not a day and a 24-hour time like {example}")
    hour, minute = int(found["hour"]), int(found["minute"])
    if kind == "weekly":
        if found["day"] not in WEEKDAYS:
            raise ReportTimeError(f"{found['day']!r} is not a weekday ({', '.join(WEEKDAYS)})")
        return ReportTime(kind, WEEKDAYS.index(found["day"]), hour, minute)
    day = int(found["day"])
    if not 1 <= day <= LAST_MONTHLY_DAY:
        raise ReportTimeError(
            f"day {day} does not exist in every month; use 1 to {LAST_MONTHLY_DAY}"
        )
    return ReportTime(kind, day, hour, minute)


def parse_report_times(values: dict[str, str]) -> ReportTimes:
    """The [reports] table of a contract; ReportTimeError says which key (reports.weekly...)."""
    times = ReportTimes()
    parsed = {}
    for key, text in values.items():
        if key not in REPORT_KINDS:
            raise ReportTimeError(f"reports.{key}: unknown key; use weekly or monthly")
        try:
            parsed[key] = parse_report_time(key, text)  # type: ignore[arg-type]
        except ReportTimeError as exc:
            raise ReportTimeError(f"reports.{key}: {exc}") from None
    return ReportTimes(parsed.get("weekly", times.weekly), parsed.get("monthly", times.monthly))


@dataclass(frozen=True)
class ReportPeriod:
    """What one report covers: complaints received in [start, end), local to the contract.

    Weekly: the seven days up to the moment it is due (Friday 16:30 to Friday 16:30 by
    default), so every complaint falls in exactly one weekly summary, and the figures are as
    fresh as can be when it goes out; labelled with the ISO week of its due day (2026-W48).
    Monthly: the calendar month before the one it is due in (2026-11)."""

    kind: ReportKind
    label: str
    start: datetime
    end: datetime

    def previous(self) -> ReportPeriod:
        """The period before, for what rose and what fell."""
        return period_of(self.kind, self.start, self.start.tzinfo)  # type: ignore[arg-type]


def period_of(kind: ReportKind, due: datetime, zone: ZoneInfo) -> ReportPeriod:
    """The period the report due at `due` covers (a schedule's nominal time, not when it ran,
    so a late run reports the period it was for)."""
    local = due.astimezone(zone)
    if kind == "weekly":
        year, week, _ = local.date().isocalendar()
        return ReportPeriod(kind, f"{year}-W{week:02d}", local - timedelta(days=7), local)
    this_month = datetime.combine(local.date().replace(day=1), time(0), zone)
    last_day_before = this_month.date() - timedelta(days=1)
    last_month = datetime.combine(last_day_before.replace(day=1), time(0), zone)
    return ReportPeriod(kind, f"{last_month:%Y-%m}", last_month, this_month)


def report_key(contract_id: str, kind: ReportKind, label: str) -> str:
    """The one identity of a report: its workflow id and its archive key."""
    return f"report:{contract_id}:{kind}:{label}"


class ReportPeriodError(ValueError):
    """A period asked for by hand that is not a period of its kind, or not over yet."""


_WEEK_LABEL = re.compile(r"(?P<year>\d{4})-W(?P<week>\d{2})")
_MONTH_LABEL = re.compile(r"(?P<year>\d{4})-(?P<month>\d{2})")


def due_of(kind: ReportKind, label: str, at: ReportTime, zone: ZoneInfo) -> datetime:
    """When the report of period `label` (2026-W48, 2026-11) falls due at the contract's time
    `at`: the inverse of period_of, so a report sent by hand is the one its schedule sends.
    ReportPeriodError names the rule a label breaks."""
    if kind == "weekly":
        found = _WEEK_LABEL.fullmatch(label)
        if found is None:
            raise ReportPeriodError(f"{label!r} is not an ISO week like 2026-W48")
        try:
            day = date.fromisocalendar(int(found["year"]), int(found["week"]), at.day + 1)
        except ValueError:
            raise ReportPeriodError(
                f"{label!r}: {found['year']} has no week {found['week']}"
            ) from None
    else:
        found = _MONTH_LABEL.fullmatch(label)
        if found is None or not 1 <= int(found["month"]) <= 12:
            raise ReportPeriodError(f"{label!r} is not a month like 2026-11")
        year, month = int(found["year"]), int(found["month"])
        day = date(year + month // 12, month % 12 + 1, at.day)  # in the month after
    return datetime.combine(day, time(at.hour, at.minute), zone)


def last_due(kind: ReportKind, at: ReportTime, now: datetime, zone: ZoneInfo) -> datetime:
    """The latest moment at or before `now` a report of this kind fell due (this week's or
    month's, else the one before): the period a report asked for by hand covers by default."""
    local = now.astimezone(zone)
    if kind == "weekly":
        labels = [f"{day:%G-W%V}" for day in (local - timedelta(days=7), local)]
    else:
        last_month = local.replace(day=1) - timedelta(days=1)
        labels = [f"{last_month.replace(day=1) - timedelta(days=1):%Y-%m}", f"{last_month:%Y-%m}"]
    return max(due for due in (due_of(kind, x, at, zone) for x in labels) if due <= now)
