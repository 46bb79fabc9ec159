# ruff: noqa: F811  (pytest fixtures imported from other suites are used as arguments)
"""The access log on SQLite and PostgreSQL: a row per view, in order, no personal data; on
PostgreSQL the database itself refuses to change or remove a row."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from store import EventStore
from store.access_log import CLOSURE_API, COMPLAINT_PAGE, AccessLog
from tests.store.conftest import engine, store  # noqa: F401  (fixtures)

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_each_view_is_a_row_in_order(store: EventStore, engine: Engine) -> None:
    log = AccessLog(engine)
    log.record("C-1", key_id="k-1", viewer="agent.chen", surface=COMPLAINT_PAGE, at=AT)
    log.record("C-2", key_id="k-2", viewer="sup.li", surface=CLOSURE_API, at=AT)
    log.record("C-1", key_id="k-2", viewer="sup.li", surface=CLOSURE_API, at=AT)

    views = log.views("C-1")

    assert [(v.viewer, v.surface, v.viewed_at) for v in views] == [
        ("agent.chen", COMPLAINT_PAGE, AT),
        ("sup.li", CLOSURE_API, AT),
    ]


def test_an_unknown_surface_is_refused(store: EventStore, engine: Engine) -> None:
    with pytest.raises(ValueError, match="surface: 'screen'"):
        AccessLog(engine).record("C-1", key_id="k", viewer="x", surface="screen")


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement", ["UPDATE access_log SET viewer = 'nobody'", "DELETE FROM access_log"]
)
def test_postgres_refuses_to_change_the_log(
    store: EventStore, engine: Engine, statement: str
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the trigger is PostgreSQL's")
    AccessLog(engine).record("C-1", key_id="k", viewer="agent.chen", surface=COMPLAINT_PAGE)

    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text(statement))

    assert len(AccessLog(engine).views("C-1")) == 1
