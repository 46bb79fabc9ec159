"""The web's perimeter over real HTTP (api.web_security, api.auth, store.sessions): the sign-in
cookie names a server-side session, never the key, and sign-out, expiry and a deleted key end it;
/api takes bearer keys only; form posts need their own origin; a foreign Host is a 400; proxy
headers count only from a trusted proxy; the events endpoint serves complaint streams only."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from api.app import create_app
from api.auth import COOKIE
from api.keys import KeyRing, append_entry, new_key
from api.web_security import WebSecurity
from engine.service import ComplaintService
from store.erasure import ERASURES_STREAM, erase_customer
from store.sessions import Sessions
from store.tables import SessionRow
from tests.e2e.conftest import Stack, bearer, form, page_client, serving, signed_in
from tests.keys import VAULT
from tests.unit.helpers import POLICY

COMPLAINTS = Path(sys.executable).parent / "complaints"
ENDED = "signed out or session expired"


def key_id(key: str) -> str:
    return key.partition(".")[0]


async def dashboard(url: str, session_id: str) -> httpx.Response:
    """/supervisor with nothing but this session's cookie, as a stolen copy would be sent."""
    async with page_client(url, cookies={COOKIE: session_id}) as http:
        return await http.get("/supervisor")


# --- the session ------------------------------------------------------------------------------


async def test_the_cookie_holds_a_random_session_id_and_the_store_only_its_digest(stack: Stack):
    key = stack.keys["supervisor"]
    async with signed_in(stack.url, key) as first, signed_in(stack.url, key) as second:
        ids = [first.cookies[COOKIE], second.cookies[COOKIE]]
        assert (await first.get("/supervisor")).status_code == 200
    assert ids[0] != ids[1]  # a session per sign-in, not a function of the key
    assert all(key_id(key) not in i and key.partition(".")[2] not in i for i in ids)
    with stack.store.engine.connect() as connection:
        rows = connection.execute(
            select(SessionRow.id_digest, SessionRow.key_id).where(
                SessionRow.id_digest.in_([hashlib.sha256(i.encode()).hexdigest() for i in ids])
            )
        ).all()
        stored = connection.execute(select(SessionRow.id_digest)).scalars().all()
    assert sorted(k for _, k in rows) == [key_id(key)] * 2
    assert not set(ids) & set(stored)  # the ids themselves are nowhere in the database


async def test_signing_out_ends_the_session_for_every_copy_of_the_cookie(stack: Stack):
    async with signed_in(stack.url, stack.keys["supervisor"]) as http:
        copied = http.cookies[COOKIE]
        assert (await dashboard(stack.url, copied)).status_code == 200
        out = await http.post("/logout")
        assert out.status_code == 303 and out.headers["location"] == "/login"
    refused = await dashboard(stack.url, copied)
    assert refused.status_code == 401 and ENDED in refused.text


async def test_an_expired_session_is_refused(stack: Stack):
    sessions = Sessions(stack.store.engine, timedelta(hours=12))
    now = datetime.now(UTC)
    expired = sessions.open(key_id(stack.keys["supervisor"]), now - timedelta(hours=13))
    current = sessions.open(key_id(stack.keys["supervisor"]), now - timedelta(hours=11))
    refused = await dashboard(stack.url, expired)
    assert refused.status_code == 401 and ENDED in refused.text
    assert (await dashboard(stack.url, current)).status_code == 200
    # A cookie of the old kind, the key itself, opens nothing either.
    assert (await dashboard(stack.url, stack.keys["supervisor"])).status_code == 401


@asynccontextmanager
async def own_key_file(stack: Stack, tmp_path: Path) -> AsyncIterator[tuple[str, str, Path]]:
    """The API on the stack's store with a key file of its own (one supervisor key), so this
    test may delete keys and end sessions without touching the other tests' keys."""
    path = tmp_path / "api_keys.toml"
    key, entry = new_key("sam", "supervisor")
    append_entry(path, entry)
    service = ComplaintService(stack.client, stack.task_queue, POLICY, stack.store)
    async with serving(create_app(service, api_keys=KeyRing(path))) as url:
        yield url, key, path


async def test_deleting_a_key_ends_its_sessions(stack: Stack, tmp_path):
    async with own_key_file(stack, tmp_path) as (url, key, path):
        async with signed_in(url, key) as http:
            assert (await http.get("/supervisor")).status_code == 200
            path.write_text("")  # the key's [[keys]] table deleted: the key is revoked
            refused = await http.get("/supervisor")
    assert refused.status_code == 401 and ENDED in refused.text


async def test_the_cli_signs_a_key_out_everywhere_and_the_key_still_works(stack: Stack, tmp_path):
    async with own_key_file(stack, tmp_path) as (url, key, _path):
        async with signed_in(url, key) as one, signed_in(url, key) as two:
            ended = subprocess.run(
                [COMPLAINTS, "keys", "sign-out", key_id(key)],
                env={**os.environ, "COMPLAINTS_DATABASE_URL": str(stack.store.engine.url)},
                capture_output=True, text=True, cwd=tmp_path,
            )  # fmt: skip
            assert ended.returncode == 0, ended.stderr
            assert f"Ended 2 session(s) of key {key_id(key)}" in ended.stdout
            for http in (one, two):
                assert (await http.get("/supervisor")).status_code == 401
        async with signed_in(url, key) as again:
            assert (await again.get("/supervisor")).status_code == 200


# --- /api is bearer-only ----------------------------------------------------------------------


