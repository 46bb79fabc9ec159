"""Every store test runs once on SQLite and once on PostgreSQL, each time on an empty database."""

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from sqlalchemy import Engine

from store import EventStore, make_engine, migrate
from tests.keys import VAULT


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on an empty, unmigrated database."""
    if request.param == "sqlite":
        # In a directory that does not exist yet, which make_engine has to create.
        engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'events.sqlite3'}")
    else:
        engine = make_engine(
            request.getfixturevalue("postgres_url"),
            schema=request.getfixturevalue("postgres_schema"),
        )
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine: Engine) -> EventStore:
    migrate(engine)
    return EventStore(engine, VAULT)


@pytest.fixture
def logging_as_it_was(monkeypatch: pytest.MonkeyPatch):
    """The CLI configures logging for the process; put it back for the tests after its own."""
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(root, "level", root.level)
    config = structlog.get_config()
    yield
    structlog.configure(**config)
