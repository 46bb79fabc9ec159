"""Supervisor analytics over HTTP: the SLA report (JSON or CSV), the deadline ledger, and the
/reports page with its charts. All read the report read models, never Temporal; all need the
supervisor role (or admin).

Each answers for the contracts the key serves (reports.query.coverage): `contract=<id>` narrows
to one; a contract the key does not serve is a 404, the same as one that does not exist."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError
from starlette.concurrency import run_in_threadpool

from api.auth import Supervisor
from api.errors import error_response
from api.keys import Principal
from api.rendering import TEMPLATES
from reports import charts
from reports.export import as_csv, as_json, contract_label, duration_text, target_text, zone_text
from reports.metrics import GroupBy, SlaReport
from reports.periods import Period, day_bounds
from reports.qa import QaScores, qa_beside
from reports.query import MAX_RANGE, ContractNotFound, coverage, periods_zone, report
from store.qa_reviews import QaFacts
from store.report_model import ReportFacts

if TYPE_CHECKING:
    from engine.contracts import ContractBook


def _iso_day(value: object) -> object:
    # Without this, pydantic also reads a number as a Unix time ("0" is 1970-01-01).
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("must be a day written YYYY-MM-DD")
    return value


# Days the calendar arithmetic can reach: a default range counts back weeks from `to`, a
# period ends a day after it, and both go through time zones (make fuzz found ?to=0001-01-01
# answered 500: the range before it fell off the calendar).
EARLIEST_DAY, LATEST_DAY = date(1970, 1, 1), date(9998, 12, 31)


def _reachable(value: date) -> date:
    if not EARLIEST_DAY <= value <= LATEST_DAY:
        raise PydanticCustomError(
            "out_of_range", f"must be a day from {EARLIEST_DAY} to {LATEST_DAY}"
        )
    return value


Day = Annotated[date, BeforeValidator(_iso_day), AfterValidator(_reachable)]
From = Annotated[
    Day | None,
    Query(alias="from", description="first local day (default: 8 weeks or 6 months back)"),
]
To = Annotated[Day | None, Query(description="last local day, inclusive (default: today)")]
PeriodQuery = Annotated[Period, Query()]
GroupQuery = Annotated[GroupBy, Query()]
FormatQuery = Annotated[Literal["json", "csv"], Query()]
ContractQuery = Annotated[
    str | None,
    Query(
        max_length=100,
        description="one contract's complaints, in its time zone, with its targets "
        "(default: every contract the key serves)",
    ),
]


def report_routes(facts: ReportFacts, book: ContractBook, qa: QaFacts) -> APIRouter:
    router = APIRouter(tags=["reports"])

    async def spot_checks(got: SlaReport) -> QaScores:
        """The QA scores of the report's complaints, beside its SLA figures (reports.qa)."""
        return await run_in_threadpool(qa_beside, qa, got)

    async def build(
        who: Principal,
        contract: str | None,
        period: str,
        group_by: str,
        first: date | None,
        last: date | None,
    ) -> SlaReport:
        return await run_in_threadpool(
            report,
            facts,
            book,
            contract=contract,
            serves=who.contracts,
            period=period,
            group_by=group_by,
            first_day=first,
            last_day=last,
            now=datetime.now(UTC),
        )

    @router.get("/api/reports/sla")
    async def sla_report(
        who: Supervisor,
        first_day: From = None,
        to: To = None,
        period: PeriodQuery = "week",
        group_by: GroupQuery = "team",
        contract: ContractQuery = None,
        format: FormatQuery = "json",
    ) -> Response:
        """SLA figures per week or month for the complaints received from `from` to `to`,
        grouped by team, tier, category, channel or contract (`all` for one group), with the
        teams flagged for review and, for rows of one contract, its quality targets met or
        missed. `format=csv` gives one line per period and group."""
        try:
            got = await build(who, contract, period, group_by, first_day, to)
        except ContractNotFound as error:
            return no_contract(error)
        except ValueError as error:
            return _refused(error)
        if format == "csv":
            whose = f"{got.contract}-" if contract else ""  # ids are file-name safe
            name = f"sla-{whose}{got.period}-{got.group_by}-{got.first_day}-{got.last_day}.csv"
            return Response(
                as_csv(got),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="{name}"'},
            )
        scores = await spot_checks(got)
        return JSONResponse(as_json(got) | {"qa": scores.model_dump(mode="json")})

    @router.get("/api/reports/deadlines")
    async def deadline_ledger(
        who: Supervisor,
        first_day: From = None,
        to: To = None,
        breached: Annotated[bool | None, Query()] = None,
        contract: ContractQuery = None,
    ) -> Response:
        """Every deadline due from `from` to `to` (default: the last 7 days): when it was due,
        warned, met, breached, and how late it was met (or is, if still unmet)."""
        try:
            scope = coverage(book, contract=contract, serves=who.contracts)
        except ContractNotFound as error:
            return no_contract(error)
        zone = periods_zone(book, scope)
        today = datetime.now(zone).date()
        last = to or today
        first = first_day or last - timedelta(days=6)
        if last - first > MAX_RANGE:
            return _refused(ValueError(f"to: at most {MAX_RANGE.days} days after from"))
        try:
            start, end = day_bounds(first, last, zone)
        except ValueError as error:
            return _refused(error)
        entries = await run_in_threadpool(facts.ledger_due_between, start, end, scope.only)
        now = datetime.now(zone)
        rows = [
            {
                "complaint_id": e.complaint_id,
                "contract": e.contract,
                "round": e.round,
                "kind": e.kind,
                "due_at": e.due_at.isoformat(),
                "warned_at": e.warned_at and e.warned_at.isoformat(),
                "met_at": e.met_at and e.met_at.isoformat(),
                "breached_at": e.breached_at and e.breached_at.isoformat(),
                "late_seconds": _late(e.due_at, e.met_at, e.breached_at, now),
            }
            for e in entries
            if breached is None or (e.breached_at is not None) == breached
        ]
        return JSONResponse(
            {"from": first.isoformat(), "to": last.isoformat(), "timezone": zone.key, "items": rows}
        )

    @router.get("/reports", include_in_schema=False, response_class=HTMLResponse)
    async def reports_page(
        request: Request,
        who: Supervisor,
        first_day: From = None,
        to: To = None,
        period: PeriodQuery = "week",
        group_by: GroupQuery = "team",
        contract: ContractQuery = None,
    ) -> Response:
        status, problem = 200, ""
        scores = None
        try:
            got = await build(who, contract, period, group_by, first_day, to)
            trend = await build(who, contract, period, "all", got.first_day, got.last_day)
            scores = await spot_checks(got)
        except ContractNotFound as error:
            got, trend, status, problem = None, None, 404, str(error)
        except ValueError as error:
            got, trend, status, problem = None, None, 422, str(error)
        served = [c for c in book if who.serves(c.id)]
        return TEMPLATES.TemplateResponse(
            request,
            "reports.html",
            _page_context(got, trend, problem, period, group_by)
            | {
                "user": getattr(request.state, "principal", None),
                "contract": contract or "",
                "contracts": served if len(served) > 1 else [],
                "qa": scores,
            },
            status_code=status,
        )

    return router


def _page_context(
    got: SlaReport | None, trend: SlaReport | None, problem: str, period: str, group_by: str
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "report": got,
        "problem": problem,
        "period": period,
        "group_by": group_by,
        "duration": duration_text,
        "contract_label": contract_label,
        "target_text": target_text,
        "zone_text": zone_text,
    }
    if got is not None and trend is not None:
        context |= {
            "breach_chart": charts.breach_trend(trend.rows),
            "response_chart": charts.response_times(trend.rows),
            "csat_chart": charts.satisfaction(trend.rows),
        }
    return context


def _late(due: datetime, met: datetime | None, breached: datetime | None, now: datetime):
    """Seconds past due: when met late, how late; when breached and still unmet, how late so
    far; None when in time or not due yet."""
    if breached is None:
        return None
    return ((met or now) - due).total_seconds()


def no_contract(error: ContractNotFound) -> JSONResponse:
    return error_response(
        404, str(error), [{"field": "contract", "rule": "not_found", "message": str(error)}]
    )


def _refused(error: ValueError) -> JSONResponse:
    field = str(error).partition(":")[0]  # the report's errors begin with the field
    detail = [{"field": field, "rule": "invalid", "message": str(error)}]
    return error_response(422, "invalid request", detail)
