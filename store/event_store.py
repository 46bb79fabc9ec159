"""The append-only event log, with outbox messages and closure records written alongside events.

The customer's personal data (events' `personal` part, closure records' `customer`) is sealed
by the store's PersonalVault on the way in and opened on the way out (see store.vault); a store
without a vault cannot write personal data in clear and reads it as events.SEALED. Personal data
sealed already (at intake, see seal_personal) is stored as it comes.
"""

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, Select, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError

from domain.events import PERSONAL_FIELD
from store import intake_keys
from store.chain import SealedClosure, chain_hashes, sealed_closure
from store.db import autocommit_engine, for_reading, from_storage, take_write_lock, to_storage
from store.one_statement_append import append_in_one_statement
from store.records import AppendResult, ConcurrencyConflict, NewEvent, OutboxMessage, RecordedEvent
from store.tables import OUTBOX_PENDING, ClosureRecordRow, EventRow, OutboxRow
from store.vault import (
    SEALED_PERSONAL,
    PersonalVault,
    is_envelope,
    is_withheld,
    live_complaint_key_id,
)

# INSERT ... ON CONFLICT DO NOTHING, in each backend's dialect (the statement is not in core SQL).
_INSERT_OR_SKIP = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}

_HEADS_KEPT = 10_000

_OUTBOX_MESSAGE_COLUMNS = (
    OutboxRow.key,
    OutboxRow.stream_id,
    OutboxRow.kind,
    OutboxRow.recipient,
    OutboxRow.payload,
    OutboxRow.created_at,
    OutboxRow.next_attempt_at.label("not_before"),
)


