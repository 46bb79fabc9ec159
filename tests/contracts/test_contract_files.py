"""Contracts as data: the shipped example loads, each contract keeps its own terms, versions are
content hashes, and every malformed contract stops start-up naming the contract, key and rule."""

import shutil
from datetime import date
from pathlib import Path

import pytest

from domain.contracts import UnknownContract
from domain.policy import PolicyError, parse_policy
from engine.contracts import ContractError, load_contracts, single_contract
from engine.settings import DEFAULT_PARTIES, DEFAULT_POLICY, Settings

EXAMPLE = Path(__file__).resolve().parents[2] / "contracts" / "example"


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of the shipped example, to break."""
    shutil.copytree(EXAMPLE, tmp_path / "example")
    return tmp_path / "example"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_shipped_example_serves_two_clients_on_their_own_terms():
    book = load_contracts(EXAMPLE / "contracts.toml")
    acme, globex = book.of("acme"), book.of("globex")
    assert (acme.name, globex.name) == ("ACME Retail (China)", "Globex Energy (Germany)")
    assert (acme.policy.timezone, globex.policy.timezone) == ("Asia/Shanghai", "Europe/Berlin")
    assert globex.policy.categories == ["billing", "outage", "meter", "other"]
    assert globex.policy.team_for("outage") == "field"
    assert acme.version != globex.version
    assert book.default is acme
    assert globex.targets.resolution_rate == 0.85
    assert globex.report_recipients == ("ops-globex@provider.example", "quality@globex.example")
    # Each contract's parties: Globex's duty manager is its own.
    duty = book.directory_of("globex").resolve("duty_manager", {})
    assert [r.email for r in duty] == ["duty@globex.example"]


def test_without_a_contracts_file_the_deployment_serves_todays_files_as_one_contract():
    book = Settings(contracts=None).load_contracts()
    assert [c.id for c in book] == ["default"]
    assert book.default.policy == parse_policy(DEFAULT_POLICY.read_text())
    # Complaints from before contracts name none: they are the default contract's.
    assert book.of(None) is book.default


def test_the_version_is_the_content_not_the_layout(example: Path):
    before = load_contracts(example / "contracts.toml").of("globex").version
    edit(
        example / "globex" / "policy.toml", "# Globex Energy", "# A comment changed; Globex Energy"
    )
    edit(example / "globex" / "parties.toml", 'name = "Ben Kraus"', 'name    =    "Ben Kraus"')
    # A setting written out at its default value is the same terms as one left out.
    edit(
        example / "globex" / "policy.toml",
        "default_tier = 1",
        "default_tier = 1\nurgent_raises_tier_by = 1",
    )
    assert load_contracts(example / "contracts.toml").of("globex").version == before
    edit(example / "globex" / "policy.toml", 'resolution = "8h"', 'resolution = "6h"')
    assert load_contracts(example / "contracts.toml").of("globex").version != before
    edit(example / "globex" / "policy.toml", 'resolution = "6h"', 'resolution = "8h"')
    edit(example / "globex" / "parties.toml", "ben@globex.example", "benk@globex.example")
    assert load_contracts(example / "contracts.toml").of("globex").version != before


def test_acme_works_its_make_up_saturdays_and_globex_does_not():
    from datetime import date

    book = load_contracts(EXAMPLE / "contracts.toml")
    saturday = date(2026, 10, 10)  # a make-up working day after China's National Day week
    assert book.of("acme").policy.calendar().is_working_day(saturday)
    assert not book.of("globex").policy.calendar().is_working_day(saturday)
    assert not book.of("acme").policy.calendar().is_working_day(date(2026, 10, 5))  # holiday


def test_the_default_contract_is_the_same_version_wherever_it_is_loaded():
    one = single_contract(DEFAULT_POLICY, DEFAULT_PARTIES).default.version
    again = single_contract(DEFAULT_POLICY, DEFAULT_PARTIES).default.version
    assert one == again and len(one) == 16


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        (
            "contracts.toml",
            'id = "globex"',
            'id = "acme"',
            r"contracts\.1\.id: 'acme' is the id of contracts\.0 too",
        ),
        (
            "contracts.toml",
            'default = "acme"',
            'default = "initech"',
            r"default: no contract .*initech",
        ),
        (
            "contracts.toml",
            'id = "globex"',
            'id = "Globex Energy"',
            r"contracts\.1\.id: String should match",
        ),
        (
            "contracts.toml",
            'policy = "globex/policy.toml"',
            'policy = "globex/missing.toml"',
            r"contract 'globex': cannot read .*missing\.toml",
        ),
        (
            "contracts.toml",
            "resolution_rate = 0.85",
            "resolution_rate = 85",
            r"contracts\.1\.targets\.resolution_rate: Input should be less than or equal to 1",
        ),
        (
            "contracts.toml",
            'mail_to = ["beschwerden@globex.example"]',
            'mail_to = ["not an address"]',
            r"contracts\.1\.mail_to\.0",
        ),
        (
            "globex/policy.toml",
            'resolution = "8h"',
            'resolution = "eight hours"',
            r"contract 'globex': .*policy\.toml is not a valid policy:\n"
            r"  tiers\.3\.deadlines\.resolution",
        ),
        (
            "globex/policy.toml",
            'meter = "field"\n',
            "",
            r"(?s)contract .globex.*routing: no route reaches category meter",
        ),
        (
            "globex/policy.toml",
            'category = "outage"',
            'category = "outages"',
            r"classification\.rules\.outage\.category: 'outages' is not one of the policy's",
        ),
        (
            "globex/policy.toml",
            'billing = "accounts"',
            'billing = "accounts"\nrefunds = "accounts"',
            r"routing\.categories\.refunds: 'refunds' is not one of the policy's categories",
        ),
        (
            "globex/parties.toml",
            'supervisor = "globex.supervisor"',
            'supervisor = "globex.nobody"',
            r"contract 'globex': .*parties\.toml does not fit the policy:\n.*'globex\.nobody'",
        ),
    ],
    ids=[
        "duplicate-id",
        "unknown-default",
        "bad-id",
        "missing-policy",
        "target-out-of-range",
        "bad-mail-address",
        "bad-deadline",
        "unrouted-category",
        "rule-category-unknown",
        "route-category-unknown",
        "unknown-party",
    ],
)
def test_a_malformed_contract_is_named_with_its_key_and_rule(
    example: Path, file: str, old: str, new: str, message: str
):
    edit(example / file, old, new)
    with pytest.raises((ContractError, PolicyError), match=message):
        load_contracts(example / "contracts.toml")


def test_a_retired_contract_takes_no_new_complaints_and_cannot_be_the_default(example: Path):
    edit(
        example / "contracts.toml",
        'name = "Globex Energy (Germany)"',
        'name = "Globex"\nretired = true',
    )
    book = load_contracts(example / "contracts.toml")
    with pytest.raises(UnknownContract, match="contract 'globex' is retired"):
        book.for_intake("globex")
    with pytest.raises(UnknownContract, match="contract 'initech' is not served here"):
        book.for_intake("initech")
    assert book.of("globex").name == "Globex"  # its running complaints still find it
    # Its mail goes to the default contract now.
    assert book.for_mail(["beschwerden@globex.example"]).id == "acme"
    edit(example / "contracts.toml", 'default = "acme"', 'default = "globex"')
    with pytest.raises(ContractError, match="default: contract 'globex' is retired"):
        load_contracts(example / "contracts.toml")


def test_inbound_mail_finds_its_contract_by_the_address_it_was_sent_to():
    book = load_contracts(EXAMPLE / "contracts.toml")
    assert book.for_mail(["Beschwerden@Globex.example"]).id == "globex"
    assert book.for_mail(["someone@else.example"]).id == "acme"
    assert book.for_intake(None).id == "acme"


def test_a_contracts_calendar_file_is_found_next_to_its_policy(example: Path, monkeypatch):
    shutil.copy(DEFAULT_POLICY.parent / "cn-2026.ics", example / "acme" / "cn-2026.ics")
    edit(
        example / "acme" / "policy.toml",
        "[business_hours]\n",
        '[business_hours]\ncalendar_file = "cn-2026.ics"\n',
    )
    monkeypatch.chdir(example.parent)  # not where the file is
    calendar = load_contracts(example / "contracts.toml").of("acme").policy.calendar()
    assert calendar.is_working_day(date(2026, 2, 14))  # a make-up Saturday, from the file
    assert not calendar.is_working_day(date(2026, 2, 23))

    (example / "acme" / "cn-2026.ics").write_text(
        "BEGIN:VCALENDAR\nBEGIN:VEVENT\nRRULE:FREQ=YEARLY\nEND:VEVENT\nEND:VCALENDAR\n"
    )
    with pytest.raises(
        ContractError, match=r"contract 'acme'.*calendar_file: .*cn-2026\.ics, line 3: RRULE"
    ):
        load_contracts(example / "contracts.toml")
