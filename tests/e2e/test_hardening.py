"""Hardening found in review (issue 14), over real HTTP and real processes: a malformed list
cursor is a 422, /readyz tells the public up or down only, a key holder's name cannot carry a
control character into the key file."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Stack

COMPLAINTS = Path(sys.executable).parent / "complaints"


def _cursor(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


MALFORMED_CURSORS = {
    "deeply nested": _cursor(b"[" * 740),
    "nested objects": _cursor(b'{"a":' * 148),
    "before year 1 in UTC": _cursor(b'{"due":"0001-01-01T00:00:00+14:00","id":"C-X"}'),
    "after year 9999 in UTC": _cursor(b'{"due":"9999-12-31T23:59:59-14:00","id":"C-X"}'),
    "NUL in the id": _cursor(b'{"due":null,"id":"C-\\u0000"}'),
    "extra keys": _cursor(b'{"due":null,"id":"C-X","x":[[[1]]]}'),
    "a list": _cursor(b'[null,"C-X"]'),
    "not base64": "%%%%",
    "not ASCII": "é" * 10,
}


@pytest.mark.parametrize("case", MALFORMED_CURSORS)
async def test_a_malformed_cursor_is_a_422_naming_the_cursor(stack: Stack, case: str) -> None:
    answer = await stack.http.get("/api/complaints", params={"cursor": MALFORMED_CURSORS[case]})
    assert answer.status_code == 422, (case, answer.text)
    assert [d["field"] for d in answer.json()["detail"]] == ["cursor"]


async def test_readyz_tells_the_public_only_up(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.url, timeout=20) as anonymous:
        public = await anonymous.get("/readyz")
    assert public.status_code == 200 and public.json() == {"status": "ready"}
    admin = await stack.http.get("/readyz")
    assert admin.json() == {"status": "ready", "temporal": "ok", "database": "ok"}


# (A NUL cannot reach a command line: argv strings end at one.)
CONTROL_NAMES = ['ann\nrole = "admin"', "ann\r", "a\x7fb", "tab\there", "\x1b[31mred"]


@pytest.mark.parametrize("name", CONTROL_NAMES)
def test_a_key_name_with_a_control_character_is_refused(tmp_path, name: str) -> None:
    env = {**os.environ, "COMPLAINTS_DATA_DIR": str(tmp_path)}
    made = subprocess.run(
        [COMPLAINTS, "keys", "new", "--role", "admin", "--name", name],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert made.returncode == 2, made.stderr
    assert "--name: must not contain control characters" in made.stderr
    assert not (tmp_path / "api_keys.toml").exists()
    # And the file still takes a good key afterwards.
    good = subprocess.run(
        [COMPLAINTS, "keys", "new", "--role", "admin", "--name", "ann"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert good.returncode == 0, good.stderr
    assert json.dumps("ann") in (tmp_path / "api_keys.toml").read_text()
