"""bulk_insert (COPY on PostgreSQL, INSERT elsewhere) writes every value back as it was given."""

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import Engine, select

from store.db import bulk_insert, from_storage
from store.event_store import EventStore
from store.tables import ComplaintListRow, ReportComplaintRow

AT = datetime(2026, 11, 25, 10, 0, tzinfo=timezone(timedelta(hours=8)))


def row(complaint_id: str, team: str, **changes) -> dict:
    return {
        "complaint_id": complaint_id,
        "contract": "acme",
        "version": 3,
        "channel": "web",
        "tier": 3,
        "category": "product_quality",
        "team": team,
        "received_at": AT,
        "registered_at": AT,
        "first_response_at": None,
        "initial_solution_at": AT + timedelta(minutes=20),
        "resolved_at": None,
        "escalated": True,
        "reopen_count": 0,
        "rating": None,
        "deadlines_met": 2,
        "deadlines_breached": 1,
        "closed_loop_breaches": 2,
        "resolved_in_time": None,
    } | changes


def test_awkward_values_round_trip(engine: Engine, store: EventStore) -> None:
    rows = [
        row("C-1", ""),  # an empty string is not NULL
        row("C-2", 'a,"quoted"\nsecond line'),
        row("C-3", "\\N", resolved_in_time=False, rating=5),  # the NULL marker, as text
        row("C-4", "质量 team", escalated=False, resolved_in_time=True),
    ]
    with engine.begin() as connection:
        bulk_insert(connection, ReportComplaintRow.__table__, rows)
        bulk_insert(connection, ReportComplaintRow.__table__, [])  # nothing to do

    with engine.connect() as connection:
        stored = connection.execute(
            select(ReportComplaintRow.__table__).order_by(ReportComplaintRow.complaint_id)
        ).all()
    back = [
        {k: from_storage(v) if isinstance(v, datetime) else v for k, v in r._mapping.items()}
        for r in stored
    ]
    assert back == rows
    assert back[0]["received_at"].tzinfo == UTC  # stored as UTC, the same instant


def test_a_json_column_round_trips(engine: Engine, store: EventStore) -> None:
    state = {
        "quoted": 'a,"b"\nc',
        "marker": "\\N",
        "nested": [{"at": "2026-11-25T02:00:00Z", "n": 3, "none": None}],
        "unicode": "质量",
    }
    listed = {
        "complaint_id": "C-1",
        "contract": "acme",
        "status": "open",
        "tier": 2,
        "category": "billing",
        "team": "billing",
        "assignee": "",
        "channel": "web",
        "subject": "Charged twice",
        "breached": False,
        "escalation_level": 0,
        "next_due_at": None,
        "next_due_kind": None,
        "received_at": AT,
        "updated_at": AT,
        "state": state,
    }
    with engine.begin() as connection:
        bulk_insert(connection, ComplaintListRow.__table__, [listed])

    with engine.connect() as connection:
        assert connection.scalar(select(ComplaintListRow.state)) == state
