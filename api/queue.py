"""The agent's queue (/queue): the complaints the key's holder holds, by next deadline with the
live countdown, and their team's open complaints held by others, each of which they can take
(a reassignment to themselves, recorded as theirs). Supervisors keep the dashboard."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.auth import Staff
from api.keys import Principal
from api.page_parts import VALID_ID, action_of
from api.web_security import forbidden, same_origin
from domain.access import Forbidden
from engine.service import ActionRefused, ComplaintNotFound, ComplaintService
from store.complaint_list import ComplaintList

QUEUE_LIMIT = 100  # rows per part; GET /api/complaints?assignee=me pages through all


def queue_routes(
    service: ComplaintService, complaint_list: ComplaintList, render: Callable[..., Response]
) -> APIRouter:
    router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

    async def queue_page(
        request: Request, who: Principal, *, error: str = "", status: int = 200
    ) -> Response:
        # Scoped as the list is: the key's contracts; an agent's own team (the rule
        # domain.access holds reads to); open ones only, the next deadline first.
        scope = {"contracts": who.contracts, "open_only": True, "limit": QUEUE_LIMIT}
        team = who.team or None  # a supervisor without a team: every team's

        def read():
            mine = complaint_list.page(assignee=who.name, team=team, **scope).items
            if team is None:  # no team of one's own to take from
                return mine, []
            return mine, complaint_list.page(not_assignee=who.name, team=team, **scope).items

        mine, others = await run_in_threadpool(read)
        return render(
            request,
            "queue.html",
            status,
            mine=mine,
            team=others,
            error=error,
            several_contracts=len(service.contracts.contracts) > 1,
        )

    @router.get("/queue")
    async def queue(request: Request, who: Staff) -> Response:
        return await queue_page(request, who)

    @router.post("/queue/take/{complaint_id}")
    async def take(request: Request, complaint_id: str, who: Staff) -> Response:
        """Reassign the complaint to the key's holder, in its current team; the workflow's
        validator checks they may (their team's, their contract's) on the state it meets."""
        if not same_origin(request):
            return forbidden()
        if not VALID_ID.match(complaint_id):
            return await queue_page(request, who, error="no such complaint", status=404)
        action = action_of("reassign", {"assignee": who.name}, who.author)
        try:
            await service.act(complaint_id, action, who.author)
        except ComplaintNotFound:
            return await queue_page(request, who, error="no such complaint", status=404)
        except (ActionRefused, Forbidden) as refused:
            status = 403 if isinstance(refused, Forbidden) else 409
            return await queue_page(request, who, error=str(refused), status=status)
        return RedirectResponse("/queue", status_code=303)

    return router
