"""The iCalendar reader: the days of all-day events; anything else is refused by file and line."""

from datetime import date, timedelta
from pathlib import Path

import pytest

from domain.icalendar import ICalendarError, read_day_events, split_days
from domain.policy import PolicyError, parse_policy
from tests.unit.helpers import POLICY, POLICY_FILE

DOMAIN = POLICY_FILE.parent
WORDS = POLICY.business_hours.make_up_day_words


def ics(*lines: str) -> str:
    return "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", *lines, "END:VCALENDAR"]) + "\r\n"


def event(*lines: str) -> list[str]:
    return ["BEGIN:VEVENT", *lines, "END:VEVENT"]


def test_all_day_events_are_holidays_unless_their_summary_says_work():
    text = ics(
        *event("DTSTART;VALUE=DATE:20260215", "DTEND;VALUE=DATE:20260218", "SUMMARY:春节"),
        *event("DTSTART;VALUE=DATE:20260214", "SUMMARY:春节 补班"),  # no DTEND: one day
        *event("DTSTART;VALUE=DATE:20260228", "SUMMARY:Spring Festival (Working Day)"),
        *event("DTSTART;VALUE=DATE:20261001", "DURATION:P1W", "SUMMARY:National Day"),
    )
    events = read_day_events(text, "cn.ics")
    assert [(e.first, e.end, e.line) for e in events][:2] == [
        (date(2026, 2, 15), date(2026, 2, 18), 3),
        (date(2026, 2, 14), date(2026, 2, 15), 8),
    ]
    holidays, make_up = split_days(events, WORDS)
    national_day = {date(2026, 10, 1) + timedelta(days=n) for n in range(7)}
    assert holidays == {date(2026, 2, 15), date(2026, 2, 16), date(2026, 2, 17)} | national_day
    assert make_up == {date(2026, 2, 14), date(2026, 2, 28)}


def test_folded_lines_escapes_lf_endings_and_alarms():
    text = "\n".join(
        [
            "BEGIN:VCALENDAR",
            "BEGIN:VEVENT",
            "DTSTART;VALUE=DATE:",
            " 20260404",
            'SUMMARY;LANGUAGE="zh:CN":清明节\\, Qingming',
            "\tFestival",
            "BEGIN:VALARM",
            "SUMMARY:调休上班 (an alarm's summary is not the event's)",
            "TRIGGER:-PT15M",
            "END:VALARM",
            "END:VEVENT",
            "END:VCALENDAR",
        ]
    )
    (e,) = read_day_events(text, "q.ics")
    assert (e.first, e.summary) == (date(2026, 4, 4), "清明节, QingmingFestival")
    assert split_days([e], WORDS) == ({date(2026, 4, 4)}, set())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[business_hours]\nopen = 9\n", r"bad\.ics, line 1: not an iCalendar file"),
        ("", r"bad\.ics, line 1: not an iCalendar file"),
        (
            ics(*event("DTSTART;VALUE=DATE:20260101", "RRULE:FREQ=YEARLY", "SUMMARY:New Year")),
            r"bad\.ics, line 5: RRULE: recurring events are not read",
        ),
        (
            ics(*event("DTSTART:20260214T090000", "SUMMARY:Open day")),
            r"bad\.ics, line 4: DTSTART 20260214T090000: a timed event",
        ),
        (ics(*event("SUMMARY:No date")), r"bad\.ics, line 3: a VEVENT without DTSTART"),
        (
            ics(*event("DTSTART;VALUE=DATE:20260230")),
            r"bad\.ics, line 4: DTSTART 20260230: no such date",
        ),
        (
            ics(*event("DTSTART;VALUE=DATE:2026-02-14")),
            r"bad\.ics, line 4: DTSTART 2026-02-14: a date must be YYYYMMDD",
        ),
        (
            ics(*event("DTSTART;VALUE=DATE:20260214", "DTEND;VALUE=DATE:20260214")),
            r"bad\.ics, line 3: the event ends before it begins",
        ),
        (
            ics(*event("DTSTART;VALUE=DATE:20260214", "DURATION:PT8H")),
            r"bad\.ics, line 5: DURATION PT8H: an all-day event lasts whole days",
        ),
        (
            ics("BEGIN:VEVENT", "DTSTART;VALUE=DATE:20260214"),
            r"bad\.ics, line 5: END:VCALENDAR closes VEVENT",
        ),
        ("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n", r"bad\.ics, line 2: BEGIN:VEVENT is never closed"),
        (ics("just some words"), r"bad\.ics, line 3: not an iCalendar content line"),
        (ics("a b:c"), r"bad\.ics, line 3: 'a b' is not a property name"),
        (ics() + "BEGIN:VEVENT\r\n", r"bad\.ics, line 4: text after END:VCALENDAR"),
    ],
)
def test_a_file_that_does_not_parse_is_named_with_its_line(text, message):
    with pytest.raises(ICalendarError, match=message):
        read_day_events(text, "bad.ics")


