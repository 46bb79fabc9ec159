"""The web pages in a real browser: Debian's chromium driven by Playwright, against the e2e
stack's uvicorn server (real Temporal dev server, worker and event store).

Skipped when /usr/bin/chromium (or Playwright's Python package) is missing, unless
COMPLAINTS_REQUIRE_BROWSER=1, which makes that a failure instead.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from api.auth import COOKIE
from tests.e2e.conftest import Stack, form, page_client, signed_in

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
REQUIRED = os.environ.get("COMPLAINTS_REQUIRE_BROWSER") == "1"


def _missing() -> str | None:
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        return f"{CHROMIUM} is missing (apt-get install -y chromium)"
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "Playwright's Python package is missing (pip install playwright)"
    return None


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[object]:
    reason = _missing()
    if reason:
        if REQUIRED:
            pytest.fail(f"COMPLAINTS_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            await b.close()


@pytest.fixture
async def anonymous_page(browser, stack: Stack):
    context = await browser.new_context(base_url=stack.url)
    context.set_default_timeout(15_000)
    pg = await context.new_page()
    try:
        yield pg
    finally:
        await context.close()


async def sign_in(page, key: str, then: str = "/login") -> None:
    from playwright.async_api import expect

    await page.goto(then)
    await page.fill("#key", key)
    await page.click("#sign-in")
    await expect(page.locator("#user")).to_be_visible()


@pytest.fixture
async def page(anonymous_page, stack: Stack):
    """A browser signed in as admin through the login form."""
    await sign_in(anonymous_page, stack.keys["admin"])
    return anonymous_page


async def _submit_complaint(page, stack: Stack, subject: str = "Broken kettle") -> str:
    """Fill the intake form, submit it, and return the reference number it shows."""
    from playwright.async_api import expect

    await page.goto("/")
    await page.fill("#name", "Han Meimei")
    await page.fill("#email", "han@example.com")
    await page.fill("#phone", "+86 139 0000 0000")
    await page.fill("#subject", subject)
    await page.fill("#description", "It stopped heating after two days.")
    await page.click("#submit")
    await expect(page).to_have_url(re.compile(r"/submitted/C-[A-Z2-7]+"))
    reference = (await page.text_content("#reference") or "").strip()
    assert re.fullmatch(r"C-[A-Z2-7]{12}", reference)
    stack.complaint_ids.add(reference)
    return reference


async def test_the_form_submits_and_shows_the_reference_number(page, stack: Stack) -> None:
    from playwright.async_api import expect

    reference = await _submit_complaint(page, stack)
    await expect(page.locator("h1")).to_contain_text("Complaint received")
    await expect(page.locator("h1")).to_contain_text("投诉已收到")
    state = (await stack.http.get(f"/api/complaints/{reference}")).json()
    assert state["channel"] == "web" and state["status"] == "open"


async def test_an_empty_form_shows_a_message_beside_each_field(page, stack: Stack) -> None:
    from playwright.async_api import expect

    before = stack.event_count()
    await page.goto("/?lang=en")
    await page.fill("#email", "not-an-address")
    await page.click("#submit")
    await expect(page.locator("[role=alert]")).to_contain_text("Please correct")
    await expect(page.locator("#name-error")).to_have_text("Required")
    await expect(page.locator("#subject-error")).to_have_text("Required")
    await expect(page.locator("#description-error")).to_have_text("Required")
    await expect(page.locator("#email-error")).to_have_text("Invalid format")
    # What was typed stays; the language stays; nothing was written.
    await expect(page.locator("#email")).to_have_value("not-an-address")
    await expect(page.locator("label[for=name]")).to_contain_text("Name")
    assert stack.event_count() == before


async def test_chinese_labels(page) -> None:
    from playwright.async_api import expect

    await page.goto("/?lang=zh")
    await expect(page.locator("label[for=name]")).to_contain_text("姓名")
    await page.goto("/")
    await expect(page.locator("label[for=name]")).to_contain_text("Name / 姓名")


async def test_a_retried_post_of_one_form_makes_one_complaint(stack: Stack) -> None:
    async with page_client(stack.url) as http:
        html = (await http.get("/")).text
        token = re.search(r'name="token" value="([^"]+)"', html).group(1)
        body = {
            "token": token,
            "name": "Han Meimei",
            "channel": "web",
            "subject": "Twice",
            "description": "Posted twice",
        }
        first = await http.post("/", data=body)
        second = await http.post("/", data=body)
    assert first.status_code == second.status_code == 303
    # /submitted/<id>/<token>: the same complaint (each answer a private link of its own).
    reference = first.headers["location"].split("/")[2]
    assert second.headers["location"].split("/")[2] == reference
    stack.complaint_ids.add(reference)


async def test_responding_adds_first_response_to_the_timeline(page, stack: Stack) -> None:
    from playwright.async_api import expect

    reference = await _submit_complaint(page, stack, subject="Respond to me")
    await page.goto(f"/complaints/{reference}")
    await expect(page.locator("#complaint-id")).to_have_text(reference)
    await expect(page.locator("#customer")).to_contain_text("Han Meimei")
    await expect(page.locator("#timeline tr[data-type=ComplaintRegistered]")).to_have_count(1)
    # The policy's deadlines for this tier: acknowledged at registration, resolution pending.
    await expect(page.locator("#deadlines tr[data-kind=acknowledge]")).to_contain_text("met")
    await expect(page.locator("#deadlines tr[data-kind=resolution]")).to_contain_text("pending")
    respond = page.locator("form[data-action=respond]")
    await expect(respond.locator("[name=by]")).to_have_count(0)  # the author is the key's
    await respond.locator("[name=message]").fill("We are sending a replacement.")
    await respond.locator("button[type=submit]").click()
    await expect(page).to_have_url(re.compile(rf"/complaints/{reference}$"))
    given = page.locator("#timeline tr[data-type=FirstResponseGiven]")
    await expect(given).to_have_count(1)
    admin_key = stack.keys["admin"].partition(".")[0]
    await expect(given).to_contain_text(f"admin (key {admin_key})")
    await expect(given).to_contain_text("We are sending a replacement.")


async def test_a_refused_action_shows_the_domain_message(page, stack: Stack) -> None:
    from playwright.async_api import expect

    reference = await _submit_complaint(page, stack, subject="Refuse me")
    await page.goto(f"/complaints/{reference}")
    before = stack.event_count()
    reopen = page.locator("form[data-action=reopen]")
    await reopen.locator("[name=reason]").fill("Still broken")
    await reopen.locator("button[type=submit]").click()
    alert = page.locator("#action-error")
    await expect(alert).to_contain_text(f"cannot reopen: complaint {reference} is open")
    await expect(page.locator("#status")).to_have_text("open")
    assert stack.event_count() == before


async def test_an_unknown_complaint_is_a_404_page(page) -> None:
    from playwright.async_api import expect

    response = await page.goto("/complaints/C-NOSUCHTHING1")
    assert response is not None and response.status == 404
    await expect(page.locator("h1")).to_contain_text("Not found")


async def test_a_cross_site_form_post_is_refused(stack: Stack) -> None:
    response = await stack.http.post(
        "/",
        data={"name": "x", "subject": "x", "description": "x"},
        headers={"Origin": "http://evil.example"},
    )
    assert response.status_code == 403


async def test_the_api_stays_json_only(stack: Stack) -> None:
    response = await stack.http.post("/api/complaints", data={"subject": "x"})
    assert response.status_code == 415


async def test_the_dashboard_lists_the_complaint_once_projected(page, stack: Stack) -> None:
    from playwright.async_api import expect

    reference = await _submit_complaint(page, stack, subject="Dashboard me")
    tier = (await stack.http.get(f"/api/complaints/{reference}")).json()["tier"]
    row = page.locator(f"#complaints tr[data-id={reference}]")
    # The list is kept by the worker's projector: eventually consistent, so poll (max ~10 s).
    # The session's other tests leave open complaints too, whose deadlines come sooner: this
    # one may be on a later page of its tier, so the pages are followed.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while True:
        await page.goto(f"/supervisor?tier={tier}")
        while await row.count() == 0 and await page.locator("#next-page").count() == 1:
            await page.locator("#next-page").click()
        if await row.count() == 1 or loop.time() > deadline:
            break
        await asyncio.sleep(0.25)
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("Dashboard me")
    await expect(page.locator(f"#tier-counts [data-tier='{tier}']")).to_contain_text(
        re.compile(rf"tier {tier}: [1-9]")
    )
    # The countdown is live: it is rewritten from data-due every second.
    countdown = row.locator(".countdown")
    due = await countdown.get_attribute("data-due")
    assert due and due.endswith("Z")
    await expect(countdown).to_have_text(re.compile(r"^(overdue / 逾期 )?(\d+d )?\d\d:\d\d:\d\d$"))
    first = await countdown.text_content()
    await expect(countdown).not_to_have_text(first or "", timeout=3_000)
    # Filters are GET parameters.
    other = 1 if tier != 1 else 2
    await page.goto(f"/supervisor?tier={other}")
    await expect(row).to_have_count(0)
    await page.goto(f"/supervisor?tier={tier}&status=open&breached=no")
    await expect(row).to_have_count(1)
    await page.select_option("select[name=breached]", "yes")
    await page.click("#filters button[type=submit]")
    await expect(page).to_have_url(re.compile(r"breached=yes"))
    await expect(row).to_have_count(0)
    # Each row links to the complaint page.
    await page.goto(f"/supervisor?tier={tier}")
    await row.locator("a").click()
    await expect(page).to_have_url(re.compile(rf"/complaints/{reference}$"))
    await expect(page.locator("#complaint-id")).to_have_text(reference)


async def test_the_customer_rates_on_their_page(anonymous_page, stack: Stack) -> None:
    """The customer opens their link, sees what they were told, rates 4 with a comment and is
    thanked; the rating closes the complaint, and the page offers no second rating."""
    from playwright.async_api import expect

    page = anonymous_page
    reference = (await stack.submit()).json()["id"]
    resolved = await stack.http.post(
        f"/api/complaints/{reference}/actions/resolve",
        json={"resolution": "Replaced"},
    )
    assert resolved.status_code == 200
    await page.goto(stack.customer_path(reference))
    await expect(page.locator("#reference")).to_have_text(reference)
    await expect(page.locator("#status")).to_have_text("Resolved")
    await expect(page.locator("#messages article")).not_to_have_count(0)
    await page.check("#rating-4")
    await page.fill("#comment", "Quick, thanks")
    await page.click("#send-feedback")
    await expect(page.locator("#note")).to_contain_text("Thank you")
    await expect(page.locator("#status")).to_have_text("Closed")
    await expect(page.locator("#rate-form")).to_have_count(0)
    state = (await stack.http.get(f"/api/complaints/{reference}")).json()
    assert (state["status"], state["rating"]) == ("closed", 4)


async def test_the_customer_adds_a_photo_and_staff_see_it(anonymous_page, stack: Stack) -> None:
    from playwright.async_api import expect

    page = anonymous_page
    reference = (await stack.submit()).json()["id"]
    await page.goto(stack.customer_path(reference))
    await page.set_input_files(
        "#file", files=[{"name": "scorch.gif", "mimeType": "image/gif", "buffer": b"GIF89a..."}]
    )
    await page.click("#send-file")
    await expect(page.locator("#note")).to_contain_text("Thank you")
    await expect(page.locator("#files")).to_contain_text("scorch.gif")

    await sign_in(page, stack.keys["admin"], then=f"/complaints/{reference}")
    await page.goto(f"/complaints/{reference}")
    await expect(page.locator("#attachments")).to_contain_text("scorch.gif")
    added = page.locator("#timeline tr[data-type=AttachmentAdded]")
    await expect(added).to_contain_text("customer")
    await expect(added).to_contain_text("image/gif")


async def test_the_customer_can_reject_the_resolution_in_chinese(anonymous_page, stack) -> None:
    from playwright.async_api import expect

    page = anonymous_page
    customer = form()["customer"] | {"locale": "zh"}
    reference = (await stack.submit(form(customer=customer))).json()["id"]
    await stack.http.post(
        f"/api/complaints/{reference}/actions/resolve", json={"resolution": "Done"}
    )
    await page.goto(stack.customer_path(reference))
    await expect(page.locator("h1")).to_have_text("您的投诉")
    await page.fill("#reason", "还是坏的")
    await page.click("#reopen")
    await expect(page.locator("#note")).to_contain_text("谢谢")
    state = (await stack.http.get(f"/api/complaints/{reference}")).json()
    assert (state["status"], state["round"]) == ("open", 2)


# --- signing in ------------------------------------------------------------------------------


async def test_the_dashboard_asks_for_a_key_and_comes_back(anonymous_page, stack: Stack) -> None:
    from playwright.async_api import expect

    page = anonymous_page
    response = await page.goto("/supervisor?tier=3")
    assert response is not None and response.status == 401
    await expect(page.locator("#auth-message")).to_contain_text("an API key is required")
    await page.fill("#key", "ck-000000000000." + "A" * 43)
    await page.click("#sign-in")
    await expect(page.locator("#auth-message")).to_have_text("unknown or revoked API key")
    await page.fill("#key", stack.keys["supervisor"])
    await page.click("#sign-in")
    await expect(page).to_have_url(re.compile(r"/supervisor\?tier=3$"))
    await expect(page.locator("#user")).to_contain_text("supervisor")
    (cookie,) = [c for c in await page.context.cookies() if c["name"] == COOKIE]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert await page.evaluate("document.cookie") == ""  # scripts cannot read it
    assert cookie["value"] != stack.keys["supervisor"]  # a session's id (store.sessions)
    await page.click("#sign-out")
    await expect(page).to_have_url(re.compile(r"/login$"))
    response = await page.goto("/supervisor")
    assert response is not None and response.status == 401
    # Sign-out ended the session on the server: a copy of the cookie taken before opens nothing.
    await page.context.add_cookies([cookie])
    response = await page.goto("/supervisor")
    assert response is not None and response.status == 401
    await expect(page.locator("#auth-message")).to_contain_text("signed out or session expired")


async def test_an_agent_works_only_on_its_teams_complaints(anonymous_page, stack: Stack) -> None:
    from playwright.async_api import expect

    page = anonymous_page
    theirs = (await stack.submit()).json()["id"]  # a fire: team quality
    parcel = form(subject="Parcel page", description="My parcel is late")
    mine = (await stack.submit(parcel)).json()["id"]  # team logistics
    await sign_in(page, stack.keys["agent.wang"])
    await expect(page).to_have_url(re.compile(r"/queue$"))  # an agent lands on its queue
    await page.goto("/login")
    await expect(page.locator("#signed-in")).to_contain_text("team logistics")

    response = await page.goto("/supervisor")
    assert response is not None and response.status == 403
    await expect(page.locator("#auth-message")).to_contain_text("needs role supervisor")
    response = await page.goto(f"/complaints/{theirs}")
    assert response is not None and response.status == 403
    await expect(page.locator("#auth-message")).to_contain_text("belongs to team 'quality'")

    await page.goto(f"/complaints/{mine}")
    respond = page.locator("form[data-action=respond]")
    await respond.locator("[name=message]").fill("On its way")
    await respond.locator("button[type=submit]").click()
    await expect(page.locator("#timeline tr[data-type=FirstResponseGiven]")).to_have_count(1)

    before = stack.event_count()
    reclassify = page.locator("form[data-action=reclassify]")
    await reclassify.locator("[name=tier]").fill("1")
    await reclassify.locator("[name=reason]").fill("minor")
    await reclassify.locator("button[type=submit]").click()
    await expect(page.locator("#auth-message")).to_contain_text("reclassify needs role supervisor")
    assert stack.event_count() == before


async def test_a_page_action_on_another_teams_complaint_writes_nothing(stack: Stack) -> None:
    cid = (await stack.submit()).json()["id"]  # team quality
    async with signed_in(stack.url, stack.keys["agent.wang"]) as http:
        before = stack.event_count()
        response = await http.post(f"/complaints/{cid}/act/note", data={"text": "sneaky"})
        assert response.status_code == 403
        assert "belongs to team" in response.text
        assert stack.event_count() == before
    async with page_client(stack.url) as http:
        response = await http.post(f"/complaints/{cid}/act/note", data={"text": "y"})
        assert response.status_code == 401 and 'id="key"' in response.text
        assert stack.event_count() == before


async def test_login_refuses_cross_site_posts_and_foreign_redirects(stack: Stack) -> None:
    key = stack.keys["supervisor"]
    async with page_client(stack.url) as http:
        refused = await http.post(
            "/login", data={"key": key}, headers={"Origin": "http://evil.example"}
        )
        assert refused.status_code == 403 and "set-cookie" not in refused.headers
        for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
            response = await http.post("/login", data={"key": key, "next": target})
            assert response.status_code == 303
            assert response.headers["location"] == "/supervisor", target
        response = await http.post("/login", data={"key": key, "next": "/complaints/C-X?a=1"})
        assert response.headers["location"] == "/complaints/C-X?a=1"
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=43200" in cookie
        assert key not in cookie  # a session's id, never the key
