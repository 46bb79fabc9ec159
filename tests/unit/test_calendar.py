from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.calendar import BusinessCalendar, Clock, RoundTheClock, due_at

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
MON_FRI = frozenset(range(5))

SH = BusinessCalendar("Asia/Shanghai", MON_FRI, time(9), time(18), frozenset({date(2026, 1, 1)}))
BER = BusinessCalendar("Europe/Berlin", MON_FRI, time(9), time(18), frozenset())
H24 = RoundTheClock()


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def ber(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


# --- examples -------------------------------------------------------------------------------


def test_friday_evening_rolls_over_weekend():
    assert SH.advance(sh(2025, 11, 21, 17, 50), timedelta(minutes=30)) == sh(2025, 11, 24, 9, 20)


def test_holiday_is_skipped():
    # Wed 2025-12-31 -> Thu 2026-01-01 is a holiday -> Fri 2026-01-02.
    assert SH.advance(sh(2025, 12, 31, 17, 30), timedelta(hours=1)) == sh(2026, 1, 2, 9, 30)


def test_three_working_days_from_tuesday_is_friday():
    budget = 3 * SH.working_day_length()
    assert budget == timedelta(hours=27)
    assert SH.advance(sh(2025, 11, 18, 10), budget) == sh(2025, 11, 21, 10)


def test_exhausting_a_day_lands_on_closing_not_next_opening():
    assert SH.advance(sh(2025, 11, 24, 9), timedelta(hours=9)) == sh(2025, 11, 24, 18)


def test_results_are_utc():
    due = SH.advance(sh(2025, 11, 24, 10), timedelta(hours=1))
    assert due.tzinfo is UTC
    assert due == datetime(2025, 11, 24, 3, tzinfo=UTC)
    assert H24.advance(sh(2025, 11, 24, 10), timedelta(0)).tzinfo is UTC


def test_zero_budget_returns_start_even_outside_hours():
    saturday = sh(2025, 11, 22, 12)
    assert SH.advance(saturday, timedelta(0)) == saturday
    assert H24.advance(saturday, timedelta(0)) == saturday


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        (sh(2025, 11, 22, 15), sh(2025, 11, 24, 9, 30)),  # Saturday
        (sh(2025, 11, 24, 7), sh(2025, 11, 24, 9, 30)),  # Monday before opening
        (sh(2025, 11, 24, 10), None),  # Monday, open
        (sh(2025, 11, 24, 18), sh(2025, 11, 25, 9, 30)),  # closing time is already closed
        (sh(2025, 12, 31, 20), sh(2026, 1, 2, 9, 30)),  # evening before a holiday
    ],
)
def test_first_reply_by(received, expected):
    assert SH.first_reply_by(received, time(9, 30)) == expected


def test_is_open_and_next_opening():
    assert SH.is_open(sh(2025, 11, 24, 9))
    assert not SH.is_open(sh(2025, 11, 24, 18))
    assert not SH.is_open(sh(2026, 1, 1, 10))
    assert SH.next_opening(sh(2025, 11, 24, 10)) == sh(2025, 11, 24, 10)
    assert SH.next_opening(sh(2025, 11, 21, 18, 30)) == sh(2025, 11, 24, 9)


def test_round_the_clock_is_plain_elapsed_time():
    start = sh(2025, 11, 22, 23, 55)
    assert H24.advance(start, timedelta(minutes=10)) == start + timedelta(minutes=10)
    assert H24.elapsed(start, start + timedelta(hours=3)) == timedelta(hours=3)
    assert H24.elapsed(start, start - timedelta(hours=3)) == timedelta(0)


def test_elapsed_counts_only_business_time():
    # Fri 17:00 -> Mon 10:00 is 1 h on Friday plus 1 h on Monday.
    assert SH.elapsed(sh(2025, 11, 21, 17), sh(2025, 11, 24, 10)) == timedelta(hours=2)
    assert SH.elapsed(sh(2025, 11, 24, 10), sh(2025, 11, 21, 17)) == timedelta(0)


def test_due_at_pause_in_the_middle_shifts_by_paused_business_time():
    start, budget = sh(2025, 11, 24, 10), timedelta(hours=4)
    assert due_at(SH, start, budget, []) == sh(2025, 11, 24, 14)
    pause = (sh(2025, 11, 24, 11), sh(2025, 11, 24, 12, 30))
    assert due_at(SH, start, budget, [pause]) == sh(2025, 11, 24, 15, 30)
    # Overnight pause Mon 17:00 - Tue 10:00 only hides 2 business hours.
    overnight = (sh(2025, 11, 24, 17), sh(2025, 11, 25, 10))
    assert due_at(SH, start, timedelta(hours=8), [overnight]) == sh(2025, 11, 25, 11)
    assert due_at(H24, start, budget, [pause]) == sh(2025, 11, 24, 15, 30)


