"""Report times and periods (domain.report_times), a contract's bad times refused at start-up
naming the contract and key, and the demand summary's scrubbing of personal data."""

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from domain.report_times import ReportTime, ReportTimeError, parse_report_times, period_of
from engine.contracts import ContractError, load_contracts
from reports.demand import demand_summary, terms_of

SHANGHAI = ZoneInfo("Asia/Shanghai")
EXAMPLE = Path(__file__).resolve().parents[2] / "contracts" / "example" / "contracts.toml"


def test_the_defaults_are_friday_half_past_four_and_the_first_at_nine():
    times = parse_report_times({})
    assert times.weekly == ReportTime("weekly", 4, 16, 30)
    assert times.monthly == ReportTime("monthly", 1, 9, 0)


def test_a_contract_sets_its_own_times():
    times = parse_report_times({"weekly": "Thu 09:05", "monthly": "3 18:00"})
    assert (times.weekly.text(), times.monthly.text()) == ("thu 09:05", "3 18:00")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"weekly": "friday 16:30"}, "reports.weekly: 'friday 16:30' is not a day and a 24-hour"),
        ({"weekly": "fri 25:00"}, "reports.weekly: 'fri 25:00' is not a day"),
        ({"weekly": "fry 16:30"}, "reports.weekly: 'fry' is not a weekday"),
        ({"monthly": "31 09:00"}, "reports.monthly: day 31 does not exist in every month"),
        ({"monthly": "0 09:00"}, "reports.monthly: day 0 does not exist"),
        ({"daily": "09:00"}, "reports.daily: unknown key"),
    ],
)
def test_a_bad_time_names_its_key_and_rule(values, message):
    with pytest.raises(ReportTimeError, match="^" + message.replace("(", r"\(")):
        parse_report_times(values)


def test_start_up_refuses_a_bad_time_naming_the_contract(tmp_path):
    text = EXAMPLE.read_text().replace('monthly = "1 09:00"', 'monthly = "31 09:00"')
    for name in ("acme", "globex"):
        (tmp_path / name).mkdir()
        for f in (EXAMPLE.parent / name).iterdir():
            (tmp_path / name / f.name).write_text(f.read_text())
    (tmp_path / "contracts.toml").write_text(text)
    with pytest.raises(ContractError, match="contract 'acme': reports.monthly: day 31"):
        load_contracts(tmp_path / "contracts.toml")
    assert load_contracts(EXAMPLE).of("acme").reports.weekly.text() == "fri 16:30"


def test_a_weekly_report_covers_the_seven_days_to_its_due_time():
    period = period_of("weekly", datetime(2026, 11, 27, 8, 30, tzinfo=ZoneInfo("UTC")), SHANGHAI)
    assert period.label == "2026-W48"
    assert period.start == datetime(2026, 11, 20, 16, 30, tzinfo=SHANGHAI)
    assert period.end == datetime(2026, 11, 27, 16, 30, tzinfo=SHANGHAI)
    assert period.previous().label == "2026-W47"


def test_a_monthly_report_covers_the_month_before_even_when_it_runs_late():
    period = period_of("monthly", datetime(2027, 1, 3, 9, 0, tzinfo=SHANGHAI), SHANGHAI)
    assert (period.label, period.previous().label) == ("2026-12", "2026-11")
    assert period.start == datetime(2026, 12, 1, tzinfo=SHANGHAI)


def test_personal_data_is_taken_out_before_counting():
    english = terms_of(
        "My parcel is late. I called Mary Jones on +86 138 0000 0000, write to a@b.example"
    )
    chinese = terms_of("李雷的快递三天了还没送到，地址北京市朝阳区，电话13800000000，邮箱li@x.com")
    assert {"parcel", "late"} <= english
    assert not {"mary", "jones", "a@b.example", "+86"} & english
    assert "快递" in chinese and not {"李雷", "北京市", "朝阳区"} & chinese
    assert not any(ch.isdigit() for term in english | chinese for ch in term)


def test_a_term_of_one_complaint_only_is_never_shown():
    demand = demand_summary(
        ["parcel late", "parcel late again", "refund for Ziggy"], ["charger fire", "charger"]
    )
    assert [(t.term, t.count, t.previous) for t in demand.terms] == [
        ("late", 2, 0),
        ("parcel", 2, 0),
        ("parcel late", 2, 0),
    ]
    assert [t.term for t in demand.falling] == ["charger"]
    assert "ziggy" not in {t.term for t in demand.terms + demand.rising + demand.falling}
