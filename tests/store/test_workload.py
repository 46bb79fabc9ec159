"""What a new complaint's assignment weighs (store.workload): the complaints each member holds."""

from datetime import UTC, datetime

from sqlalchemy import Engine, insert

from store import EventStore, migrate
from store.complaint_list import PROJECTION_NAME
from store.db import bulk_insert
from store.tables import ComplaintListRow, ProjectionCheckpointRow
from store.workload import HELD_IN_THE_LIST, Workload
from tests.store.builders import new_event

NOW = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
TEAM = ["agent.chen", "agent.wang", "agent.li"]


def listed(complaint_id: str, assignee: str, status: str, contract: str = "default") -> dict:
    return {
        "complaint_id": complaint_id, "contract": contract, "status": status, "tier": 3,
        "category": "logistics", "team": "logistics", "assignee": assignee, "channel": "web",
        "subject": "Kettle", "breached": False, "escalation_level": 0, "next_due_at": None,
        "next_due_kind": None, "received_at": NOW, "updated_at": NOW, "state": {},
    }  # fmt: skip


def register(store: EventStore, complaint_id: str, assignee: str, contract: str | None) -> None:
    store.append(
        complaint_id,
        0,
        [
            new_event("ComplaintRegistered", data={"contract": contract}),
            new_event("ComplaintAssigned", data={"team": "logistics", "assignee": assignee}),
        ],
    )


def test_open_and_waiting_complaints_count_from_the_list_and_those_registered_since(
    engine: Engine,
) -> None:
    migrate(engine)
    store = EventStore(engine)
    register(store, "listed-already", "agent.li", None)  # before the list's checkpoint
    with engine.begin() as connection:
        bulk_insert(
            connection,
            ComplaintListRow.__table__,
            [
                listed("c1", "agent.chen", "open"),
                listed("c2", "agent.chen", "waiting_on_customer"),
                listed("c3", "agent.chen", "resolved"),  # waits on the customer, not on her
                listed("c4", "agent.wang", "open"),
                listed("c5", "agent.wang", "open", contract="acme"),
                listed("c6", "agent.zhao", "open"),  # not in the team asked about
                listed("listed-already", "agent.li", "open"),
            ],
        )
        connection.execute(insert(ProjectionCheckpointRow).values(name=PROJECTION_NAME, position=2))
    register(store, "new-1", "agent.wang", None)
    register(store, "new-2", "agent.wang", "acme")

    assert Workload(engine).open_counts(None, TEAM) == {
        "agent.chen": 2, "agent.wang": 2, "agent.li": 1,
    }  # fmt: skip
    assert Workload(engine).open_counts("acme", TEAM) == {"agent.wang": 2}


def test_the_list_is_counted_in_its_workload_index_not_its_rows(engine: Engine) -> None:
    """Every registration counts its team's open complaints: read from the rows (each with the
    whole state), that cost grew with the complaints held, 12 ms at 10,000."""
    migrate(engine)
    statement = HELD_IN_THE_LIST.params(contract="default", people=TEAM)
    compiled = statement.compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            plan = " ".join(
                str(row[-1]) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")
            )
            assert "COVERING INDEX ix_complaint_list_workload" in plan
        else:
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = " ".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {compiled}"))
            assert "ix_complaint_list_workload" in plan
