"""The complaint endpoints. Bodies are validated by the domain's own rules before anything
reaches the engine, so a rejected request writes nothing."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from api.auth import (
    Denied,
    Reader,
    Staff,
    Submitter,
    complaint_for,
    holder_if_any,
    intake_contract,
    permits,
)
from api.errors import error_response
from api.health import ReadyCheck
from api.keys import Principal, Role
from api.schemas import ACTIONS, ComplaintView, ErrorBody, EventView, event_view, view_of
from domain import commands as c
from domain.vocabulary import Status
from engine.service import ComplaintNotFound, ComplaintService, api_scope
from store.complaint_list import MAX_LIMIT, ComplaintList

# A name in a filter: no control character is part of one (issue 14: the schema fuzz sent
# ?team=<control characters> and had 200, an empty list; the rule says 422 now).
ONE_LINE = r"^[^\x00-\x1f\x7f]*$"
ComplaintId = Annotated[str, Path(min_length=1, max_length=100, description="C-...")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description=(
            "The same key and body again answer with the complaint they first made; the same "
            "key with another body is refused (409). Keys are per API key."
        ),
    ),
]

# Every error answer is an ErrorBody (api/errors.py): documented so, so clients (and the fuzz
# test) can rely on the shape.
ERROR_RESPONSES = {
    code: {"model": ErrorBody}
    for code in (
        status.HTTP_400_BAD_REQUEST,
        status.HTTP_401_UNAUTHORIZED,
        status.HTTP_403_FORBIDDEN,
        status.HTTP_404_NOT_FOUND,
        status.HTTP_413_CONTENT_TOO_LARGE,
        status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        status.HTTP_422_UNPROCESSABLE_CONTENT,
    )
}


def complaint_routes(service: ComplaintService) -> APIRouter:
    router = APIRouter(
        prefix="/api/complaints",
        tags=["complaints"],
        responses=ERROR_RESPONSES,
        dependencies=[Depends(plain_query)],
    )

    @router.post(
        "",
        status_code=201,
        response_model=ComplaintView,
        responses={
            200: {"model": ComplaintView, "description": "made before with this key"},
            202: {
                "model": ComplaintView,
                "description": "accepted (its id is final) but not yet registered: the server "
                "is loaded; read it again shortly",
            },
            409: {"model": ErrorBody, "description": "this key was used for another body"},
        },
    )
    async def submit_complaint(
        submission: c.Submission,
        response: Response,
        who: Submitter,
        idempotency_key: IdempotencyKey = None,
    ) -> ComplaintView:
        """Register a complaint: 201 when made now, 200 when this key had already made it, 202
        when accepted but not yet registered (a loaded server: the id is final, and the complaint
        will be registered; a retry under the same key finds it), 409
        when this key made one from a different body. A key (or `external_ref`) belongs to the
        API key that sent it: another API key's same key makes its own complaint. Any role may
        submit. A key scoped to one contract submits to it when `contract` is left out; one
        scoped to several must name one (422); naming a contract the key does not serve is 403.
        A provider-level key naming none submits to the deployment's default contract."""
        contract = intake_contract(who, submission.contract)
        if contract != submission.contract:
            submission = submission.model_copy(update={"contract": contract})
        intake = await service.submit(
            submission, idempotency_key=idempotency_key or None, scope=api_scope(who.key_id)
        )
        if not intake.registered:
            response.status_code = status.HTTP_202_ACCEPTED
        elif not intake.created:
            response.status_code = status.HTTP_200_OK
        return view_of(intake.state)

    @router.get("/{complaint_id}", response_model=ComplaintView)
    async def get_complaint(complaint_id: ComplaintId, who: Reader) -> ComplaintView:
        """An agent reads its team's complaints; a supervisor any (of its contracts); the
        client's auditor its contracts'."""
        state = await complaint_for(who, service, complaint_id)
        return view_of(state or await service.state(complaint_id))

    @router.get("/{complaint_id}/events", response_model=list[EventView])
    async def list_events(complaint_id: ComplaintId, who: Reader) -> list[EventView]:
        """The complaint's domain events in order, without the customer's personal data."""
        await complaint_for(who, service, complaint_id)
        records = await run_in_threadpool(service.events, complaint_id)
        if not records:
            raise ComplaintNotFound(complaint_id)
        return [event_view(r) for r in records]

    for name, (command, body_model) in ACTIONS.items():
        router.add_api_route(
            f"/{{complaint_id}}/actions/{name}",
            _action_endpoint(service, name, body_model),
            methods=["POST"],
            response_model=ComplaintView,
            name=f"act_{name.replace('-', '_')}",
            summary=f"{command.verb[:1].upper()}{command.verb[1:]}",
            responses={409: {"model": ErrorBody, "description": "the state forbids it"}},
            description=(body_model.__doc__ or "")
            + ("\n\nSupervisor or admin only." if name == "reclassify" else "")
            + "\n\nAn agent acts on its team's complaints only. The action is recorded as the "
            "key's holder's (name and key id); a body naming `by` is refused (422).",
        )

    @router.post("/{complaint_id}/actions/{action}", include_in_schema=False)
    async def unknown_action(complaint_id: ComplaintId, action: str, _who: Staff) -> JSONResponse:
        message = f"unknown action {action[:50]!r}; one of: {', '.join(ACTIONS)}"
        return error_response(
            404, message, [{"field": "action", "rule": "unknown", "message": message}]
        )

    return router


