"""Claiming outbox messages for delivery, and recording what became of them.

A dispatcher claims due messages by giving them a lease (next_attempt_at = now + lease), sends
them outside any transaction, then records the outcome with a compare-and-set on that lease. On
PostgreSQL the claim reads with FOR UPDATE SKIP LOCKED, so two dispatchers claiming at once take
different rows; SQLite's BEGIN IMMEDIATE makes claims take turns. A dispatcher that dies while
sending leaves its lease to run out, and the message is tried again (the sender's stable
Message-ID / X-Complaints-Key lets a receiver drop the repeat).

Why a lease rather than holding the row lock while sending: the send can take seconds, and a
transaction open that long would hold SQLite's single write lock (stalling every complaint's
appends) and, on PostgreSQL, the store's write lock once the outcome is appended.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, or_, select, update

from domain.vocabulary import CUSTOMER
from store.db import for_reading, from_storage, take_write_lock, to_storage
from store.event_store import EventStore, _stream_version
from store.records import ConcurrencyConflict, NewEvent, OutboxMessage
from store.tables import OUTBOX_FAILED, OUTBOX_PENDING, OUTBOX_SENT, OutboxRow

APPEND_RETRIES = 5


@dataclass(frozen=True)
class ClaimedMessage:
    id: int
    key: str
    stream_id: str
    kind: str
    recipient: str  # a role
    payload: dict[str, Any]
    created_at: datetime
    attempts: int  # before this one
    lease_until: datetime  # the claim: an outcome is recorded only while this still stands


@dataclass(frozen=True)
class OutboxState:
    key: str
    status: str
    attempts: int
    last_error: str | None
    sent_at: datetime | None
    next_attempt_at: datetime | None


@dataclass(frozen=True)
class SettledCustomerMessage:
    """A message to the customer whose outcome is final and not yet reported to its complaint."""

    id: int
    key: str
    stream_id: str
    kind: str
    delivered: bool
    error: str | None


class LeaseLost(RuntimeError):
    """The message is no longer ours (the lease ran out and another dispatcher took it)."""


class Outbox:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._store = EventStore(engine)

    def claim(self, now: datetime, lease_until: datetime, limit: int) -> list[ClaimedMessage]:
        now, lease_until = to_storage(now), to_storage(lease_until)
        with self._engine.begin() as connection:
            rows = connection.execute(
                select(
                    OutboxRow.id,
                    OutboxRow.key,
                    OutboxRow.stream_id,
                    OutboxRow.kind,
                    OutboxRow.recipient,
                    OutboxRow.payload,
                    OutboxRow.created_at,
                    OutboxRow.attempts,
                )
                .where(
                    OutboxRow.status == OUTBOX_PENDING,
                    or_(OutboxRow.next_attempt_at.is_(None), OutboxRow.next_attempt_at <= now),
                )
                .order_by(OutboxRow.id)
                .limit(limit)
                .with_for_update(skip_locked=True)  # nothing on SQLite, which has no row locks
            ).all()
            if not rows:
                return []
            connection.execute(
                update(OutboxRow)
                .where(OutboxRow.id.in_([row.id for row in rows]))
                .values(next_attempt_at=lease_until)
            )
        return [
            ClaimedMessage(
                id=row.id,
                key=row.key,
                stream_id=row.stream_id,
                kind=row.kind,
                recipient=row.recipient,
                payload=row.payload,
                created_at=from_storage(row.created_at),
                attempts=row.attempts,
                lease_until=lease_until,
            )
            for row in rows
        ]

    def record(
        self,
        claimed: ClaimedMessage,
        *,
        status: str,
        error: str | None,
        now: datetime,
        next_attempt_at: datetime | None,
        log_stream: str,
        records: Sequence[NewEvent],
        follow_up: OutboxMessage | None = None,
    ) -> None:
        """In one transaction: the message's new status, the records appended to `log_stream`
        (retrying on a version clash), and a follow-up message. Raises LeaseLost if the claim
        no longer stands, and then changes nothing."""
        if status not in (OUTBOX_PENDING, OUTBOX_SENT, OUTBOX_FAILED):
            raise ValueError(f"status: unknown {status!r}")
        for attempt in range(APPEND_RETRIES):
            try:
                with self._engine.begin() as connection:
                    self._record_in(
                        connection, claimed, status, error, now, next_attempt_at, log_stream,
                        records, follow_up,
                    )  # fmt: skip
                return
            except ConcurrencyConflict:
                if attempt == APPEND_RETRIES - 1:
                    raise

    def _record_in(
        self,
        connection: Connection,
        claimed: ClaimedMessage,
        status: str,
        error: str | None,
        now: datetime,
        next_attempt_at: datetime | None,
        log_stream: str,
        records: Sequence[NewEvent],
        follow_up: OutboxMessage | None,
    ) -> None:
        # Taken before reading the log's version, so no other append can move it meanwhile.
        take_write_lock(connection)
        moved = connection.execute(
            update(OutboxRow)
            .where(
                OutboxRow.id == claimed.id,
                OutboxRow.status == OUTBOX_PENDING,
                OutboxRow.next_attempt_at == claimed.lease_until,
            )
            .values(
                status=status,
                attempts=OutboxRow.attempts + 1,
                last_error=error,
                sent_at=to_storage(now) if status == OUTBOX_SENT else None,
                next_attempt_at=(
                    to_storage(next_attempt_at) if next_attempt_at is not None else None
                ),
            )
        )
        if moved.rowcount != 1:
            raise LeaseLost(f"outbox message {claimed.key!r} is no longer claimed by us")
        if records:
            version = _stream_version(connection, log_stream)
            self._store.append_in(connection, log_stream, version, records)
        if follow_up is not None:
            exists = connection.scalar(select(OutboxRow.id).where(OutboxRow.key == follow_up.key))
            if exists is None:
                connection.execute(
                    insert(OutboxRow),
                    {
                        "key": follow_up.key,
                        "stream_id": follow_up.stream_id,
                        "kind": follow_up.kind,
                        "recipient": follow_up.recipient,
                        "payload": follow_up.payload,
                        "created_at": to_storage(follow_up.created_at),
                    },
                )

    def unreported(self, limit: int) -> list[SettledCustomerMessage]:
        """Messages to the customer, sent or failed for good, whose outcome their complaint has
        not been told yet (oldest first)."""
        with for_reading(self._engine).connect() as connection:
            rows = connection.execute(
                select(
                    OutboxRow.id,
                    OutboxRow.key,
                    OutboxRow.stream_id,
                    OutboxRow.kind,
                    OutboxRow.status,
                    OutboxRow.last_error,
                )
                .where(
                    OutboxRow.recipient == CUSTOMER,
                    OutboxRow.status.in_((OUTBOX_SENT, OUTBOX_FAILED)),
                    OutboxRow.reported_at.is_(None),
                )
                .order_by(OutboxRow.id)
                .limit(limit)
            ).all()
        return [
            SettledCustomerMessage(
                id=row.id,
                key=row.key,
                stream_id=row.stream_id,
                kind=row.kind,
                delivered=row.status == OUTBOX_SENT,
                error=row.last_error,
            )
            for row in rows
        ]

    def mark_reported(self, ids: Sequence[int], now: datetime) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                update(OutboxRow).where(OutboxRow.id.in_(ids)).values(reported_at=to_storage(now))
            )

    def state(self, stream_id: str) -> list[OutboxState]:
        """Every message of a complaint with its delivery state, in the order queued."""
        with for_reading(self._engine).connect() as connection:
            rows = connection.execute(
                select(
                    OutboxRow.key,
                    OutboxRow.status,
                    OutboxRow.attempts,
                    OutboxRow.last_error,
                    OutboxRow.sent_at,
                    OutboxRow.next_attempt_at,
                )
                .where(OutboxRow.stream_id == stream_id)
                .order_by(OutboxRow.id)
            ).all()
        return [
            OutboxState(
                key=row.key,
                status=row.status,
                attempts=row.attempts,
                last_error=row.last_error,
                sent_at=from_storage(row.sent_at) if row.sent_at else None,
                next_attempt_at=(
                    from_storage(row.next_attempt_at) if row.next_attempt_at else None
                ),
            )
            for row in rows
        ]
