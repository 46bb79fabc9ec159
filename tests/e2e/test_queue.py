"""The agent's queue over real HTTP and in chromium: the API's `assignee=me`, the /queue page
with its live countdown, and taking a teammate's complaint (a reassignment recorded as the
agent's). The list is the projector's read model: the checks wait for it, never for a time."""

from __future__ import annotations

import asyncio
import re

import pytest

from tests.e2e.conftest import Stack
from tests.e2e.test_pages import anonymous_page, browser, sign_in  # noqa: F401 (fixtures)
from tests.e2e.test_roles import ACTIONS_PATH, FIRE, call, complaint, denied


async def listed(stack: Stack, holder: str, **params) -> set[str]:
    response, _ = await call(stack, holder, "GET", "/api/complaints", params=params)
    assert response.status_code == 200, response.text
    return {i["id"] for i in response.json()["items"]}


async def until_listed(stack: Stack, holder: str, wanted: set[str], **params) -> set[str]:
    async with asyncio.timeout(20):
        while not wanted <= (found := await listed(stack, holder, **params)):
            await asyncio.sleep(0.1)
    return found


async def give(stack: Stack, cid: str, assignee: str) -> None:
    if (await stack.http.get(f"/api/complaints/{cid}")).json()["assignee"] == assignee:
        return  # intake's own choice already
    body = {"assignee": assignee}
    response, _ = await call(
        stack, "supervisor", "POST", ACTIONS_PATH.format(cid, "reassign"), json=body
    )
    assert response.status_code == 200, response.text


@pytest.fixture
async def held_by_zhao(stack: Stack) -> list[str]:
    """Two fire complaints (team quality) held by agent.zhao, agent.chen's teammate."""
    cids = [await complaint(stack, FIRE) for _ in range(2)]
    for cid in cids:
        await give(stack, cid, "agent.zhao")
    await until_listed(stack, "supervisor", set(cids), assignee="agent.zhao", limit=200)
    return cids


async def test_assignee_me_lists_the_key_holders_own(stack: Stack, held_by_zhao: list[str]):
    first, second = held_by_zhao
    await give(stack, first, "agent.chen")
    mine = await until_listed(stack, "agent.chen", {first}, assignee="me", limit=200)
    assert second not in mine
    zhaos = await listed(stack, "supervisor", assignee="agent.zhao", limit=200)
    assert second in zhaos and first not in zhaos
    response, _ = await call(
        stack, "agent.chen", "GET", "/api/complaints", params={"assignee": "agent.zhao"}
    )
    denied(response, 403, "assignee", "role_forbidden")
    response, _ = await call(
        stack, "agent.chen", "GET", "/api/complaints", params={"assignee": "me", "team": "billing"}
    )
    denied(response, 403, "team", "team_forbidden")
    # agent.wang (logistics) is handed a quality complaint: its list stays its own team's.
    await give(stack, second, "agent.wang")
    await until_listed(stack, "supervisor", {second}, assignee="agent.wang", limit=200)
    assert second not in await listed(stack, "agent.wang", assignee="me", limit=200)


async def test_an_agent_takes_a_teammates_complaint_from_the_queue(
    anonymous_page,  # noqa: F811
    stack: Stack,
    held_by_zhao: list[str],
):
    from playwright.async_api import expect

    page = anonymous_page
    taken, left = held_by_zhao
    await sign_in(page, stack.keys["agent.chen"], then="/login")
    await expect(page).to_have_url(re.compile(r"/queue$"))  # an agent lands on its queue
    row = page.locator(f"#team tr[data-id={taken}]")
    await expect(row).to_contain_text("agent.zhao")
    await expect(page.locator(f"#team tr[data-id={left}]")).to_have_count(1)
    await expect(page.locator(f"#mine tr[data-id={taken}]")).to_have_count(0)

    await row.locator("button.take").click()
    await expect(page).to_have_url(re.compile(r"/queue$"))
    await until_listed(stack, "agent.chen", {taken}, assignee="me", limit=200)
    await page.reload()
    mine = page.locator(f"#mine tr[data-id={taken}]")
    await expect(mine).to_contain_text("agent.chen")
    await expect(page.locator(f"#team tr[data-id={taken}]")).to_have_count(0)
    # The live countdown, as on the dashboard: rewritten from data-due every second.
    countdown = mine.locator(".countdown")
    await expect(countdown).to_have_text(re.compile(r"^(overdue / 逾期 )?(\d+d )?\d\d:\d\d:\d\d$"))
    first = await countdown.text_content()
    await expect(countdown).not_to_have_text(first or "", timeout=3_000)

    events = (await stack.http.get(f"/api/complaints/{taken}/events")).json()
    took = [e["data"] for e in events if e["type"] == "ComplaintReassigned"][-1]
    key_id = stack.keys["agent.chen"].partition(".")[0]
    assert (took["assignee"], took["by"], took["by_key"]) == ("agent.chen", "agent.chen", key_id)


async def test_a_supervisor_keeps_the_dashboard(anonymous_page, stack: Stack):  # noqa: F811
    from playwright.async_api import expect

    await sign_in(anonymous_page, stack.keys["supervisor"], then="/login")
    await expect(anonymous_page).to_have_url(re.compile(r"/supervisor$"))


async def test_the_queue_shows_whose_customer_waits_for_an_answer(
    anonymous_page,  # noqa: F811
    stack: Stack,
    held_by_zhao: list[str],
):
    """The customer wrote (CustomerWrote): the queue says so until someone answers them."""
    from playwright.async_api import expect

    wrote, quiet = held_by_zhao
    await give(stack, wrote, "agent.chen")
    await give(stack, quiet, "agent.chen")
    response, _ = await call(
        stack, "supervisor", "POST", ACTIONS_PATH.format(wrote, "customer-reply"),
        json={"message": "Is anyone looking at this?"},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    page = anonymous_page
    await sign_in(page, stack.keys["agent.chen"], then="/queue")
    badge = page.locator(f"#mine tr[data-id={wrote}] .badge.wrote")
    async with asyncio.timeout(20):  # the list is the projector's: it catches up
        while await badge.count() == 0:
            await asyncio.sleep(0.2)
            await page.reload()
    await expect(badge).to_contain_text("customer wrote")
    await expect(page.locator(f"#mine tr[data-id={quiet}] .badge.wrote")).to_have_count(0)
    # And on the complaint's own page (its live state), with since when; the API says it too.
    await page.goto(f"/complaints/{wrote}")
    await expect(page.locator("#customer-waiting")).to_contain_text("waiting for an answer")
    live = (await stack.http.get(f"/api/complaints/{wrote}")).json()
    assert live["customer_waiting_since"] is not None

    response, _ = await call(
        stack, "agent.chen", "POST", ACTIONS_PATH.format(wrote, "respond"),
        json={"message": "Yes: an engineer calls you within the hour."},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    await page.reload()
    await expect(page.locator("#customer-waiting")).to_have_count(0)
    await page.goto("/queue")
    async with asyncio.timeout(20):
        while await badge.count() == 1:
            await asyncio.sleep(0.2)
            await page.reload()
