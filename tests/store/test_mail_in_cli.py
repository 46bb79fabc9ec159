"""`complaints mail-in --held`: the messages held for staff, without personal data."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from entrypoints.cli import main
from store import make_engine, migrate
from store.inbound_mail import InboundMailStore
from tests.keys import KEYS

ADDRESS = "zhang.weiming@example.org"
RAW = f"From: Zhang Weiming <{ADDRESS}>\r\nSubject: [C-ABCDEFGHJKLM]\r\n\r\nClose it.\r\n"


pytestmark = pytest.mark.usefixtures("logging_as_it_was")  # tests/store/conftest.py


@pytest.fixture
def kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> InboundMailStore:
    url = f"sqlite:///{tmp_path / 'events.sqlite3'}"
    engine = make_engine(url)
    migrate(engine)
    monkeypatch.setenv("COMPLAINTS_DATABASE_URL", url)
    monkeypatch.setenv("COMPLAINTS_DATA_DIR", str(tmp_path))
    master_id, master = KEYS.master.current_key()
    monkeypatch.setenv("COMPLAINTS_MASTER_KEYS", f"{master_id}:{base64.b64encode(master).decode()}")
    # Not used by the listing, but every key must be set.
    monkeypatch.setenv("COMPLAINTS_CODEC_KEYS", f"c:{base64.b64encode(b'c' * 32).decode()}")
    monkeypatch.setenv("COMPLAINTS_IDENTITY_KEY", base64.b64encode(b"i" * 32).decode())
    store = InboundMailStore(engine, KEYS.master)
    yield store
    engine.dispose()


def test_held_messages_are_listed_without_personal_data(kept, capsys):
    at = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    held = kept.keep(
        RAW.encode(),
        received_at=at,
        outcome="unmatched",
        complaint_id="C-ABCDEFGHJKLM",
        reason="subject names C-ABCDEFGHJKLM but the sender is not that complaint's customer",
        message_id="<m1@mail.example.org>",
    )
    kept.keep(b"From: a@example.org\r\n\r\nhi", received_at=at, outcome="complaint", reason="new")
    main(["mail-in", "--held"])
    out = capsys.readouterr().out
    assert held.id in out and "unmatched" in out and "C-ABCDEFGHJKLM" in out
    assert "2026-11-30 09:00:00" in out and "complaint " not in out
    assert ADDRESS not in out and "Zhang" not in out and "Close it" not in out
    main(["mail-in", "--held", "--json"])
    (row,) = json.loads(capsys.readouterr().out)
    assert row == {
        "id": held.id,
        "received_at": "2026-11-30T09:00:00+00:00",
        "outcome": "unmatched",
        "reason": held.reason,
        "complaint_id": "C-ABCDEFGHJKLM",
    }


def test_nothing_held(kept, capsys):
    main(["mail-in", "--held"])
    assert capsys.readouterr().out == "no held messages\n"


@pytest.mark.parametrize("argv", [["--limit", "0"], ["--limit", "many"], ["--what"]])
def test_bad_arguments_exit_2(kept, capsys, argv):
    with pytest.raises(SystemExit) as exited:
        main(["mail-in", "--held", *argv])
    assert exited.value.code == 2
    assert "mail-in" in capsys.readouterr().err
