"""Reports over real HTTP and in a real browser: the SLA report (JSON, CSV), the deadline ledger
and the /reports page, from recorded complaints put in the stack's store and projected by its
running projector. The complaints are in March 2024, apart from everything else the e2e
session submits (which happens now)."""

from __future__ import annotations

import asyncio
import csv
import io

import httpx
import pytest

from reports.export import csv_header
from tests.e2e.conftest import Stack, bearer
from tests.e2e.test_pages import anonymous_page, browser, sign_in  # noqa: F401 (fixtures)
from tests.unit.helpers import local
from tests.unit.report_stories import append_all, decisions

# Two copies of the five stories, a week apart: customer_service misses its one resolution in
# both weeks, which is two weeks running below 85%.
WEEKS = {"R1-": local(2024, 3, 13, 10, 0), "R2-": local(2024, 3, 20, 10, 0)}
RANGE = {"from": "2024-03-11", "to": "2024-03-24"}
SLA = "/api/reports/sla"


@pytest.fixture(scope="module")
async def recorded(stack: Stack) -> None:
    for prefix, wednesday in WEEKS.items():
        append_all(stack.store, decisions(wednesday, prefix))
    expected_volume = 9  # the second week's E is received on 25 March, after RANGE
    async with asyncio.timeout(20):  # the stack's projector applies them
        while True:
            got = await stack.http.get(SLA, params=RANGE | {"group_by": "all"})
            if sum(r["volume"] for r in got.json()["rows"]) == expected_volume:
                return
            await asyncio.sleep(0.1)


async def as_holder(stack: Stack, holder: str | None, path: str, **params) -> httpx.Response:
    headers = bearer(stack.keys[holder]) if holder else {}
    async with httpx.AsyncClient(base_url=stack.url, timeout=20, headers=headers) as http:
        return await http.get(path, params=params)


async def test_the_weekly_report_by_team_and_its_flag(stack: Stack, recorded) -> None:
    response = await as_holder(stack, "supervisor", SLA, period="week", group_by="team", **RANGE)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(r["period"], r["group"], r["volume"]) for r in body["rows"]] == [
        ("2024-W11", "customer_service", 1),
        ("2024-W11", "logistics", 1),
        ("2024-W11", "quality", 2),
        ("2024-W12", "customer_service", 1),
        ("2024-W12", "logistics", 1),
        ("2024-W12", "quality", 3),  # A and B of the second week, E of the first
    ]
    quality = body["rows"][2]
    assert (quality["deadlines_met"], quality["deadlines_breached"]) == (6, 2)
    assert quality["satisfaction_distribution"] == {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1}
    assert body["flagged_teams"] == [
        {
            "team": "customer_service",
            "weeks": ["2024-W11", "2024-W12"],
            "resolution_rates": [0.0, 0.0],
            "contract": "default",
        }
    ]
    assert (body["first_day"], body["last_day"], body["timezone"]) == (
        "2024-03-11",
        "2024-03-24",
        "Asia/Shanghai",
    )


async def test_the_monthly_report_as_csv(stack: Stack, recorded) -> None:
    response = await as_holder(
        stack, "admin", SLA, period="month", group_by="tier", format="csv", **RANGE
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    lines = list(csv.reader(io.StringIO(response.text)))
    assert lines[0] == csv_header()
    assert [(line[0], line[2], line[3]) for line in lines[1:]] == [
        ("2024-03", "1", "2"),
        ("2024-03", "2", "2"),
        ("2024-03", "3", "5"),
    ]


async def test_the_ledger_says_how_late(stack: Stack, recorded) -> None:
    response = await as_holder(
        stack, "supervisor", "/api/reports/deadlines", breached="true", **RANGE
    )
    assert response.status_code == 200, response.text
    late = {
        (i["complaint_id"], i["kind"]): i["late_seconds"]
        for i in response.json()["items"]
        if i["complaint_id"].startswith("R1-")
    }
    # B: answered at +15 (due +10), resolved at +120 (initial solution due +30); D resolved at
    # +40 (due +30).
    assert late == {
        ("R1-B", "first_response"): 300,
        ("R1-B", "initial_solution"): 5400,
        ("R1-D", "resolution"): 600,
    }


@pytest.mark.parametrize(
    ("holder", "status", "field"), [(None, 401, "Authorization"), ("agent.chen", 403, "role")]
)
async def test_reports_need_a_supervisor(stack: Stack, holder, status, field) -> None:
    for path in (SLA, "/api/reports/deadlines"):
        response = await as_holder(stack, holder, path)
        assert response.status_code == status, (path, response.text)
        assert response.json()["detail"][0]["field"] == field
    page = await as_holder(stack, holder, "/reports")
    assert page.status_code == status
    assert 'id="key"' in page.text and 'id="figures"' not in page.text  # the login form


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"period": "year"}, "period"),
        ({"group_by": "assignee"}, "group_by"),
        ({"from": "2024-03-24", "to": "2024-03-11"}, "to"),
        ({"from": "2019-01-01", "to": "2024-03-11"}, "to"),
        ({"from": "yesterday"}, "from"),
        ({"from": "0"}, "from"),  # not a Unix time
        ({"to": "2024-02-30"}, "to"),
        ({"format": "xml"}, "format"),
    ],
)
async def test_a_bad_request_names_its_field(stack: Stack, params, field) -> None:
    response = await as_holder(stack, "supervisor", SLA, **params)
    assert response.status_code == 422, response.text
    assert [d["field"] for d in response.json()["detail"]] == [field]


async def test_the_reports_page_shows_charts_flags_and_figures(
    anonymous_page,  # noqa: F811
    stack: Stack,
    recorded,
    tmp_path,
) -> None:
    from playwright.async_api import expect

    page = anonymous_page
    await sign_in(page, stack.keys["supervisor"])
    await page.click("text=Reports / 报表")
    await page.fill("input[name=from]", RANGE["from"])
    await page.fill("input[name=to]", RANGE["to"])
    await page.click("#report-filters button")
    for chart in ("#breach-trend", "#response-times", "#csat"):
        await expect(page.locator(chart)).to_be_visible()
    await expect(page.locator(".flagged[data-team=customer_service]")).to_contain_text(
        "2024-W11, 2024-W12"
    )
    await expect(page.locator("#figures tr[data-period]")).to_have_count(6)
    breached_bars = page.locator("#breach-trend rect.bar[fill='#b00020']")
    await expect(breached_bars).to_have_count(2)  # one per week
    await page.select_option("select[name=group_by]", "tier")
    await page.click("#report-filters button")
    groups = await page.locator("#figures tr[data-period]").evaluate_all(
        "rows => rows.map(r => r.dataset.period + ' ' + r.dataset.group)"
    )
    assert groups == [
        "2024-W11 1",
        "2024-W11 2",
        "2024-W11 3",
        "2024-W12 1",
        "2024-W12 2",
        "2024-W12 3",
    ]
    assert "format=csv" in (await page.get_attribute("#csv", "href") or "")
    await page.screenshot(path=str(tmp_path / "reports.png"), full_page=True)
