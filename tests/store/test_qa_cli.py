"""`complaints qa sample` and `complaints qa record` on a SQLite store filled through the real
activities (no Temporal needed), with `complaints report` showing the scores."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from entrypoints.cli import main
from store import EventStore, make_engine, migrate
from tests.keys import VAULT
from tests.store.test_qa_reviews import SCORES, TEXTS, handled, project
from tests.unit.helpers import POLICY_FILE, T0

pytestmark = pytest.mark.usefixtures("logging_as_it_was")  # tests/store/conftest.py


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    url = f"sqlite:///{tmp_path / 'events.sqlite3'}"
    monkeypatch.setenv("COMPLAINTS_DATABASE_URL", url)
    monkeypatch.setenv("COMPLAINTS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COMPLAINTS_POLICY", str(POLICY_FILE))
    monkeypatch.delenv("COMPLAINTS_CONTRACTS", raising=False)
    engine = make_engine(url)
    migrate(engine)
    store = EventStore(engine, VAULT)
    for n in range(12):
        handled(store, f"C-CLI{n:02d}", TEXTS[n % len(TEXTS)], T0 - timedelta(hours=n % 3))
    handled(store, "C-OPEN", TEXTS[0], T0, close=False)
    project(engine)
    yield store
    engine.dispose()


def exit_code(*argv: str) -> int:
    with pytest.raises(SystemExit) as exit_:
        main(list(argv))
    return exit_.value.code


def fields(scores: dict[str, int]) -> list[str]:
    return [f"{item}={value}" for item, value in scores.items()]


def test_a_sample_prints_its_seed_and_the_seed_repeats_it(store, capsys) -> None:
    main(["qa", "sample", "--period", "2026-11", "--per-agent", "2"])
    first = capsys.readouterr().out
    seed = first.split("seed ")[1].split()[0]
    assert f"(repeat: --seed {seed})" in first and "closed: 12" in first
    main(["qa", "sample", "--period", "2026-11", "--per-agent", "2", "--seed", seed])
    assert capsys.readouterr().out == first
    main(["qa", "sample", "--from", "2026-11-01", "--to", "2026-11-30", "--seed", seed,
          "--per-agent", "2", "--json"])  # fmt: skip
    drawn = json.loads(capsys.readouterr().out)
    assert drawn["seed"] == int(seed) and drawn["candidates"] == 12
    assert all(cid in first for a in drawn["agents"] for cid in a["complaints"])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--period", "2026-13"], "period: must read like 2026-11"),
        ([], "--period: give --period"),
        (["--period", "2026-11", "--from", "2026-11-01"], "not both"),
        (["--period", "2026-11", "--per-agent", "0"], "per_agent: must be 1 to"),
        (["--period", "2026-11", "--contract", "globex"], "contract: no contract 'globex'"),
        (["--from", "2026-11-30", "--to", "2026-11-01"], "to: 2026-11-01 is before from"),
    ],
)
def test_a_bad_sample_request_is_a_usage_error(store, capsys, argv, message) -> None:
    assert exit_code("qa", "sample", *argv) == 2
    assert message in capsys.readouterr().err


def test_a_review_is_the_operators_and_shows_in_the_report(store, capsys) -> None:
    main(["qa", "record", "C-CLI00", *fields(SCORES), "--remarks", "fine", "--as", "qa.wu",
          "--json"])  # fmt: skip
    review = json.loads(capsys.readouterr().out)
    assert (review["by"], review["by_role"], review["scores"]) == ("qa.wu", "operator", SCORES)
    assert "by_key" not in review  # the CLI holds no API key
    project(store.engine)
    main(["report", "--period", "month", "--from", "2026-11-01", "--to", "2026-11-30"])
    out = capsys.readouterr().out
    assert f"Spot-checks: 1 reviewed, score {6 / 8:.0%}" in out
    assert f"{review['team']:<20} {review['agent']:<20} {1:>8} {6 / 8:>6.0%}" in out


@pytest.mark.parametrize(
    ("cid", "scores", "message"),
    [
        ("C-CLI00", SCORES | {"greeted": 3}, "scores.greeted: 3 is outside the checklist's scale"),
        ("C-CLI00", SCORES | {"greeted": "two"}, "scores.greeted: a score is a whole number"),
        ("C-CLI00", SCORES | {"by": 1}, "by: the author of a review is whoever runs the CLI"),
        ("C-OPEN", SCORES, "status: only a closed complaint is spot-checked"),
        ("C-NONE", SCORES, "no complaint 'C-NONE'"),
    ],
)
def test_a_bad_review_is_a_usage_error_and_writes_nothing(store, capsys, cid, scores, message):
    before = len(store.read_all(limit=100_000))
    assert exit_code("qa", "record", cid, *fields(scores)) == 2
    assert message in capsys.readouterr().err
    assert len(store.read_all(limit=100_000)) == before