async def test_a_session_cookie_does_not_authenticate_an_api_call(stack: Stack):
    cid = (await stack.submit()).json()["id"]
    async with signed_in(stack.url, stack.keys["admin"]) as browser:
        page = await browser.get(f"/complaints/{cid}")
        api = await browser.get(f"/api/complaints/{cid}")
        before = stack.event_count()
        act = await browser.post(f"/api/complaints/{cid}/actions/note", json={"text": "x"})
        assert stack.event_count() == before
    assert page.status_code == 200
    for refused in (api, act):
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        assert [(d["field"], d["rule"]) for d in refused.json()["detail"]] == [
            ("Authorization", "missing")
        ]
    assert (await stack.http.get(f"/api/complaints/{cid}")).status_code == 200


# --- form posts come from our own pages -------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 403),  # neither Origin nor Referer
        ({"Origin": "null"}, 403),
        ({"Origin": "http://evil.example"}, 403),
        ({"Referer": "http://evil.example/login"}, 403),
        ({"Referer": "{url}/login?next=/queue"}, 303),
        ({"Origin": "{url}"}, 303),
    ],
    ids=["none", "null", "foreign-origin", "foreign-referer", "own-referer", "own-origin"],
)
async def test_a_sign_in_post_needs_its_own_origin(stack: Stack, headers: dict, status: int):
    headers = {k: v.format(url=stack.url) for k, v in headers.items()}
    async with httpx.AsyncClient(base_url=stack.url, timeout=20, headers=headers) as http:
        answer = await http.post("/login", data={"key": stack.keys["supervisor"]})
    assert answer.status_code == status, answer.text
    assert ("set-cookie" in answer.headers) == (status == 303)


async def test_an_intake_post_without_an_origin_writes_nothing(stack: Stack):
    before = stack.event_count()
    async with httpx.AsyncClient(base_url=stack.url, timeout=20) as http:
        token = (await http.get("/")).text.split('name="token" value="')[1].split('"')[0]
        body = {"token": token, "name": "Li Lei", "channel": "web", "subject": "Fire",
                "description": "It burned"}  # fmt: skip
        answer = await http.post("/", data=body)
    assert answer.status_code == 403 and "did not come from this site" in answer.text
    assert stack.event_count() == before


# --- the Host ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/login", "/api/complaints", "/docs"])
async def test_a_foreign_host_is_a_400_naming_the_host(stack: Stack, path: str):
    answer = await stack.http.get(path, headers={"Host": "evil.example"})
    assert answer.status_code == 400
    assert [(d["field"], d["rule"]) for d in answer.json()["detail"]] == [
        ("Host", "untrusted_host")
    ]
    assert answer.headers["x-content-type-options"] == "nosniff"  # still our headers
    port = stack.url.rsplit(":", 1)[1]
    assert (await stack.http.get(path, headers={"Host": f"localhost:{port}"})).status_code != 400


async def test_the_probes_answer_whatever_the_host(stack: Stack):
    for path in ("/healthz", "/readyz"):
        answer = await stack.http.get(path, headers={"Host": "10.1.2.3:8000"})
        assert answer.status_code == 200, path


# --- behind a TLS proxy -----------------------------------------------------------------------

PUBLIC = "https://complaints.example.com"


@pytest.mark.parametrize(
    ("trusted", "secure"),
    [(("127.0.0.1",), True), (("127.0.0.0/8",), True), ((), False), (("10.0.0.1",), False)],
    ids=["trusted-address", "trusted-network", "none-trusted", "another-proxy-trusted"],
)
async def test_the_cookie_is_secure_behind_a_trusted_tls_proxy(
    stack: Stack, api_keys, trusted: tuple[str, ...], secure: bool
):
    """The proxy (here: the test, on 127.0.0.1) ends TLS and says so in X-Forwarded-Proto; the
    public host comes from COMPLAINTS_BASE_URL, so it is an allowed Host."""
    web = WebSecurity.of([], PUBLIC, trusted, timedelta(hours=12))
    service = ComplaintService(stack.client, stack.task_queue, POLICY, stack.store)
    app = create_app(service, api_keys=api_keys[0], web=web)
    forwarded = {"Host": "complaints.example.com", "Origin": PUBLIC, "X-Forwarded-Proto": "https"}
    async with serving(app) as url, httpx.AsyncClient(base_url=url, headers=forwarded) as http:
        answer = await http.post("/login", data={"key": stack.keys["supervisor"]})
    assert answer.status_code == 303, answer.text
    cookie = answer.headers["set-cookie"]
    assert ("secure" in cookie.lower().split("; ")) is secure, cookie


# --- the events endpoint serves complaints only -----------------------------------------------


async def test_the_engines_own_streams_are_not_readable_as_complaints(stack: Stack):
    cid = (await stack.submit(form(customer={"name": "Erin", "email": "erin@example.com"}))).json()[
        "id"
    ]
    erase_customer(stack.store, VAULT, complaint_id=cid, by="test")
    assert stack.store.read_stream(ERASURES_STREAM)  # the stream exists, and names complaints
    unknown = await stack.http.get("/api/complaints/C-NOSUCHTHING1/events")
    for path in (f"/api/complaints/{ERASURES_STREAM}/events", f"/api/complaints/{ERASURES_STREAM}"):
        answer = await stack.http.get(path, headers=bearer(stack.keys["admin"]))
        assert answer.status_code == 404, (path, answer.text)
        assert ERASURES_STREAM in answer.json()["error"]
        assert answer.json()["detail"][0]["rule"] == unknown.json()["detail"][0]["rule"]
    assert (await stack.http.get(f"/api/complaints/{cid}/events")).status_code == 200