class ListedComplaintView(BaseModel):
    id: str
    contract: str
    status: str
    tier: int
    category: str
    team: str
    assignee: str
    channel: str
    subject: str
    breached: bool
    escalation_level: int
    next_due_at: datetime | None
    next_due_kind: str | None
    received_at: datetime
    updated_at: datetime
    # Since when the customer's own message waits for an answer; None: nothing waits.
    customer_waiting_since: datetime | None = None


class ComplaintListView(BaseModel):
    items: list[ListedComplaintView]
    next_cursor: str | None = None


async def plain_query(request: Request) -> None:
    """Each query parameter once, and only those the operation's schema names: a repeated one
    (?tier=1&tier=3) is not silently read as its last, and a misspelt filter (?teem=quality) is
    not silently dropped to answer for everything (the schema fuzz found ?=0 answered 200)."""
    query = request.query_params
    problems = [
        {"loc": ("query", k), "type": "repeated", "msg": "given more than once"}
        for k in sorted({k for k in query if len(query.getlist(k)) > 1})
    ]
    known = _query_names(request)
    if known is not None:
        problems += [
            {
                "loc": ("query", k or "(empty name)"),
                "type": "extra_forbidden",
                "msg": f"not a query parameter of this operation ({', '.join(sorted(known))})"
                if known
                else "this operation takes no query parameters",
            }
            for k in sorted(set(query) - known)
        ]
    if problems:
        raise RequestValidationError(problems)


def _query_names(request: Request) -> frozenset[str] | None:
    """The query parameters the OpenAPI schema names for this request's operation; None for a
    route outside the schema (a page), whose browsers may add their own."""
    path = getattr(request.scope.get("route"), "path_format", None)
    operation = request.app.openapi().get("paths", {}).get(path, {}).get(request.method.lower())
    if operation is None:
        return None
    return frozenset(p["name"] for p in operation.get("parameters", []) if p["in"] == "query")


