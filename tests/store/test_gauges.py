"""The gauges read at scrape time (store.gauges), on SQLite and PostgreSQL: open complaints by
tier and status from the list's read model, pending notifications and the oldest one owed, and
how far each projection trails the log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, update

from domain.vocabulary import Status
from engine.metrics import PROJECTIONS
from store import ComplaintListProjection, EventStore, ProjectionRunner, ReportProjection
from store.gauges import OPEN_STATUSES, read_gauges
from store.records import OutboxMessage
from store.tables import OUTBOX_SENT, OutboxRow
from tests.store.builders import new_event
from tests.store.test_projections import decisions, folded, write_interleaved

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def test_open_complaints_by_tier_and_status_are_the_folded_states(engine: Engine, store):
    streams = decisions()
    write_interleaved(store, streams)
    ProjectionRunner(engine, [ComplaintListProjection()]).run_to_end()
    expected: dict[tuple[int, str], int] = {}
    breached: dict[int, int] = {}
    for state in folded(streams).values():
        if state.status.value in OPEN_STATUSES:
            key = (state.tier, state.status.value)
            expected[key] = expected.get(key, 0) + 1
            breached[state.tier] = breached.get(state.tier, 0) + int(state.breached)
    assert {Status.OPEN.value, Status.WAITING_ON_CUSTOMER.value} <= {s for _, s in expected}
    assert any(breached.values())  # the story has an open breached complaint

    gauges = read_gauges(engine, NOW, PROJECTIONS)
    assert gauges.open_complaints == expected
    assert gauges.open_breached == breached


def test_projection_lag_counts_the_events_not_applied_and_how_long_they_waited(
    engine: Engine, store: EventStore
):
    write_interleaved(store, decisions())
    total = len(store.read_all(limit=10_000))
    first = store.read_all(limit=1)[0].recorded_at
    now = first + timedelta(seconds=90)

    before = {lag.projection: lag for lag in read_gauges(engine, now, PROJECTIONS).projection_lags}
    assert set(before) == set(PROJECTIONS)  # a projection that never ran trails the whole log
    assert {lag.events for lag in before.values()} == {total}
    assert {lag.seconds for lag in before.values()} == {90.0}

    ProjectionRunner(engine, [ComplaintListProjection()]).run_to_end()
    after = {lag.projection: lag for lag in read_gauges(engine, now, PROJECTIONS).projection_lags}
    assert (after["complaint_list"].events, after["complaint_list"].seconds) == (0, 0.0)
    assert after["reports"].events == total  # the other one has not moved

    ProjectionRunner(engine, [ReportProjection()]).run_to_end()
    caught_up = read_gauges(engine, now, PROJECTIONS).projection_lags
    assert {(lag.events, lag.seconds) for lag in caught_up} == {(0, 0.0)}


def test_the_oldest_pending_notification_is_the_one_owed_longest(engine: Engine, store):
    def queue(name: str, created: timedelta, not_before: timedelta | None = None) -> None:
        message = OutboxMessage(
            key=f"C-{name}:kind:1:team_lead",
            stream_id=f"C-{name}",
            kind="escalation",
            recipient="team_lead",
            payload={},
            created_at=NOW - created,
            not_before=NOW + not_before if not_before is not None else None,
        )
        store.append(f"C-{name}", 0, [new_event()], outbox=[message])

    def set_row(name: str, **values) -> None:
        with engine.begin() as connection:
            connection.execute(
                update(OutboxRow).where(OutboxRow.stream_id == f"C-{name}").values(**values)
            )

    empty = read_gauges(engine, NOW, PROJECTIONS)
    assert (empty.notifications_pending, empty.oldest_pending_seconds) == (0, 0.0)

    queue("due", created=timedelta(minutes=5))
    queue("held", created=timedelta(hours=3), not_before=timedelta(hours=1))  # not owed yet
    queue("opened", created=timedelta(hours=2), not_before=-timedelta(minutes=10))
    queue("sent", created=timedelta(hours=4))
    set_row("sent", status=OUTBOX_SENT, attempts=1, sent_at=NOW)
    gauges = read_gauges(engine, NOW, PROJECTIONS)
    assert gauges.notifications_pending == 3
    # Held for quiet hours until ten minutes ago: owed since then, not since it was queued.
    assert gauges.oldest_pending_seconds == 600.0

    queue("retrying", created=timedelta(minutes=30))
    set_row("retrying", attempts=2, next_attempt_at=NOW + timedelta(minutes=5))  # a backoff
    gauges = read_gauges(engine, NOW, PROJECTIONS)
    assert gauges.notifications_pending == 4
    assert gauges.oldest_pending_seconds == 1800.0
