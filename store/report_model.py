"""The report read models: one row per complaint with the moments the metrics measure
(report_complaints), and every deadline of every round (deadline_ledger).

ReportProjection folds a complaint's row as a plain dict rather than the domain's whole
ComplaintState, which it would have to store (a rebuild goes over millions of events, most of
which change nothing the report keeps). Its deadlines, though, are the domain's: the ledger
holds each complaint's `DeadlineState`s, and the deadline events are applied to them by the
domain's own rules (`domain.state.deadlines_after`), so those rules live in one place.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, select, tuple_

from domain.contracts import contract_of
from domain.events import CLOSED_LOOP_BREACHES, DEADLINE_ANSWERED_BY, join_personal
from domain.state import DEADLINE_EVENT_TYPES, DeadlineState, deadlines_after
from domain.vocabulary import DEADLINE_ORDER, DEFAULT_CONTRACT, DeadlineKind, kinds_met_by
from store.db import bulk_insert, for_reading, from_storage, to_storage
from store.projections import Writes, complaint_events_by_stream, no_writes
from store.records import RecordedEvent
from store.tables import DeadlineLedgerRow, ReportComplaintRow

PROJECTION_NAME = "reports"

# The report row's column for the first moment each kind was answered by an action (a
# resolution also answers the first response, also for a tier that asks for none).
_MOMENT_COLUMN = {
    DeadlineKind.FIRST_RESPONSE: "first_response_at",
    DeadlineKind.INITIAL_SOLUTION: "initial_solution_at",
    DeadlineKind.RESOLUTION: "resolved_at",
}
_MOMENTS = (
    "received_at",
    "registered_at",
    "first_response_at",
    "initial_solution_at",
    "resolved_at",
)
_LEDGER_MOMENTS = ("due_at", "warned_at", "met_at", "breached_at")


class ReportProjectionError(RuntimeError):
    """The log holds something the report cannot be built from; the batch is rolled back."""


class ReportProjection:
    name = PROJECTION_NAME

    def reset(self, connection: Connection) -> None:
        connection.execute(delete(DeadlineLedgerRow))
        connection.execute(delete(ReportComplaintRow))

    def prepare(self, connection: Connection, events: list[RecordedEvent]) -> Writes:
        by_stream = complaint_events_by_stream(events)
        if not by_stream:
            return no_writes
        ids = list(by_stream)
        rows = _load_rows(connection, ids)
        ledgers = _load_ledgers(connection, ids)
        stored_deadlines = _flat(ledgers)
        for stream_id, records in by_stream.items():
            row = rows.get(stream_id)
            for record in records:
                version = row["version"] if row else 0
                if record.version <= version:
                    continue  # already folded in
                if record.version != version + 1:
                    raise ReportProjectionError(
                        f"stream {stream_id!r}: event version {record.version} follows {version}"
                    )
                if row is None:
                    if record.type != "ComplaintRegistered":
                        raise ReportProjectionError(
                            f"stream {stream_id!r} does not begin with a registration"
                        )
                    row = rows[stream_id] = _registered(stream_id, record.data)
                elif record.type in DEADLINE_EVENT_TYPES:
                    # Schedules and stamps carry no personal data: nothing to join.
                    event = join_personal(record.data, None)
                    ledgers[stream_id] = deadlines_after(ledgers.get(stream_id, []), event)
                else:
                    _fold(row, record.type, record.data)
                row["version"] = record.version
            if row is not None:
                _copy_ledger_counts(row, ledgers.get(stream_id, []))
        deadlines = _flat(ledgers)
        return lambda connection: _rewrite(connection, ids, rows, stored_deadlines, deadlines)


def _rewrite(
    connection: Connection, ids: list[str], rows: dict, stored: dict, deadlines: dict
) -> None:
    """Write the batch's outcome with bulk statements, far cheaper than an UPDATE per row: the
    touched complaints' rows are replaced whole; of the ledger only the deadlines that changed
    (most events change none of a complaint's deadlines)."""
    connection.execute(delete(ReportComplaintRow).where(ReportComplaintRow.complaint_id.in_(ids)))
    bulk_insert(connection, ReportComplaintRow.__table__, list(rows.values()))
    changed = [key for key, deadline in deadlines.items() if stored.get(key) != deadline]
    stale = [key for key in changed if key in stored] + [k for k in stored if k not in deadlines]
    columns = tuple_(
        DeadlineLedgerRow.complaint_id, DeadlineLedgerRow.round, DeadlineLedgerRow.kind
    )
    for start in range(0, len(stale), 1000):  # three parameters a key; SQLite allows 32,766
        connection.execute(
            delete(DeadlineLedgerRow).where(columns.in_(stale[start : start + 1000]))
        )
    if changed:
        bulk_insert(
            connection,
            DeadlineLedgerRow.__table__,
            [
                {"complaint_id": cid, "round": r, "kind": k, **deadlines[cid, r, k]}
                for cid, r, k in changed
            ],
        )


def _flat(ledgers: dict[str, list[DeadlineState]]) -> dict[tuple, dict]:
    """{(complaint id, round, kind): the deadline's ledger columns}."""
    return {
        (cid, d.round, d.kind.value): {m: getattr(d, m) for m in _LEDGER_MOMENTS}
        for cid, ledger in ledgers.items()
        for d in ledger
    }


def _registered(stream_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "complaint_id": stream_id,
        "contract": contract_of(data.get("contract")),
        "version": 0,
        "channel": data["channel"],
        "tier": 0,
        "category": "",
        "team": "",
        "received_at": _moment(data["received_at"]),
        "registered_at": _moment(data["at"]),
        "first_response_at": None,
        "initial_solution_at": None,
        "resolved_at": None,
        "escalated": False,
        "reopen_count": 0,
        "rating": None,
        "deadlines_met": 0,
        "deadlines_breached": 0,
        "closed_loop_breaches": 0,
        "resolved_in_time": None,
    }


def _fold(row: dict[str, Any], event_type: str, data: dict[str, Any]) -> None:
    match event_type:
        case "ComplaintClassified" | "ComplaintReclassified":
            row["tier"], row["category"] = data["tier"], data["category"]
        case "ComplaintAssigned" | "ComplaintReassigned":
            row["team"] = data["team"]
        case "ComplaintEscalated":
            row["escalated"] = True
        case "ComplaintReopened":
            row["reopen_count"] += 1
        case "FeedbackRecorded":
            row["rating"] = data["rating"]  # the latest rating stands, also across a reopen
        case _ if event_type in CLOSED_LOOP_BREACHES:
            row["closed_loop_breaches"] += 1
        case _ if event_type in DEADLINE_ANSWERED_BY:
            for kind in kinds_met_by(DEADLINE_ANSWERED_BY[event_type]):
                column = _MOMENT_COLUMN.get(kind)
                if column and row[column] is None:
                    row[column] = _moment(data["at"])


def _copy_ledger_counts(row: dict[str, Any], ledger: list[DeadlineState]) -> None:
    row["deadlines_met"] = sum(1 for d in ledger if d.met_at and not d.breached_at)
    row["deadlines_breached"] = sum(1 for d in ledger if d.breached_at)
    resolution = next(
        (d for d in ledger if d.round == 1 and d.kind == DeadlineKind.RESOLUTION), None
    )
    if resolution is None:  # a tier with no resolution deadline: resolved at all is in time
        row["resolved_in_time"] = True if row["resolved_at"] else None
    elif resolution.breached_at:
        row["resolved_in_time"] = False
    else:
        row["resolved_in_time"] = True if resolution.met_at else None


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _loaded(values: dict[str, Any], moments: tuple[str, ...]) -> dict[str, Any]:
    return values | {m: from_storage(values[m]) for m in moments if values[m] is not None}


def _load_rows(connection: Connection, ids: list[str]) -> dict[str, dict[str, Any]]:
    query = select(ReportComplaintRow.__table__).where(ReportComplaintRow.complaint_id.in_(ids))
    return {
        row.complaint_id: _loaded(dict(row._mapping), _MOMENTS) for row in connection.execute(query)
    }


def _load_ledgers(connection: Connection, ids: list[str]) -> dict[str, list[DeadlineState]]:
    """Each complaint's deadlines as the domain holds them (the ledger keeps no warn_at: the
    rules never read it; nor do they depend on the deadlines' order)."""
    query = select(DeadlineLedgerRow.__table__).where(DeadlineLedgerRow.complaint_id.in_(ids))
    ledgers: dict[str, list[DeadlineState]] = {}
    for row in connection.execute(query):
        values = _loaded(dict(row._mapping), _LEDGER_MOMENTS)
        ledgers.setdefault(values.pop("complaint_id"), []).append(DeadlineState(**values))
    return ledgers


# ---------------------------------------------------------------------------------------------
# Reading


@dataclass(frozen=True)
class ComplaintFacts:
    """One complaint as the reports see it (a report_complaints row, and first_response_in_time
    from its deadlines)."""

    complaint_id: str
    channel: str
    tier: int
    category: str
    team: str
    received_at: datetime
    registered_at: datetime
    first_response_at: datetime | None
    initial_solution_at: datetime | None
    resolved_at: datetime | None
    escalated: bool
    reopen_count: int
    rating: int | None
    deadlines_met: int
    deadlines_breached: int
    resolved_in_time: bool | None
    contract: str = DEFAULT_CONTRACT
    # The first round's first answer to the customer in time (True), late (False), or not
    # settled yet (None): see FIRST_ANSWER_KINDS.
    first_response_in_time: bool | None = None
    closed_loop_breaches: int = 0  # as ReportComplaintRow's


@dataclass(frozen=True)
class LedgerEntry:
    complaint_id: str
    round: int
    kind: str
    due_at: datetime
    warned_at: datetime | None
    met_at: datetime | None
    breached_at: datetime | None
    contract: str = DEFAULT_CONTRACT


# The deadline that measures a first response: the first round's earliest of these kinds. Every
# action from a first response on answers the customer, so a tier without a first-response
# deadline (the default tier 1: "a standard answer within 30 minutes") answers by its resolution.
FIRST_ANSWER_KINDS = tuple(
    k.value for k in DEADLINE_ORDER[DEADLINE_ORDER.index(DeadlineKind.FIRST_RESPONSE) :]
)

_ROW_FIELDS = [n for n in ComplaintFacts.__dataclass_fields__ if n != "first_response_in_time"]
_FACT_COLUMNS = tuple(getattr(ReportComplaintRow, n) for n in _ROW_FIELDS)


class ReportFacts:
    """Reads the report read models. Connects only when asked for something. `contracts`
    limits a read to those contracts' complaints (None: every contract's)."""

    def __init__(self, engine: Engine) -> None:
        self._reader = for_reading(engine)

    def received_between(
        self, start: datetime, end: datetime, contracts: Collection[str] | None = None
    ) -> list[ComplaintFacts]:
        """The complaints received in [start, end)."""
        received = ReportComplaintRow.received_at
        chosen = select(ReportComplaintRow.complaint_id).where(
            received >= to_storage(start), received < to_storage(end)
        )
        if contracts is not None:
            chosen = chosen.where(ReportComplaintRow.contract.in_(sorted(contracts)))
        rows = (
            select(*_FACT_COLUMNS)
            .where(ReportComplaintRow.complaint_id.in_(chosen))
            .order_by(received, ReportComplaintRow.complaint_id)
        )
        with self._reader.connect() as connection:
            answers = _first_answers(connection, chosen)
            return [
                ComplaintFacts(
                    **_loaded(dict(r._mapping), _MOMENTS),
                    first_response_in_time=answers.get(r.complaint_id),
                )
                for r in connection.execute(rows)
            ]

    def ledger_due_between(
        self, start: datetime, end: datetime, contracts: Collection[str] | None = None
    ) -> list[LedgerEntry]:
        """Every deadline that fell (or falls) due in [start, end), by due time."""
        due = DeadlineLedgerRow.due_at
        query = (
            select(DeadlineLedgerRow.__table__, ReportComplaintRow.contract)
            .join(
                ReportComplaintRow,
                ReportComplaintRow.complaint_id == DeadlineLedgerRow.complaint_id,
            )
            .where(due >= to_storage(start), due < to_storage(end))
            .order_by(due, DeadlineLedgerRow.complaint_id, DeadlineLedgerRow.kind)
        )
        if contracts is not None:
            query = query.where(ReportComplaintRow.contract.in_(sorted(contracts)))
        with self._reader.connect() as connection:
            return [
                LedgerEntry(**_loaded(dict(r._mapping), _LEDGER_MOMENTS))
                for r in connection.execute(query)
            ]


def _first_answers(connection: Connection, chosen) -> dict[str, bool | None]:
    """Per complaint among `chosen`: was its first answer's deadline (FIRST_ANSWER_KINDS) met in
    time? Settled as the ledger counts deadlines (_copy_ledger_counts): breached is late, even
    when met afterwards; neither met nor breached is not settled yet."""
    query = select(
        DeadlineLedgerRow.complaint_id,
        DeadlineLedgerRow.kind,
        DeadlineLedgerRow.met_at,
        DeadlineLedgerRow.breached_at,
    ).where(
        DeadlineLedgerRow.complaint_id.in_(chosen),
        DeadlineLedgerRow.round == 1,
        DeadlineLedgerRow.kind.in_(FIRST_ANSWER_KINDS),
    )
    earliest: dict[str, tuple[int, bool | None]] = {}
    for r in connection.execute(query):
        rank = FIRST_ANSWER_KINDS.index(r.kind)
        if r.complaint_id not in earliest or rank < earliest[r.complaint_id][0]:
            outcome = False if r.breached_at else True if r.met_at else None
            earliest[r.complaint_id] = (rank, outcome)
    return {cid: outcome for cid, (_, outcome) in earliest.items()}
