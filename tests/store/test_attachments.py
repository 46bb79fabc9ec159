# ruff: noqa: F811  (pytest fixtures imported from other suites are used as arguments)
"""Attachments on SQLite and PostgreSQL: stored once per complaint and content, sealed with the
customer's data key (no clear name or content in any row), unreadable once they are erased; and
the customer claim customer links are bound to (EventStore.customer_key)."""

import hashlib

from store.attachments import Attachments, NoCustomerKey
from store.erasure import erase_customer
from store.tables import AttachmentRow
from tests.keys import VAULT
from tests.security.conftest import SECRET, file_complaint, raw_rows
from tests.store.conftest import engine, store  # noqa: F401  (fixtures)
from tests.unit.helpers import CUSTOMER

PHOTO = b"\xff\xd8\xff\xe0" + b"a photo of the burnt charger " * 40
NAME = "burnt-charger-of-zhang.jpg"


def test_an_attachment_round_trips_and_is_stored_once(store, engine):
    file_complaint(store, "C-AT1")
    attachments = Attachments(engine, VAULT)

    first, new = attachments.put("C-AT1", NAME, "image/jpeg", PHOTO, "page")
    again, new_again = attachments.put("C-AT1", "other-name.jpg", "image/jpeg", PHOTO, "email")

    assert (new, new_again) == (True, False)
    assert first.sha256 == again.sha256 == hashlib.sha256(PHOTO).hexdigest()
    assert again.filename == NAME  # the first upload's: the same content is the same file
    (listed,) = attachments.list("C-AT1")
    assert (listed.filename, listed.content_type, listed.size, listed.source) == (
        NAME, "image/jpeg", len(PHOTO), "page",
    )  # fmt: skip
    got = attachments.get("C-AT1", first.sha256)
    assert got is not None and got.content == PHOTO and got.info.filename == NAME
    assert attachments.get("C-OTHER", first.sha256) is None  # named per complaint


def test_the_same_content_on_two_complaints_is_two_attachments(store, engine):
    file_complaint(store, "C-AT2")
    file_complaint(store, "C-AT3", CUSTOMER)
    attachments = Attachments(engine, VAULT)
    attachments.put("C-AT2", NAME, "image/jpeg", PHOTO, "page")
    attachments.put("C-AT3", "mine.jpg", "image/jpeg", PHOTO, "page")
    assert [a.filename for a in attachments.list("C-AT3")] == ["mine.jpg"]


def test_nothing_is_in_clear_at_rest(store, engine):
    file_complaint(store, "C-AT4")
    Attachments(engine, VAULT).put("C-AT4", NAME, "image/jpeg", PHOTO, "page")
    rows = raw_rows(engine)
    assert "attachments" in rows
    for clear in (NAME, "zhang", "burnt charger"):
        assert clear not in rows
    with engine.connect() as connection:
        row = connection.execute(AttachmentRow.__table__.select()).one()
    assert PHOTO not in row.sealed_content and NAME.encode() not in row.sealed_name


def test_erasing_the_customer_makes_their_attachments_unreadable(store, engine):
    file_complaint(store, "C-AT5")
    attachments = Attachments(engine, VAULT)
    stored, _ = attachments.put("C-AT5", NAME, "image/jpeg", PHOTO, "page")
    assert store.customer_key("C-AT5") is not None

    erase_customer(store, VAULT, email=SECRET.email, by="dpo.wu")

    assert attachments.get("C-AT5", stored.sha256) is None
    (listed,) = attachments.list("C-AT5")
    assert listed.filename is None and listed.size == len(PHOTO)  # the figures stay
    assert store.customer_key("C-AT5") is None  # so their links open nothing either
    try:
        attachments.put("C-AT5", "later.png", "image/png", b"\x89PNG\r\n\x1a\nlater", "page")
    except NoCustomerKey:
        pass
    else:
        raise AssertionError("an erased customer's complaint took a new attachment")


def test_an_unknown_complaint_has_no_key(store, engine):
    assert store.customer_key("C-NOSUCHTHING") is None
    try:
        Attachments(engine, VAULT).put("C-NOSUCHTHING", NAME, "image/jpeg", PHOTO, "page")
    except NoCustomerKey:
        return
    raise AssertionError("an attachment was stored for no complaint")
