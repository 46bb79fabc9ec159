"""Spot-checks over real HTTP (dev server, worker, projector, API): the client's auditor reads
its contract's complaints, draws samples and records reviews but takes no action; reviews are
their author's, bad ones are refused with nothing written, and the reports show the scores per
agent and team."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from api.keys import KeyRing, append_entry, new_key
from domain.qa import qa_stream
from tests.e2e.conftest import Stack, bearer
from tests.e2e.test_pages import anonymous_page, browser, sign_in  # noqa: F401 (fixtures)

SCORES = {"greeted": 2, "identified the issue": 2, "kept the customer informed": 1,
          "resolution explained": 2}  # fmt: skip
TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()  # the policy's zone
DAY = {"from": TODAY, "to": TODAY}


@pytest.fixture(scope="module")
def auditors(api_keys: tuple[KeyRing, dict[str, str]]) -> dict[str, str]:
    """Two of the client's auditors, added to the session's key file (the API rereads it):
    one of this deployment's contract, one of a contract it does not serve."""
    ring, _ = api_keys
    keys = {}
    for name, contract in (("audit.default", "default"), ("audit.globex", "globex")):
        keys[name], entry = new_key(name, "auditor", contracts=[contract])
        append_entry(ring.path, entry)
    return keys


def as_key(stack: Stack, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=stack.url, timeout=20, headers=bearer(key))


async def closed_complaint(stack: Stack) -> dict:
    """A complaint submitted, answered, resolved and rated (closed), as the list shows it."""
    cid = (await stack.submit()).json()["id"]
    for action, body in (
        ("respond", {"message": "Calling you"}),
        ("resolve", {"resolution": "Replaced"}),
        ("feedback", {"rating": 4}),
    ):
        done = await stack.http.post(f"/api/complaints/{cid}/actions/{action}", json=body)
        assert done.status_code == 200, done.text
    state = (await stack.http.get(f"/api/complaints/{cid}")).json()
    assert state["status"] == "closed"
    return state


async def drawn_with(stack: Stack, http: httpx.AsyncClient, cid: str, **params) -> dict:
    """The sample once the projector has seen `cid` closed (every closed one of the day)."""
    async with asyncio.timeout(20):
        while True:
            got = await http.get("/api/qa/sample", params=DAY | {"per_agent": 1000} | params)
            assert got.status_code == 200, got.text
            drawn = got.json()
            if any(cid in a["complaints"] for a in drawn["agents"]):
                return drawn
            await asyncio.sleep(0.1)


async def test_the_auditor_reads_samples_and_reviews_but_never_acts(stack: Stack, auditors):
    closed = await closed_complaint(stack)
    cid = closed["id"]
    async with as_key(stack, auditors["audit.default"]) as auditor:
        assert (await auditor.get(f"/api/complaints/{cid}")).status_code == 200
        assert (await auditor.get(f"/api/complaints/{cid}/events")).status_code == 200
        acted = await auditor.post(f"/api/complaints/{cid}/actions/note", json={"text": "hi"})
        assert acted.status_code == 403 and acted.json()["detail"][0]["rule"] == "role_forbidden"
        assert (await auditor.get("/api/complaints")).status_code == 403
        assert (await auditor.get("/api/reports/sla")).status_code == 403

        drawn = await drawn_with(stack, auditor, cid, seed=77)
        assert drawn["seed"] == 77 and drawn["contract"] == "default"
        again = await auditor.get("/api/qa/sample", params=DAY | {"per_agent": 1000, "seed": 77})
        assert again.json()["agents"] == drawn["agents"]  # nothing closed since: the same

        recorded = await auditor.post(
            f"/api/complaints/{cid}/qa", json={"scores": SCORES, "remarks": "clear call"}
        )
        assert recorded.status_code == 201, recorded.text
        review = recorded.json()
        assert (review["by"], review["by_role"]) == ("audit.default", "auditor")
        assert review["by_key"] == auditors["audit.default"].split(".")[0]
        assert (review["agent"], review["team"]) == (closed["assignee"], closed["team"])
        listed = (await auditor.get(f"/api/complaints/{cid}/qa")).json()
        assert [r["by"] for r in listed] == ["audit.default"]

    async with as_key(stack, auditors["audit.globex"]) as stranger:
        assert (await stranger.get(f"/api/complaints/{cid}")).status_code == 404
        other = await stranger.post(f"/api/complaints/{cid}/qa", json={"scores": SCORES})
        assert other.status_code == 404
        sample = await stranger.get("/api/qa/sample", params=DAY | {"contract": "default"})
        assert sample.status_code == 404

    async with as_key(stack, stack.keys["agent.chen"]) as agent:
        refused = await agent.post(f"/api/complaints/{cid}/qa", json={"scores": SCORES})
        assert refused.status_code == 403
        assert (await agent.get("/api/qa/sample", params=DAY)).status_code == 403


