"""What the engine writes in its data directory is owner-only: the directory 0700, its files
0600, whatever the umask (security.private_files). `complaints run` as a whole is checked in
tests/e2e/test_image_files.py."""

from __future__ import annotations

import os
import signal
import socket
import stat
from pathlib import Path

import pytest
from sqlalchemy import text
from temporalio.api.workflowservice.v1 import ListNamespacesRequest

from api.keys import append_entry, new_key
from engine.settings import Settings
from entrypoints.local import start_dev_server, wait_for_server
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


async def run_dev_server_once(data: Path) -> None:
    """Start `complaints run`'s dev server (entrypoints.local) on `data`, see it answer from its
    file (the namespace it made there at start), stop it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Settings(temporal_address=f"127.0.0.1:{port}", data_dir=data)
    ensure_key_file(settings.encryption_key_file_path())  # as `complaints run` does first
    server = start_dev_server(data, port, "default", ui_port=None)
    try:
        client = await wait_for_server(settings, server)
        await client.workflow_service.list_namespaces(ListNamespacesRequest())
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)


async def test_the_temporal_dev_servers_files(tmp_path, lax_umask) -> None:
    """`complaints run`'s dev server: its SQLite file holds every complaint's workflow history,
    and it writes it itself, so it runs under umask 077."""
    data = tmp_path / "data"
    await run_dev_server_once(data)
    made = {p.name: mode(p) for p in data.iterdir()}
    assert {"temporal.sqlite3", "temporal.log", "encryption-keys.json"} <= set(made)
    assert made == dict.fromkeys(made, 0o600)
    assert mode(data) == 0o700


async def test_the_temporal_dev_servers_file_is_in_write_ahead_log_mode(tmp_path) -> None:
    """entrypoints.local.SQLITE_PRAGMAS: one synced append per commit instead of a rollback
    journal's several (the herd of deadlines cleared a third faster). WAL is a property of the
    file itself: bytes 18 and 19 of its header are 2 (rollback journal: 1)."""
    data = tmp_path / "data"
    await run_dev_server_once(data)
    header = (data / "temporal.sqlite3").read_bytes()[:100]
    assert header[:16] == b"SQLite format 3\x00"
    assert header[18:20] == b"\x02\x02"
