"""A small reader for the iCalendar files (RFC 5545) that public-holiday calendars come as.

It reads only what a business calendar needs: the all-day VEVENTs, their dates and SUMMARY.
Anything that would mean dates this reader does not work out (a recurrence, a timed event) is
refused, naming the line, rather than guessed at: a wrong holiday moves every deadline near it.
Pure: it takes the file's text; the caller reads the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

__all__ = ["DayEvent", "ICalendarError", "read_day_events", "split_days"]

_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_NAME = re.compile(r"^[A-Za-z0-9-]+$")
_DAYS = re.compile(r"^P(?:(\d+)W|(\d+)D)$")  # the all-day forms of DURATION
# Properties that add or remove occurrences: reading the event without them would be wrong.
_RECURRENCE = {"RRULE", "RDATE", "EXDATE", "EXRULE"}
_TEXT_ESCAPES = {"\\\\": "\\", "\\;": ";", "\\,": ",", "\\n": "\n", "\\N": "\n"}


class ICalendarError(ValueError):
    """A file that cannot be read as a calendar; the message names the file, line and rule."""


@dataclass(frozen=True)
class DayEvent:
    first: date
    end: date  # exclusive, as DTEND is
    summary: str
    line: int  # where its BEGIN:VEVENT is

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.end - self.first).days)]


@dataclass
class _Line:
    number: int
    name: str
    params: dict[str, str]
    value: str


def _unfolded(text: str) -> list[tuple[int, str]]:
    """Logical lines with the number of the physical line each begins on. A line that starts
    with a space or a tab continues the one before (RFC 5545 3.1)."""
    out: list[tuple[int, str]] = []
    for number, raw in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        if raw[:1] in (" ", "\t") and out:
            out[-1] = (out[-1][0], out[-1][1] + raw[1:])
        elif raw.strip():
            out.append((number, raw))
    return out


def _content_line(number: int, text: str, source: str) -> _Line:
    """NAME;PARAM=VALUE;...:VALUE, where a quoted parameter value may hold ':' and ';'."""
    parts, current, quoted = [], "", False
    for i, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in ";:":
            parts.append(current)
            current = ""
            if ch == ":":
                head, value = parts, text[i + 1 :]
                break
            continue
        current += ch
    else:
        raise ICalendarError(f"{source}, line {number}: not an iCalendar content line (NAME:value)")
    if not _NAME.match(head[0]):
        raise ICalendarError(f"{source}, line {number}: {head[0][:40]!r} is not a property name")
    params = {}
    for p in head[1:]:
        key, _, val = p.partition("=")
        params[key.upper()] = val.strip('"')
    return _Line(number, head[0].strip().upper(), params, value)


def _date(line: _Line, source: str) -> date:
    where = f"{source}, line {line.number}: {line.name} {line.value}"
    if "T" in line.value or line.params.get("VALUE", "DATE") != "DATE":
        raise ICalendarError(
            f"{where}: a timed event; only all-day events (;VALUE=DATE:YYYYMMDD) mark days"
        )
    match = _DATE.match(line.value.strip())
    if not match:
        raise ICalendarError(f"{where}: a date must be YYYYMMDD")
    try:
        return date(*(int(g) for g in match.groups()))
    except ValueError:
        raise ICalendarError(f"{where}: no such date") from None


def _unescaped(text: str) -> str:
    return re.sub(r"\\[\\;,nN]", lambda m: _TEXT_ESCAPES[m.group()], text)


def _event(begin: int, props: list[_Line], source: str) -> DayEvent:
    by_name = {p.name: p for p in reversed(props)}  # the first of each wins
    for p in props:
        if p.name in _RECURRENCE:
            raise ICalendarError(
                f"{source}, line {p.number}: {p.name}: recurring events are not read; "
                "list each occurrence as its own event"
            )
    if "DTSTART" not in by_name:
        raise ICalendarError(f"{source}, line {begin}: a VEVENT without DTSTART")
    first = _date(by_name["DTSTART"], source)
    end = first + timedelta(days=1)  # RFC 5545: an all-day event without an end is one day
    if "DTEND" in by_name:
        end = _date(by_name["DTEND"], source)
    elif "DURATION" in by_name:
        d = by_name["DURATION"]
        m = _DAYS.match(d.value.strip())
        if not m:
            raise ICalendarError(
                f"{source}, line {d.number}: DURATION {d.value}: an all-day event lasts whole "
                "days or weeks (P2D, P1W)"
            )
        end = first + timedelta(weeks=int(m.group(1) or 0), days=int(m.group(2) or 0))
    if end <= first:
        raise ICalendarError(f"{source}, line {begin}: the event ends before it begins")
    summary = _unescaped(by_name["SUMMARY"].value) if "SUMMARY" in by_name else ""
    return DayEvent(first, end, summary, begin)


def read_day_events(text: str, source: str) -> list[DayEvent]:
    """Every VEVENT of the calendar, as the days it covers."""
    unfolded = _unfolded(text)
    if not unfolded or unfolded[0][1].strip().upper() != "BEGIN:VCALENDAR":
        first = unfolded[0][0] if unfolded else 1
        raise ICalendarError(
            f"{source}, line {first}: not an iCalendar file (it must begin with BEGIN:VCALENDAR)"
        )
    lines = [_content_line(n, t, source) for n, t in unfolded]
    stack: list[tuple[str, int]] = []
    events, props = [], []
    for line in lines:
        if not stack and line is not lines[0]:
            raise ICalendarError(f"{source}, line {line.number}: text after END:VCALENDAR")
        if line.name == "BEGIN":
            stack.append((line.value.upper(), line.number))
            props = [] if line.value.upper() == "VEVENT" else props
        elif line.name == "END":
            if stack[-1][0] != line.value.upper():
                raise ICalendarError(
                    f"{source}, line {line.number}: END:{line.value} closes {stack[-1][0]}"
                )
            name, begin = stack.pop()
            if name == "VEVENT":
                events.append(_event(begin, props, source))
        elif stack and stack[-1][0] == "VEVENT":
            props.append(line)  # properties of a VALARM inside an event are not the event's
    if stack:
        name, begin = stack[-1]
        raise ICalendarError(f"{source}, line {begin}: BEGIN:{name} is never closed")
    return events


def split_days(events: list[DayEvent], make_up_words: list[str]) -> tuple[set[date], set[date]]:
    """(holidays, make-up working days): an event whose summary holds one of `make_up_words`
    (e.g. 班, "working day") marks working days; every other event marks days off."""
    words = [w.casefold() for w in make_up_words]
    holidays: set[date] = set()
    make_up: set[date] = set()
    for e in events:
        summary = e.summary.casefold()
        (make_up if any(w in summary for w in words) else holidays).update(e.days())
    return holidays, make_up
