"""Erasure (the right to be forgotten) by crypto-shredding: destroy a customer's data keys.

Nothing else is rewritten. The events keep their structure and every figure stays right; only
their personal part and the closure records' `customer` become unreadable (events.ERASED) for
every reader, in every copy of the database, backups included. The erasure itself is recorded
in the stream `erasures`, without personal data: which customer reference, which keys, which
complaints, who asked and when.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update

from store.db import take_write_lock, to_storage
from store.event_store import EventStore, _stream_version
from store.records import NewEvent
from store.tables import CustomerKeyRow, EventRow
from store.vault import PersonalVault, complaint_key_id, envelope_key, refers_to

ERASURES_STREAM = "erasures"
CUSTOMER_DATA_ERASED = "CustomerDataErased"


class CustomerNotFound(ValueError):
    pass


@dataclass(frozen=True)
class Erasure:
    customer_refs: list[str]
    keys: list[str]  # destroyed now
    complaints: list[str]  # whose personal data they sealed
    already_erased: bool  # the keys were gone already: nothing done, nothing recorded


def erase_customer(
    store: EventStore,
    vault: PersonalVault,
    *,
    email: str | None = None,
    phone: str | None = None,
    complaint_id: str | None = None,
    by: str,
    now: datetime | None = None,
) -> Erasure:
    """Destroy every data key of the customer with this e-mail and/or phone number, or of the
    customer who filed `complaint_id`. Raises CustomerNotFound if no key matches."""
    now = now or datetime.now(UTC)
    with store.engine.begin() as connection:
        take_write_lock(connection)  # no append seals with a key while it is being destroyed
        refs = [vault.customer_ref(email=email)] if email else []
        if phone:
            refs.append(vault.customer_ref(phone=phone))
        if complaint_id:
            refs += _refs_of_complaint(connection, complaint_id)
        if not refs:
            raise ValueError("erase-customer: give --email, --phone or --complaint")
        rows = connection.execute(
            select(CustomerKeyRow.key_id, CustomerKeyRow.wrapped_key).where(refers_to(*refs))
        ).all()
        if not rows:
            raise CustomerNotFound("erase-customer: no customer with that e-mail or phone")
        live = sorted(row.key_id for row in rows if row.wrapped_key is not None)
        every = {row.key_id for row in rows}
        complaints = sorted(
            {
                stream
                for stream, personal in connection.execute(
                    select(EventRow.stream_id, EventRow.personal).where(
                        EventRow.type == "ComplaintRegistered"
                    )
                )
                if envelope_key(personal) in every
            }
        )
        erasure = Erasure(sorted(set(refs)), live, complaints, already_erased=not live)
        if not live:
            return erasure
        connection.execute(
            update(CustomerKeyRow)
            .where(CustomerKeyRow.key_id.in_(live))
            .values(wrapped_key=None, master_key_id=None, erased_at=to_storage(now))
        )
        record = NewEvent(
            event_id=str(uuid.uuid4()),
            type=CUSTOMER_DATA_ERASED,
            data={
                "customer_refs": erasure.customer_refs,
                "keys": live,
                "complaints": complaints,
                "by": by,
            },
            personal=None,
            occurred_at=now,
        )
        version = _stream_version(connection, ERASURES_STREAM)
        store.append_in(connection, ERASURES_STREAM, version, [record])
    return erasure


def _refs_of_complaint(connection, complaint_id: str) -> list[str]:
    key_id = complaint_key_id(connection, complaint_id)
    if key_id is None:
        raise CustomerNotFound(
            f"erase-customer: complaint {complaint_id!r} has no sealed personal data"
        )
    row = connection.execute(
        select(CustomerKeyRow.customer_ref, CustomerKeyRow.phone_ref).where(
            CustomerKeyRow.key_id == key_id
        )
    ).one_or_none()
    if row is None:
        raise CustomerNotFound(f"erase-customer: the key of complaint {complaint_id!r} is gone")
    return [ref for ref in row if ref]
