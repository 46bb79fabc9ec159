"""An append on PostgreSQL in one statement: one round trip, which also commits it.

Each round trip to the server costs more than everything the server does for an append, and the
write lock is held for all those between taking it and the commit. The careful path
(EventStore.append_in) takes the lock, looks for an earlier attempt, inserts and commits: four
round trips, three of them under the lock. Here one statement, run in autocommit, takes the lock,
inserts the events, the outbox messages and the closure record, and commits; the lock is never
held across the network.

It answers only the common case: the stream is where the caller expects and the events are new.
Everything else writes nothing and is left to the careful path, which tells a repeat from a
conflict:
- the stream is behind `expected_version`: the guard (the event at `expected_version` exists)
  fails and no row is inserted;
- the stream is ahead, or the events (or some of them) are stored already: the unique
  (stream_id, version) or event_id constraint fails the whole statement. Stream versions have no
  gaps, so a stream ahead of `expected_version` holds `expected_version + 1`. The constraints do
  not depend on the statement's snapshot (taken before it waits for the lock), so a commit just
  before the lock is never missed; the guard does depend on it, and a guard failing for that
  reason only sends the append down the careful path.

The lock is taken before the first position is handed out: the inserted rows come out of a join
with the lock's row, and the position's default (nextval) is evaluated on those rows.
"""

import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from store.chain import SealedClosure
from store.db import WRITE_LOCK_KEY, to_storage
from store.records import NewEvent, OutboxMessage

_APPEND = """
    WITH locked AS (SELECT pg_advisory_xact_lock(:lock_key)),
    new_events AS (
        INSERT INTO events
            (event_id, stream_id, version, type, data, personal, occurred_at, recorded_at,
             hash)
        SELECT e.event_id, :stream_id, :expected_version + e.n, e.type,
               CAST(e.data AS json), CAST(e.personal AS json), e.occurred_at, :recorded_at,
               e.hash
        FROM locked,
             unnest(CAST(:event_ids AS varchar[]), CAST(:types AS varchar[]),
                    CAST(:data AS text[]), CAST(:personal AS text[]),
                    CAST(:occurred_at AS timestamptz[]), CAST(:hashes AS varchar[]))
                 WITH ORDINALITY AS e(event_id, type, data, personal, occurred_at, hash, n)
        -- The hashes were chained to :previous_hash, read before the lock: the event they
        -- follow must still be the stream's head, with that hash.
        WHERE :expected_version = 0 OR EXISTS (
            SELECT 1 FROM events WHERE stream_id = :stream_id AND version = :expected_version
                AND hash IS NOT DISTINCT FROM :previous_hash
        )
        ORDER BY e.n
        RETURNING 1
    ),
    new_outbox AS (
        -- A key names one notification, so a message already in the outbox is not queued twice.
        INSERT INTO outbox
            (key, stream_id, kind, recipient, payload, created_at, next_attempt_at)
        SELECT o.key, o.stream_id, o.kind, o.recipient, CAST(o.payload AS json), o.created_at,
               o.not_before
        FROM unnest(CAST(:outbox_keys AS varchar[]), CAST(:outbox_streams AS varchar[]),
                    CAST(:outbox_kinds AS varchar[]), CAST(:outbox_recipients AS varchar[]),
                    CAST(:outbox_payloads AS text[]), CAST(:outbox_created_at AS timestamptz[]),
                    CAST(:outbox_not_before AS timestamptz[]))
                 WITH ORDINALITY
                 AS o(key, stream_id, kind, recipient, payload, created_at, not_before, n)
        WHERE EXISTS (SELECT 1 FROM new_events)
        ORDER BY o.n
        ON CONFLICT (key) DO NOTHING
    ),
    new_closure_record AS (
        -- The record is an audit trail: the first one written for a stream stands.
        INSERT INTO closure_records
            (stream_id, archived_at, record, last_event_version, last_event_hash, hash)
        SELECT :stream_id, :archived_at, CAST(:closure_record AS json), :closure_last_version,
               :closure_last_hash, :closure_hash
        WHERE :closure_record IS NOT NULL AND EXISTS (SELECT 1 FROM new_events)
        ON CONFLICT (stream_id) DO NOTHING
    )
    SELECT count(*) FROM new_events
    """

