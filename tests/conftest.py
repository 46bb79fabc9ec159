"""Fixtures shared by all test packages.

PostgreSQL tests run when COMPLAINTS_TEST_DATABASE_URL points at a reachable server, and are
skipped otherwise, unless COMPLAINTS_REQUIRE_POSTGRES=1 (as in CI), which turns a skip into a
failure.
"""

import logging
import os
import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import OperationalError


@pytest.fixture(autouse=True)
def _root_log_handlers_kept() -> Iterator[None]:
    """Drops the root log handlers a test added. A test that configures logging (engine.logs,
    the CLI run in-process) points a handler at that test's captured stderr, which pytest closes
    after it: later tests' Temporal core warnings then printed "--- Logging error --- ValueError:
    I/O operation on closed file" tracebacks into the run's output. pytest's own capturing
    handlers are the same objects in every phase of a test, so they are kept."""
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    yield
    root.handlers[:] = [handler for handler in root.handlers if handler in before]
    root.setLevel(level)


def _postgres_unavailable(reason: str) -> None:
    if os.environ.get("COMPLAINTS_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"COMPLAINTS_REQUIRE_POSTGRES=1 but {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL tests skipped: {reason}")


@pytest.fixture(scope="session")
def postgres_url() -> str:
    url = os.environ.get("COMPLAINTS_TEST_DATABASE_URL")
    if not url:
        _postgres_unavailable("COMPLAINTS_TEST_DATABASE_URL is not set")
    engine = create_engine(url)
    try:
        with engine.connect():
            pass
    except OperationalError as error:
        shown = make_url(url).render_as_string(hide_password=True)
        _postgres_unavailable(f"cannot connect to {shown}: {error.orig}")
    finally:
        engine.dispose()
    return url


@pytest.fixture
def postgres_schema(postgres_url: str) -> Iterator[str]:
    """A new empty schema, dropped with everything in it after the test. Pass it to
    store.make_engine(url, schema=...) so the test sees only its own tables."""
    schema = f"complaints_test_{secrets.token_hex(6)}"
    admin = create_engine(postgres_url)
    try:
        with admin.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
        yield schema
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    finally:
        admin.dispose()
