"""The hash chain that makes the log tamper-evident.

Each event's hash is sha256 over the hash of the event before it in its stream and a canonical
form of the event: id, stream, version, type, time and `data`. The personal part is left out on
purpose: erasure destroys the customer's key (store.erasure) and re-sealing rewrites the envelope
(store.vault), neither of which is tampering, so a chain over the personal part would break on
every lawful erasure. `data` never holds personal data, so what the chain proves is everything
the figures and the audit trail rest on.

A closure record's hash chains to the hash of its stream's last event when it was archived, over
the record without its `customer` part (for the same reason).

Events appended before the chain existed have no hash. A stream's chain starts at its first
hashed event, whose predecessor counts as the empty hash: those older events are not proved,
and `complaints verify` counts them apart instead of calling them broken.
"""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.events import PERSONAL_FIELD
from store.db import from_storage, to_storage
from store.records import NewEvent

GENESIS = ""  # the "previous hash" of a stream's first hashed event


def event_hash(
    previous: str | None,
    *,
    event_id: str,
    stream_id: str,
    version: int,
    type_: str,
    data: dict[str, Any],
    occurred_at: datetime,
) -> str:
    return _chained(
        previous,
        {
            "event_id": event_id,
            "stream_id": stream_id,
            "version": version,
            "type": type_,
            "occurred_at": _instant(occurred_at),
            "data": data,
        },
    )


def chain_hashes(
    previous: str | None, stream_id: str, expected_version: int, events: Sequence[NewEvent]
) -> list[str]:
    """The hashes of `events` appended after the event whose hash is `previous`."""
    hashes: list[str] = []
    for version, event in enumerate(events, start=expected_version + 1):
        previous = event_hash(
            previous,
            event_id=event.event_id,
            stream_id=stream_id,
            version=version,
            type_=event.type,
            data=event.data,
            occurred_at=event.occurred_at,
        )
        hashes.append(previous)
    return hashes


def closure_hash(
    last_event_hash: str | None,
    *,
    stream_id: str,
    last_event_version: int,
    archived_at: datetime,
    record: dict[str, Any],
) -> str:
    return _chained(
        last_event_hash,
        {
            "stream_id": stream_id,
            "last_event_version": last_event_version,
            "archived_at": _instant(archived_at),
            "record": {k: v for k, v in record.items() if k != PERSONAL_FIELD},
        },
    )


@dataclass(frozen=True)
class SealedClosure:
    """A closure record as stored: the record, when, and its place in the chain."""

    stream_id: str
    record: dict[str, Any]
    archived_at: datetime
    # None for records archived before the chain existed.
    last_event_version: int | None
    last_event_hash: str | None
    hash: str | None


def sealed_closure(
    stream_id: str,
    record: dict[str, Any],
    archived_at: datetime,
    last_event_version: int,
    last_event_hash: str,
) -> SealedClosure:
    archived_at = to_storage(archived_at)
    return SealedClosure(
        stream_id,
        record,
        archived_at,
        last_event_version,
        last_event_hash,
        closure_hash(
            last_event_hash,
            stream_id=stream_id,
            last_event_version=last_event_version,
            archived_at=archived_at,
            record=record,
        ),
    )


def _chained(previous: str | None, fields: dict[str, Any]) -> str:
    # Sorted keys and no spaces: the same values give the same bytes whichever backend stored
    # them (JSON read back from SQLite or PostgreSQL is the same dict).
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256()
    digest.update((previous or GENESIS).encode())
    digest.update(b"\n")
    digest.update(canonical.encode())
    return digest.hexdigest()


def _instant(moment: datetime) -> str:
    # Stored as UTC to the microsecond on both backends (SQLite hands it back naive).
    return from_storage(moment).isoformat()