class EventStore:
    def __init__(self, engine: Engine, vault: PersonalVault | None = None) -> None:
        self._engine = engine
        self._reader = for_reading(engine)
        self._one_statement = engine.dialect.name == "postgresql"
        if self._one_statement:
            self._autocommit = autocommit_engine(engine)
        self._vault = vault
        # stream id -> (version, hash) of the last event this store appended to it in one
        # statement; saves that append a round trip to find the hash its events chain to.
        self._heads: OrderedDict[str, tuple[int, str]] = OrderedDict()
        self._heads_lock = threading.Lock()

    @property
    def engine(self) -> Engine:
        """For read models kept beside the log (they share its database)."""
        return self._engine

    def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        *,
        outbox: Sequence[OutboxMessage] = (),
        closure_record: dict[str, Any] | None = None,
        archived_at: datetime | None = None,
    ) -> AppendResult:
        """Append `events` as versions expected_version+1.. in one transaction, together with the
        outbox messages and the closure record (kept only if the stream has none yet).

        Repeating an append that has already committed (same event ids) writes nothing and returns
        written=0. Raises ConcurrencyConflict if the stream is not at `expected_version` or holds
        only some of the events.
        """
        done = self._append_in_one_statement(
            stream_id, expected_version, events, outbox, closure_record, archived_at
        )
        if done is not None:
            return done
        try:
            with self._engine.begin() as connection:
                return self.append_in(
                    connection,
                    stream_id,
                    expected_version,
                    events,
                    outbox=outbox,
                    closure_record=closure_record,
                    archived_at=archived_at,
                )
        except IntegrityError:
            # The unique constraints have the last word. The write lock keeps appends from
            # overlapping, but should two ever race past the checks anyway, the loser gets the
            # answer it would have got had it come second.
            with self._reader.connect() as connection:
                earlier = _earlier_outcome(
                    connection, stream_id, expected_version, [event.event_id for event in events]
                )
            if earlier is None:
                raise
            return earlier

    def append_in(
        self,
        connection: Connection,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        *,
        outbox: Sequence[OutboxMessage] = (),
        closure_record: dict[str, Any] | None = None,
        archived_at: datetime | None = None,
    ) -> AppendResult:
        """append() within the caller's transaction, which the caller commits. A clash on a unique
        constraint is raised as IntegrityError and leaves that transaction unusable."""
        _check_batch(events)
        event_ids = [event.event_id for event in events]

        # Positions come from a sequence when a row is inserted, but PostgreSQL transactions
        # commit in any order. A reader polling "position > checkpoint" could see position 11
        # commit, move its checkpoint past 10, and miss 10 for ever when it commits a moment
        # later. So every append holds one lock from before its insert until its commit: positions
        # are handed out and become visible in the same order. (SQLite's BEGIN IMMEDIATE has
        # already serialised writers.) The lock also makes the checks below race-free, given
        # READ COMMITTED, PostgreSQL's default: each statement sees all commits before it.
        take_write_lock(connection)
        earlier = _earlier_outcome(connection, stream_id, expected_version, event_ids)
        if earlier is not None:
            return earlier

        recorded_at = datetime.now(UTC)
        hashes = chain_hashes(
            _head_hash(connection, stream_id, expected_version), stream_id, expected_version, events
        )
        connection.execute(
            insert(EventRow),
            [
                {
                    "event_id": event.event_id,
                    "stream_id": stream_id,
                    "version": version,
                    "type": event.type,
                    "data": event.data,
                    "personal": self._seal(connection, stream_id, event.personal),
                    "occurred_at": to_storage(event.occurred_at),
                    "recorded_at": recorded_at,
                    "hash": hash_,
                }
                for (version, event), hash_ in zip(
                    enumerate(events, start=expected_version + 1), hashes, strict=True
                )
            ],
        )
        _add_new_outbox_messages(connection, outbox)
        if closure_record is not None:
            if PERSONAL_FIELD in closure_record:
                customer = self._seal(connection, stream_id, closure_record[PERSONAL_FIELD])
                closure_record = {**closure_record, PERSONAL_FIELD: customer}
            _add_closure_record_once(
                connection,
                sealed_closure(
                    stream_id,
                    closure_record,
                    archived_at or recorded_at,
                    expected_version + len(events),
                    hashes[-1],
                ),
            )
        return AppendResult(version=expected_version + len(events), written=len(events))

    def _append_in_one_statement(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        outbox: Sequence[OutboxMessage],
        closure_record: dict[str, Any] | None,
        archived_at: datetime | None,
    ) -> AppendResult | None:
        """append()'s common case in one round trip (see store.one_statement_append); None when
        it wrote nothing, for the careful path to say why. Only on PostgreSQL, and only with
        nothing to seal: sealing may make a customer's key, under the careful path's lock."""
        personal = [event.personal for event in events]
        if closure_record is not None:
            personal.append(closure_record.get(PERSONAL_FIELD))
        if not self._one_statement or not all(
            part is None or is_withheld(part) or is_envelope(part) for part in personal
        ):
            return None
        _check_batch(events)
        recorded_at = datetime.now(UTC)
        last_version = expected_version + len(events)
        try:
            with self._autocommit.connect() as connection:
                previous = self._head_hash(connection, stream_id, expected_version)
                hashes = chain_hashes(previous, stream_id, expected_version, events)
                closure = None
                if closure_record is not None:
                    closure = sealed_closure(
                        stream_id,
                        closure_record,
                        archived_at or recorded_at,
                        last_version,
                        hashes[-1],
                    )
                written = append_in_one_statement(
                    connection,
                    stream_id,
                    expected_version,
                    previous,
                    list(zip(events, hashes, strict=True)),
                    outbox,
                    closure,
                    recorded_at,
                )
        except IntegrityError:
            return None  # a clash on a unique constraint wrote nothing
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
            # A stale connection (see store.db.autocommit_engine): whether or not the statement
            # committed, the careful path finds out.
            return None
        if not written:
            return None
        self._remember_head(stream_id, last_version, hashes[-1])
        return AppendResult(last_version, len(events))

    def _head_hash(self, connection: Connection, stream_id: str, version: int) -> str | None:
        """The hash the next event chains to, from what this store last appended to the stream
        if that is still its head, else read. A stale guess costs nothing worse than the careful
        path: the statement's guard checks it against the stored event (an event's hash never
        changes once written, so reading it outside the write lock is safe)."""
        with self._heads_lock:
            known = self._heads.get(stream_id)
        if known is not None and known[0] == version:
            return known[1]
        return _head_hash(connection, stream_id, version)

    def _remember_head(self, stream_id: str, version: int, hash_: str) -> None:
        # Bounded: a worker appends to many streams over its life, mostly to the recent ones.
        with self._heads_lock:
            self._heads[stream_id] = (version, hash_)
            self._heads.move_to_end(stream_id)
            if len(self._heads) > _HEADS_KEPT:
                self._heads.popitem(last=False)

    def read_stream(self, stream_id: str, from_version: int = 1) -> list[RecordedEvent]:
        return self._read_events(
            select(*_EVENT_COLUMNS)
            .where(EventRow.stream_id == stream_id, EventRow.version >= from_version)
            .order_by(EventRow.version)
        )

    def read_all(self, after_position: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        return self._read_events(
            select(*_EVENT_COLUMNS)
            .where(EventRow.position > after_position)
            .order_by(EventRow.position)
            .limit(limit)
        )

    def read_streams(self, stream_ids: Sequence[str]) -> dict[str, list[RecordedEvent]]:
        """Several whole streams, each in version order (a few queries, not one per stream)."""
        out: dict[str, list[RecordedEvent]] = {stream_id: [] for stream_id in stream_ids}
        for start in range(0, len(stream_ids), 500):  # keeps each IN (...) list short
            chunk = stream_ids[start : start + 500]
            query = (
                select(*_EVENT_COLUMNS)
                .where(EventRow.stream_id.in_(chunk))
                .order_by(EventRow.stream_id, EventRow.version)
            )
            for record in self._read_events(query):
                out[record.stream_id].append(record)
        return out

    def last_position(self) -> int:
        """The highest position in the global log (0 when empty)."""
        with self._reader.connect() as connection:
            return connection.scalar(select(func.max(EventRow.position))) or 0

    def stream_version(self, stream_id: str) -> int:
        with self._reader.connect() as connection:
            return _stream_version(connection, stream_id)

    def closure_record(self, stream_id: str) -> dict[str, Any] | None:
        closure = self.closure(stream_id)
        return None if closure is None else closure.record

    def closure(self, stream_id: str) -> SealedClosure | None:
        """The stream's closure record with its place in the hash chain (None before it is
        archived); the customer opened, as for events."""
        with self._reader.connect() as connection:
            row = connection.execute(
                select(
                    ClosureRecordRow.stream_id,
                    ClosureRecordRow.record,
                    ClosureRecordRow.archived_at,
                    ClosureRecordRow.last_event_version,
                    ClosureRecordRow.last_event_hash,
                    ClosureRecordRow.hash,
                ).where(ClosureRecordRow.stream_id == stream_id)
            ).one_or_none()
            if row is None:
                return None
            record = row.record
            if PERSONAL_FIELD in record:
                customer = self._open(connection, stream_id, record[PERSONAL_FIELD])
                record = {**record, PERSONAL_FIELD: customer}
        return SealedClosure(
            **{**row._mapping, "record": record, "archived_at": from_storage(row.archived_at)}
        )

    def pending_outbox(self, limit: int = 100) -> list[OutboxMessage]:
        return self._read_outbox(
            select(*_OUTBOX_MESSAGE_COLUMNS)
            .where(OutboxRow.status == OUTBOX_PENDING)
            .order_by(OutboxRow.id)
            .limit(limit)
        )

    def outbox_for(self, stream_id: str) -> list[OutboxMessage]:
        return self._read_outbox(
            select(*_OUTBOX_MESSAGE_COLUMNS)
            .where(OutboxRow.stream_id == stream_id)
            .order_by(OutboxRow.id)
        )

    def _read_events(self, query: Select[Any]) -> list[RecordedEvent]:
        with self._reader.connect() as connection:
            rows = connection.execute(query).all()  # fetchall: a rebuild reads millions

            def personal_of(stream_id: str, stored: Any) -> Any:
                return None if stored is None else self._open(connection, stream_id, stored)

            return [_recorded_event(row, personal_of) for row in rows]

    def seal_personal(self, stream_id: str, personal: dict[str, Any]) -> dict[str, Any]:
        """The stored form of `personal` for `stream_id`, under the customer's key (made if need
        be), in a short transaction of its own: intake seals the customer this way before the
        workflow starts, so Temporal's history holds only the envelope. Sealing again for the
        same customer and stream (a resubmission) uses the same key."""
        with self._engine.begin() as connection:
            take_write_lock(connection)  # one key per customer, as for an append
            return self._seal(connection, stream_id, personal)

    def claim_intake_key(
        self, scope: str, key: str, body: dict[str, Any], complaint_id: str
    ) -> intake_keys.IntakeClaim:
        """Claim `key` in `scope` for `complaint_id`, or find the complaint it made before (see
        store.intake_keys). The key and the body are kept only as the vault's keyed digests."""
        if self._vault is None:
            raise ValueError("intake keys are kept only as keyed digests: this store has no vault")
        canonical = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
        return intake_keys.claim(
            self._engine,
            scope,
            self._vault.fingerprint("intake-key", key.encode()),
            self._vault.fingerprint("intake-body", canonical),
            complaint_id,
        )

    def customer_key(self, stream_id: str) -> str | None:
        """The complaint's customer, as the id of their live data key; None for an unknown
        complaint or an erased customer. It is what a customer link is bound to
        (security.customer_links)."""
        with self._reader.connect() as connection:
            return live_complaint_key_id(connection, stream_id)

    @property
    def vault(self) -> PersonalVault | None:
        return self._vault

    def _seal(self, connection: Connection, stream_id: str, personal: Any) -> Any:
        if personal is None or is_withheld(personal) or is_envelope(personal):
            return personal  # nothing to protect, or sealed already (at intake)
        if self._vault is None:
            raise ValueError("personal data is written only sealed: this EventStore has no vault")
        return self._vault.seal(connection, stream_id, personal)

    def _open(self, connection: Connection, stream_id: str, stored: Any) -> Any:
        if self._vault is None:
            return dict(SEALED_PERSONAL) if is_envelope(stored) else stored
        return self._vault.open(connection, stream_id, stored)

    def _read_outbox(self, query: Select[Any]) -> list[OutboxMessage]:
        with self._reader.connect() as connection:
            return [
                OutboxMessage(
                    **{
                        **row._mapping,
                        "created_at": from_storage(row.created_at),
                        "not_before": from_storage(row.not_before) if row.not_before else None,
                    }
                )
                for row in connection.execute(query)
            ]


def _check_batch(events: Sequence[NewEvent]) -> None:
    if not events:
        raise ValueError("an append needs at least one event")
    if len({event.event_id for event in events}) != len(events):
        raise ValueError("the events of one append must have distinct ids")


def _earlier_outcome(
    connection: Connection, stream_id: str, expected_version: int, event_ids: list[str]
) -> AppendResult | None:
    """The result of an earlier attempt at this append if it committed; ConcurrencyConflict
    if the stream has moved on; None if the events may be written now."""
    # One statement, so both numbers come from the same snapshot.
    version, stored = connection.execute(
        select(
            func.coalesce(func.max(EventRow.version), 0),
            func.count().filter(EventRow.event_id.in_(event_ids)),
        ).where(EventRow.stream_id == stream_id)
    ).one()
    if stored == len(event_ids):
        return AppendResult(version=version, written=0)
    if stored:
        detail = f"{stored} of the {len(event_ids)} events to append are already stored"
        raise ConcurrencyConflict(stream_id, expected_version, version, detail)
    if version != expected_version:
        raise ConcurrencyConflict(stream_id, expected_version, version)
    return None


def _stream_version(connection: Connection, stream_id: str) -> int:
    version = connection.scalar(
        select(func.max(EventRow.version)).where(EventRow.stream_id == stream_id)
    )
    return version or 0


def _add_new_outbox_messages(connection: Connection, messages: Sequence[OutboxMessage]) -> None:
    if not messages:
        return
    # A key names one notification, so a message already in the outbox is not queued twice: the
    # key's unique index decides, in the insert itself (as in the one-statement append), not a
    # read of the keys before it.
    connection.execute(
        _INSERT_OR_SKIP[connection.dialect.name](OutboxRow).on_conflict_do_nothing(
            index_elements=[OutboxRow.key]
        ),
        [
            {
                "key": message.key,
                "stream_id": message.stream_id,
                "kind": message.kind,
                "recipient": message.recipient,
                "payload": message.payload,
                "created_at": to_storage(message.created_at),
                # A held message (quiet hours) is not due before then; the dispatcher claims
                # only rows whose next_attempt_at has come.
                "next_attempt_at": to_storage(message.not_before) if message.not_before else None,
            }
            for message in messages
        ],
    )


def _head_hash(connection: Connection, stream_id: str, version: int) -> str | None:
    """The hash of the stream's event at `version`: None at the start of a stream, or if that
    event was appended before the chain existed (then the chain starts after it)."""
    if version == 0:
        return None
    return connection.scalar(
        select(EventRow.hash).where(EventRow.stream_id == stream_id, EventRow.version == version)
    )


def _add_closure_record_once(connection: Connection, closure: SealedClosure) -> None:
    # The record is an audit trail: the first one written for a stream stands.
    already_archived = connection.scalar(
        select(ClosureRecordRow.stream_id).where(ClosureRecordRow.stream_id == closure.stream_id)
    )
    if already_archived is None:
        connection.execute(insert(ClosureRecordRow), asdict(closure))


# The columns of an event, in the order _recorded_event unpacks them.
_EVENT_COLUMNS = (
    EventRow.position,
    EventRow.stream_id,
    EventRow.version,
    EventRow.event_id,
    EventRow.type,
    EventRow.data,
    EventRow.personal,
    EventRow.occurred_at,
    EventRow.recorded_at,
)


def _recorded_event(row: Row[Any], personal_of: Callable[[str, Any], Any]) -> RecordedEvent:
    # Unpacked as a tuple, the cheapest way to read a row: this runs once per event of every
    # projection rebuild.
    position, stream_id, version, event_id, type_, data, stored, occurred_at, recorded_at = row
    return RecordedEvent(
        position,
        stream_id,
        version,
        event_id,
        type_,
        data,
        personal_of(stream_id, stored),
        from_storage(occurred_at),
        from_storage(recorded_at),
    )
