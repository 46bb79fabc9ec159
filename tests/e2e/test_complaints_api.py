"""The happy paths over real HTTP: submit, read, list events, act."""

from __future__ import annotations

import json

from tests.e2e.conftest import Stack, bearer, form

PERSONAL = ("Li Lei", "li@example.com", "138 0000")


def assert_no_personal_data(payload) -> None:
    text = json.dumps(payload)
    for value in PERSONAL:
        assert value not in text
    assert '"customer":' not in text  # the field; "customer" as a recipient role is fine


async def act(stack: Stack, cid: str, action: str, **body):
    return await stack.http.post(f"/api/complaints/{cid}/actions/{action}", json=body)


async def test_submit_answers_the_registered_complaint_without_personal_data(stack: Stack):
    response = await stack.submit()
    assert response.status_code == 201
    view = response.json()
    assert view["id"].startswith("C-")
    assert view["status"] == "open"
    assert view["tier"] >= 1 and view["category"] and view["team"]
    assert view["round"] == 1 and view["version"] >= 1
    assert {d["kind"] for d in view["deadlines"]}
    assert all(set(d) == {"kind", "due_at", "met_at", "breached"} for d in view["deadlines"])
    assert_no_personal_data(view)

    again = await stack.http.get(f"/api/complaints/{view['id']}")
    assert again.status_code == 200
    assert again.json()["id"] == view["id"] and again.json()["status"] == "open"
    assert_no_personal_data(again.json())


async def test_events_are_listed_in_order_without_the_personal_part(stack: Stack):
    cid = (await stack.submit()).json()["id"]
    response = await stack.http.get(f"/api/complaints/{cid}/events")
    assert response.status_code == 200
    events = response.json()
    assert events[0]["type"] == "ComplaintRegistered"
    assert [e["version"] for e in events] == list(range(1, len(events) + 1))
    assert all(set(e) == {"version", "type", "occurred_at", "data"} for e in events)
    assert_no_personal_data(events)


async def test_a_complaint_through_its_life(stack: Stack):
    cid = (await stack.submit(form(subject="Late parcel"))).json()["id"]

    responded = await act(stack, cid, "respond", message="We are looking into it")
    assert responded.status_code == 200, responded.text
    assert responded.json()["status"] == "open"

    asked = await act(stack, cid, "request-info", question="Which order?")
    assert asked.status_code == 200, asked.text
    assert asked.json()["status"] == "waiting_on_customer"
    assert asked.json()["pauses"][-1]["ended_at"] is None

    replied = await act(stack, cid, "customer-reply", message="Order 1234")
    assert replied.status_code == 200, replied.text
    assert replied.json()["status"] == "open"
    assert replied.json()["pauses"][-1]["ended_at"] is not None

    noted = await act(stack, cid, "note", text="  Called the courier  ")
    assert noted.status_code == 200, noted.text

    resolved = await act(stack, cid, "resolve", resolution="Refunded")
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolved" and resolved.json()["resolved_at"]

    rated = await act(stack, cid, "feedback", rating=5, comment="Quick")
    assert rated.status_code == 200, rated.text
    assert rated.json()["rating"] == 5

    types = [e["type"] for e in (await stack.http.get(f"/api/complaints/{cid}/events")).json()]
    for expected in (
        "FirstResponseGiven",
        "InformationRequested",
        "CustomerReplied",
        "NoteAdded",
        "ComplaintResolved",
        "FeedbackRecorded",
    ):
        assert expected in types
    state = (await stack.http.get(f"/api/complaints/{cid}")).json()
    assert state["version"] == len(types)


