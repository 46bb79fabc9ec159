"""Two client contracts in one deployment, end to end: the example's ACME (Shanghai) and Globex
(Berlin) served by one API, worker and store (tests/e2e/conftest.py, contracts_stack), over real
HTTP and in a real browser. Each complaint keeps its own contract's terms, and a supervisor of
ACME sees ACME's complaints only, in every surface; a provider-level key sees both."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from api.page_parts import local_time
from domain import sla
from engine.contracts import load_contracts
from tests.e2e.conftest import EXAMPLE_CONTRACTS, Stack, bearer, form
from tests.e2e.test_pages import browser, sign_in  # noqa: F401 (fixtures)

BOOK = load_contracts(EXAMPLE_CONTRACTS)
# The same words under each contract: an outage is Globex's tier 3 (and no category of ACME's);
# a double charge is tier 2 for both, on each one's own business calendar.
OUTAGE = form(subject="Outage", description="No power in the whole street since noon")
FIRE = form(subject="Charger", description="The charger caught fire")
CHARGED = form(subject="Invoice", description="I was charged twice on my invoice")


async def submit(stack: Stack, holder: str, body: dict) -> dict:
    async with httpx.AsyncClient(
        base_url=stack.url, timeout=20, headers=bearer(stack.keys[holder])
    ) as http:
        response = await http.post("/api/complaints", json=body)
    assert response.status_code == 201, response.text
    stack.complaint_ids.add(response.json()["id"])
    return response.json()


def due_times(view: dict) -> dict[str, datetime]:
    return {d["kind"]: datetime.fromisoformat(d["due_at"]) for d in view["deadlines"]}


def terms_of(view: dict) -> dict[str, datetime]:
    """The due times the complaint's own contract gives from its reception."""
    policy = BOOK.contracts[view["contract"]].policy
    received = datetime.fromisoformat(view["received_at"])
    return {d.kind.value: d.due_at for d in sla.schedule(policy, view["tier"], received, [])}


@pytest.fixture(scope="module")
async def complaints(contracts_stack: Stack) -> dict[str, dict]:
    """One of each contract's, each sent with its own intake key."""
    stack = contracts_stack
    return {
        "globex outage": await submit(stack, "intake.globex", OUTAGE),
        "globex charged": await submit(stack, "intake.globex", CHARGED),
        "acme fire": await submit(stack, "intake.acme", FIRE),
        "acme outage": await submit(stack, "intake.acme", OUTAGE),
        "acme charged": await submit(stack, "intake.acme", CHARGED),
    }


def ids_of(complaints: dict[str, dict], contract: str) -> set[str]:
    return {v["id"] for name, v in complaints.items() if name.startswith(contract)}


async def test_each_complaint_keeps_its_contracts_deadlines(complaints: dict[str, dict]):
    outage, fire = complaints["globex outage"], complaints["acme fire"]
    assert (outage["contract"], outage["tier"], outage["category"]) == ("globex", 3, "outage")
    assert outage["team"] == "field"
    assert (fire["contract"], fire["tier"], fire["team"]) == ("acme", 3, "quality")
    # Tier 3 runs around the clock: Globex answers an outage in 15 minutes, ACME a fire in 10.
    for view, minutes in ((outage, 15), (fire, 10)):
        received = datetime.fromisoformat(view["received_at"])
        assert due_times(view)["first_response"] == received + timedelta(minutes=minutes)
    # The same words are no outage at ACME: its own categories, its default tier.
    assert complaints["acme outage"]["tier"] == 1
    assert complaints["acme outage"]["category"] == "other"
    # A double charge: tier 2 at both, each on its own business calendar (Berlin 08:00-17:00,
    # resolution in 5 working days; Shanghai 09:00-18:00, 3 working days).
    for name, view in complaints.items():
        assert due_times(view) == terms_of(view), name
    charged = {c: complaints[f"{c} charged"] for c in ("acme", "globex")}
    assert {c: (v["tier"], v["category"]) for c, v in charged.items()} == {
        "acme": (2, "billing"),
        "globex": (2, "billing"),
    }


async def test_the_registration_pins_each_contracts_terms(
    contracts_stack: Stack, complaints: dict[str, dict]
):
    for view in complaints.values():
        events = (await contracts_stack.http.get(f"/api/complaints/{view['id']}/events")).json()
        registered = events[0]["data"]
        assert registered["type"] == "ComplaintRegistered"
        contract = BOOK.contracts[view["contract"]]
        assert (registered["contract"], registered["policy_version"]) == (
            contract.id,
            contract.version,
        )


