# ruff: noqa: F811  (pytest fixtures imported from other suites are used as arguments)
"""Each report's delivery to each recipient on SQLite and PostgreSQL: written once per (report,
run, recipient) however often a retried activity writes it, a later run's rows beside the
earlier's, the latest row a recipient's outcome; on PostgreSQL the database itself refuses to
change or remove a row."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from store import EventStore
from store.report_deliveries import Delivery, ReportDeliveries, outcomes
from tests.store.conftest import engine, store  # noqa: F401  (fixtures)

AT = datetime(2026, 11, 27, 8, 31, tzinfo=UTC)
KEY = "report:acme:weekly:2026-W48"


def test_a_resend_adds_rows_and_the_latest_is_the_outcome(store: EventStore, engine: Engine):
    deliveries = ReportDeliveries(engine)
    first = [
        Delivery(KEY, "run-1", "ops@acme.example", True, AT),
        Delivery(KEY, "run-1", "cfo@acme.example", False, AT, "SMTP 550 (recipient refused)"),
    ]
    deliveries.record(first)
    deliveries.record(first)  # a retried activity
    assert deliveries.owed(KEY, ["ops@acme.example", "cfo@acme.example"]) == ["cfo@acme.example"]

    later = AT + timedelta(hours=2)
    deliveries.record([Delivery(KEY, "run-2", "cfo@acme.example", True, later, None, "sup.li")])

    rows = deliveries.of([KEY, "report:other:weekly:2026-W48"])
    assert [(d.run_id, d.recipient, d.delivered) for d in rows[KEY]] == [
        ("run-1", "ops@acme.example", True),
        ("run-1", "cfo@acme.example", False),
        ("run-2", "cfo@acme.example", True),
    ]
    assert rows["report:other:weekly:2026-W48"] == []
    latest = outcomes(rows[KEY])
    assert latest["cfo@acme.example"].requested_by == "sup.li"
    assert latest["cfo@acme.example"].at == later
    assert deliveries.owed(KEY, ["ops@acme.example", "cfo@acme.example"]) == []


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    ["UPDATE report_deliveries SET delivered = true", "DELETE FROM report_deliveries"],
)
def test_postgres_refuses_to_change_a_delivery(store: EventStore, engine: Engine, statement):
    if engine.dialect.name != "postgresql":
        pytest.skip("the trigger is PostgreSQL's")
    ReportDeliveries(engine).record([Delivery(KEY, "run-1", "cfo@acme.example", False, AT, "550")])

    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text(statement))

    assert not ReportDeliveries(engine).of([KEY])[KEY][0].delivered
