"""Roles over real HTTP: every denial (401 who are you, 403 you may not), each with a JSON body
naming the rule, and nothing written. Keys come from the stack's real key file (KEY_HOLDERS)."""

from __future__ import annotations

import httpx
import pytest

from api.keys import KeyRing, append_entry, new_key
from tests.e2e.conftest import Stack, bearer, form

FIRE = form()  # routed to team quality (agent.chen)
PARCEL = form(subject="Parcel", description="My parcel is late")  # team logistics (agent.wang)
ACTIONS_PATH = "/api/complaints/{}/actions/{}"


async def complaint(stack: Stack, body: dict) -> str:
    response = await stack.submit(body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


@pytest.fixture(scope="module")
async def fire(stack: Stack) -> str:
    cid = await complaint(stack, FIRE)
    assert (await stack.http.get(f"/api/complaints/{cid}")).json()["team"] == "quality"
    return cid


async def call(stack: Stack, holder: str | None, method: str, path: str, **request):
    """A request as `holder` (None: no key at all), with the store's event count around it."""
    headers = bearer(stack.keys[holder]) if holder else {}
    async with httpx.AsyncClient(base_url=stack.url, timeout=20, headers=headers) as http:
        before = stack.event_count()
        response = await http.request(method, path, **request)
        return response, stack.event_count() - before


def denied(response: httpx.Response, status: int, field: str, rule: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "detail"} and body["error"]
    assert [(d["field"], d["rule"]) for d in body["detail"]] == [(field, rule)]
    return body["error"]


def endpoints(cid: str) -> list[tuple[str, str, dict]]:
    """Every protected API door, with a body that would be valid."""
    return [
        ("POST", "/api/complaints", {"json": form()}),
        ("GET", "/api/complaints", {}),
        ("GET", f"/api/complaints/{cid}", {}),
        ("GET", f"/api/complaints/{cid}/events", {}),
        ("POST", ACTIONS_PATH.format(cid, "note"), {"json": {"text": "hello"}}),
        ("POST", ACTIONS_PATH.format(cid, "frobnicate"), {"json": {}}),
    ]


async def test_no_key_is_401_everywhere_in_the_api(stack: Stack, fire: str):
    for method, path, request in endpoints(fire):
        response, written = await call(stack, None, method, path, **request)
        error = denied(response, 401, "Authorization", "missing")
        assert "Authorization: Bearer" in error
        assert response.headers["www-authenticate"] == "Bearer"
        assert written == 0, path


@pytest.mark.parametrize(
    "key",
    [
        "ck-000000000000." + "A" * 43,  # well-formed, not in the file
        "not-a-key",
        "ck-000000000000." + "A" * 300,  # longer than any key: refused unread
    ],
    ids=["unknown", "malformed", "oversize"],
)
async def test_an_unknown_key_is_401(stack: Stack, fire: str, key: str):
    async with httpx.AsyncClient(base_url=stack.url, headers=bearer(key)) as http:
        for method, path, request in endpoints(fire):
            before = stack.event_count()
            response = await http.request(method, path, **request)
            assert denied(response, 401, "Authorization", "unknown_key")
            assert key not in response.text  # never echoed
            assert stack.event_count() == before


async def test_a_known_key_with_a_wrong_secret_is_401(stack: Stack, fire: str):
    key_id, _, secret = stack.keys["admin"].partition(".")
    forged = f"{key_id}.{secret[::-1]}"
    response, _ = await call(stack, None, "GET", f"/api/complaints/{fire}", headers=bearer(forged))
    denied(response, 401, "Authorization", "unknown_key")


async def test_intake_may_submit_and_nothing_else(stack: Stack, fire: str):
    response, written = await call(stack, "intake", "POST", "/api/complaints", json=form())
    assert response.status_code == 201, response.text
    stack.complaint_ids.add(response.json()["id"])
    assert written > 0
    for method, path, request in endpoints(fire)[1:]:
        response, written = await call(stack, "intake", method, path, **request)
        error = denied(response, 403, "role", "role_forbidden")
        assert "has role intake" in error and "'intake'" in error
        assert written == 0, path


async def test_the_list_needs_a_supervisor(stack: Stack):
    response, _ = await call(stack, "agent.chen", "GET", "/api/complaints")
    error = denied(response, 403, "role", "role_forbidden")
    assert (
        error
        == "the complaint list needs role supervisor or admin; key 'agent.chen' has role agent"
        " (it lists its own: assignee=me)"
    )
    for holder in ("supervisor", "admin"):
        response, _ = await call(stack, holder, "GET", "/api/complaints", params={"limit": 1})
        assert response.status_code == 200, response.text


async def test_an_agent_reads_and_acts_on_its_own_teams_complaints(stack: Stack, fire: str):
    for path in (f"/api/complaints/{fire}", f"/api/complaints/{fire}/events"):
        response, _ = await call(stack, "agent.chen", "GET", path)
        assert response.status_code == 200, response.text
    note = {"text": "Called the customer"}
    response, written = await call(
        stack, "agent.chen", "POST", ACTIONS_PATH.format(fire, "note"), json=note
    )
    assert response.status_code == 200, response.text
    assert written == 1


async def test_an_agent_of_another_team_is_refused(stack: Stack, fire: str):
    for method, path, request in endpoints(fire)[2:5]:
        response, written = await call(stack, "agent.wang", method, path, **request)
        error = denied(response, 403, "team", "team_forbidden")
        assert error == (
            f"complaint {fire} belongs to team 'quality'; key 'agent.wang' acts for team "
            "'logistics'"
        )
        assert written == 0, path
    parcel = await complaint(stack, PARCEL)
    response, _ = await call(stack, "agent.wang", "GET", f"/api/complaints/{parcel}")
    assert response.status_code == 200 and response.json()["team"] == "logistics"
    response, _ = await call(stack, "agent.chen", "GET", f"/api/complaints/{parcel}")
    denied(response, 403, "team", "team_forbidden")


async def test_an_agent_reassigning_away_loses_the_complaint(stack: Stack):
    cid = await complaint(stack, FIRE)
    moved = {"assignee": "agent.wang", "team": "logistics"}
    response, _ = await call(
        stack, "agent.chen", "POST", ACTIONS_PATH.format(cid, "reassign"), json=moved
    )
    assert response.status_code == 200 and response.json()["team"] == "logistics"
    response, _ = await call(stack, "agent.chen", "GET", f"/api/complaints/{cid}")
    denied(response, 403, "team", "team_forbidden")
    response, _ = await call(stack, "agent.wang", "GET", f"/api/complaints/{cid}")
    assert response.status_code == 200


async def test_only_a_supervisor_reclassifies(stack: Stack, fire: str):
    body = {"tier": 2, "reason": "not a safety issue after all"}
    response, written = await call(
        stack, "agent.chen", "POST", ACTIONS_PATH.format(fire, "reclassify"), json=body
    )
    error = denied(response, 403, "role", "role_forbidden")
    assert error.startswith("reclassify needs role supervisor or admin")
    assert written == 0
    response, written = await call(
        stack, "supervisor", "POST", ACTIONS_PATH.format(fire, "reclassify"), json=body
    )
    assert response.status_code == 200, response.text
    assert response.json()["tier"] == 2 and written > 0


async def test_an_unknown_complaint_is_404_for_an_agent_too(stack: Stack):
    response, _ = await call(stack, "agent.chen", "GET", "/api/complaints/C-NOSUCHTHING")
    assert response.status_code == 404
    assert "C-NOSUCHTHING" in response.json()["error"]


async def test_public_doors_need_no_key(stack: Stack):
    async with httpx.AsyncClient(base_url=stack.url) as http:
        for path in ("/healthz", "/openapi.json", "/", "/login", "/submitted/C-ANYTHING"):
            assert (await http.get(path)).status_code == 200, path
        # The customer's page needs no key: its link's token opens it (test_customer_page).
        assert (await http.get("/my/C-ANYTHING/1.x.y")).status_code == 404
        # The old unsigned feedback page is gone: it let anyone rate, close or reopen.
        assert (await http.get("/complaints/C-ANYTHING/feedback")).status_code == 404


async def test_a_new_key_works_at_once_and_a_removed_one_stops(stack: Stack, api_keys, fire):
    """The API rereads the key file: `complaints keys new` and revoking need no restart."""
    ring: KeyRing = api_keys[0]
    original = ring.path.read_text()
    key, entry = new_key("temp", "supervisor")
    append_entry(ring.path, entry)
    try:
        response, _ = await call(stack, None, "GET", "/api/complaints", headers=bearer(key))
        assert response.status_code == 200, response.text
    finally:
        ring.path.write_text(original)
    response, _ = await call(stack, None, "GET", "/api/complaints", headers=bearer(key))
    denied(response, 401, "Authorization", "unknown_key")


async def test_the_reports_need_a_supervisor(stack: Stack):
    path = "/api/reports/sla"
    response, _ = await call(stack, None, "GET", path)
    denied(response, 401, "Authorization", "missing")
    for holder in ("intake", "agent.chen"):
        response, _ = await call(stack, holder, "GET", path)
        error = denied(response, 403, "role", "role_forbidden")
        assert error.startswith("reading the reports needs role supervisor or admin")
    for holder in ("supervisor", "admin"):
        response, _ = await call(stack, holder, "GET", path)
        assert response.status_code == 200, response.text
    async with httpx.AsyncClient(base_url=stack.url) as http:
        page = await http.get("/reports")
        assert page.status_code == 401 and 'id="key"' in page.text


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/complaints?tier=1&tier=3", "tier"),
        ("/api/reports/sla?period=week&period=month", "period"),
    ],
)
async def test_a_repeated_query_parameter_is_refused(stack: Stack, path: str, field: str):
    response, _ = await call(stack, "admin", "GET", path)
    assert response.status_code == 422, response.text
    assert [(d["field"], d["rule"]) for d in response.json()["detail"]] == [(field, "repeated")]
