# ruff: noqa: F811  (pytest fixtures imported from other suites are used as arguments)
"""Erasure by crypto-shredding, end to end on the store (SQLite and PostgreSQL) and the CLI."""

import pytest

from domain.events import ERASED, join_personal
from domain.state import fold
from engine.composition import build_projector
from entrypoints.cli import main
from store import EventStore
from store.erasure import CUSTOMER_DATA_ERASED, ERASURES_STREAM, CustomerNotFound, erase_customer
from store.outbox import Outbox
from tests.delivery.conftest import clock, directory, hooks, make_dispatcher, smtp  # noqa: F401
from tests.keys import KEYS, VAULT
from tests.security.conftest import SECRET, file_complaint, leaks, raw_rows
from tests.unit.helpers import CUSTOMER

ERASED_DICT = ERASED.model_dump()


def shape(store: EventStore, cid: str) -> list[tuple]:
    return [(r.event_id, r.version, r.type, r.data) for r in store.read_stream(cid)]


def test_erasing_a_customer_shreds_their_data_everywhere_and_keeps_every_figure(
    store,
    engine,
    make_dispatcher,
    smtp,
):
    file_complaint(store, "C-ER1", archive=True)
    file_complaint(store, "C-ER2", SECRET.model_copy(update={"phone": None}))
    file_complaint(store, "C-KEPT", CUSTOMER)
    before = {cid: shape(store, cid) for cid in ("C-ER1", "C-ER2", "C-KEPT")}
    states = {cid: fold(join_personal(r.data, r.personal) for r in store.read_stream(cid))
              for cid in before}  # fmt: skip
    assert store.read_stream("C-ER2")[0].personal["name"] == SECRET.name

    erasure = erase_customer(store, VAULT, email=SECRET.email.upper(), by="dpo.wu")

    assert erasure.complaints == ["C-ER1", "C-ER2"] and len(erasure.keys) == 1
    for cid in ("C-ER1", "C-ER2"):
        assert store.read_stream(cid)[0].personal == ERASED_DICT
    assert store.closure_record("C-ER1")["customer"] == ERASED_DICT
    assert store.closure_record("C-ER1")["event_count"] == len(before["C-ER1"])
    assert store.read_stream("C-KEPT")[0].personal["name"] == CUSTOMER.name
    # The events keep their structure: same ids, versions, types and data; states fold the same.
    assert {cid: shape(store, cid) for cid in before} == before
    assert {
        cid: fold(join_personal(r.data, r.personal) for r in store.read_stream(cid))
        for cid in before
    } == states
    assert build_projector(engine).run_to_end() > 0  # the read models fold erased events too

    # The erased customer's messages fail for good (and say why); the others are delivered.
    make_dispatcher().run_once()
    outcome = {s.key: s for cid in before for s in Outbox(engine).state(cid)}
    erased_ack = outcome["C-ER2:acknowledgement:r1:customer"]
    assert erased_ack.status == "failed" and "erased" in erased_ack.last_error
    assert outcome["C-KEPT:acknowledgement:r1:customer"].status == "sent"
    assert smtp.to(CUSTOMER.email) and not smtp.to(SECRET.email)

    # The erasure is on record, without personal data; doing it again changes nothing.
    (fact,) = store.read_stream(ERASURES_STREAM)
    assert fact.type == CUSTOMER_DATA_ERASED and fact.personal is None
    assert fact.data["complaints"] == ["C-ER1", "C-ER2"] and fact.data["by"] == "dpo.wu"
    assert leaks(raw_rows(engine)) == []
    again = erase_customer(store, VAULT, phone=SECRET.phone, by="dpo.wu")
    assert again.already_erased and len(store.read_stream(ERASURES_STREAM)) == 1


def test_a_customer_found_by_complaint_and_filing_again_after_erasure(store):
    anonymous = CUSTOMER.model_copy(update={"email": None, "phone": None})
    file_complaint(store, "C-ANON", anonymous)
    erasure = erase_customer(store, VAULT, complaint_id="C-ANON", by="dpo.wu")
    assert erasure.complaints == ["C-ANON"]
    assert store.read_stream("C-ANON")[0].personal == ERASED_DICT

    file_complaint(store, "C-AGAIN-1")
    erase_customer(store, VAULT, email=SECRET.email, by="dpo.wu")
    file_complaint(store, "C-AGAIN-2")  # a new complaint after the erasure: a new key
    assert store.read_stream("C-AGAIN-2")[0].personal["name"] == SECRET.name
    assert store.read_stream("C-AGAIN-1")[0].personal == ERASED_DICT


def test_an_unknown_customer_is_an_error(store):
    with pytest.raises(CustomerNotFound):
        erase_customer(store, VAULT, email="nobody@example.org", by="dpo.wu")
    with pytest.raises(CustomerNotFound):
        erase_customer(store, VAULT, complaint_id="C-NONE", by="dpo.wu")


def test_the_cli_erases_and_says_plainly_when_there_is_nobody(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'events.sqlite3'}"
    monkeypatch.setenv("COMPLAINTS_DATABASE_URL", url)
    monkeypatch.setenv("COMPLAINTS_DATA_DIR", str(tmp_path))  # holds no key file
    monkeypatch.setenv("COMPLAINTS_CODEC_KEYS", "k:" + _b64(KEYS.codec.current_key()[1]))
    master_id, master = KEYS.master.current_key()
    monkeypatch.setenv("COMPLAINTS_MASTER_KEYS", f"{master_id}:{_b64(master)}")
    monkeypatch.setenv("COMPLAINTS_IDENTITY_KEY", _b64(KEYS.identity))
    from store import make_engine, migrate

    engine = make_engine(url)
    migrate(engine)
    file_complaint(EventStore(engine, VAULT), "C-CLI")

    main(["erase-customer", "--email", SECRET.email, "--by", "dpo.wu"])
    assert "1 key(s) destroyed; complaints C-CLI" in capsys.readouterr().out
    assert EventStore(engine, VAULT).read_stream("C-CLI")[0].personal == ERASED_DICT

    with pytest.raises(SystemExit) as exit_:
        main(["erase-customer", "--phone", "+1 555 0100", "--by", "dpo.wu"])
    assert exit_.value.code == 2
    assert "no customer with that e-mail or phone" in capsys.readouterr().err
    engine.dispose()


def _b64(key: bytes) -> str:
    import base64

    return base64.b64encode(key).decode()
