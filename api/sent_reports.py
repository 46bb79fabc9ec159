"""The archive of sent contract reports over HTTP (supervisor or admin): the list, and each
report as it was sent (its PDF, CSV or figures as JSON), whatever the live figures say now."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from api.auth import Supervisor
from api.errors import error_response
from store.sent_reports import SentReports

# Ids are database integers: a larger number names no report (and SQLite cannot even bind it).
ReportId = Annotated[int, Path(ge=1, le=2**62)]
_TYPES = {"pdf": "application/pdf", "csv": "text/csv; charset=utf-8"}


def sent_report_routes(engine: Engine) -> APIRouter:
    router = APIRouter(tags=["reports"])
    archive = SentReports(engine)

    @router.get("/reports/sent")
    async def sent_reports(_who: Supervisor, contract: str | None = None) -> JSONResponse:
        """Every contract report sent, newest first (without the documents): contract, kind,
        period, recipients, when built and sent (null: not delivered), content hash."""
        rows = await run_in_threadpool(archive.listed, contract)
        body = [
            {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in row.items()}
            | {"files": {f: f"/reports/sent/{row['id']}.{f}" for f in ("pdf", "csv", "json")}}
            for row in rows
        ]
        return JSONResponse(body)

    @router.get("/reports/sent/{report_id}.{form}")
    async def sent_report(
        _who: Supervisor, report_id: ReportId, form: Literal["pdf", "csv", "json"]
    ) -> Response:
        """One sent report as it was sent: its PDF, its CSV, or its figures as JSON."""
        report = await run_in_threadpool(archive.by_id, report_id)
        if report is None:
            return error_response(404, f"report_id: no sent report has the id {report_id}")
        if form == "json":
            return JSONResponse(report.figures, headers={"X-Content-Hash": report.content_hash})
        content = report.pdf if form == "pdf" else report.csv
        name = f"{report.contract}-{report.kind}-{report.period}.{form}"
        return Response(
            content,
            media_type=_TYPES[form],
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "X-Content-Hash": report.content_hash,
            },
        )

    return router
