"""Business calendar and SLA clock arithmetic.

Every instant is handled in UTC internally: subtracting or adding to two datetimes that share a
ZoneInfo tzinfo does wall-clock arithmetic in Python, which is wrong across DST changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["BusinessCalendar", "Clock", "RoundTheClock", "due_at"]

_ZERO = timedelta(0)
_DAY = timedelta(days=1)
# Holidays are a finite list, so a long enough run of days with no open hours means the
# configuration can never open again; give up instead of looping forever.
_MAX_IDLE_DAYS = 3 * 366


def _utc(t: datetime, name: str = "datetime") -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {t!r}")
    return t.astimezone(UTC)


def _check_budget(budget: timedelta) -> None:
    if budget < _ZERO:
        raise ValueError(f"budget must not be negative, got {budget}")


@runtime_checkable
class Clock(Protocol):
    def advance(self, start: datetime, budget: timedelta) -> datetime:
        """The instant when `budget` of this clock's time has elapsed after `start`."""
        ...

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """This clock's time between `start` and `end` (zero if end <= start)."""
        ...


@dataclass(frozen=True)
class RoundTheClock:
    def advance(self, start: datetime, budget: timedelta) -> datetime:
        _check_budget(budget)
        return _utc(start, "start") + budget

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        return max(_ZERO, _utc(end, "end") - _utc(start, "start"))


@dataclass(frozen=True)
class BusinessCalendar:
    """Working hours `opens`..`closes` (local wall clock) on `working_days` and `make_up_days`,
    minus `holidays`. Make-up days are working days whose weekday is not (China's 调休: a
    Saturday worked to bridge a holiday); a date in both sets is a holiday, though a policy
    refuses such a date before it gets here.

    On DST-transition days a skipped or repeated wall time resolves to its first reading
    (fold=0); a day whose hours collapse that way simply has no open time.
    """

    timezone: str
    working_days: frozenset[int]
    opens: time
    closes: time
    holidays: frozenset[date] = frozenset()
    make_up_days: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        # Policy loaders tend to hand over lists/sets; freezing keeps the calendar hashable.
        object.__setattr__(self, "working_days", frozenset(self.working_days))
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "make_up_days", frozenset(self.make_up_days))
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {self.timezone!r}") from exc
        if self.opens.tzinfo is not None or self.closes.tzinfo is not None:
            raise ValueError("opens/closes are local wall-clock times and must be naive")
        if not self.opens < self.closes:
            raise ValueError(f"opens ({self.opens}) must be earlier than closes ({self.closes})")
        if not self.working_days:
            raise ValueError("working_days must not be empty")
        if not self.working_days <= frozenset(range(7)):
            raise ValueError(
                f"working_days must be weekday numbers 0 (Mon)..6 (Sun), "
                f"got {sorted(self.working_days)}"
            )

    @property
    def _zone(self) -> ZoneInfo:
        # Not stored as a field so the calendar stays plain data for serialisers;
        # ZoneInfo caches instances per key, so this is a dict lookup.
        return ZoneInfo(self.timezone)

    def is_working_day(self, day: date) -> bool:
        if day in self.holidays:
            return False
        return day.weekday() in self.working_days or day in self.make_up_days

    def working_day_length(self) -> timedelta:
        return datetime.combine(date.min, self.closes) - datetime.combine(date.min, self.opens)

    def _local_date(self, t: datetime) -> date:
        return t.astimezone(self._zone).date()

    def _window(self, day: date) -> tuple[datetime, datetime] | None:
        """Open hours of local `day` as UTC instants, or None if it has none."""
        if not self.is_working_day(day):
            return None
        o = datetime.combine(day, self.opens, tzinfo=self._zone).astimezone(UTC)
        c = datetime.combine(day, self.closes, tzinfo=self._zone).astimezone(UTC)
        return (o, c) if o < c else None

    def is_open(self, t: datetime) -> bool:
        t = _utc(t, "t")
        w = self._window(self._local_date(t))
        return w is not None and w[0] <= t < w[1]

    def next_opening(self, t: datetime) -> datetime:
        t = _utc(t, "t")
        day = self._local_date(t)
        for _ in range(_MAX_IDLE_DAYS):
            w = self._window(day)
            if w is not None and t < w[1]:
                return max(w[0], t)
            day += _DAY
        raise ValueError(f"no business hours within {_MAX_IDLE_DAYS} days after {t.isoformat()}")

    def first_reply_by(self, t: datetime, at: time) -> datetime | None:
        if self.is_open(t):
            return None
        day = self._local_date(self.next_opening(t))
        return datetime.combine(day, at, tzinfo=self._zone).astimezone(UTC)

    def advance(self, start: datetime, budget: timedelta) -> datetime:
        start = _utc(start, "start")
        _check_budget(budget)
        if budget == _ZERO:
            return start
        remaining = budget
        # Begin a day early in case an odd DST mapping puts yesterday's window past midnight.
        day = self._local_date(start) - _DAY
        idle = 0
        while idle < _MAX_IDLE_DAYS:
            w = self._window(day)
            day += _DAY
            if w is None or w[1] <= start:
                idle += 1
                continue
            begin = max(w[0], start)
            available = w[1] - begin
            # `>=` so a budget that exactly uses up a day ends at closing, not next opening.
            if available >= remaining:
                return begin + remaining
            remaining -= available
            idle = 0
        raise ValueError(
            f"no business hours within {_MAX_IDLE_DAYS} days; cannot place a deadline "
            f"after {start.isoformat()}"
        )

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        start, end = _utc(start, "start"), _utc(end, "end")
        total = _ZERO
        day, last = self._local_date(start) - _DAY, self._local_date(end)
        while day <= last:
            w = self._window(day)
            if w is not None:
                total += max(_ZERO, min(w[1], end) - max(w[0], start))
            day += _DAY
        return total