@pytest.mark.parametrize(
    ("body", "problems"),
    [
        ({"scores": SCORES | {"greeted": 3}}, [("scores.greeted", "out_of_scale")]),
        ({"scores": SCORES | {"smiled": 1}}, [("scores.smiled", "unknown_item")]),
        ({"scores": {"greeted": 2}}, [
            ("scores.identified the issue", "missing_item"),
            ("scores.kept the customer informed", "missing_item"),
            ("scores.resolution explained", "missing_item"),
        ]),
        ({"scores": SCORES | {"greeted": "2"}}, [("scores.greeted", "int_type")]),
        ({"scores": SCORES, "by": "sup.li"}, [("by", "author_from_key")]),
    ],
)  # fmt: skip
async def test_a_bad_review_is_a_422_naming_field_and_rule_with_nothing_written(
    stack: Stack, body, problems
):
    cid = (await closed_complaint(stack))["id"]
    refused = await stack.http.post(f"/api/complaints/{cid}/qa", json=body)
    assert refused.status_code == 422, refused.text
    assert [(d["field"], d["rule"]) for d in refused.json()["detail"]] == problems
    assert stack.store.stream_version(qa_stream(cid)) == 0


async def test_an_open_complaint_is_not_spot_checked(stack: Stack):
    cid = (await stack.submit()).json()["id"]
    refused = await stack.http.post(f"/api/complaints/{cid}/qa", json={"scores": SCORES})
    assert refused.status_code == 422
    assert [(d["field"], d["rule"]) for d in refused.json()["detail"]] == [("status", "not_closed")]
    assert stack.store.stream_version(qa_stream(cid)) == 0


async def test_the_reports_show_the_scores_per_agent_and_team(
    anonymous_page,  # noqa: F811
    stack: Stack,
):
    closed = await closed_complaint(stack)
    async with as_key(stack, stack.keys["supervisor"]) as supervisor:
        recorded = await supervisor.post(
            f"/api/complaints/{closed['id']}/qa", json={"scores": SCORES | {"greeted": 0}}
        )
        assert recorded.status_code == 201 and recorded.json()["by"] == "supervisor"
        team, agent = closed["team"], closed["assignee"]
        async with asyncio.timeout(20):  # the projector applies the review
            while True:
                got = await supervisor.get("/api/reports/sla", params=DAY | {"period": "week"})
                qa = got.json()["qa"]
                if any(a["team"] == team and a["agent"] == agent for a in qa["agents"]):
                    break
                await asyncio.sleep(0.1)
        assert any(t["team"] == team and t["reviewed"] >= 1 for t in qa["teams"])
        assert qa["reviewed"] >= 1 and set(qa["items"]) == set(SCORES)

    # The /reports page, in a real browser: the Spot-checks section beside the figures.
    from playwright.async_api import expect

    page = anonymous_page
    await sign_in(page, stack.keys["supervisor"])
    await page.goto(f"/reports?period=week&from={TODAY}&to={TODAY}")
    await expect(page.locator("h2#qa")).to_be_visible()
    row = page.locator(f"table.qa tr[data-team='{team}'][data-agent='{agent}']")
    await expect(row).to_contain_text(agent)
    await expect(page.locator(f"table.qa tr[data-team='{team}'][data-agent='']")).to_have_count(1)
