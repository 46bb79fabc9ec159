"""The away page in a real browser: a supervisor marks a team member away, is refused a bad
period naming the rule, and withdraws the mark; the marks are recorded as theirs."""

from __future__ import annotations

from datetime import timedelta

from domain.presence import presence_stream
from tests.e2e.conftest import Stack
from tests.e2e.test_away import _today
from tests.e2e.test_pages import anonymous_page, browser, sign_in  # noqa: F401 (fixtures)


async def test_a_supervisor_marks_and_withdraws_on_the_page(anonymous_page, stack: Stack):  # noqa: F811
    from playwright.async_api import expect

    page = anonymous_page
    await sign_in(page, stack.keys["supervisor"])
    await page.goto("/away")
    today, marks = _today(), len(stack.store.read_stream(presence_stream(None)))

    await page.select_option("#mark-away select[name=person]", "agent.zhao")
    await page.fill("#mark-away input[name=from]", str(today + timedelta(days=2)))
    await page.fill("#mark-away input[name=until]", str(today + timedelta(days=1)))
    await page.click("#mark-away button")
    await expect(page.locator("#error")).to_contain_text("rule ends_before_start")
    assert len(stack.store.read_stream(presence_stream(None))) == marks  # nothing written

    await page.select_option("#mark-away select[name=person]", "agent.zhao")
    await page.fill("#mark-away input[name=from]", str(today))
    await page.fill("#mark-away input[name=until]", str(today + timedelta(days=1)))
    await page.click("#mark-away button")
    row = page.locator("#away tbody tr", has_text="agent.zhao")
    await expect(row).to_contain_text(str(today + timedelta(days=1)))
    await row.get_by_role("button").click()
    await expect(page.locator("#away tbody tr", has_text="agent.zhao")).to_have_count(0)
    recorded = stack.store.read_stream(presence_stream(None))[marks:]
    assert [(r.type, r.data["by"]) for r in recorded] == [
        ("AwayMarked", "supervisor"),
        ("AwayCancelled", "supervisor"),
    ]