# The statement is prepared once per connection (parsing and planning it took a third of its
# time), so its parameters need declared types; each :name becomes $n, n its place here.
_PARAMETER_TYPES = {
    "lock_key": "bigint",
    "stream_id": "varchar",
    "expected_version": "integer",
    "recorded_at": "timestamptz",
    "event_ids": "varchar[]",
    "types": "varchar[]",
    "data": "text[]",
    "personal": "text[]",
    "occurred_at": "timestamptz[]",
    "hashes": "varchar[]",
    "previous_hash": "varchar",
    "outbox_keys": "varchar[]",
    "outbox_streams": "varchar[]",
    "outbox_kinds": "varchar[]",
    "outbox_recipients": "varchar[]",
    "outbox_payloads": "text[]",
    "outbox_created_at": "timestamptz[]",
    "outbox_not_before": "timestamptz[]",
    "closure_record": "text",
    "archived_at": "timestamptz",
    "closure_last_version": "integer",
    "closure_last_hash": "varchar",
    "closure_hash": "varchar",
}
PREPARED_NAME = "store_one_statement_append"
_NAMES = list(_PARAMETER_TYPES)
_PREPARE = f"PREPARE {PREPARED_NAME} ({', '.join(_PARAMETER_TYPES.values())}) AS " + re.sub(
    r":(\w+)", lambda name: f"${_NAMES.index(name[1]) + 1}", _APPEND
)
_EXECUTE = text(f"EXECUTE {PREPARED_NAME} ({', '.join(':' + name for name in _NAMES)})")


def append_in_one_statement(
    connection: Connection,
    stream_id: str,
    expected_version: int,
    previous_hash: str | None,
    events: Sequence[tuple[NewEvent, str]],
    outbox: Sequence[OutboxMessage],
    closure: SealedClosure | None,
    recorded_at: datetime,
) -> bool:
    """Whether the events were written (with the rest). `events` come with their hashes,
    chained to `previous_hash`, the hash of the stream's event at `expected_version`.
    `connection` must be in autocommit, so that the statement is its own transaction; personal
    data must be stored as it comes (None, withheld or sealed already). Raises IntegrityError
    when a constraint refuses the append."""
    info = connection.connection.info  # lives as long as the database connection
    if PREPARED_NAME not in info:
        connection.exec_driver_sql(_PREPARE)
        info[PREPARED_NAME] = True
    written = connection.scalar(
        _EXECUTE,
        {
            "lock_key": WRITE_LOCK_KEY,
            "stream_id": stream_id,
            "expected_version": expected_version,
            "recorded_at": recorded_at,
            "event_ids": [event.event_id for event, _ in events],
            "types": [event.type for event, _ in events],
            "data": [json.dumps(event.data) for event, _ in events],
            "personal": [_json_or_null(event.personal) for event, _ in events],
            "occurred_at": [to_storage(event.occurred_at) for event, _ in events],
            "hashes": [hash_ for _, hash_ in events],
            "previous_hash": previous_hash,
            "outbox_keys": [message.key for message in outbox],
            "outbox_streams": [message.stream_id for message in outbox],
            "outbox_kinds": [message.kind for message in outbox],
            "outbox_recipients": [message.recipient for message in outbox],
            "outbox_payloads": [json.dumps(message.payload) for message in outbox],
            "outbox_created_at": [to_storage(message.created_at) for message in outbox],
            "outbox_not_before": [_storage_or_null(message.not_before) for message in outbox],
            "closure_record": _json_or_null(closure and closure.record),
            "archived_at": closure and closure.archived_at,
            "closure_last_version": closure and closure.last_event_version,
            "closure_last_hash": closure and closure.last_event_hash,
            "closure_hash": closure and closure.hash,
        },
    )
    return written == len(events)


def _json_or_null(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _storage_or_null(moment: datetime | None) -> datetime | None:
    return None if moment is None else to_storage(moment)
