"""The archive of sent reports as a page (/reports/sent in a browser) over real HTTP, in headless
chromium: a report built from the database (the real PDF, CSV and figures), kept in the archive
with one recipient reached and one not, is listed with each outcome and its content hash, and
its links download the archived bytes: the three files hash to the hash the page shows. The
JSON API at the same address stays, and a key sees only the contracts it serves."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from activities.reports import content_hash
from domain.report_times import period_of
from engine.contracts import ContractBook, load_contracts
from reports.contract_report import build_report
from reports.contract_report_render import as_csv, as_pdf, charts
from store.report_deliveries import Delivery, ReportDeliveries
from store.sent_reports import ArchivedReport, SentReports
from tests.e2e.conftest import EXAMPLE_CONTRACTS, Stack, bearer
from tests.e2e.test_pages import anonymous_page, browser, sign_in  # noqa: F401 (fixtures)
from tests.unit.helpers import POLICY

REACHED, MISSED = "ops@client.example", "quality@client.example"


def archived_report(engine, contract, kind: str = "weekly") -> ArchivedReport:
    """Build a report from the database as the report activity does, and archive it."""
    due = datetime(2026, 11, 27, 16, 30, tzinfo=ZoneInfo(contract.policy.timezone))
    period = period_of(kind, due, ZoneInfo(contract.policy.timezone))  # type: ignore[arg-type]
    report = build_report(engine, contract, period)
    figures = report.model_dump(mode="json")
    csv_text, pdf = as_csv(report), as_pdf(report, charts(report))
    return SentReports(engine).archive(
        ArchivedReport(
            # A key of its own: the session's database is shared by every e2e test.
            key=f"report:{contract.id}:{kind}:{period.label}-{uuid.uuid4().hex[:8]}",
            contract=contract.id,
            kind=kind,
            period=period.label,
            period_start=period.start,
            period_end=period.end,
            recipients=[REACHED, MISSED],
            built_at=due,
            content_hash=content_hash(figures, csv_text, pdf),
            figures=figures,
            csv=csv_text,
            pdf=pdf,
        )
    )


def partly_delivered(engine, report: ArchivedReport) -> None:
    at = datetime(2026, 11, 27, 8, 31, tzinfo=UTC)
    ReportDeliveries(engine).record(
        [
            Delivery(report.key, "run-1", REACHED, True, at),
            Delivery(report.key, "run-1", MISSED, False, at, "SMTP 550 (recipient refused)"),
        ]
    )


async def test_the_page_lists_a_sent_report_and_its_links_download_it_as_sent(
    anonymous_page,  # noqa: F811
    stack: Stack,
    tmp_path: Path,
):
    from playwright.async_api import expect

    engine = stack.store.engine
    report = archived_report(engine, ContractBook.serving(POLICY).default)
    partly_delivered(engine, report)
    page = anonymous_page
    await sign_in(page, stack.keys["supervisor"])

    await page.goto("/reports")
    await page.click("#sent-reports-link")

    row = page.locator(f'tr.sent-report[data-key="{report.key}"]')
    await expect(row.locator(".period")).to_have_text(report.period)
    await expect(row.locator(".sent-at")).to_contain_text("not delivered to all")
    await expect(row.locator(f'li[data-recipient="{REACHED}"]')).to_contain_text("delivered")
    missed = row.locator(f'li[data-recipient="{MISSED}"]')
    await expect(missed).to_contain_text("not delivered")
    await expect(missed).to_contain_text("SMTP 550")
    shown_hash = (await row.locator(".content-hash").text_content() or "").strip()
    assert shown_hash == report.content_hash
    files = {}
    for form in ("pdf", "csv", "json"):
        async with page.expect_download() as downloading:
            await row.locator(f"a.file.{form}").click()
        download = await downloading.value
        target = tmp_path / download.suggested_filename
        await download.save_as(target)
        files[form] = target.read_bytes()

    assert download.suggested_filename == f"default-weekly-{report.period}.json"
    assert hashlib.sha256(files["pdf"]).digest() == hashlib.sha256(report.pdf).digest()
    assert files["pdf"].startswith(b"%PDF")
    recomputed = content_hash(json.loads(files["json"]), files["csv"].decode("utf-8"), files["pdf"])
    assert recomputed == shown_hash


async def test_the_json_list_stays_with_each_recipients_outcome_and_secure_headers(stack: Stack):
    engine = stack.store.engine
    report = archived_report(engine, ContractBook.serving(POLICY).default, "monthly")
    partly_delivered(engine, report)

    listed = (await stack.http.get("/reports/sent")).json()
    html = await stack.http.get("/reports/sent", headers={"Accept": "text/html"})

    [mine] = [r for r in listed if r["key"] == report.key]
    assert [(d["recipient"], d["delivered"]) for d in mine["deliveries"]] == [
        (REACHED, True),
        (MISSED, False),
    ]
    assert mine["files"]["pdf"] == f"/reports/sent/{report.id}.pdf"
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert report.key in html.text
    assert "frame-ancestors 'none'" in html.headers["content-security-policy"]
    assert html.headers["cache-control"] == "no-store"


async def test_a_key_sees_the_sent_reports_of_its_own_contracts_only(contracts_stack: Stack):
    engine = contracts_stack.store.engine
    report = archived_report(engine, load_contracts(EXAMPLE_CONTRACTS).of("globex"))
    acme = bearer(contracts_stack.keys["supervisor.acme"])
    globex = bearer(contracts_stack.keys["supervisor.globex"])
    http = contracts_stack.http

    acme_list = (await http.get("/reports/sent", headers=acme)).json()
    globex_list = (await http.get("/reports/sent", headers=globex)).json()
    acme_pdf = await http.get(f"/reports/sent/{report.id}.pdf", headers=acme)
    acme_named = await http.get("/reports/sent", params={"contract": "globex"}, headers=acme)

    assert report.key not in {r["key"] for r in acme_list}
    assert report.key in {r["key"] for r in globex_list}
    unknown = await http.get("/reports/sent", params={"contract": "nope"}, headers=globex)
    assert acme_pdf.status_code == 404 and acme_named.status_code == 404
    # Another's contract and one that does not exist: word for word the same answer.
    assert acme_named.json()["detail"] == [
        {"field": "contract", "rule": "not_found", "message": "contract: no contract 'globex'"}
    ]
    assert unknown.status_code == 404 and unknown.json()["detail"][0]["rule"] == "not_found"
    assert (await http.get(f"/reports/sent/{report.id}.pdf", headers=globex)).content == report.pdf
