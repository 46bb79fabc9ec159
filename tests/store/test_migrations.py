"""Schema migrations and engine set-up."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, func, select, text

from store import EventStore, ProjectionRunner, make_engine, migrate
from store.db import session_factory, take_write_lock
from store.report_model import ReportProjection
from store.tables import Base, EventRow, ProjectionCheckpointRow, ReportComplaintRow
from tests.store.builders import new_event, new_events
from tests.store.test_bulk_insert import row
from tests.store.waiting import wait_until, write_lock_queue_length


def test_the_migrations_create_exactly_the_declared_tables(engine: Engine) -> None:
    migrate(engine)

    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        assert compare_metadata(context, Base.metadata) == []


def test_migrating_again_changes_nothing(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrate(engine)
    EventStore(engine).append("complaint-1", 0, new_events(2))

    monkeypatch.chdir(tmp_path)  # the migrations are found from any working directory
    migrate(engine)

    assert EventStore(engine).stream_version("complaint-1") == 2


MIGRATE = "import sys, store; store.migrate(store.make_engine(sys.argv[1], schema=sys.argv[2]))"


@pytest.mark.postgres
def test_processes_migrating_at_once_take_turns(postgres_url: str, postgres_schema: str) -> None:
    engine = make_engine(postgres_url, schema=postgres_schema)
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    command = [sys.executable, "-c", MIGRATE, postgres_url, postgres_schema]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with engine.begin() as connection:
            take_write_lock(connection)  # lines both processes up behind it
            processes = [subprocess.Popen(command, env=environment) for _ in range(2)]
            wait_until(
                lambda: write_lock_queue_length(engine) == 2, "both processes wait for the lock"
            )
        assert [process.wait(timeout=60) for process in processes] == [0, 0]
    finally:
        for process in processes:
            process.kill()
    assert EventStore(engine).append("complaint-1", 0, new_events(1)).written == 1
    engine.dispose()


def test_sessions_work_on_the_migrated_schema(engine: Engine) -> None:
    migrate(engine)
    EventStore(engine).append("complaint-1", 0, new_events(3))

    with session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(EventRow)) == 3


def test_sqlite_is_set_up_for_concurrent_use(tmp_path: Path) -> None:
    database = tmp_path / "not" / "yet" / "there.sqlite3"
    engine = make_engine(f"sqlite:///{database}")

    with engine.connect() as connection:
        settings = [
            connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "busy_timeout", "foreign_keys")
        ]
    engine.dispose()

    assert settings == ["wal", 30000, 1]
    assert database.exists()


@pytest.mark.postgres
def test_postgres_search_path_follows_the_schema(postgres_url: str, postgres_schema: str) -> None:
    engine = make_engine(postgres_url, schema=postgres_schema)
    migrate(engine)

    with engine.connect() as connection:
        tables = connection.scalars(
            text("SELECT tablename FROM pg_tables WHERE schemaname = :schema ORDER BY 1"),
            {"schema": postgres_schema},
        ).all()
    engine.dispose()

    assert tables == sorted(["alembic_version", *Base.metadata.tables])


@pytest.mark.parametrize(
    ("url", "schema", "message"),
    [
        ("mysql://localhost/complaints", None, "unsupported database backend 'mysql'"),
        ("sqlite:///complaints.sqlite3", "complaints", "only supported on PostgreSQL"),
    ],
)
def test_make_engine_refuses_what_it_cannot_support(
    url: str, schema: str | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make_engine(url, schema=schema)


def test_0018_counts_the_closed_loop_breaches_already_reported_and_the_rest_once(
    engine: Engine,
) -> None:
    """Complaints reported before the count existed get it from the log, up to the report's
    checkpoint; what lies beyond it the projection counts when it gets there."""
    migrate(engine, "0017")
    store = EventStore(engine)
    missed = ["ProgressUpdateMissed", "CustomerAnswerMissed"]
    store.append("C-1", 0, [new_event("ComplaintRegistered"), *map(new_event, missed)])  # 1-3
    store.append("C-2", 0, [new_event("ComplaintRegistered"), new_event("NoteAdded")])  # 4-5
    store.append("C-1", 3, [new_event("CustomerAnswerMissed")])  # 6: not reported yet
    with engine.begin() as connection:
        connection.execute(
            ProjectionCheckpointRow.__table__.insert().values(name="reports", position=5)
        )
        before = [c.name for c in ReportComplaintRow.__table__.columns]
        before.remove("closed_loop_breaches")
        reported = [row("C-1", "quality", version=3), row("C-2", "quality", version=2)]
        connection.execute(  # the columns of 0017 only
            ReportComplaintRow.__table__.insert(),
            [{k: v for k, v in r.items() if k in before} for r in reported],
        )

    migrate(engine)

    def counted() -> dict[str, int]:
        query = select(ReportComplaintRow.complaint_id, ReportComplaintRow.closed_loop_breaches)
        with engine.connect() as connection:
            return dict(connection.execute(query).all())

    assert counted() == {"C-1": 2, "C-2": 0}
    ProjectionRunner(engine, [ReportProjection()]).run_to_end()
    assert counted() == {"C-1": 3, "C-2": 0}
