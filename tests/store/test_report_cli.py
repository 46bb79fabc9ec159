"""`complaints projections rebuild`, `complaints report` and `complaints simulate` on a SQLite
store holding the hand-made stories (no Temporal needed), also of two contracts."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from engine.contracts import load_contracts
from entrypoints.cli import main
from reports.export import csv_header
from store import EventStore, make_engine, migrate
from tests.keys import VAULT
from tests.unit.helpers import POLICY_FILE
from tests.unit.report_stories import WEDNESDAY, append_all, decisions, globex_decisions

RANGE = ["--from", "2026-11-23", "--to", "2026-12-06"]


pytestmark = pytest.mark.usefixtures("logging_as_it_was")  # tests/store/conftest.py


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "events.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    append_all(EventStore(engine, VAULT), decisions())
    engine.dispose()
    monkeypatch.setenv("COMPLAINTS_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("COMPLAINTS_DATA_DIR", str(tmp_path))
    return path


def run(capsys, *argv: str) -> str:
    main(list(argv))
    return capsys.readouterr().out


def test_rebuild_then_report_in_every_format(database, capsys) -> None:
    rebuilt = run(capsys, "projections", "rebuild")
    assert "complaint_list: rebuilt from 98 events" in rebuilt
    assert "reports: rebuilt from 98 events" in rebuilt

    as_json = json.loads(run(capsys, "report", "--group-by", "tier", "--format", "json", *RANGE))
    assert [(r["period"], r["group"], r["volume"]) for r in as_json["rows"]] == [
        ("2026-W48", "1", 1),
        ("2026-W48", "2", 1),
        ("2026-W48", "3", 2),
        ("2026-W49", "3", 1),
    ]
    lines = list(csv.reader(io.StringIO(run(capsys, "report", "--format", "csv", *RANGE))))
    assert lines[0] == csv_header() and len(lines) == 5
    table = run(capsys, "report", "--period", "month", *RANGE)
    assert "SLA report by month, grouped by team" in table
    assert "2026-11   quality" in table


def test_simulate_prints_both_sides(database, tmp_path: Path, capsys) -> None:
    stricter = tmp_path / "stricter.toml"
    text = POLICY_FILE.read_text().replace('first_response = "10m"', 'first_response = "4m"')
    stricter.write_text(text)
    run(capsys, "projections", "run")
    out = json.loads(run(capsys, "simulate", "--policy", str(stricter), "--format", "json", *RANGE))
    first_response = next(r for r in out["rows"] if (r["tier"], r["kind"]) == (3, "first_response"))
    assert first_response["simulated"]["breached"] == first_response["actual"]["breached"] + 1
    assert "breaches:" in run(capsys, "simulate", "--policy", str(stricter), *RANGE)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["report", "--from", "2026-12-01", "--to", "2026-11-01"], "to: 2026-11-01 is before"),
        (["simulate", "--policy", "/nonexistent.toml", *RANGE], "--policy: cannot read"),
        (["projections", "rebuild", "nothing"], "name: no projection 'nothing'"),
    ],
)
def test_mistakes_are_one_line_and_status_2(database, capsys, argv, message) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


EXAMPLE = Path(__file__).resolve().parents[2] / "contracts" / "example" / "contracts.toml"
WEEK_48 = ["--from", "2026-11-23", "--to", "2026-11-29"]  # every deadline of it settled


@pytest.fixture
def two_contracts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The example's ACME and Globex, each with its stories (tests/unit/report_stories.py)."""
    book = load_contracts(EXAMPLE)
    path = tmp_path / "events.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    stories = decisions(WEDNESDAY, "A-", book.of("acme")) | globex_decisions(book.of("globex"))
    append_all(EventStore(engine, VAULT), stories)
    engine.dispose()
    monkeypatch.setenv("COMPLAINTS_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("COMPLAINTS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COMPLAINTS_CONTRACTS", str(EXAMPLE))


def test_report_of_one_contract_in_its_zone_with_its_targets(two_contracts, capsys) -> None:
    run(capsys, "projections", "run")
    got = json.loads(
        run(
            capsys,
            "report",
            "--contract",
            "globex",
            "--group-by",
            "all",
            "--format",
            "json",
            *RANGE,
        )
    )
    assert (got["timezone"], got["contract"]) == ("Europe/Berlin", "globex")
    assert [(r["period"], r["volume"]) for r in got["rows"]] == [("2026-W48", 2), ("2026-W49", 1)]
    assert {t["target"]: t["status"] for t in got["rows"][0]["targets"]} == {
        "csat": "met",
        "resolution_rate": "met",
        "first_response_in_time": "missed",
    }
    table = run(capsys, "report", "--contract", "globex", "--group-by", "all", *RANGE)
    assert "(Europe/Berlin, contract globex's time zone)" in table
    assert (
        "2026-W48  all [Globex Energy (Germany) (globex)]: csat 4.00 vs 4.00 met; "
        "resolution_rate 100% vs 85% met; first_response_in_time 50% vs 90% MISSED"
    ) in table
    lines = list(
        csv.DictReader(
            io.StringIO(run(capsys, "report", "--group-by", "contract", "--format", "csv", *RANGE))
        )
    )
    assert [(r["period"], r["group"], r["target_csat_status"]) for r in lines] == [
        ("2026-W48", "acme", "missed"),
        ("2026-W48", "globex", "missed"),  # Shanghai's week: G-2 alone, rated 3
        ("2026-W49", "acme", "no_data"),
        ("2026-W49", "globex", "met"),
    ]
    across = run(capsys, "report", "--group-by", "contract", *RANGE)
    assert "(Asia/Shanghai, the default contract acme's: across contracts)" in across


@pytest.mark.parametrize("contract", ["acme", "globex"])
def test_simulating_the_terms_the_complaints_ran_under_reproduces_them(
    two_contracts, capsys, contract
) -> None:
    run(capsys, "projections", "run")
    got = json.loads(run(capsys, "simulate", "--contract", contract, "--format", "json", *WEEK_48))
    # ACME's A to D in Shanghai's week 48; Globex's 1 and 2 in Berlin's (1 on its Sunday).
    assert got["complaints"] == {"acme": 4, "globex": 2}[contract]
    assert (got["contract"], got["registered_under_other_terms"]) == (contract, 0)
    assert got["rows"] and all(r["simulated"] == r["actual"] for r in got["rows"])
    breached = {"acme": 3, "globex": 1}[contract]  # acme: B twice, D; globex: 2's response
    assert sum(r["actual"]["breached"] for r in got["rows"]) == breached
    table = run(capsys, "simulate", "--contract", contract, *WEEK_48)
    assert f"actual vs under contract {contract}'s current policy" in table


def test_simulating_another_policy_for_one_contract(two_contracts, tmp_path, capsys) -> None:
    looser = tmp_path / "looser.toml"
    text = (EXAMPLE.parent / "globex" / "policy.toml").read_text()
    looser.write_text(text.replace('first_response = "4h"', 'first_response = "6h"'))
    run(capsys, "projections", "run")
    argv = ["simulate", "--contract", "globex", "--policy", str(looser), "--format", "json"]
    got = json.loads(run(capsys, *argv, *WEEK_48))
    tier2 = next(r for r in got["rows"] if (r["tier"], r["kind"]) == (2, "first_response"))
    # 2's first response at 15:00 breached 14:00, but is within six working hours.
    assert (tier2["actual"]["breached"], tier2["simulated"]["breached"]) == (1, 0)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["report", "--contract", "initech"], "--contract: no contract 'initech'"),
        (["simulate", "--contract", "initech", *WEEK_48], "--contract: no contract 'initech'"),
    ],
)
def test_an_unknown_contract_is_one_line_and_status_2(two_contracts, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err
