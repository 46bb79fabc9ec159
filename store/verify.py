"""Walk the log and prove its hash chain (store.chain): every event, then every closure record.

Reads the stored rows only, never the personal part, so it needs no vault and works the same
before and after an erasure. It stops at the first broken link: one is enough to distrust the
rest of that stream, and the one found first is the one to investigate.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Row, and_, select

from store.chain import closure_hash, event_hash
from store.tables import ClosureRecordRow, EventRow

PROGRESS_EVERY = 10_000  # events between two progress reports
_BATCH = 2_000  # rows fetched at a time: the log may not fit in memory


@dataclass(frozen=True)
class BrokenLink:
    stream_id: str
    version: int | None  # None: the stream's closure record
    what: str

    def __str__(self) -> str:
        where = f"version {self.version}" if self.version is not None else "closure record"
        return f"stream {self.stream_id!r}, {where}: {self.what}"


@dataclass
class Proof:
    streams: int = 0
    events: int = 0  # hashed events whose link was checked
    unchained: int = 0  # events appended before the chain existed: not proved
    closure_records: int = 0
    unchained_closure_records: int = 0
    broken: BrokenLink | None = None


def verify(engine: Engine, progress: Callable[[Proof], None] = lambda proof: None) -> Proof:
    proof = Proof()
    with engine.connect() as connection:
        rows = connection.execution_options(stream_results=True, yield_per=_BATCH).execute(
            select(
                EventRow.stream_id,
                EventRow.version,
                EventRow.event_id,
                EventRow.type,
                EventRow.data,
                EventRow.occurred_at,
                EventRow.hash,
            ).order_by(EventRow.stream_id, EventRow.version)
        )
        proof.broken = _check_events(rows, proof, progress)
        if proof.broken is None:
            proof.broken = _check_closure_records(connection.execute(_CLOSURES), proof)
    return proof


def _check_events(
    rows: Iterator[Row[Any]], proof: Proof, progress: Callable[[Proof], None]
) -> BrokenLink | None:
    stream, version, previous = None, 0, None
    for row in rows:
        if row.stream_id != stream:
            stream, version, previous = row.stream_id, 0, None
            proof.streams += 1
        if row.version != version + 1:
            return BrokenLink(stream, row.version, f"follows version {version}: events are missing")
        version = row.version
        if row.hash is None:
            if previous is not None:
                return BrokenLink(stream, version, "no hash, yet the events before it have one")
            proof.unchained += 1
            continue
        expected = event_hash(
            previous,
            event_id=row.event_id,
            stream_id=row.stream_id,
            version=row.version,
            type_=row.type,
            data=row.data,
            occurred_at=row.occurred_at,
        )
        if row.hash != expected:
            return BrokenLink(
                stream,
                version,
                f"stored hash {row.hash[:12]}… but its content (id, type, time, data, or the "
                f"previous event) hashes to {expected[:12]}…",
            )
        previous = row.hash
        proof.events += 1
        if (proof.events + proof.unchained) % PROGRESS_EVERY == 0:
            progress(proof)
    return None


# Each record beside the event it says was its stream's last when archived.
_CLOSURES = (
    select(
        ClosureRecordRow.stream_id,
        ClosureRecordRow.archived_at,
        ClosureRecordRow.record,
        ClosureRecordRow.last_event_version,
        ClosureRecordRow.last_event_hash,
        ClosureRecordRow.hash,
        EventRow.hash.label("event_hash"),
    )
    .outerjoin(
        EventRow,
        and_(
            EventRow.stream_id == ClosureRecordRow.stream_id,
            EventRow.version == ClosureRecordRow.last_event_version,
        ),
    )
    .order_by(ClosureRecordRow.stream_id)
)


def _check_closure_records(rows: Iterator[Row[Any]], proof: Proof) -> BrokenLink | None:
    for row in rows:
        if row.hash is None:
            proof.unchained_closure_records += 1
            continue
        if row.event_hash != row.last_event_hash:
            return BrokenLink(
                row.stream_id,
                None,
                f"names event {row.last_event_version} with hash {str(row.last_event_hash)[:12]}…"
                f" but that event's hash is {str(row.event_hash)[:12]}…",
            )
        expected = closure_hash(
            row.last_event_hash,
            stream_id=row.stream_id,
            last_event_version=row.last_event_version,
            archived_at=row.archived_at,
            record=row.record,
        )
        if row.hash != expected:
            return BrokenLink(
                row.stream_id,
                None,
                f"stored hash {row.hash[:12]}… but the record (without the customer) hashes to "
                f"{expected[:12]}…",
            )
        proof.closure_records += 1
    return None
