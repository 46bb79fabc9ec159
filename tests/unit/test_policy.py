"""The policy file: the shipped default is valid; every mistake is named by key and rule."""

import pytest

from domain.policy import PolicyError, parse_policy
from domain.vocabulary import DeadlineKind
from tests.unit.helpers import POLICY, POLICY_FILE

DEFAULT = POLICY_FILE.read_text()


def test_default_policy_has_the_contract_numbers():
    from datetime import timedelta

    assert POLICY.budget(3, DeadlineKind.FIRST_RESPONSE) == timedelta(minutes=10)
    assert POLICY.budget(3, DeadlineKind.INITIAL_SOLUTION) == timedelta(minutes=30)
    assert POLICY.budget(3, DeadlineKind.RESOLUTION) == timedelta(hours=24)
    assert POLICY.budget(2, DeadlineKind.RESOLUTION) == timedelta(hours=27)  # 3 working days
    assert POLICY.tier(3).escalation_chain == [
        "assignee",
        "team_lead",
        "supervisor",
        "duty_manager",
    ]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'first_response = "10m"',
            'first_response = "ten minutes"',
            r"tiers\.3\.deadlines\.first_response: .*duration like 30m",
        ),
        ('first_response = "10m"', 'first_reply = "10m"', r"tiers\.3\.deadlines\.first_reply"),
        (
            'timezone = "Asia/Shanghai"',
            'timezone = "Mars/Olympus"',
            r"timezone: .*unknown time zone",
        ),
        ('open = "09:00"', 'open = "19:00"', r"business_hours: .*open must be earlier than close"),
        (
            'delivery = "logistics"',
            'delivery = "shipping"',
            r"routing\.categories\.delivery: team 'shipping' is not defined",
        ),
        (
            're_escalate_every = "30m"',
            're_escalate_every = "0m"',
            r"tiers\.3\.re_escalate_every: .*longer than zero",
        ),
        ("[tiers.1]", "[tiers.4]", r"tiers\.4"),
        ("tier = 3", "tier = 5", r"classification\.rules\.0\.tier"),
        ('timezone = "Asia/Shanghai"', "timezone = ", r"not valid TOML"),
        (
            'make_up_days = ["2026-01-04"',
            'make_up_days = ["2026-01-01", "2026-01-04"',
            r"business_hours: .*make_up_days: 2026-01-01 \(thu\) also listed under holidays",
        ),
        (
            'make_up_days = ["2026-01-04"',
            'make_up_days = ["2026-03-02", "2026-01-04"',
            r"business_hours: .*make_up_days: 2026-03-02 \(mon\) already a working day by its "
            r"weekday \(days\)",
        ),
        ('make_up_days = ["2026-01-04"', 'make_up_days = ["2026-02-30"', r"make_up_days\.0"),
    ],
)
def test_malformed_policy_names_key_and_rule(old, new, message):
    assert old in DEFAULT
    with pytest.raises(PolicyError, match=message):
        parse_policy(DEFAULT.replace(old, new, 1), source="test.toml")
