"""First response and resolution in business time for business-hours tiers, wall clock beside:
the contract's own calendar (the default policy: Shanghai, Monday to Friday 09:00-18:00, China's
2026 holidays and make-up days), the same clock the deadlines run on."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

from domain.contracts import Contract
from engine.contracts import ContractBook
from reports.business_time import business_clocks, business_hours_times
from reports.export import as_csv, as_json, as_table
from reports.query import report
from store.report_model import ComplaintFacts
from tests.unit.helpers import POLICY, local

HOUR = 3600.0
CONTRACT = Contract(id="default", name="Default", policy=POLICY, version="v1")


def fact(cid: str, tier: int, received: datetime, answered: datetime | None, resolved=None):
    return ComplaintFacts(
        complaint_id=cid,
        channel="web",
        tier=tier,
        category="logistics",
        team="logistics",
        received_at=received,
        registered_at=received,
        first_response_at=answered,
        initial_solution_at=answered,
        resolved_at=resolved,
        escalated=False,
        reopen_count=0,
        rating=None,
        deadlines_met=0,
        deadlines_breached=0,
        resolved_in_time=None,
    )


# Friday 17:30 to Monday 09:30: 64 hours on the wall, one business hour (30 min each side).
OVER_THE_WEEKEND = fact(
    "W", 2, local(2026, 11, 20, 17, 30), local(2026, 11, 23, 9, 30), local(2026, 11, 23, 11, 0)
)
# Friday 9 October 17:30 to Saturday 10 October 09:30: a make-up working day (调休), so one
# business hour, not the Monday after.
INTO_A_MAKE_UP_DAY = fact("M", 1, local(2026, 10, 9, 17, 30), local(2026, 10, 10, 9, 30))
# Wednesday 30 September 17:00 to Thursday 8 October 10:00: the National Day holidays (1-7
# October) count nothing; Sunday 27 September's make-up day is before it.
OVER_A_HOLIDAY = fact("H", 2, local(2026, 9, 30, 17, 0), local(2026, 10, 8, 10, 0))
# Tier 3 runs round the clock: not a business-hours tier, left out.
ROUND_THE_CLOCK = fact("R", 3, local(2026, 11, 20, 17, 30), local(2026, 11, 23, 9, 30))


def test_business_time_counts_open_hours_of_the_contracts_calendar():
    clock_of = business_clocks({"default": CONTRACT})
    times = business_hours_times([OVER_THE_WEEKEND, ROUND_THE_CLOCK], clock_of)

    assert times is not None and times.tiers == [2]
    assert times.first_response.count == 1
    assert times.first_response.median == 1 * HOUR
    assert times.first_response_wall_clock.median == 64 * HOUR
    assert times.resolution.median == 2.5 * HOUR  # to Monday 11:00
    assert times.resolution_wall_clock.median == 65.5 * HOUR


def test_make_up_days_count_and_holidays_do_not():
    clock_of = business_clocks({"default": CONTRACT})

    make_up = business_hours_times([INTO_A_MAKE_UP_DAY], clock_of)
    holiday = business_hours_times([OVER_A_HOLIDAY], clock_of)

    assert make_up.first_response.median == 1 * HOUR
    assert make_up.first_response_wall_clock.median == 16 * HOUR
    assert make_up.resolution.count == 0 and make_up.resolution.median is None
    assert holiday.first_response.median == 2 * HOUR  # 17:00-18:00, then 09:00-10:00
    assert holiday.first_response_wall_clock.median == (7 * 24 + 17) * HOUR


def test_no_business_hours_tier_no_figure():
    clock_of = business_clocks({"default": CONTRACT})
    unclassified = fact("U", 0, local(2026, 11, 20, 10), None)
    gone = ComplaintFacts(**{**vars(OVER_THE_WEEKEND), "contract": "retired-and-removed"})

    assert business_hours_times([ROUND_THE_CLOCK, unclassified, gone], clock_of) is None


def test_the_on_demand_report_shows_business_time_beside_wall_clock():
    class Facts:
        def received_between(self, start, end, contracts=None):
            return [f for f in (OVER_THE_WEEKEND, ROUND_THE_CLOCK) if start <= f.received_at < end]

    made = report(
        Facts(),  # type: ignore[arg-type]
        ContractBook.serving(POLICY),
        period="week",
        group_by="all",
        first_day=date(2026, 11, 16),
        last_day=date(2026, 11, 22),
        now=local(2026, 11, 30, 9),
    )

    [row] = made.rows
    assert row.time_to_first_response.count == 2  # wall clock, every tier
    assert as_json(made)["rows"][0]["business_hours"]["first_response"]["median"] == 1 * HOUR
    [line] = list(csv.DictReader(io.StringIO(as_csv(made))))
    assert line["business_hours_tiers"] == "2"
    assert float(line["business_hours_first_response_median_s"]) == 1 * HOUR
    assert float(line["business_hours_first_response_wall_clock_median_s"]) == 64 * HOUR
    assert "first response 60m/60m (wall clock 2.7d/2.7d)" in as_table(made)