def test_the_shipped_example_is_china_2026():
    events = read_day_events((DOMAIN / "cn-2026.ics").read_text(encoding="utf-8"), "cn-2026.ics")
    holidays, make_up = split_days(events, WORDS)
    assert make_up == {
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
    }
    assert all(d.weekday() >= 5 for d in make_up)  # weekends worked
    assert {date(2026, 2, 15), date(2026, 2, 23), date(2026, 10, 7)} <= holidays
    assert len(holidays) == 33 and not holidays & make_up


# --- through the policy -------------------------------------------------------------------------


def with_hours(extra: str) -> str:
    text = POLICY_FILE.read_text()
    return text.replace("[business_hours]\n", f"[business_hours]\n{extra}\n", 1)


def test_the_default_policy_lists_the_dates_of_the_shipped_calendar():
    imported = parse_policy(
        with_hours('calendar_file = "cn-2026.ics"'), "policy.toml", base_dir=DOMAIN
    )
    assert imported.business_hours.calendar_file == "cn-2026.ics"
    listed, merged = POLICY.calendar(), imported.calendar()
    assert merged.make_up_days == listed.make_up_days
    year = [date(2026, 1, 1) + timedelta(days=n) for n in range(365)]
    assert [d for d in year if listed.is_working_day(d) != merged.is_working_day(d)] == []


def test_a_calendar_file_relative_to_the_policy(tmp_path: Path):
    (tmp_path / "acme.ics").write_text(
        ics(
            *event("DTSTART;VALUE=DATE:20261224", "DTEND;VALUE=DATE:20261226", "SUMMARY:Xmas"),
            *event("DTSTART;VALUE=DATE:20261219", "SUMMARY:Make-up Saturday"),
        )
    )
    text = with_hours('calendar_file = "acme.ics"\nmake_up_day_words = ["make-up"]')
    policy = parse_policy(text, "acme/policy.toml", base_dir=tmp_path)
    cal = policy.calendar()
    assert not cal.is_working_day(date(2026, 12, 24)) and not cal.is_working_day(date(2026, 12, 25))
    assert cal.is_working_day(date(2026, 12, 19))
    # The policy a complaint keeps carries the dates, not the file.
    again = type(policy).model_validate_json(policy.model_dump_json())
    assert again.calendar() == cal
    assert date(2026, 1, 1) in cal.holidays  # the listed holidays stay


@pytest.mark.parametrize(
    ("files", "hours", "message"),
    [
        (
            {},
            'calendar_file = "missing.ics"',
            r"p\.toml: business_hours\.calendar_file: cannot read .*missing\.ics: No such file",
        ),
        (
            {"x.ics": "not a calendar"},
            'calendar_file = "x.ics"',
            r"p\.toml: business_hours\.calendar_file: .*x\.ics, line 1: not an iCalendar file",
        ),
        (
            {"x.ics": ics(*event("DTSTART;VALUE=DATE:20260101", "RRULE:FREQ=YEARLY"))},
            'calendar_file = "x.ics"',
            r"calendar_file: .*x\.ics, line 5: RRULE",
        ),
        (
            {"x.ics": ics(*event("DTSTART;VALUE=DATE:20260101", "SUMMARY:班"))},
            'calendar_file = "x.ics"',
            r"business_hours: .*make_up_days: 2026-01-01 \(thu\) also listed under holidays",
        ),
        (
            {"x.ics": ics(*event("DTSTART;VALUE=DATE:20260107", "SUMMARY:班"))},
            'calendar_file = "x.ics"',
            r"x\.ics\) is not a valid policy[\s\S]*make_up_days: 2026-01-07 \(wed\) already",
        ),
        ({"x.ics": b"\xff\xfe\x00"}, 'calendar_file = "x.ics"', r"x\.ics: not UTF-8 text"),
        ({}, "calendar_file = 3", r"business_hours\.calendar_file: Input should be a valid string"),
    ],
)
def test_a_calendar_file_that_cannot_be_used_stops_the_policy(tmp_path, files, hours, message):
    for name, content in files.items():
        path = tmp_path / name
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    with pytest.raises(PolicyError, match=message):
        parse_policy(with_hours(hours), "p.toml", base_dir=tmp_path)
