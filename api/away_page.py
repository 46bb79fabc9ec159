"""The away page (/away): who is away from new assignments, for supervisors, with a form to mark
a team member away and a button to withdraw a mark; each recorded as the signed-in key's holder
(engine.presence, the API's own rules)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.auth import require
from api.keys import Principal, Role
from api.web_security import forbidden, same_origin
from domain.presence import BadPeriod
from engine.presence import AwayPeriods
from engine.service import ComplaintService

Marker = Annotated[Principal, Depends(require(Role.SUPERVISOR, to="marking people away"))]


def away_page_routes(service: ComplaintService, render: Callable[..., Response]) -> APIRouter:
    router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
    periods = AwayPeriods(service.store, service.contracts)

    def served(who: Principal) -> list[str]:
        return [c.id for c in service.contracts if who.serves(c.id)]

    async def away_page(request: Request, who: Principal, error: str = "", status: int = 200):
        contracts = served(who)
        rows = await run_in_threadpool(
            lambda: [(c, p) for c in contracts for p in periods.standing(c)]
        )
        people = sorted(
            {m for c in contracts for t in service.contracts.of(c).policy.teams.values()
             for m in t.members}
        )  # fmt: skip
        return render(
            request, "away.html", status, rows=rows, people=people, contracts=contracts,
            error=error,
        )  # fmt: skip

    @router.get("/away")
    async def away(request: Request, who: Marker) -> Response:
        return await away_page(request, who)

    @router.post("/away/{verb}")
    async def change(request: Request, verb: str, who: Marker) -> Response:
        if not same_origin(request):
            return forbidden()
        form = {k: str(v) for k, v in (await request.form()).items() if isinstance(v, str)}
        contract = form.get("contract", "")
        try:
            if contract not in served(who):
                raise BadPeriod("contract", "unknown_contract", f"{contract[:40]!r} is not served")
            start = _day(form, "from")
            if verb == "mark":
                end = _day(form, "until")
                args = (who.author, contract, form.get("person", ""), start, end)
                await run_in_threadpool(periods.mark, *args)
            elif verb == "withdraw":
                args = (who.author, contract, form.get("person", ""), start)
                await run_in_threadpool(periods.cancel, *args)
            else:
                return await away_page(request, who, f"unknown action {verb[:20]!r}", 404)
        except BadPeriod as bad:
            return await away_page(request, who, f"{bad} (rule {bad.rule})", 422)
        return RedirectResponse("/away", status_code=303)

    return router


def _day(form: dict[str, str], field: str) -> date:
    try:
        return date.fromisoformat(form.get(field, ""))
    except ValueError:
        raise BadPeriod(field, "date", "must be a date like 2026-12-04") from None