def list_routes(complaint_list: ComplaintList) -> APIRouter:
    router = APIRouter(
        prefix="/api/complaints",
        tags=["complaints"],
        responses=ERROR_RESPONSES,
        dependencies=[Depends(plain_query)],
    )

    @router.get("", response_model=ComplaintListView)
    async def list_complaints(
        who: Staff,
        status: Annotated[Status | None, Query()] = None,
        tier: Annotated[int | None, Query(ge=1, le=3)] = None,
        breached: Annotated[bool | None, Query()] = None,
        team: Annotated[str | None, Query(min_length=1, max_length=100, pattern=ONE_LINE)] = None,
        assignee: Annotated[
            str | None,
            Query(
                min_length=1, max_length=200, pattern=ONE_LINE, description="`me`: the key's holder"
            ),
        ] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
        cursor: Annotated[
            str | None, Query(max_length=1000, description="next_cursor of the page before")
        ] = None,
    ):
        """Complaints by their next due deadline (none last), a page at a time. Read from the
        complaint list read model, so a change shows up once the projector has applied it.
        `assignee=me` lists the key holder's own (an agent's queue, within its team); any other
        listing is for a supervisor or admin. A key scoped to contracts lists only theirs."""
        mine = assignee in ("me", who.name)
        if not (mine or permits(who, Role.SUPERVISOR)):
            needs = "another's complaints need" if assignee else "the complaint list needs"
            raise Denied(
                403,
                f"{needs} role supervisor or admin; key {who.name!r} has role {who.role}"
                " (it lists its own: assignee=me)",
                "assignee" if assignee else "role",
                "role_forbidden",
            )
        if not permits(who, Role.SUPERVISOR):  # an agent reads its own team's complaints only
            if team not in (None, who.team):
                raise Denied(
                    403,
                    f"key {who.name!r} acts for team {who.team!r}, not {team!r}",
                    "team",
                    "team_forbidden",
                )
            team = who.team
        try:
            page = await run_in_threadpool(
                complaint_list.page,
                status=status.value if status else None,
                tier=tier,
                breached=breached,
                team=team,
                assignee=who.name if mine else assignee,
                contracts=who.contracts,
                limit=limit,
                cursor=cursor,
            )
        except ValueError as error:
            field = str(error).partition(":")[0]  # ComplaintList's errors begin with the field
            detail = [{"field": field, "rule": "invalid", "message": str(error)}]
            return error_response(422, "invalid request", detail)
        items = [
            ListedComplaintView(
                id=i.complaint_id, **{k: v for k, v in asdict(i).items() if k != "complaint_id"}
            )
            for i in page.items
        ]
        return ComplaintListView(items=items, next_cursor=page.next_cursor)

    return router


def _action_endpoint(service: ComplaintService, name: str, body_model: type[BaseModel]):
    async def act(complaint_id: ComplaintId, body: body_model, who: Staff) -> ComplaintView:  # type: ignore[valid-type]
        action = c.parse_action(name, body.model_dump(exclude_unset=True), who.author)
        # Who may act is checked by the workflow, on the state the action meets (domain.access).
        return view_of(await service.act(complaint_id, action, who.author))

    # Real types, not the strings `from __future__ import annotations` leaves: FastAPI reads them.
    act.__annotations__ = {
        "complaint_id": ComplaintId,
        "body": body_model,
        "who": Staff,
        "return": ComplaintView,
    }
    act.__name__ = f"act_{name.replace('-', '_')}"
    act.__doc__ = body_model.__doc__
    return act


def health_routes(ready_check: ReadyCheck) -> APIRouter:
    router = APIRouter(tags=["health"], dependencies=[Depends(plain_query)])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        """200 while the process is up."""
        return {"status": "ok"}

    @router.get("/readyz", responses={503: {"model": ErrorBody}})
    async def readyz(who: Annotated[Principal | None, Depends(holder_if_any)]):
        """200 when Temporal and the database both answer, else 503. Only an admin's key is
        told which is down and why: the problems name hosts, ports and files."""
        problems = await ready_check()
        if who is None or not permits(who):
            return error_response(503, "not ready") if problems else {"status": "ready"}
        if problems:
            detail = [
                {"field": k, "rule": "unavailable", "message": v} for k, v in problems.items()
            ]
            return error_response(503, f"not ready: {', '.join(problems)} down", detail)
        return {"status": "ready", "temporal": "ok", "database": "ok"}

    return router
