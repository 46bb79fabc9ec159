"""At rest in the event store (SQLite and PostgreSQL): the customer's personal data is ciphertext
in the raw rows, and opens only for a store given the vault."""

import base64

import pytest

from domain.events import SEALED, SealedPersonal
from security.keys import DecryptionError, parse_key_ring
from store import EventStore
from store.tables import CustomerKeyRow, EventRow
from store.vault import PersonalVault
from tests.keys import KEYS, VAULT
from tests.security.conftest import SECRET, file_complaint, leaks, raw_rows
from tests.unit.helpers import CUSTOMER


def test_raw_rows_hold_no_personal_data_and_the_vault_reads_it_back(store, engine):
    file_complaint(store, "C-REST1", archive=True)

    assert leaks(raw_rows(engine)) == []
    registered = store.read_stream("C-REST1")[0]
    assert registered.personal == SECRET.model_dump(mode="json")
    assert store.closure_record("C-REST1")["customer"] == SECRET.model_dump(mode="json")
    # A reader without the keys (the read models) sees that something is sealed, never what.
    keyless = EventStore(engine)
    assert keyless.read_stream("C-REST1")[0].personal == SEALED.model_dump()
    assert keyless.closure_record("C-REST1")["customer"] == SEALED.model_dump()


def test_clear_rows_are_found_and_then_sealed(engine, store):
    """The search above is not blind: the same details written in clear are found."""
    file_complaint(store, "C-REST2")
    with engine.begin() as connection:
        connection.execute(
            EventRow.__table__.update()
            .where(EventRow.stream_id == "C-REST2")
            .where(EventRow.type == "ComplaintRegistered")
            .values(personal=SECRET.model_dump(mode="json"))
        )
    assert SECRET.name in leaks(raw_rows(engine))
    # Such rows (written before encryption) are sealed by `complaints rewrap-customer-keys`.
    with engine.begin() as connection:
        assert VAULT.seal_clear_rows(connection) == 1
        assert VAULT.seal_clear_rows(connection) == 0
    assert leaks(raw_rows(engine)) == []
    assert store.read_stream("C-REST2")[0].personal == SECRET.model_dump(mode="json")


def test_one_key_per_customer_whatever_the_spelling_of_their_address(store, engine):
    file_complaint(store, "C-A1")
    respelled = SECRET.model_copy(update={"email": " zhang.weiming@EXAMPLE.org"})
    file_complaint(store, "C-A2", respelled)
    file_complaint(store, "C-B1", CUSTOMER)
    # Nothing to recognise them by (a phone of punctuation only names no one): a key of the
    # complaint's own.
    file_complaint(store, "C-C1", CUSTOMER.model_copy(update={"email": None, "phone": "-"}))
    file_complaint(
        store, "C-D1", CUSTOMER.model_copy(update={"email": "d@example.org", "phone": ")"})
    )
    with engine.connect() as connection:
        refs = connection.execute(CustomerKeyRow.__table__.select()).all()
    assert len(refs) == 4
    assert len({r.customer_ref for r in refs}) == 4


def test_a_sealed_part_moved_to_another_complaint_does_not_open(store, engine):
    file_complaint(store, "C-MOVE1")
    file_complaint(store, "C-MOVE2", CUSTOMER)
    with engine.begin() as connection:
        stolen = connection.scalar(
            EventRow.__table__.select()
            .with_only_columns(EventRow.personal)
            .where(EventRow.stream_id == "C-MOVE1", EventRow.version == 1)
        )
        connection.execute(
            EventRow.__table__.update()
            .where(EventRow.stream_id == "C-MOVE2", EventRow.version == 1)
            .values(personal=stolen)
        )
    with pytest.raises(DecryptionError):
        store.read_stream("C-MOVE2")


def test_a_store_without_the_vault_refuses_to_write_personal_data(engine, store):
    with pytest.raises(ValueError, match="only sealed"):
        file_complaint(EventStore(engine), "C-NOVAULT")


def test_personal_data_sealed_at_intake_is_stored_as_it_comes(store, engine):
    """Intake seals the customer before the workflow starts (engine.service); the append keeps
    that envelope, even through a store without the vault, and the vault opens it as usual."""
    envelope = store.seal_personal("C-INTAKE", SECRET.model_dump(mode="json"))
    resubmitted = store.seal_personal("C-INTAKE", SECRET.model_dump(mode="json"))
    assert resubmitted["key"] == envelope["key"]  # the same customer: the same key

    file_complaint(EventStore(engine), "C-INTAKE", SealedPersonal(**envelope))
    file_complaint(store, "C-LATER", archive=True)  # the same customer, sealed by the store
    with engine.connect() as connection:
        stored = connection.scalar(
            EventRow.__table__.select()
            .with_only_columns(EventRow.personal)
            .where(EventRow.stream_id == "C-INTAKE", EventRow.version == 1)
        )
        keys = connection.execute(CustomerKeyRow.__table__.select()).all()
    assert stored == envelope and len(keys) == 1
    assert leaks(raw_rows(engine)) == []
    assert store.read_stream("C-INTAKE")[0].personal == SECRET.model_dump(mode="json")
    assert store.closure_record("C-LATER")["customer"] == SECRET.model_dump(mode="json")


def test_master_key_rotation_rewraps_the_customer_keys(store, engine):
    file_complaint(store, "C-ROT")
    old_id, old = KEYS.master.current_key()
    new = b"\x07" * 32
    both = parse_key_ring(
        f"{old_id}:{base64.b64encode(old).decode()},m2:{base64.b64encode(new).decode()}",
        "m2",
        "COMPLAINTS_MASTER_KEYS",
        "COMPLAINTS_MASTER_KEY_ID",
    )
    with engine.begin() as connection:
        assert PersonalVault(both, KEYS.identity).rewrap(connection) == 1
    only_new = parse_key_ring(
        f"m2:{base64.b64encode(new).decode()}", "", "COMPLAINTS_MASTER_KEYS", "x"
    )
    after = EventStore(engine, PersonalVault(only_new, KEYS.identity))
    assert after.read_stream("C-ROT")[0].personal == SECRET.model_dump(mode="json")
    # The old master key alone no longer opens anything.
    with pytest.raises(DecryptionError, match="'m2'"):
        EventStore(engine, VAULT).read_stream("C-ROT")
