"""The archive of sent contract reports over HTTP (supervisor or admin): the list, and each
report as it was sent (its PDF, CSV or figures as JSON), whatever the live figures say now.

/reports/sent answers a browser (Accept: text/html) with the page supervisors read, and anyone
else with the JSON it always gave: one address, one list. Each report shows what became of it for
each recipient (store.report_deliveries). A key sees the reports of the contracts it serves; any
other is not found, the same answer as one that does not exist (as the other report routes)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from api.auth import Supervisor
from api.errors import error_response
from api.keys import Principal
from api.rendering import TEMPLATES
from api.reports import no_contract
from reports.query import ContractNotFound, coverage
from store.report_deliveries import ReportDeliveries, outcomes
from store.sent_reports import SentReports

if TYPE_CHECKING:
    from engine.contracts import ContractBook

# Ids are database integers: a larger number names no report (and SQLite cannot even bind it).
ReportId = Annotated[int, Path(ge=1, le=2**62)]
ContractQuery = Annotated[str | None, Query(max_length=100, description="one contract's only")]
_TYPES = {"pdf": "application/pdf", "csv": "text/csv; charset=utf-8"}
FORMS = ("pdf", "csv", "json")


def wants_html(request: Request) -> bool:
    """A browser asks for HTML first; API clients ask for JSON or anything (*/*)."""
    return "text/html" in request.headers.get("accept", "")


def sent_report_routes(engine: Engine, book: ContractBook) -> APIRouter:
    router = APIRouter(tags=["reports"])
    archive = SentReports(engine)
    deliveries = ReportDeliveries(engine)

    def listed(who: Principal, contract: str | None) -> list[dict[str, Any]]:
        rows = [r for r in archive.listed(contract) if who.serves(r["contract"])]
        found = deliveries.of([r["key"] for r in rows])
        return [
            r
            | {
                "files": {f: f"/reports/sent/{r['id']}.{f}" for f in FORMS},
                "deliveries": [vars(d) for d in found[r["key"]]],
                "outcomes": outcomes(found[r["key"]]),
            }
            for r in rows
        ]

    @router.get("/reports/sent")
    async def sent_reports(
        request: Request, who: Supervisor, contract: ContractQuery = None
    ) -> Response:
        """Every contract report sent, newest first (without the documents): contract, kind,
        period, recipients, when built and sent (null: not delivered to all), content hash, and
        each delivery to each recipient (delivered or not, why not, who asked for a resend)."""
        try:  # the reports' one rule: an unknown contract and another's answer alike
            coverage(book, contract=contract, serves=who.contracts)
        except ContractNotFound as error:
            return no_contract(error)
        rows = await run_in_threadpool(listed, who, contract)
        if wants_html(request):
            return TEMPLATES.TemplateResponse(
                request,
                "sent_reports.html",
                {"user": who, "reports": rows, "contract": contract or ""},
            )
        return JSONResponse([_json(row) for row in rows])

    @router.get("/reports/sent/{report_id}.{form}")
    async def sent_report(
        who: Supervisor, report_id: ReportId, form: Literal["pdf", "csv", "json"]
    ) -> Response:
        """One sent report as it was sent: its PDF, its CSV, or its figures as JSON."""
        report = await run_in_threadpool(archive.by_id, report_id)
        if report is None or not who.serves(report.contract):
            return error_response(404, f"report_id: no sent report has the id {report_id}")
        name = f"{report.contract}-{report.kind}-{report.period}.{form}"
        headers = {
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Content-Hash": report.content_hash,
        }
        if form == "json":
            return JSONResponse(report.figures, headers=headers)
        content = report.pdf if form == "pdf" else report.csv
        return Response(content, media_type=_TYPES[form], headers=headers)

    return router


def _json(row: dict[str, Any]) -> dict[str, Any]:
    row = {k: v for k, v in row.items() if k != "outcomes"}
    row["deliveries"] = [_plain(d) for d in row["deliveries"]]
    return _plain(row)


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in values.items()}
