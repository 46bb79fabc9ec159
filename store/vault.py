"""Envelope encryption of the customers' personal data at rest.

Each customer has a data key (AES-256, table customer_keys) that encrypts the personal part of
their events and the `customer` part of their closure records; the data key itself is stored
only wrapped by a master key from the settings. So the database's rows hold ciphertext, and
destroying one customer's data key (store.erasure) makes all of that customer's personal data
unreadable everywhere at once, in every backup too, without rewriting a single event.

Who is one customer: a keyed HMAC (the identity key) of their normalised e-mail address, else of
their phone number, else of the complaint id (nothing else to recognise them by); a key made for
an e-mail address also carries the phone's reference, so either finds it. The address itself is
never stored, and without the identity key a reference cannot be tested against a list of
addresses.

The stored form (the `personal` column): {"key": <key id>, "sealed": <base64 nonce+ciphertext>}.
The ciphertext is bound to its key id and stream, so it cannot be moved to another complaint.
Reading gives the personal data, or events.ERASED once the key is gone; a store without a vault
(the read models) gets events.SEALED, never the ciphertext. Intake seals a submission's customer
into this form before its workflow starts (EventStore.seal_personal), so Temporal's history holds
it only sealed too, and destroying the key reaches that copy as well.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update

from domain.events import ERASED, SEALED
from security.keys import KEY_BYTES, KeyMaterial, KeyRing, seal, unseal
from store.tables import CustomerKeyRow, EventRow

ERASED_PERSONAL: dict[str, Any] = ERASED.model_dump()
SEALED_PERSONAL: dict[str, Any] = SEALED.model_dump()


def is_envelope(stored: Any) -> bool:
    return isinstance(stored, dict) and set(stored) == {"key", "sealed"}


def is_withheld(value: Any) -> bool:
    return value in (ERASED_PERSONAL, SEALED_PERSONAL)


def envelope_key(stored: Any) -> str | None:
    return stored["key"] if is_envelope(stored) else None


class PersonalVault:
    def __init__(self, master: KeyRing, identity_key: bytes) -> None:
        self._master = master
        self._identity = identity_key

    @classmethod
    def of(cls, keys: KeyMaterial) -> PersonalVault:
        return cls(keys.master, keys.identity)

    def customer_ref(
        self, *, email: str | None = None, phone: str | None = None, complaint_id: str = ""
    ) -> str:
        """The customer's reference: from the e-mail (trimmed, case-folded) if there is one,
        else the phone number (its digits and a leading +), else the complaint."""
        if email and email.strip():
            subject = "email:" + email.strip().casefold()
        elif _names_someone(phone):
            subject = "phone:" + re.sub(r"[^0-9+]", "", phone)
        elif complaint_id:
            subject = "complaint:" + complaint_id
        else:
            raise ValueError("a customer is found by e-mail, phone or complaint id: none given")
        return hmac.new(self._identity, subject.encode(), hashlib.sha256).hexdigest()

    def fingerprint(self, purpose: str, data: bytes) -> str:
        """A keyed HMAC of `data` (the identity key's, under its own `purpose:` prefix, apart from
        the customer references'): what may carry personal data can be compared without being
        stored, nor tested against guesses by whoever reads the database."""
        return hmac.new(self._identity, purpose.encode() + b":" + data, hashlib.sha256).hexdigest()

    def seal(self, connection: Connection, stream_id: str, personal: dict[str, Any]) -> dict:
        """The stored form of `personal`, under the customer's live key (made if need be).
        Call inside the writer's transaction, after the store's write lock: one key per
        customer then, even when two of their complaints arrive at once."""
        if is_withheld(personal):
            return personal  # nothing left to protect
        email, phone = personal.get("email"), personal.get("phone")
        ref = self.customer_ref(email=email, phone=phone, complaint_id=stream_id)
        phone_ref = self.customer_ref(phone=phone) if email and _names_someone(phone) else None
        key_id, key = self._live_key(connection, ref, phone_ref)
        plain = json.dumps(personal, separators=(",", ":"), sort_keys=True).encode()
        blob = seal(key, plain, _aad(key_id, stream_id))
        return {"key": key_id, "sealed": base64.b64encode(blob).decode()}

    def open(self, connection: Connection, stream_id: str, stored: Any) -> Any:
        """The personal data `stored` holds; ERASED_PERSONAL if its key has been destroyed.
        Anything not sealed (no personal part, a withheld marker) comes back as it is."""
        if not is_envelope(stored):
            return stored
        key = self.data_key(connection, stored["key"])
        if key is None:
            return dict(ERASED_PERSONAL)
        plain = unseal(key, base64.b64decode(stored["sealed"]), _aad(stored["key"], stream_id))
        return json.loads(plain)

    def data_key(self, connection: Connection, key_id: str) -> bytes | None:
        """A customer's data key, None once erased. Whatever else is sealed for the customer
        (their attachments: store.attachments) uses it too, so erasure reaches that as well."""
        row = connection.execute(
            select(CustomerKeyRow.wrapped_key, CustomerKeyRow.master_key_id).where(
                CustomerKeyRow.key_id == key_id
            )
        ).one_or_none()
        if row is None or row.wrapped_key is None:
            return None
        return self._unwrap(key_id, row.wrapped_key, row.master_key_id)

    def rewrap(self, connection: Connection) -> int:
        """Wrap every live data key with the current master key (after a master key rotation);
        returns how many changed. The data they encrypt is untouched."""
        current_id, current = self._master.current_key()
        rows = connection.execute(
            select(CustomerKeyRow.key_id, CustomerKeyRow.wrapped_key, CustomerKeyRow.master_key_id)
            .where(CustomerKeyRow.wrapped_key.is_not(None))
            .where(CustomerKeyRow.master_key_id != current_id)
        ).all()
        for row in rows:
            key = self._unwrap(row.key_id, row.wrapped_key, row.master_key_id)
            connection.execute(
                update(CustomerKeyRow)
                .where(CustomerKeyRow.key_id == row.key_id)
                .values(wrapped_key=self._wrap(row.key_id, key, current), master_key_id=current_id)
            )
        return len(rows)

    def seal_clear_rows(self, connection: Connection) -> int:
        """Seal personal data written in clear before encryption existed (schema before 0005);
        returns how many events changed. Repeating it finds nothing more to do."""
        rows = connection.execute(
            select(EventRow.position, EventRow.stream_id, EventRow.personal).where(
                EventRow.personal.is_not(None)
            )
        ).all()
        clear = [r for r in rows if not is_envelope(r.personal) and not is_withheld(r.personal)]
        for row in clear:
            connection.execute(
                update(EventRow)
                .where(EventRow.position == row.position)
                .values(personal=self.seal(connection, row.stream_id, row.personal))
            )
        return len(clear)

    def _live_key(
        self, connection: Connection, ref: str, phone_ref: str | None
    ) -> tuple[str, bytes]:
        row = connection.execute(
            select(CustomerKeyRow.key_id, CustomerKeyRow.wrapped_key, CustomerKeyRow.master_key_id)
            .where(refers_to(ref), CustomerKeyRow.wrapped_key.is_not(None))
            .order_by(CustomerKeyRow.created_at.desc())
            .limit(1)
        ).one_or_none()
        if row is not None:
            return row.key_id, self._unwrap(row.key_id, row.wrapped_key, row.master_key_id)
        # A customer seen for the first time, or again after an erasure: a new key.
        key_id, key = str(uuid.uuid4()), secrets.token_bytes(KEY_BYTES)
        master_id, master = self._master.current_key()
        connection.execute(
            insert(CustomerKeyRow).values(
                key_id=key_id,
                customer_ref=ref,
                phone_ref=phone_ref,
                wrapped_key=self._wrap(key_id, key, master),
                master_key_id=master_id,
                created_at=datetime.now(UTC),
            )
        )
        return key_id, key

    @staticmethod
    def _wrap(key_id: str, key: bytes, master: bytes) -> str:
        return base64.b64encode(seal(master, key, b"customer-key:" + key_id.encode())).decode()

    def _unwrap(self, key_id: str, wrapped: str, master_key_id: str | None) -> bytes:
        master = self._master.key(master_key_id or "")
        return unseal(master, base64.b64decode(wrapped), b"customer-key:" + key_id.encode())


def complaint_key_id(connection: Connection, stream_id: str) -> str | None:
    """The id of the data key sealing the complaint's personal part, None for an unknown
    complaint (or one registered before sealing). Erased or not: ask data_key for that."""
    return envelope_key(
        connection.scalar(
            select(EventRow.personal).where(
                EventRow.stream_id == stream_id, EventRow.type == "ComplaintRegistered"
            )
        )
    )


def live_complaint_key_id(connection: Connection, stream_id: str) -> str | None:
    """complaint_key_id while the customer's key is still there; None once they are erased."""
    key_id = complaint_key_id(connection, stream_id)
    if key_id is None:
        return None
    wrapped = connection.scalar(
        select(CustomerKeyRow.wrapped_key).where(CustomerKeyRow.key_id == key_id)
    )
    return key_id if wrapped is not None else None


def _names_someone(phone: str | None) -> bool:
    # The domain's rule for phones is loose on purpose: "-" or "()" pass it but name no one.
    return bool(phone and re.sub(r"[^0-9]", "", phone))


def refers_to(*refs: str):
    """The condition: a key row of the customer with any of these references."""
    return or_(CustomerKeyRow.customer_ref.in_(refs), CustomerKeyRow.phone_ref.in_(refs))


def _aad(key_id: str, stream_id: str) -> bytes:
    return f"personal:{key_id}:{stream_id}".encode()
