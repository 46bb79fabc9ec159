"""The inbound mail kept: every message the receiver took, what became of it, the raw message.

The raw message is sealed with the current master key (security.keys), bound to its row's id, so
the database never holds it in clear and a sealed message cannot be moved to another row. It is
not under the customer's data key: a held message may have no customer (it is held because we
could not tell who sent it), so erasing a customer does not reach it; README says so.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from security.keys import KeyRing, seal, unseal
from store.db import for_reading, from_storage, to_storage
from store.tables import InboundMailRow


@dataclass(frozen=True)
class KeptMail:
    """What is listed of a kept message: nothing personal."""

    id: str
    message_id: str | None
    received_at: datetime
    outcome: str
    reason: str
    complaint_id: str | None


_LISTED = (
    InboundMailRow.id,
    InboundMailRow.message_id,
    InboundMailRow.received_at,
    InboundMailRow.outcome,
    InboundMailRow.reason,
    InboundMailRow.complaint_id,
)


class InboundMailStore:
    def __init__(self, engine: Engine, master: KeyRing) -> None:
        self._engine = engine
        self._reader = for_reading(engine)
        self._master = master

    def find(self, message_id: str) -> KeptMail | None:
        """The message kept under this Message-ID, if one was."""
        with self._reader.connect() as connection:
            row = connection.execute(
                select(*_LISTED).where(InboundMailRow.message_id == message_id)
            ).one_or_none()
        return _kept(row) if row else None

    def keep(
        self,
        raw: bytes,
        *,
        received_at: datetime,
        outcome: str,
        reason: str,
        message_id: str | None = None,
        complaint_id: str | None = None,
    ) -> KeptMail:
        """Store the message sealed; if its Message-ID is kept already (a redelivery racing the
        first), the row kept first."""
        row_id = str(uuid.uuid4())
        key_id, key = self._master.current_key()
        values = {
            "id": row_id,
            "message_id": message_id,
            "received_at": to_storage(received_at),
            "outcome": outcome,
            "reason": reason,
            "complaint_id": complaint_id,
            "raw_key_id": key_id,
            "raw_sealed": seal(key, raw, _aad(row_id)),
        }
        try:
            with self._engine.begin() as connection:
                connection.execute(insert(InboundMailRow).values(**values))
        except IntegrityError:
            earlier = self.find(message_id) if message_id else None
            if earlier is None:
                raise
            return earlier
        return KeptMail(row_id, message_id, received_at, outcome, reason, complaint_id)

    def held(self, outcomes: tuple[str, ...], limit: int = 100) -> list[KeptMail]:
        """The latest kept messages with these outcomes, newest first."""
        with self._reader.connect() as connection:
            rows = connection.execute(
                select(*_LISTED)
                .where(InboundMailRow.outcome.in_(outcomes))
                .order_by(InboundMailRow.received_at.desc(), InboundMailRow.id)
                .limit(limit)
            ).all()
        return [_kept(row) for row in rows]

    def raw(self, row_id: str) -> bytes:
        """The message as received (for staff handling a held one); DecryptionError if altered."""
        with self._reader.connect() as connection:
            row = connection.execute(
                select(InboundMailRow.raw_key_id, InboundMailRow.raw_sealed).where(
                    InboundMailRow.id == row_id
                )
            ).one()
        return unseal(self._master.key(row.raw_key_id), row.raw_sealed, _aad(row_id))


def _kept(row) -> KeptMail:
    return KeptMail(
        row.id,
        row.message_id,
        from_storage(row.received_at),
        row.outcome,
        row.reason,
        row.complaint_id,
    )


def _aad(row_id: str) -> bytes:
    return f"inbound-mail:{row_id}".encode()