def _merged_pauses(
    start: datetime, pauses: Sequence[tuple[datetime, datetime | None]]
) -> list[tuple[datetime, datetime | None]]:
    """Pauses clipped to begin no earlier than `start`, sorted, overlaps merged.

    An open pause is an interval to infinity, so it swallows every pause after it.
    """
    clipped: list[tuple[datetime, datetime | None]] = []
    for p_start, p_end in pauses:
        ps = _utc(p_start, "pause start")
        pe = None if p_end is None else _utc(p_end, "pause end")
        if pe is not None and pe < ps:
            raise ValueError(f"pause ends ({pe.isoformat()}) before it starts ({ps.isoformat()})")
        if pe is not None and pe <= start:
            continue
        clipped.append((max(ps, start), pe))
    clipped.sort(key=lambda p: p[0])
    merged: list[tuple[datetime, datetime | None]] = []
    for ps, pe in clipped:
        if merged:
            prev_start, prev_end = merged[-1]
            if prev_end is None:
                break
            if ps <= prev_end:
                merged[-1] = (prev_start, None if pe is None else max(prev_end, pe))
                continue
        merged.append((ps, pe))
    return merged


def due_at(
    clock: Clock,
    start: datetime,
    budget: timedelta,
    pauses: Sequence[tuple[datetime, datetime | None]],
) -> datetime | None:
    """When a deadline of `budget` clock-time, counted from `start`, falls due, not counting paused
    intervals. Pauses may be in any order; ones ending before `start` are ignored; a pause that
    started before start counts from start. An open pause (end None) that begins before the
    deadline would fall means the deadline is suspended: return None."""
    start = _utc(start, "start")
    _check_budget(budget)
    cursor, remaining = start, budget
    for ps, pe in _merged_pauses(start, pauses):
        candidate = clock.advance(cursor, remaining)
        # A deadline falling at the very instant a pause begins has already fallen.
        if candidate <= ps:
            return candidate
        remaining -= clock.elapsed(cursor, ps)
        if pe is None:
            return None
        cursor = pe
    return clock.advance(cursor, remaining)