def test_due_at_pause_edges():
    start, budget = sh(2025, 11, 24, 10), timedelta(hours=4)
    before = (sh(2025, 11, 24, 8), sh(2025, 11, 24, 9, 30))
    straddling = (sh(2025, 11, 24, 9), sh(2025, 11, 24, 11))
    assert due_at(SH, start, budget, [before]) == sh(2025, 11, 24, 14)
    assert due_at(SH, start, budget, [straddling]) == sh(2025, 11, 24, 15)
    # Overlapping pauses given out of order count once.
    overlapping = [(sh(2025, 11, 24, 10, 30), sh(2025, 11, 24, 11, 30)), straddling]
    assert due_at(SH, start, budget, overlapping) == sh(2025, 11, 24, 15, 30)


def test_due_at_open_pause_suspends_the_deadline():
    start, budget = sh(2025, 11, 24, 10), timedelta(hours=4)
    assert due_at(SH, start, budget, [(sh(2025, 11, 24, 11), None)]) is None
    assert due_at(H24, start, budget, [(sh(2025, 11, 24, 11), None)]) is None
    # A pause opened only after the deadline fell (or exactly at it) changes nothing.
    assert due_at(SH, start, budget, [(sh(2025, 11, 24, 14), None)]) == sh(2025, 11, 24, 14)
    # A closed pause pushes the deadline into a later open pause.
    pauses = [(sh(2025, 11, 24, 15), None), (sh(2025, 11, 24, 11), sh(2025, 11, 24, 13))]
    assert due_at(SH, start, budget, pauses) is None


def test_dst_spring_forward_europe_berlin():
    # Clocks go 02:00 CET -> 03:00 CEST on Sunday 2026-03-29.
    due = BER.advance(ber(2026, 3, 27, 17, 30), timedelta(hours=1))
    assert due == datetime(2026, 3, 30, 7, 30, tzinfo=UTC)  # 09:30 CEST
    assert BER.next_opening(datetime(2026, 3, 28, 12, tzinfo=UTC)) == datetime(
        2026, 3, 30, 7, tzinfo=UTC
    )
    assert not BER.is_open(datetime(2026, 3, 27, 7, 30, tzinfo=UTC))  # 08:30 CET
    assert BER.is_open(datetime(2026, 3, 30, 7, 30, tzinfo=UTC))  # 09:30 CEST
    assert BER.elapsed(ber(2026, 3, 27, 9), ber(2026, 3, 30, 18)) == timedelta(hours=18)
    # Round the clock counts real time: 24 h later is 1 h later on the wall clock.
    assert H24.advance(ber(2026, 3, 28, 12), timedelta(hours=24)) == ber(2026, 3, 29, 13)


def test_dst_fall_back_europe_berlin():
    due = BER.advance(ber(2026, 10, 23, 17), timedelta(hours=2))
    assert due == datetime(2026, 10, 26, 9, tzinfo=UTC)  # 10:00 CET


def test_validation():
    with pytest.raises(ValueError, match="earlier than closes"):
        BusinessCalendar("Asia/Shanghai", MON_FRI, time(18), time(9), frozenset())
    with pytest.raises(ValueError, match="must not be empty"):
        BusinessCalendar("Asia/Shanghai", frozenset(), time(9), time(18), frozenset())
    with pytest.raises(ValueError, match="weekday"):
        BusinessCalendar("Asia/Shanghai", frozenset({7}), time(9), time(18), frozenset())
    with pytest.raises(ValueError, match="time zone"):
        BusinessCalendar("Mars/Olympus", MON_FRI, time(9), time(18), frozenset())
    with pytest.raises(ValueError, match="timezone-aware"):
        SH.advance(datetime(2025, 11, 24, 10), timedelta(hours=1))
    with pytest.raises(ValueError, match="timezone-aware"):
        H24.elapsed(sh(2025, 11, 24, 10), datetime(2025, 11, 24, 11))
    with pytest.raises(ValueError, match="timezone-aware"):
        due_at(SH, sh(2025, 11, 24, 10), timedelta(1), [(datetime(2025, 11, 24, 11), None)])
    with pytest.raises(ValueError, match="negative"):
        SH.advance(sh(2025, 11, 24, 10), timedelta(hours=-1))


def test_calendar_that_never_opens_gives_up():
    mondays = frozenset(date(2025, 11, 24) + timedelta(weeks=n) for n in range(4 * 53))
    cal = BusinessCalendar("Asia/Shanghai", frozenset({0}), time(9), time(18), mondays)
    with pytest.raises(ValueError, match="no business hours"):
        cal.advance(sh(2025, 11, 24, 10), timedelta(hours=1))
    with pytest.raises(ValueError, match="no business hours"):
        cal.next_opening(sh(2025, 11, 24, 10))


def test_calendars_are_clocks_and_hashable():
    assert isinstance(SH, Clock) and isinstance(H24, Clock)
    same = BusinessCalendar("Asia/Shanghai", {0, 1, 2, 3, 4}, time(9), time(18), [date(2026, 1, 1)])
    assert same == SH and hash(same) == hash(SH)


# --- properties -----------------------------------------------------------------------------