async def test_an_acme_supervisor_lists_only_acmes_and_a_provider_key_both(
    contracts_stack: Stack, complaints: dict[str, dict]
):
    acme, globex = ids_of(complaints, "acme"), ids_of(complaints, "globex")
    provider = await listed(contracts_stack, "provider", acme | globex)
    assert {i["contract"] for i in provider.values()} == {"acme", "globex"}
    supervisor = await listed(contracts_stack, "supervisor.acme", acme)
    assert not globex & set(supervisor)
    assert {i["contract"] for i in supervisor.values()} == {"acme"}


async def listed(stack: Stack, holder: str, want: set[str]) -> dict[str, dict]:
    """The list API as `holder` sees it, once the projector has listed `want`."""
    async with (
        httpx.AsyncClient(
            base_url=stack.url, timeout=20, headers=bearer(stack.keys[holder])
        ) as http,
        asyncio.timeout(20),
    ):
        while True:
            response = await http.get("/api/complaints", params={"limit": 200, "status": "open"})
            assert response.status_code == 200, response.text
            items = {i["id"]: i for i in response.json()["items"]}
            if want <= set(items):
                return items
            await asyncio.sleep(0.05)


@pytest.fixture
async def browsing(browser, contracts_stack: Stack):  # noqa: F811 (the fixture imported above)
    """A new browser page on the two-contract deployment, per signed-in holder."""
    contexts = []

    async def page_of(holder: str):
        context = await browser.new_context(base_url=contracts_stack.url)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = await context.new_page()
        await sign_in(page, contracts_stack.keys[holder])
        return page

    try:
        yield page_of
    finally:
        for context in contexts:
            await context.close()


def local_due(view: dict, kind: str) -> str:
    """A deadline as the complaint page prints it: in the time zone of its contract."""
    zone = ZoneInfo(BOOK.contracts[view["contract"]].policy.timezone)
    return local_time(due_times(view)[kind], zone)


async def test_in_the_browser_an_acme_supervisor_sees_acmes_only(
    contracts_stack: Stack, complaints: dict[str, dict], browsing
):
    from playwright.async_api import expect

    acme, globex = ids_of(complaints, "acme"), ids_of(complaints, "globex")
    await listed(contracts_stack, "provider", acme | globex)  # the projector has them all
    page = await browsing("supervisor.acme")
    await page.goto("/supervisor")
    rows = set(await page.locator("#complaints tr[data-id]").evaluate_all(
        "rows => rows.map(r => r.dataset.id)"
    ))  # fmt: skip
    assert acme <= rows and not globex & rows
    await expect(page.locator("#complaints td.contract").first).to_have_text("ACME Retail (China)")
    fire = complaints["acme fire"]
    await page.goto(f"/complaints/{fire['id']}")
    await expect(page.locator("#contract")).to_have_text("ACME Retail (China)")
    due = page.locator("#deadlines tr[data-kind=first_response] time")
    await expect(due).to_have_text(local_due(fire, "first_response"))
    await expect(due).to_contain_text("CST")  # China Standard Time: Shanghai
    for cid in globex:
        answer = await page.goto(f"/complaints/{cid}")
        assert answer is not None and answer.status == 404
        await expect(page.locator("h1")).to_contain_text("Not found")


async def test_in_the_browser_a_provider_key_sees_both(
    contracts_stack: Stack, complaints: dict[str, dict], browsing
):
    from playwright.async_api import expect

    acme, globex = ids_of(complaints, "acme"), ids_of(complaints, "globex")
    await listed(contracts_stack, "provider", acme | globex)
    page = await browsing("provider")
    await page.goto("/supervisor")
    for cid in acme | globex:
        row = page.locator(f"#complaints tr[data-id={cid}] td.contract")
        name = "ACME Retail (China)" if cid in acme else "Globex Energy (Germany)"
        await expect(row).to_have_text(name)
    outage = complaints["globex outage"]
    await page.goto(f"/complaints/{outage['id']}")
    await expect(page.locator("#contract")).to_have_text("Globex Energy (Germany)")
    due = page.locator("#deadlines tr[data-kind=first_response] time")
    await expect(due).to_have_text(local_due(outage, "first_response"))
    await expect(due).to_have_text(re.compile(r" CES?T$"))  # Berlin, winter or summer
