"""What the operators' gauges read from the database when Prometheus scrapes (engine.metrics).

States, not events: how many complaints are open, how many notifications wait and for how long,
how far each read model trails the event log. Every process that serves metrics reads the same
rows, so several processes report the same values (dashboards take the max, not the sum).

Each query is cheap on purpose, as it runs on every scrape: the open complaints are counted on
the list's status index, pending notifications on the outbox's status index, and the projection
lag is counted over at most LAG_CAP events past the checkpoint (an index range on the log's
primary key) rather than over the whole log.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, and_, case, func, not_, select

from domain.vocabulary import Status
from store.db import for_reading, from_storage, to_storage
from store.tables import (
    OUTBOX_PENDING,
    ComplaintListRow,
    EventRow,
    OutboxRow,
    ProjectionCheckpointRow,
)

# Beyond this many events behind, the lag reads as this many: a projection that far behind is
# rebuilding or broken, and counting millions of rows on every scrape would only add to it.
LAG_CAP = 100_000
# Open: owing work or the customer's answer. Closed complaints only wait out the reopen window.
OPEN_STATUSES = (Status.OPEN.value, Status.WAITING_ON_CUSTOMER.value, Status.RESOLVED.value)


@dataclass(frozen=True)
class ProjectionLag:
    projection: str
    events: int  # events in the log past its checkpoint (at most LAG_CAP)
    seconds: float  # how long the oldest of them has waited; 0 when caught up


@dataclass(frozen=True)
class StoreGauges:
    open_complaints: dict[tuple[int, str], int]  # (tier, status) -> complaints
    open_breached: dict[int, int]  # tier -> open complaints with a breach
    notifications_pending: int
    # Age of the oldest pending notification owed now: one held for quiet hours counts from the
    # opening it waited for, one not yet tried and not yet due is not owed yet.
    oldest_pending_seconds: float
    projection_lags: list[ProjectionLag]


def read_gauges(engine: Engine, now: datetime, projections: Iterable[str]) -> StoreGauges:
    """One snapshot, in one read transaction (on SQLite a snapshot under WAL)."""
    with for_reading(engine).connect() as connection:
        open_rows = connection.execute(
            select(ComplaintListRow.tier, ComplaintListRow.status, func.count(), func.sum(
                case((ComplaintListRow.breached, 1), else_=0)
            ))
            .where(ComplaintListRow.status.in_(OPEN_STATUSES))
            .group_by(ComplaintListRow.tier, ComplaintListRow.status)
        ).all()  # fmt: skip
        pending, oldest = _pending(connection, to_storage(now))
        lags = [_lag(connection, name, now) for name in sorted(set(projections))]
    breached: dict[int, int] = {}
    for tier, _status, _count, with_breach in open_rows:
        breached[tier] = breached.get(tier, 0) + int(with_breach or 0)
    return StoreGauges(
        open_complaints={(tier, status): count for tier, status, count, _ in open_rows},
        open_breached=breached,
        notifications_pending=pending,
        oldest_pending_seconds=(now - from_storage(oldest)).total_seconds() if oldest else 0.0,
        projection_lags=lags,
    )


def _pending(connection, now: datetime) -> tuple[int, datetime | None]:
    row = OutboxRow
    untried = row.attempts == 0
    # Not owed yet: never tried and held until later (quiet hours; or claimed a moment ago, its
    # first try under way).
    not_yet = and_(untried, row.next_attempt_at.is_not(None), row.next_attempt_at > now)
    # A held message that has come due has been owed since its opening, not since it was queued.
    owed_since = case(
        (and_(untried, row.next_attempt_at.is_not(None)), row.next_attempt_at),
        else_=row.created_at,
    )
    count, oldest = connection.execute(
        select(
            func.count(),
            func.min(case((not_(not_yet), owed_since), else_=None)),
        ).where(row.status == OUTBOX_PENDING)
    ).one()
    return count, oldest


def _lag(connection, name: str, now: datetime) -> ProjectionLag:
    checkpoint = connection.scalar(
        select(ProjectionCheckpointRow.position).where(ProjectionCheckpointRow.name == name)
    )
    after = EventRow.position > (checkpoint or 0)
    behind = select(EventRow.position).where(after).order_by(EventRow.position).limit(LAG_CAP)
    events = connection.scalar(select(func.count()).select_from(behind.subquery()))
    first = connection.scalar(
        select(EventRow.recorded_at).where(after).order_by(EventRow.position).limit(1)
    )
    waited = (now - from_storage(first)).total_seconds() if first is not None else 0.0
    return ProjectionLag(name, events or 0, max(waited, 0.0))
