"""`complaints verify`, `complaints closure` and `complaints views` on a SQLite store filled
through the real activities (no Temporal needed)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from sqlalchemy import text

from entrypoints.cli import main
from store import EventStore, make_engine, migrate
from store.access_log import AccessLog
from tests.keys import KEYS, VAULT
from tests.security.conftest import SECRET, file_complaint

pytestmark = pytest.mark.usefixtures("logging_as_it_was")  # tests/store/conftest.py


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    url = f"sqlite:///{tmp_path / 'events.sqlite3'}"
    monkeypatch.setenv("COMPLAINTS_DATABASE_URL", url)
    monkeypatch.setenv("COMPLAINTS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COMPLAINTS_CODEC_KEYS", "k:" + _b64(KEYS.codec.current_key()[1]))
    master_id, master = KEYS.master.current_key()
    monkeypatch.setenv("COMPLAINTS_MASTER_KEYS", f"{master_id}:{_b64(master)}")
    monkeypatch.setenv("COMPLAINTS_IDENTITY_KEY", _b64(KEYS.identity))
    engine = make_engine(url)
    migrate(engine)
    store = EventStore(engine, VAULT)
    file_complaint(store, "C-AR1", archive=True)
    file_complaint(store, "C-AR2")
    yield store
    engine.dispose()


def exit_code(*argv: str) -> int:
    with pytest.raises(SystemExit) as exit_:
        main(list(argv))
    return exit_.value.code


def test_verify_proves_an_untouched_log(store, capsys) -> None:
    main(["verify"])
    out = capsys.readouterr().out
    events = store.stream_version("C-AR1") + store.stream_version("C-AR2")
    assert f"proved {events} events in 2 streams and 1 closure records" in out


def test_verify_reports_data_edited_by_hand_and_exits_1(store, capsys) -> None:
    with store.engine.begin() as connection:
        connection.execute(
            text('UPDATE events SET data = \'{"subject": "nothing"}\' WHERE version = 1')
        )

    assert exit_code("verify") == 1
    err = capsys.readouterr().err
    assert "broken link: stream 'C-AR1', version 1: stored hash" in err


def test_verify_reports_a_closure_record_edited_by_hand(store, capsys) -> None:
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE closure_records SET archived_at = '2020-01-01 00:00:00'"))

    assert exit_code("verify") == 1
    assert "stream 'C-AR1', closure record" in capsys.readouterr().err


def test_closure_prints_the_record_and_records_the_view(store, capsys) -> None:
    main(["closure", "C-AR1"])
    shown = json.loads(capsys.readouterr().out)
    assert shown["record"]["customer"]["email"] == SECRET.email
    assert shown["hash"] and shown["last_event_hash"]

    (view,) = AccessLog(store.engine).views("C-AR1")
    assert (view.key_id, view.surface) == ("cli", "closure-cli")

    main(["views", "C-AR1"])
    out = capsys.readouterr().out
    assert "closure-cli" in out and SECRET.email not in out


def test_closure_of_a_complaint_not_archived_is_a_usage_error(store, capsys) -> None:
    assert exit_code("closure", "C-AR2") == 2
    assert "complaint_id: 'C-AR2' has no closure record" in capsys.readouterr().err
    assert AccessLog(store.engine).views("C-AR2") == []
