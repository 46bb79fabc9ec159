"""Who gets a new complaint: given the team's load and who is away, when a complaint is
registered, then the least loaded member present (or the lead), with the reason recorded."""

from datetime import date, timedelta
from pathlib import Path

import pytest

from delivery.directory import DirectoryError, load_directory
from domain import commands as c
from domain.assignment import TeamLoad, choose
from domain.presence import (
    AwayCancelled,
    AwayMarked,
    AwayPeriod,
    BadPeriod,
    away_on,
    check_period,
    marked_periods,
)
from engine.contracts import load_contract
from tests.unit.helpers import POLICY, POLICY_FILE, T0, Story, minutes, registration

DEFAULT_PARTIES = Path(__file__).resolve().parents[2] / "domain" / "default_parties.toml"
TEAM = ["agent.zhao", "agent.chen", "agent.li"]  # not in name order: the rule sorts them
DAY = date(2026, 12, 2)


def away(person: str, start: date = DAY, end: date = DAY) -> AwayPeriod:
    return AwayPeriod(person=person, start=start, end=end)


def test_the_least_loaded_member_present_gets_it_and_the_reason_says_why():
    load = TeamLoad(
        open={"agent.zhao": 1, "agent.chen": 3, "agent.li": 0},
        away=[away("agent.li", DAY, date(2026, 12, 4))],
    )
    chosen = choose(TEAM, load, DAY)
    assert chosen.assignee == "agent.zhao"
    assert chosen.reason == (
        "fewest open (1) among present agent.chen 3, agent.zhao 1; agent.li away until 2026-12-04"
    )


def test_a_tie_goes_to_the_first_by_name_whatever_the_order_of_the_team():
    load = TeamLoad(open={"agent.zhao": 2, "agent.chen": 2, "agent.li": 5})
    assert choose(TEAM, load, DAY).assignee == "agent.chen"
    assert choose(list(reversed(TEAM)), load, DAY).assignee == "agent.chen"
    assert choose(TEAM, TeamLoad(open={}), DAY).reason == (
        "fewest open (0) among present agent.chen 0, agent.li 0, agent.zhao 0"
    )


def test_a_period_counts_on_its_first_and_last_day_only():
    load = TeamLoad(open={"agent.chen": 9}, away=[away("agent.zhao"), away("agent.li")])
    assert choose(TEAM, load, DAY).assignee == "agent.chen"  # both away that very day
    for other_day in (DAY - timedelta(days=1), DAY + timedelta(days=1)):
        assert choose(TEAM, load, other_day).assignee == "agent.li"  # li 0, zhao 0: by name


def test_nobody_present_goes_to_the_team_lead_and_says_so():
    load = TeamLoad(
        open={},
        away=[away(m, end=date(2026, 12, 9)) for m in TEAM],
        lead="lead.quality",
    )
    chosen = choose(TEAM, load, DAY)
    assert chosen.assignee == "lead.quality"
    assert chosen.reason == (
        "nobody present (agent.zhao away until 2026-12-09; agent.chen away until 2026-12-09; "
        "agent.li away until 2026-12-09): to the team lead"
    )


def test_nobody_present_and_no_lead_named_the_load_alone_decides():
    load = TeamLoad(open={"agent.chen": 1}, away=[away(m) for m in TEAM])
    chosen = choose(TEAM, load, DAY)
    assert chosen.assignee == "agent.li"
    assert chosen.reason.startswith("fewest open (0) among the team agent.chen 1, agent.li 0")
    assert chosen.reason.endswith("no team lead named")


def test_registration_records_the_load_decision_and_old_registrations_the_hash():
    load = TeamLoad(open={"agent.chen": 4, "agent.zhao": 1})
    s = Story()
    s.when(registration().model_copy(update={"team_load": load}), T0)  # team quality
    (assigned,) = [e for e in s.events if e.type == "ComplaintAssigned"]
    assert (assigned.assignee, assigned.reason) == (
        "agent.zhao",
        "fewest open (1) among present agent.chen 4, agent.zhao 1",
    )
    old = Story()
    old.when(registration(), T0)
    (assigned,) = [e for e in old.events if e.type == "ComplaintAssigned"]
    assert assigned.reason is None and "reason" not in assigned.model_dump()