async def test_an_idempotent_resubmission_gives_one_complaint(stack: Stack):
    key = {"Idempotency-Key": "e2e-once-only"}
    first = await stack.submit(headers=key)
    count = stack.event_count()
    again = await stack.submit(headers=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert stack.event_count() == count
    registered = [
        e
        for e in (await stack.http.get(f"/api/complaints/{first.json()['id']}/events")).json()
        if e["type"] == "ComplaintRegistered"
    ]
    assert len(registered) == 1


async def test_an_idempotency_key_belongs_to_the_api_key_that_sent_it(stack: Stack):
    """Another API key sending the same Idempotency-Key makes its own complaint: it never gets
    the first caller's (whose reference number is not made from the key either)."""
    key = {"Idempotency-Key": "e2e-shared-key"}
    mine = await stack.submit(headers=key)
    theirs = await stack.submit(headers=key | bearer(stack.keys["intake"]))
    mine_again = await stack.submit(headers=key)
    theirs_again = await stack.submit(headers=key | bearer(stack.keys["intake"]))
    statuses = [r.status_code for r in (mine, theirs, mine_again, theirs_again)]
    assert statuses == [201, 201, 200, 200]
    assert mine.json()["id"] == mine_again.json()["id"] != theirs.json()["id"]
    assert theirs_again.json()["id"] == theirs.json()["id"]


async def test_an_action_the_state_forbids_is_a_conflict(stack: Stack):
    cid = (await stack.submit()).json()["id"]
    before = stack.event_count()
    response = await act(stack, cid, "feedback", rating=5)  # rated before it is resolved
    assert response.status_code == 409
    body = response.json()
    assert "is open" in body["error"]
    assert isinstance(body["detail"], list)
    assert stack.event_count() == before


async def test_unknown_complaints_and_actions_are_not_found(stack: Stack):
    for path in ("/api/complaints/C-NOSUCHTHING", "/api/complaints/C-NOSUCHTHING/events"):
        response = await stack.http.get(path)
        assert response.status_code == 404
        assert "C-NOSUCHTHING" in response.json()["error"]
    response = await act(stack, "C-NOSUCHTHING", "note", text="x")
    assert response.status_code == 404
    assert set(response.json()) == {"error", "detail"}

    cid = (await stack.submit()).json()["id"]
    before = stack.event_count()
    response = await act(stack, cid, "frobnicate")
    assert response.status_code == 404
    assert "unknown action" in response.json()["error"]
    assert stack.event_count() == before


async def test_health_and_readiness(stack: Stack):
    assert (await stack.http.get("/healthz")).status_code == 200
    ready = await stack.http.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "ready"


async def test_openapi_is_served(stack: Stack):
    schema = (await stack.http.get("/openapi.json")).json()
    assert "/api/complaints/{complaint_id}/actions/request-info" in schema["paths"]
    assert (await stack.http.get("/docs")).status_code == 200


async def test_a_loaded_server_answers_202_with_the_id_never_a_5xx(stack: Stack, api_keys):
    """Its workflow started but no worker registered it within the wait (none polls this
    queue): the answer is 202 with the final id, and the same key again finds the same one.
    That id is a promise: once a worker takes the queue, the complaint is registered under it,
    once, though nobody waits for the answer any more."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    from activities.events import EventActivities
    from api.app import create_app
    from engine.service import ComplaintService
    from engine.worker_assembly import ACTIVITY_THREADS, build_worker
    from tests.e2e.conftest import serving
    from tests.unit.helpers import POLICY

    queue = f"idle-{stack.task_queue}"
    idle = ComplaintService(stack.client, queue, POLICY, stack.store, registration_wait=0.3)
    app = create_app(idle, api_keys=api_keys[0], links=stack.links)
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=20) as http:
        headers = bearer(stack.keys["intake"]) | {"Idempotency-Key": "busy-morning"}
        first = await http.post("/api/complaints", json=form(), headers=headers)
        again = await http.post("/api/complaints", json=form(), headers=headers)
    cid = first.json()["id"]
    stack.complaint_ids.add(cid)
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json()["id"] == cid and first.json()["status"] is None
    assert stack.store.read_stream(cid) == []  # accepted, not yet registered

    with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as pool:
        async with build_worker(stack.client, queue, EventActivities(stack.store), pool):
            async with asyncio.timeout(30):
                while not stack.store.read_stream(cid):
                    await asyncio.sleep(0.1)
            shown = await stack.http.get(f"/api/complaints/{cid}")
    registered = [e for e in stack.store.read_stream(cid) if e.type == "ComplaintRegistered"]
    assert len(registered) == 1
    assert shown.status_code == 200 and shown.json()["status"] == "open"
