"""Reports per contract and across them, from a log of two clients' complaints (the example's
ACME in Shanghai, Globex in Berlin), every figure and target worked out by hand; on SQLite and
PostgreSQL. The stories: tests/unit/report_stories.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from engine.contracts import load_contracts
from reports.metrics import MET, MISSED, NO_DATA
from reports.query import ContractNotFound, report
from store import EventStore, ProjectionRunner
from store.report_model import ReportFacts, ReportProjection
from tests.unit.helpers import local
from tests.unit.report_stories import WEDNESDAY, append_all, decisions, globex_decisions

EXAMPLE = Path(__file__).resolve().parents[2] / "contracts" / "example" / "contracts.toml"
BOOK = load_contracts(EXAMPLE)  # acme (the default), globex
TWO_WEEKS = {"first_day": date(2026, 11, 23), "last_day": date(2026, 12, 6)}
NOW = local(2026, 12, 7, 12, 0)


@pytest.fixture
def facts(engine: Engine, store: EventStore) -> ReportFacts:
    append_all(
        store, decisions(WEDNESDAY, "A-", BOOK.of("acme")) | globex_decisions(BOOK.of("globex"))
    )
    ProjectionRunner(engine, [ReportProjection()]).run_to_end(batch=5)
    return ReportFacts(engine)


def weekly(facts: ReportFacts, **request):
    return report(facts, BOOK, period="week", now=NOW, **(TWO_WEEKS | request))


def targets(row) -> dict[str, tuple]:
    return {t.target: (t.actual, t.status) for t in row.targets}


def test_first_response_in_time_is_the_first_answers_deadline(facts: ReportFacts) -> None:
    got = {
        f.complaint_id: f.first_response_in_time
        for f in facts.received_between(local(2026, 11, 1, 0, 0), local(2026, 12, 31, 0, 0))
    }
    # D is tier 1, which has no first-response deadline: its answer is its resolution, late.
    assert got == {
        "A-A": True, "A-B": False, "A-C": True, "A-D": False, "A-E": True,
        "G-1": True, "G-2": False, "G-3": None,  # 3's first response is not due yet
    }  # fmt: skip


def test_one_contracts_report_is_in_its_time_zone_with_its_targets(facts: ReportFacts) -> None:
    got = weekly(facts, contract="globex", group_by="all")
    assert (got.timezone, got.contract, got.timezone_of) == ("Europe/Berlin", "globex", "globex")
    # G-1 came on Sunday 23:30 in Berlin: week 48 there.
    assert [(r.period, r.volume, r.contract) for r in got.rows] == [
        ("2026-W48", 2, "globex"),
        ("2026-W49", 1, "globex"),
    ]
    w48, w49 = got.rows
    assert w48.contract_name == "Globex Energy (Germany)"
    # Globex promises no first-contact resolution: not listed.
    assert targets(w48) == {
        "csat": (4.0, MET),  # 5 and 3: a target of 4.0 is met at 4.0
        "resolution_rate": (1.0, MET),
        "first_response_in_time": (0.5, MISSED),  # G-2's first response was late
    }
    assert {status for _, status in targets(w49).values()} == {NO_DATA}  # G-3: nothing settled


def test_acmes_weeks_meet_and_miss_its_targets(facts: ReportFacts) -> None:
    got = weekly(facts, contract="acme", group_by="all")
    assert got.timezone == "Asia/Shanghai"
    w48, w49 = got.rows
    assert targets(w48) == {
        "first_contact_resolution": (0.25, MISSED),  # only A: B and D escalated, C reopened
        "csat": (pytest.approx(10 / 3), MISSED),
        "resolution_rate": (0.75, MISSED),  # D late
        "first_response_in_time": (0.5, MISSED),  # B and D late
    }
    assert targets(w49) == {
        "first_contact_resolution": (None, NO_DATA),  # E still open
        "csat": (None, NO_DATA),
        "resolution_rate": (None, NO_DATA),
        "first_response_in_time": (1.0, MET),
    }
    by_team = weekly(facts, contract="acme", group_by="team")
    assert {r.contract for r in by_team.rows} == {"acme"}  # every row checks acme's targets
    assert all(r.targets for r in by_team.rows)


def test_across_contracts_the_default_contracts_zone_and_a_group_per_contract(facts) -> None:
    got = weekly(facts, group_by="contract")
    assert (got.timezone, got.contract, got.timezone_of) == ("Asia/Shanghai", None, "acme")
    assert [(r.period, r.group, r.contract_name, r.volume) for r in got.rows] == [
        ("2026-W48", "acme", "ACME Retail (China)", 4),
        ("2026-W48", "globex", "Globex Energy (Germany)", 1),  # G-1 is Monday in Shanghai
        ("2026-W49", "acme", "ACME Retail (China)", 1),
        ("2026-W49", "globex", "Globex Energy (Germany)", 2),
    ]
    # The same targets, over Shanghai's weeks: G-2 alone in week 48.
    assert targets(got.rows[1]) == {
        "csat": (3.0, MISSED),
        "resolution_rate": (1.0, MET),
        "first_response_in_time": (0.0, MISSED),
    }
    # Across contracts a row grouped otherwise mixes contracts: no targets.
    by_tier = weekly(facts, group_by="tier")
    assert all(r.contract is None and r.targets == [] for r in by_tier.rows)
    assert sum(r.volume for r in by_tier.rows) == 8


def test_a_key_of_some_contracts_reads_only_theirs(facts: ReportFacts) -> None:
    acme_only = weekly(facts, group_by="contract", serves=frozenset({"acme"}))
    assert {r.group for r in acme_only.rows} == {"acme"}
    assert (acme_only.contract, acme_only.contracts) == ("acme", ["acme"])
    for asked in ("globex", "initech"):  # another's and one that does not exist: alike
        with pytest.raises(ContractNotFound, match=f"contract: no contract '{asked}'"):
            weekly(facts, contract=asked, group_by="all", serves=frozenset({"acme"}))
    with pytest.raises(ContractNotFound):
        weekly(facts, contract="initech", group_by="all")  # provider level too


def test_the_ledger_filtered_by_contract(facts: ReportFacts) -> None:
    span = (local(2026, 11, 1, 0, 0), local(2026, 12, 31, 0, 0))
    globex = facts.ledger_due_between(*span, {"globex"})
    assert {e.complaint_id for e in globex} == {"G-1", "G-2", "G-3"}
    assert {e.contract for e in globex} == {"globex"}
    assert len(facts.ledger_due_between(*span)) == len(globex) + len(
        facts.ledger_due_between(*span, {"acme"})
    )


def test_the_team_review_runs_per_contract(engine: Engine, store: EventStore) -> None:
    # The same five stories twice a week apart, once per contract: each contract's team
    # customer_service misses two weeks running, and is flagged as that contract's.
    for contract in ("acme", "globex"):
        # On acme's terms for both: Globex's rules would classify the stories otherwise.
        terms = replace(BOOK.of("acme"), id=contract)
        for prefix, wednesday in (("1", WEDNESDAY), ("2", local(2026, 12, 2, 10, 0))):
            append_all(store, decisions(wednesday, f"{contract}{prefix}-", terms))
    ProjectionRunner(engine, [ReportProjection()]).run_to_end()
    got = weekly(ReportFacts(engine), group_by="team")
    assert [(f.contract, f.team, f.weeks) for f in got.flagged_teams] == [
        ("acme", "customer_service", ["2026-W48", "2026-W49"]),
        ("globex", "customer_service", ["2026-W48", "2026-W49"]),
    ]