def test_supervisor_marks_fold_into_the_standing_periods():
    mark = dict(at=T0, by="supervisor.wu")
    periods = marked_periods(
        [
            AwayMarked(person="agent.li", start=DAY, end=DAY, **mark),
            AwayMarked(person="agent.chen", start=DAY, end=DAY, **mark),
            AwayMarked(person="agent.li", start=DAY, end=date(2026, 12, 8), **mark),  # moved
            AwayCancelled(person="agent.chen", start=DAY, **mark),
        ]
    )
    assert periods == [away("agent.li", DAY, date(2026, 12, 8))]


@pytest.mark.parametrize(
    ("start", "end", "rule"),
    [
        (DAY, DAY - timedelta(days=1), "ends_before_start"),
        (DAY - timedelta(days=5), DAY - timedelta(days=1), "ended_in_past"),
    ],
)
def test_a_bad_period_is_refused_naming_the_field_and_rule(start, end, rule):
    with pytest.raises(BadPeriod) as refused:
        check_period(start, end, today=DAY)
    assert (refused.value.field, refused.value.rule) == ("until", rule)
    assert str(refused.value).startswith("until: ")


def test_a_period_of_today_alone_is_fine():
    check_period(DAY, DAY, today=DAY)


def _parties_with(away_toml: str) -> str:
    return DEFAULT_PARTIES.read_text(encoding="utf-8") + "\n" + away_toml


def test_the_parties_file_lists_away_periods():
    text = _parties_with('[[away]]\nperson = "agent.chen"\nfrom = 2026-12-01\nuntil = 2026-12-04\n')
    directory = load_directory(text, POLICY, today=DAY)
    assert directory.away_periods() == [
        AwayPeriod(
            person="agent.chen", start=date(2026, 12, 1), end=date(2026, 12, 4), source="parties"
        )
    ]
    assert directory.team_lead("quality") == "lead.quality"


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (
            'person = "agent.chen"\nfrom = 2026-12-04\nuntil = 2026-12-01',
            "away.0.until: 2026-12-01 is before from (2026-12-04) (rule ends_before_start)",
        ),
        (
            'person = "agent.nobody"\nfrom = 2026-12-02\nuntil = 2026-12-03',
            "away.0.person: 'agent.nobody' is not under [people]",
        ),
    ],
)
def test_a_bad_away_period_in_the_parties_file_stops_start_up(entry, problem):
    with pytest.raises(DirectoryError) as refused:
        load_directory(_parties_with(f"[[away]]\n{entry}\n"), POLICY, "acme parties", today=DAY)
    assert problem in str(refused.value)


def test_a_period_of_the_parties_file_that_is_over_marks_nobody_and_stops_nothing():
    """Refused as a new mark (check_period), but in the file it only lapsed: a restart the day
    after it ended must start."""
    text = _parties_with('[[away]]\nperson = "agent.chen"\nfrom = 2026-11-20\nuntil = 2026-11-30\n')
    directory = load_directory(text, POLICY, "acme parties", today=DAY)
    assert away_on(directory.away_periods(), DAY) == {}


def test_away_periods_are_not_the_terms(tmp_path):
    """Marking someone away in the file gives the contract no new version of its terms (which
    would ask for an amendment of every running complaint)."""
    plain, with_away = tmp_path / "plain.toml", tmp_path / "away.toml"
    plain.write_text(DEFAULT_PARTIES.read_text(encoding="utf-8"), encoding="utf-8")
    future = date.today() + timedelta(days=30)
    with_away.write_text(
        _parties_with(f'[[away]]\nperson = "agent.chen"\nfrom = {future}\nuntil = {future}\n'),
        encoding="utf-8",
    )
    versions = {
        load_contract("c", "C", POLICY_FILE, parties)[0].version for parties in (plain, with_away)
    }
    assert len(versions) == 1


def test_a_reopened_complaint_stays_with_whoever_holds_it():
    """Only a new complaint is assigned by load: reopening (or escalating) moves nobody."""
    s = Story()
    s.when(registration().model_copy(update={"team_load": TeamLoad(open={"agent.chen": 5})}), T0)
    assert s.state.assignee == "agent.zhao"
    s.when(c.Resolve(by="agent.zhao", resolution="Replaced"), T0 + minutes(20))
    s.when(c.Reopen(reason="Still broken"), T0 + minutes(40))
    assert s.state.assignee == "agent.zhao"
    assert [e.type for e in s.events].count("ComplaintAssigned") == 1
