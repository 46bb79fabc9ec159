"""Marking people away over real HTTP (dev server, worker, API): a supervisor's mark keeps the
person out of new assignments and is recorded as the key holder's; bad periods are a 422 naming
the field and rule, with nothing written; agents may not mark."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from domain.presence import local_day, presence_stream
from tests.e2e.conftest import Stack, bearer, form
from tests.unit.helpers import POLICY

FIRE = form()  # routed to team quality: agent.chen, agent.zhao


def _today():
    return local_day(datetime.now(UTC), POLICY.timezone)


async def _as(stack: Stack, holder: str, method: str, path: str, **request) -> httpx.Response:
    headers = bearer(stack.keys[holder])
    async with httpx.AsyncClient(base_url=stack.url, timeout=20, headers=headers) as http:
        return await http.request(method, path, **request)


async def test_a_person_marked_away_gets_no_new_complaint(stack: Stack):
    today = _today()
    mark = {"person": "agent.chen", "from": str(today), "until": str(today + timedelta(days=1))}
    marked = await _as(stack, "supervisor", "POST", "/api/away", json=mark)
    assert marked.status_code == 201, marked.text
    try:
        listed = await _as(stack, "supervisor", "GET", "/api/away")
        assert {"person": "agent.chen", "from": mark["from"], "until": mark["until"],
                "source": "supervisor"} in listed.json()  # fmt: skip
        for _ in range(2):
            submitted = await stack.submit(FIRE)
            assert submitted.status_code == 201, submitted.text
            cid = submitted.json()["id"]
            events = (await stack.http.get(f"/api/complaints/{cid}/events")).json()
            (assigned,) = [e["data"] for e in events if e["type"] == "ComplaintAssigned"]
            assert assigned["assignee"] == "agent.zhao"
            assert assigned["reason"].endswith(f"agent.chen away until {mark['until']}")
            # Resolved, so the session's dashboard (its first page of open ones) stays as it was.
            resolve = f"/api/complaints/{cid}/actions/resolve"
            assert (await stack.http.post(resolve, json={"resolution": "Replaced"})).is_success
        recorded = stack.store.read_stream(presence_stream(None))[-1]  # this test's mark
        assert recorded.type == "AwayMarked"
        assert recorded.data["by"] == "supervisor" and recorded.data["by_key"]
    finally:
        withdrawn = await _as(
            stack, "supervisor", "POST", "/api/away/withdraw",
            json={"person": "agent.chen", "from": mark["from"]},
        )  # fmt: skip
        assert withdrawn.status_code == 200, withdrawn.text
    assert "agent.chen" not in str((await _as(stack, "supervisor", "GET", "/api/away")).json())


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        ({"from": 2, "until": 1}, "until", "ends_before_start"),
        ({"from": -3, "until": -1}, "until", "ended_in_past"),
        ({"person": "agent.nobody"}, "person", "unknown_person"),
        ({"by": "supervisor.li"}, "by", "author_from_key"),
    ],
)
async def test_a_bad_period_is_a_422_naming_the_field_and_rule(stack: Stack, change, field, rule):
    today = _today()
    body = {"person": "agent.zhao", "from": str(today), "until": str(today)}
    for key in ("from", "until"):
        if key in change:
            body[key] = str(today + timedelta(days=change[key]))
    body |= {k: v for k, v in change.items() if k not in ("from", "until")}
    before = stack.event_count()
    refused = await _as(stack, "supervisor", "POST", "/api/away", json=body)
    assert refused.status_code == 422, refused.text
    assert [(d["field"], d["rule"]) for d in refused.json()["detail"]] == [(field, rule)]
    assert stack.event_count() == before


async def test_an_agent_may_not_mark_anyone_away(stack: Stack):
    today = str(_today())
    body = {"person": "agent.chen", "from": today, "until": today}
    before = stack.event_count()
    refused = await _as(stack, "agent.chen", "POST", "/api/away", json=body)
    assert refused.status_code == 403
    assert refused.json()["detail"][0]["rule"] == "role_forbidden"
    assert stack.event_count() == before


async def test_withdrawing_a_mark_that_is_not_there_is_a_404(stack: Stack):
    before = stack.event_count()
    body = {"person": "agent.zhao", "from": str(_today())}
    refused = await _as(stack, "supervisor", "POST", "/api/away/withdraw", json=body)
    assert refused.status_code == 404
    assert [(d["field"], d["rule"]) for d in refused.json()["detail"]] == [
        ("from", "no_such_period")
    ]
    assert stack.event_count() == before
