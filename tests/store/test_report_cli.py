"""`complaints projections rebuild`, `complaints report` and `complaints simulate` on a SQLite
store holding the hand-made stories (no Temporal needed)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from engine.cli import main
from reports.export import csv_header
from store import EventStore, make_engine, migrate
from tests.keys import VAULT
from tests.unit.helpers import POLICY_FILE
from tests.unit.report_stories import append_all, decisions

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
