"""What the engine writes in its data directory is owner-only: the directory 0700, its files
0600, whatever the umask (security.private_files). `complaints run` as a whole is checked in
tests/e2e/test_image_files.py."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from api.keys import append_entry, new_key
from security.keys import ensure_key_file
from store import make_engine, migrate


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def lax_umask():
    """The common 022, under which a plain open() makes 0644 files."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def test_the_key_file_and_its_new_directory(tmp_path, lax_umask) -> None:
    data = tmp_path / "data"
    assert ensure_key_file(data / "encryption-keys.json")
    assert mode(data) == 0o700
    assert mode(data / "encryption-keys.json") == 0o600


def test_the_api_key_file(tmp_path, lax_umask) -> None:
    append_entry(tmp_path / "data" / "api_keys.toml", new_key("ann", "admin")[1])
    assert mode(tmp_path / "data") == 0o700
    assert mode(tmp_path / "data" / "api_keys.toml") == 0o600


def test_the_sqlite_event_store_and_its_journal(tmp_path, lax_umask) -> None:
    database = tmp_path / "data" / "complaints.sqlite3"
    engine = make_engine(f"sqlite:///{database}")
    try:
        migrate(engine)
        with engine.connect() as connection:  # WAL mode: the -wal and -shm files exist now
            connection.execute(text("SELECT 1"))
            made = sorted(p.name for p in database.parent.iterdir())
            assert f"{database.name}-wal" in made
            assert {p.name: mode(p) for p in database.parent.iterdir()} == dict.fromkeys(
                made, 0o600
            )
    finally:
        engine.dispose()
    assert mode(database.parent) == 0o700


def test_an_existing_shared_directory_is_left_alone(tmp_path, lax_umask) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    engine = make_engine(f"sqlite:///{shared / 'events.sqlite3'}")
    engine.dispose()
    assert mode(shared) == 0o755
    assert mode(shared / "events.sqlite3") == 0o600
