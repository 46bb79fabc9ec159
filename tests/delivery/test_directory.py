"""The parties file: checked against the policy at start-up, naming the key of every mistake."""

from pathlib import Path

import pytest

from delivery.directory import DirectoryError, Recipient, load_directory
from domain.policy import parse_policy
from tests.unit.helpers import POLICY, POLICY_FILE

DEFAULT_PARTIES = Path(__file__).resolve().parents[2] / "domain" / "default_parties.toml"
DETAILS = {"complaint_id": "C-1", "tier": 3, "team": "quality", "assignee": "agent.chen"}


def test_the_default_parties_cover_the_default_policy():
    directory = load_directory(DEFAULT_PARTIES.read_text(encoding="utf-8"), POLICY)
    for team, members in POLICY.teams.items():
        for role in ("team_lead", "supervisor", "duty_manager"):
            (who,) = directory.resolve(role, {**DETAILS, "team": team})
            assert who.email.endswith("@example.com")
        for member in members.members:
            (who,) = directory.resolve("assignee", {**DETAILS, "team": team, "assignee": member})
            assert who.id == member and who.email == f"{member}@example.com"


def test_resolve_each_role():
    directory = load_directory(DEFAULT_PARTIES.read_text(encoding="utf-8"), POLICY)
    assert directory.resolve("supervisor", DETAILS) == [
        Recipient("supervisor.quality", "质量主管", "supervisor.quality@example.com", None, "zh")
    ]
    customer = {"name": "Li Lei", "email": "li@example.com", "phone": "+86 1", "locale": "zh"}
    assert directory.resolve("customer", DETAILS, customer) == [
        Recipient("customer", "Li Lei", "li@example.com", None, "zh")
    ]
    assert directory.resolve("customer", DETAILS, None) == []
    assert directory.resolve("assignee", {**DETAILS, "assignee": "someone.new"}) == []
    assert directory.next_role(3, "team_lead") == "supervisor"
    assert directory.next_role(3, "duty_manager") is None
    assert directory.next_role(1, "supervisor") is None  # the top of tier 1's chain
    assert directory.next_role(3, "customer") == "assignee"


def _broken(old: str, new: str) -> str:
    text = DEFAULT_PARTIES.read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new)


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ('[teams.logistics]\ndepartment = "Logistics"\nteam_lead = "lead.logistics"\n',
         '[teams.logistics]\ndepartment = "Logistics"\n', "teams.logistics.team_lead"),
        ('[teams.billing]\ndepartment = "Billing"\nteam_lead = "lead.billing"\n'
         'supervisor = "supervisor.operations"\n', "", "teams.billing.team_lead: missing"),
        ('supervisor = "supervisor.quality"', 'supervisor = "nobody"', "teams.quality.supervisor"),
        ('duty_manager = "duty.manager"', 'duty_manager = "nobody"', "duty_manager: 'nobody'"),
        ('[people."agent.wang"]', '[people."agent.wong"]', "people.agent.wang"),
        ('email = "agent.li@example.com"\nlocale = "en"', 'email = "agent.li@example.com"\n'
         'locale = "fr"', "people.agent.li.locale"),
        ('email = "agent.li@example.com"', 'email = "not an address"', "people.agent.li.email"),
        ('email = "agent.li@example.com"', "", "people.agent.li: needs an email or a webhook"),
        ('duty_manager = "duty.manager"', 'duty_manager = "duty.manager"\nboss = "x"', "boss"),
        ("[teams.quality]", "[teams.quality", "not valid TOML"),
    ],
)  # fmt: skip
def test_a_broken_parties_file_is_refused_naming_the_key(old, new, named):
    with pytest.raises(DirectoryError) as refused:
        load_directory(_broken(old, new), POLICY, source="parties.toml")
    assert named in str(refused.value)
    assert str(refused.value).startswith("parties.toml")


def test_a_chain_role_the_directory_does_not_know_is_refused():
    policy_text = POLICY_FILE.read_text(encoding="utf-8").replace(
        'escalation_chain = ["assignee", "team_lead", "supervisor"]',
        'escalation_chain = ["assignee", "team_lead", "cfo"]',
    )
    with pytest.raises(DirectoryError, match=r"tiers.1.escalation_chain: role 'cfo'"):
        load_directory(DEFAULT_PARTIES.read_text(encoding="utf-8"), parse_policy(policy_text))
