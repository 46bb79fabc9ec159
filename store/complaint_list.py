"""The complaint list: one row per complaint, for listing, filtering and counting.

Written by ComplaintListProjection (run by a ProjectionRunner), read by ComplaintList. Each row
holds the complaint's ComplaintState, folded with the domain's own `evolve`, plus the columns a
list needs. Never any personal data: the state has none, and the subject comes from
ComplaintRegistered's data, not its personal part.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    delete,
    func,
    or_,
    select,
)

from domain.contracts import contract_of
from domain.events import ComplaintRegistered, join_personal
from domain.state import ComplaintState, fold
from domain.vocabulary import DEADLINE_ORDER, DEFAULT_CONTRACT, Status
from store.db import bulk_insert, for_reading, from_storage, to_storage
from store.projections import Writes, complaint_events_by_stream, no_writes
from store.records import RecordedEvent
from store.tables import ComplaintListRow

PROJECTION_NAME = "complaint_list"
MAX_LIMIT = 200
TIERS = (1, 2, 3)
_NOT_OPEN = (Status.CLOSED.value, Status.ARCHIVED.value)


class ProjectionError(RuntimeError):
    """The log holds something the list cannot be built from; the batch is rolled back."""


class ComplaintListProjection:
    name = PROJECTION_NAME

    def reset(self, connection: Connection) -> None:
        connection.execute(delete(ComplaintListRow))

    def prepare(self, connection: Connection, events: list[RecordedEvent]) -> Writes:
        by_stream = complaint_events_by_stream(events)
        if not by_stream:
            return no_writes
        stored = {
            row.complaint_id: row
            for row in connection.execute(
                select(
                    ComplaintListRow.complaint_id, ComplaintListRow.state, ComplaintListRow.subject
                ).where(ComplaintListRow.complaint_id.in_(list(by_stream)))
            )
        }
        rows: list[dict[str, Any]] = []
        for stream_id, records in by_stream.items():
            row = stored.get(stream_id)
            state = ComplaintState.model_validate(row.state) if row else ComplaintState()
            subject = row.subject if row else ""
            # Events already folded in are skipped: applying an event twice is impossible.
            fresh = [r for r in records if r.version > state.version]
            if not fresh:
                continue
            for expected, record in enumerate(fresh, start=state.version + 1):
                if record.version != expected:
                    raise ProjectionError(
                        f"stream {stream_id!r}: event version {record.version} follows"
                        f" version {expected - 1}"
                    )
            events = [join_personal(r.data, r.personal) for r in fresh]
            state = fold(events, state)
            subject = next(
                (e.subject for e in events if isinstance(e, ComplaintRegistered)), subject
            )
            if state.status is None:
                raise ProjectionError(f"stream {stream_id!r} does not begin with a registration")
            rows.append(
                {"complaint_id": stream_id, **_columns(state, subject, fresh[-1].occurred_at)}
            )
        # The batch's complaints are written whole, the stored rows of those that changed
        # deleted first: two bulk statements per batch rather than one per complaint (the round
        # trips were most of a rebuild), and COPY on PostgreSQL (see bulk_insert).
        replaced = [r["complaint_id"] for r in rows if r["complaint_id"] in stored]

        def write(connection: Connection) -> None:
            if replaced:
                connection.execute(
                    delete(ComplaintListRow).where(ComplaintListRow.complaint_id.in_(replaced))
                )
            bulk_insert(connection, ComplaintListRow.__table__, rows)

        return write


def _columns(state: ComplaintState, subject: str, updated_at: datetime) -> dict[str, Any]:
    due = None
    if state.status == Status.OPEN:
        pending = [d for d in state.current_deadlines() if d.pending]
        if pending:
            due = min(pending, key=lambda d: (d.due_at, DEADLINE_ORDER.index(d.kind)))
    assert state.status is not None and state.channel is not None
    assert state.received_at is not None
    return {
        "contract": contract_of(state.contract),
        "status": state.status.value,
        "tier": state.tier,
        "category": state.category or "",
        "team": state.team,
        "assignee": state.assignee,
        "channel": state.channel.value,
        "subject": subject,
        "breached": state.breached,
        "escalation_level": state.escalation_level,
        "next_due_at": to_storage(due.due_at) if due else None,
        "next_due_kind": due.kind.value if due else None,
        "received_at": to_storage(state.received_at),
        "updated_at": to_storage(updated_at),
        "state": state.model_dump(mode="json"),
    }


@dataclass(frozen=True)
class ListedComplaint:
    complaint_id: str
    status: str
    tier: int
    category: str
    team: str
    assignee: str
    channel: str
    subject: str
    breached: bool
    escalation_level: int
    next_due_at: datetime | None
    next_due_kind: str | None
    received_at: datetime
    updated_at: datetime
    contract: str = DEFAULT_CONTRACT
    # Since when the customer's own message waits for an answer (the state's unanswered_since).
    customer_waiting_since: datetime | None = None


@dataclass(frozen=True)
class ListPage:
    items: list[ListedComplaint]
    next_cursor: str | None


@dataclass(frozen=True)
class PinnedTerms:
    complaint_id: str
    contract: str
    status: str
    policy_version: str | None  # None: registered before contracts pinned a version


# Read from the row's state, not a column of its own: set on few rows, shown, never filtered on.
_WAITING = "customer_waiting_since"
_LISTED_COLUMNS = (
    *(getattr(ComplaintListRow, name) for name in ListedComplaint.__dataclass_fields__
      if name != _WAITING),
    ComplaintListRow.state["unanswered_since"].as_string().label(_WAITING),
)  # fmt: skip


class ComplaintList:
    """Reads the complaint list. Connects only when asked for something."""

    def __init__(self, engine: Engine) -> None:
        self._reader = for_reading(engine)

    def page(
        self,
        *,
        status: str | None = None,
        tier: int | None = None,
        breached: bool | None = None,
        team: str | None = None,
        assignee: str | None = None,
        not_assignee: str | None = None,  # everyone's but this person's
        open_only: bool = False,  # leave out closed and archived ones
        contracts: Collection[str] | None = None,  # None: every contract
        limit: int = 50,
        cursor: str | None = None,
    ) -> ListPage:
        """Complaints by next due deadline (none last), then id. Pass a page's next_cursor to
        get the one after it; next_cursor is None on the last page."""
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit: must be between 1 and {MAX_LIMIT}, got {limit}")
        due, row = ComplaintListRow.next_due_at, ComplaintListRow
        query = select(*_LISTED_COLUMNS).order_by(due.asc().nulls_last(), row.complaint_id)
        if status is not None:
            query = query.where(row.status == status)
        if tier is not None:
            query = query.where(row.tier == tier)
        if breached is not None:
            query = query.where(row.breached == breached)
        if team is not None:
            query = query.where(row.team == team)
        if assignee is not None:
            query = query.where(row.assignee == assignee)
        if not_assignee is not None:
            query = query.where(row.assignee != not_assignee)
        if open_only:
            query = query.where(row.status.not_in(_NOT_OPEN))
        if contracts is not None:
            query = query.where(row.contract.in_(list(contracts)))
        if cursor is not None:
            after_due, after_id = _decode_cursor(cursor)
            if after_due is None:
                query = query.where(due.is_(None), row.complaint_id > after_id)
            else:
                query = query.where(
                    or_(
                        due > after_due,
                        and_(due == after_due, row.complaint_id > after_id),
                        due.is_(None),
                    )
                )
        with self._reader.connect() as connection:
            rows = connection.execute(query.limit(limit + 1)).all()
        items = [_listed(r._mapping) for r in rows[:limit]]
        more = len(rows) > limit
        return ListPage(items, _encode_cursor(items[-1]) if more else None)

    def not_closed(self, contract: str | None = None) -> list[PinnedTerms]:
        """Every complaint not closed yet (open, waiting on the customer, resolved), by id, with
        the version of the terms it is on: what an amendment can reach. None: every contract."""
        row = ComplaintListRow
        version = row.state["policy_version"].as_string()
        query = (
            select(row.complaint_id, row.contract, row.status, version)
            .where(row.status.not_in(_NOT_OPEN))
            .order_by(row.complaint_id)
        )
        if contract is not None:
            query = query.where(row.contract == contract)
        with self._reader.connect() as connection:
            return [PinnedTerms(*r) for r in connection.execute(query)]

    def counts_by_tier(
        self, *, open_only: bool = True, contracts: Collection[str] | None = None
    ) -> dict[int, int]:
        """How many complaints per tier: {1: n, 2: n, 3: n}, zeros included. open_only leaves
        out closed and archived ones. (A complaint not yet classified is in no tier.)"""
        query = (
            select(ComplaintListRow.tier, func.count())
            .where(ComplaintListRow.tier != 0)
            .group_by(ComplaintListRow.tier)
        )
        if open_only:
            query = query.where(ComplaintListRow.status.not_in(_NOT_OPEN))
        if contracts is not None:
            query = query.where(ComplaintListRow.contract.in_(list(contracts)))
        with self._reader.connect() as connection:
            counted = {tier: n for tier, n in connection.execute(query)}
        return {tier: 0 for tier in TIERS} | dict(sorted(counted.items()))


def _listed(values: Any) -> ListedComplaint:
    fields = dict(values)
    for name in ("next_due_at", "received_at", "updated_at"):
        if fields[name] is not None:
            fields[name] = from_storage(fields[name])
    if fields[_WAITING] is not None:
        fields[_WAITING] = datetime.fromisoformat(fields[_WAITING]).astimezone(UTC)
    return ListedComplaint(**fields)


def _encode_cursor(last: ListedComplaint) -> str:
    due = last.next_due_at.isoformat() if last.next_due_at else None
    raw = json.dumps({"due": due, "id": last.complaint_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


_CURSOR_ID = re.compile(r"[\x21-\x7e]{1,100}")  # a complaint id: printable ASCII


def _decode_cursor(cursor: str) -> tuple[datetime | None, str]:
    # A cursor comes back from the client: anything that is not exactly what _encode_cursor
    # wrote is a 422, never a 500 (a date at the edge of the calendar overflows when moved to
    # UTC; a NUL in the id is refused by PostgreSQL; nesting can exhaust the decoder's stack).
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = json.loads(raw)
        if not isinstance(decoded, dict) or decoded.keys() != {"due", "id"}:
            raise TypeError
        due, complaint_id = decoded["due"], decoded["id"]
        if not isinstance(complaint_id, str) or not _CURSOR_ID.fullmatch(complaint_id):
            raise TypeError
        if not (due is None or isinstance(due, str)):
            raise TypeError
        moment = None if due is None else datetime.fromisoformat(due)
        if moment is not None and moment.tzinfo is None:
            raise TypeError
        return (to_storage(moment) if moment else None), complaint_id
    except (
        binascii.Error,
        UnicodeDecodeError,
        ValueError,
        TypeError,
        KeyError,
        OverflowError,
        RecursionError,
    ) as error:
        raise ValueError("cursor: malformed; pass a next_cursor from an earlier page") from error
