"""The inbound mail kept (store.inbound_mail), on SQLite and PostgreSQL: sealed at rest, once
per Message-ID, held messages listed without personal data."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text, update

from security.keys import DecryptionError
from store import migrate
from store.inbound_mail import InboundMailStore
from store.tables import InboundMailRow
from tests.keys import KEYS

ADDRESS = "zhang.weiming@example.org"
RAW = (
    f"From: Zhang Weiming <{ADDRESS}>\r\nSubject: Broken parcel\r\n"
    "Message-ID: <m1@mail.example.org>\r\n\r\nMy parcel arrived broken.\r\n"
).encode()
AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.fixture
def kept(engine: Engine) -> InboundMailStore:
    migrate(engine)
    return InboundMailStore(engine, KEYS.master)


def raw_table(engine: Engine) -> bytes:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM inbound_mail")).all()
    return b"\n".join(
        bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode() for r in rows for v in r
    )


def test_the_raw_message_is_sealed_at_rest_and_opens_again(kept, engine):
    mail = kept.keep(
        RAW,
        received_at=AT,
        outcome="complaint",
        reason="a new message",
        message_id="<m1@mail.example.org>",
        complaint_id="C-1",
    )
    at_rest = raw_table(engine)
    for needle in (ADDRESS, "Zhang", "Weiming", "arrived broken", "Broken parcel"):
        assert needle.encode() not in at_rest
    assert b"<m1@mail.example.org>" in at_rest and b"C-1" in at_rest  # what is listed is clear
    assert kept.raw(mail.id) == RAW
    assert kept.find("<m1@mail.example.org>") == mail


def test_a_sealed_message_cannot_move_to_another_row(kept, engine):
    first = kept.keep(RAW, received_at=AT, outcome="unparsable", reason="x")
    second = kept.keep(b"other", received_at=AT, outcome="unparsable", reason="y")
    with engine.begin() as connection:
        sealed = connection.execute(
            text("SELECT raw_sealed FROM inbound_mail WHERE id = :id"), {"id": first.id}
        ).scalar_one()
        connection.execute(
            update(InboundMailRow).where(InboundMailRow.id == second.id).values(raw_sealed=sealed)
        )
    with pytest.raises(DecryptionError):
        kept.raw(second.id)


def test_a_message_id_is_kept_once(kept):
    first = kept.keep(
        RAW, received_at=AT, outcome="reply", reason="r", message_id="<m1@x>", complaint_id="C-1"
    )
    again = kept.keep(
        RAW,
        received_at=AT + timedelta(minutes=5),
        outcome="refused",
        reason="later",
        message_id="<m1@x>",
    )
    assert again == first
    # Messages without a Message-ID never clash with each other.
    a = kept.keep(b"a", received_at=AT, outcome="unparsable", reason="no header lines")
    b = kept.keep(b"b", received_at=AT, outcome="unparsable", reason="no header lines")
    assert a.id != b.id


def test_held_lists_only_held_outcomes_newest_first(kept):
    for n, outcome in enumerate(["complaint", "unmatched", "ignored", "refused", "unparsable"]):
        kept.keep(
            RAW,
            received_at=AT + timedelta(minutes=n),
            outcome=outcome,
            reason=outcome,
            message_id=f"<m{n}@x>",
        )
    held = kept.held(("unmatched", "refused", "unparsable", "failed"))
    assert [m.outcome for m in held] == ["unparsable", "refused", "unmatched"]
    assert held[0].received_at == AT + timedelta(minutes=4)
    assert [m.outcome for m in kept.held(("unmatched", "refused"), limit=1)] == ["refused"]
