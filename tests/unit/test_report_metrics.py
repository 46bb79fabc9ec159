"""Report arithmetic without a database: periods, percentiles, the team review flag, exports."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.policy import PerformanceReview
from engine.contracts import ContractBook
from reports.export import as_csv, as_json, as_table, csv_header
from reports.metrics import sla_report
from reports.periods import default_range, label, period_start
from reports.query import report
from reports.spread import nearest_rank
from store.report_model import ComplaintFacts
from tests.unit.helpers import POLICY

SHANGHAI = ZoneInfo("Asia/Shanghai")
REVIEW = PerformanceReview()  # 85%, two weeks


def fact(cid: str, received: datetime, *, team: str = "quality", in_time: bool | None = True):
    resolved = received + timedelta(hours=1) if in_time is not None else None
    return ComplaintFacts(
        complaint_id=cid,
        channel="web",
        tier=3,
        category="product_quality",
        team=team,
        received_at=received,
        registered_at=received,
        first_response_at=resolved,
        initial_solution_at=resolved,
        resolved_at=resolved,
        escalated=False,
        reopen_count=0,
        rating=None,
        deadlines_met=1 if in_time else 0,
        deadlines_breached=0 if in_time or in_time is None else 1,
        resolved_in_time=in_time,
    )


def monday(week: int) -> datetime:
    """10:00 Shanghai on the Monday of ISO week `week` of 2026."""
    day = date.fromisocalendar(2026, week, 1)
    return datetime(day.year, day.month, day.day, 10, tzinfo=SHANGHAI)


def weekly(facts, review=REVIEW):
    return sla_report(
        facts,
        period="week",
        group_by="team",
        first_day=date(2026, 1, 1),
        last_day=date(2026, 12, 31),
        zone=SHANGHAI,
        review=review,
    )


def week_of(team: str, week: int, met: int, missed: int) -> list[ComplaintFacts]:
    return [
        fact(f"{team}-{week}-{n}", monday(week) + timedelta(minutes=n), team=team, in_time=n < met)
        for n in range(met + missed)
    ]


@pytest.mark.parametrize(
    ("values", "p50", "p90"),
    [([], None, None), ([7], 7, 7), ([1, 2], 1, 2), (list(range(1, 11)), 5, 9), ([3, 1, 2], 2, 3)],
)
def test_nearest_rank(values, p50, p90) -> None:
    assert (nearest_rank(values, 0.5), nearest_rank(values, 0.9)) == (p50, p90)


def test_periods_are_local_iso_weeks_and_calendar_months() -> None:
    sunday_late_utc = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)  # Monday 07:30 in Shanghai
    got = weekly([fact("C-1", sunday_late_utc)])
    assert [(r.period, r.period_start) for r in got.rows] == [("2026-W49", date(2026, 11, 30))]
    assert label(date(2026, 12, 28), "week") == "2026-W53"  # ISO years have 53 weeks at times
    assert label(period_start(date(2026, 2, 14), "month"), "month") == "2026-02"
    assert default_range(date(2026, 11, 25), "week") == (date(2026, 10, 5), date(2026, 11, 25))
    assert default_range(date(2026, 11, 25), "month") == (date(2026, 6, 1), date(2026, 11, 25))


def test_a_team_below_the_rate_two_weeks_running_is_flagged() -> None:
    facts = (
        week_of("billing", 10, met=8, missed=2)  # 80%
        + week_of("billing", 11, met=5, missed=5)  # 50%
        + week_of("billing", 12, met=9, missed=1)  # 90%
        + week_of("quality", 10, met=9, missed=1)  # 90%
        + week_of("quality", 11, met=1, missed=1)  # 50%
        + week_of("logistics", 10, met=0, missed=1)  # 0%, then a week without figures,
        + week_of("logistics", 12, met=0, missed=1)  # so never two weeks running
    )
    got = weekly(facts)

    assert [(f.team, f.weeks, f.resolution_rates) for f in got.flagged_teams] == [
        ("billing", ["2026-W10", "2026-W11"], [0.8, 0.5])
    ]
    stricter = REVIEW.model_copy(update=dict(resolution_rate_below=0.95, consecutive_weeks=3))
    assert [f.team for f in weekly(facts, stricter).flagged_teams] == ["billing"]
    assert weekly(facts, REVIEW.model_copy(update=dict(consecutive_weeks=3))).flagged_teams == []
    assert weekly(facts, REVIEW.model_copy(update=dict(consecutive_weeks=1))).flagged_teams[
        -1
    ].team == ("quality")


def test_unsettled_resolutions_are_no_evidence() -> None:
    facts = [fact("C-1", monday(10), in_time=None), fact("C-2", monday(11), in_time=None)]
    row = weekly(facts).rows[0]
    assert (row.volume, row.resolved, row.resolution_rate) == (1, 0, None)
    assert weekly(facts).flagged_teams == []


def test_exports_carry_every_row_and_figure() -> None:
    got = weekly(week_of("billing", 10, met=8, missed=2) + week_of("quality", 11, 1, 0))
    lines = list(csv.reader(io.StringIO(as_csv(got))))
    assert lines[0] == csv_header()
    assert [line[:4] for line in lines[1:]] == [
        ["2026-W10", "2026-03-02", "billing", "10"],
        ["2026-W11", "2026-03-09", "quality", "1"],
    ]
    resolution_rate = lines[0].index("resolution_rate")
    assert lines[1][resolution_rate] == "0.8"
    as_dict = as_json(got)
    assert as_dict["rows"][0]["resolution_rate"] == 0.8 and as_dict["first_day"] == "2026-01-01"
    assert "2026-W10" in as_table(got) and "billing" in as_table(got)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"period": "year"}, "period: must be one of week, month"),
        ({"group_by": "assignee"}, "group_by: must be one of team"),
        ({"first_day": date(2026, 2, 1), "last_day": date(2026, 1, 1)}, "to: 2026-01-01 is before"),
        ({"first_day": date(2020, 1, 1), "last_day": date(2026, 1, 1)}, "to: at most 1098 days"),
    ],
)
def test_a_request_that_makes_no_sense_is_refused_naming_the_field(kwargs, message) -> None:
    request = {"period": "week", "group_by": "team", "first_day": None, "last_day": None}
    with pytest.raises(ValueError, match=message):
        report(
            None,
            ContractBook.serving(POLICY),
            **(request | kwargs),
            now=datetime(2026, 11, 25, 12, tzinfo=SHANGHAI),
        )