ZONES = ["Asia/Shanghai", "Europe/Berlin", "America/New_York", "Australia/Sydney"]
# Opening hours stay clear of 00:00-04:00, where DST transitions skip or repeat wall times.
QUARTERS = [time(h, m) for h in range(4, 24) for m in (0, 15, 30, 45)]
# Derandomized: the same cases every run (random campaigns belong outside make test).
HYPO = settings(max_examples=200, deadline=None, derandomize=True, database=None)


@st.composite
def calendars(draw) -> BusinessCalendar:
    opens, closes = sorted(
        draw(st.lists(st.sampled_from(QUARTERS), min_size=2, max_size=2, unique=True))
    )
    holidays = draw(st.frozensets(st.dates(date(2025, 1, 1), date(2027, 12, 31)), max_size=80))
    if draw(st.booleans()):  # dense holidays around the test window
        first = draw(st.dates(date(2025, 1, 1), date(2027, 6, 30)))
        holidays |= {first + timedelta(days=n) for n in range(draw(st.integers(1, 20)))}
    return BusinessCalendar(
        timezone=draw(st.sampled_from(ZONES)),
        working_days=draw(st.frozensets(st.integers(0, 6), min_size=1)),
        opens=opens,
        closes=closes,
        holidays=holidays,
    )


starts = st.datetimes(
    datetime(2025, 1, 1),
    datetime(2027, 6, 30),
    timezones=st.sampled_from([UTC, SHANGHAI, BERLIN, ZoneInfo("America/New_York")]),
)
budgets = st.timedeltas(timedelta(0), timedelta(weeks=6))
clocks = st.one_of(st.just(H24), st.just(SH), st.just(BER), calendars())
pause_specs = st.lists(
    st.tuples(
        st.timedeltas(timedelta(days=-3), timedelta(weeks=6)),
        st.timedeltas(timedelta(0), timedelta(days=5)),
    ),
    max_size=6,
)


def assert_in_business_hours(cal: BusinessCalendar, t: datetime) -> None:
    local = t.astimezone(ZoneInfo(cal.timezone))
    assert cal.is_working_day(local.date()), local
    assert local.date() not in cal.holidays, local
    assert cal.opens < local.time() <= cal.closes, local


@HYPO
@given(cal=st.one_of(st.just(SH), st.just(BER), calendars()), start=starts, budget=budgets)
def test_business_deadline_falls_in_business_hours_never_on_a_holiday(cal, start, budget):
    due = cal.advance(start, budget)
    assert due.tzinfo is UTC
    if budget > timedelta(0):
        assert_in_business_hours(cal, due)
    else:
        # Compare in UTC: PEP 495 makes == false across zones for skipped/repeated wall times.
        assert due == start.astimezone(UTC)


@HYPO
@given(clock=clocks, start=starts, budget=budgets)
def test_elapsed_inverts_advance(clock: Clock, start, budget):
    due = clock.advance(start, budget)
    assert due >= start.astimezone(UTC)
    assert clock.elapsed(start, due) == budget


@HYPO
@given(clock=clocks, start=starts, b1=budgets, b2=budgets)
def test_advance_is_monotonic_in_budget(clock: Clock, start, b1, b2):
    low, high = sorted((b1, b2))
    assert clock.advance(start, low) <= clock.advance(start, high)


def merged(intervals: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    out: list[tuple[datetime, datetime]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


@HYPO
@given(clock=clocks, start=starts, budget=budgets, specs=pause_specs)
def test_paused_time_never_counts(clock: Clock, start, budget, specs):
    origin = start.astimezone(UTC)
    pauses = [(origin + offset, origin + offset + length) for offset, length in specs]
    due = due_at(clock, start, budget, pauses)
    assert due is not None and due >= origin
    within = [(max(a, origin), min(b, due)) for a, b in pauses if min(b, due) > max(a, origin)]
    paused = sum((clock.elapsed(a, b) for a, b in merged(within)), timedelta(0))
    assert clock.elapsed(start, due) - paused == budget
    if isinstance(clock, BusinessCalendar) and budget > timedelta(0):
        assert_in_business_hours(clock, due)
    # Without pauses due_at is plain advance; pauses can only delay.
    assert clock.advance(start, budget) <= due
    assert due_at(clock, start, budget, []) == clock.advance(start, budget)


@HYPO
@given(
    clock=clocks,
    start=starts,
    budget=budgets,
    specs=pause_specs,
    open_at=st.timedeltas(timedelta(days=-2), timedelta(weeks=8)),
)
def test_open_pause_suspends_only_if_it_begins_before_the_deadline(
    clock: Clock, start, budget, specs, open_at
):
    origin = start.astimezone(UTC)
    closed = [(origin + offset, origin + offset + length) for offset, length in specs]
    without = due_at(clock, start, budget, closed)
    assert without is not None
    result = due_at(clock, start, budget, [*closed, (origin + open_at, None)])
    assert result == (None if max(origin, origin + open_at) < without else without)
