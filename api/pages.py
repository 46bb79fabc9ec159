"""Server-rendered pages: the customers' intake form (`/` for the default contract,
`/c/<contract id>/complaint` for each contract), an agent's complaint page and the supervisor's
dashboard. Labels are bilingual (English / 中文), or one language with ?lang=en|zh.

The customer's personal data appears only on the complaint page (agents need it); it is read
from the ComplaintRegistered event's personal part and never logged. The form and its
confirmation are public (the customer's own page is api.customer_pages); the others need a key
(api/auth.py says whose).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.auth import Staff, complaint_for, require
from api.away_page import away_page_routes
from api.customer_pages import PRIVATE
from api.keys import Principal, Role
from api.page_parts import (
    VALID_ID,
    VALID_TOKEN,
    action_forms,
    action_of,
    due_iso,
    error_line,
    event_actor,
    event_text,
    field_messages,
    labels_for,
    lang_of,
    local_time,
)
from api.queue import queue_routes
from api.rate_limit import RateLimiter
from api.rendering import TEMPLATES
from api.schemas import ACTIONS, view_of
from api.web_security import forbidden, same_origin
from domain import commands as c
from domain.contracts import Contract, UnknownContract
from domain.vocabulary import Channel, Status
from engine.service import (
    WEB_FORM_SCOPE,
    ActionRefused,
    ComplaintNotFound,
    ComplaintService,
    IdempotencyConflict,
)
from security.customer_links import CustomerLinks
from store import ComplaintList
from store.access_log import ATTACHMENT_DOWNLOAD, COMPLAINT_PAGE, AccessLog

MAX_NAMED = 100  # characters of an unknown contract's id the 404 page repeats


def form_path(contract_id: str) -> str:
    """The address of a contract's intake form."""
    return f"/c/{contract_id}/complaint"


def page_routes(
    service: ComplaintService,
    complaint_list: ComplaintList,
    links: CustomerLinks | None,
    limiter: RateLimiter,
    access_log: AccessLog,
) -> APIRouter:
    """The pages. `complaint_list` feeds the dashboard (the worker's projector keeps it);
    `links` makes the private link the confirmation shows; `limiter` counts the form's posts;
    `access_log` records each view of a customer's data (the complaint page, a download)."""
    router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

    def zone_of(contract_id: str | None) -> ZoneInfo:
        return ZoneInfo(service.contracts.of(contract_id).policy.timezone)

    def render(
        request: Request,
        name: str,
        status_code: int = 200,
        headers=None,
        *,
        contract: str | None = None,
        **context: Any,
    ) -> Response:
        # Times: ISO in UTC for machines (attributes, the countdown), local time for people: the
        # time zone of the complaint's contract (`contract`, or a row's own in a list), else the
        # default contract's.
        context |= {
            "due_iso": due_iso,
            "local_time": lambda moment, of=contract: local_time(moment, zone_of(of)),
            "contract_name": lambda of: service.contracts.of(of).name,
        }
        context.setdefault("user", getattr(request.state, "principal", None))
        return TEMPLATES.TemplateResponse(
            request, name, context, status_code=status_code, headers=headers
        )

    def now() -> datetime:
        return datetime.now(UTC)

    router.include_router(queue_routes(service, complaint_list, render))
    router.include_router(away_page_routes(service, render))

    def intake(
        request: Request,
        contract: Contract,
        lang: str,
        values: dict[str, Any],
        errors: dict,
        status=200,
    ):
        return render(
            request,
            "intake.html",
            status_code=status,
            contract=contract.id,
            here=request.url.path,  # "/" or the contract's own address: posts come back here
            contract_title=contract.name if len(service.contracts.contracts) > 1 else "",
            lang=lang,
            t=labels_for(lang),
            values=values,
            errors=errors,
            channels=[ch.value for ch in Channel],
        )

    def no_form(request: Request, refused: UnknownContract) -> Response:
        context = {"contract_id": refused.contract_id, "retired": refused.retired}
        return render(request, "no_contract.html", 404, **context)

    async def show_form(request: Request, contract_id: str | None, lang: str | None) -> Response:
        try:
            contract = service.contracts.for_intake(contract_id)
        except UnknownContract as refused:
            return no_form(request, refused)
        values = {"channel": Channel.WEB.value, "token": secrets.token_urlsafe(24)}
        return intake(request, contract, lang_of(lang), values, {})

    @router.get("/")
    async def intake_form(request: Request, lang: str | None = None) -> Response:
        return await show_form(request, None, lang)

    @router.get(form_path("{contract_id}"))
    async def contract_form(request: Request, contract_id: str, lang: str | None = None):
        return await show_form(request, contract_id[:MAX_NAMED], lang)

    @router.post("/")
    async def intake_post(request: Request) -> Response:
        return await take_form(request, None)

    @router.post(form_path("{contract_id}"))
    async def contract_post(request: Request, contract_id: str) -> Response:
        return await take_form(request, contract_id[:MAX_NAMED])

    async def take_form(request: Request, contract_id: str | None) -> Response:
        if not same_origin(request):
            return forbidden()
        if not limiter.allow(request):
            return limiter.refused()
        try:
            contract = service.contracts.for_intake(contract_id)
        except UnknownContract as refused:
            return no_form(request, refused)
        form = await request.form()
        values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
        lang = lang_of(values.get("lang"))
        token = values.get("token", "")
        if not VALID_TOKEN.match(token):
            token = values["token"] = secrets.token_urlsafe(24)
        customer = {"name": values.get("name", ""), "locale": lang or "en"}
        for optional in ("email", "phone"):
            if values.get(optional, "").strip():
                customer[optional] = values[optional].strip()
        body = {
            "channel": values.get("channel", Channel.WEB.value),
            "subject": values.get("subject", ""),
            "description": values.get("description", ""),
            "urgent": values.get("urgent") == "on",
            "customer": customer,
            "contract": contract.id,  # the form's address names it, never a form field
        }
        try:
            submission = c.Submission.model_validate(body)
        except ValidationError as error:
            errors = field_messages(error, labels_for(lang))
            return intake(request, contract, lang, values, errors, 422)
        try:
            made = await service.submit(submission, idempotency_key=token, scope=WEB_FORM_SCOPE)
        except IdempotencyConflict:
            # This form was sent before with other content (edited after going back): a fresh
            # token, so sending it again makes a complaint of what it says now.
            values["token"] = secrets.token_urlsafe(24)
            errors = {"form": labels_for(lang)["form_changed"]}
            return intake(request, contract, lang, values, errors, 409)
        cid, suffix = made.state.complaint_id, f"?lang={lang}" if lang else ""
        return RedirectResponse(f"/submitted/{cid}{await token_part(cid)}{suffix}", 303)

    async def token_part(complaint_id: str) -> str:
        """The customer has just submitted: the confirmation shows them their private link."""
        if links is None:
            return ""
        try:
            return "/" + await run_in_threadpool(links.token_for, complaint_id, now())
        except LookupError:  # a resubmission by a customer erased since: the reference alone
            return ""

    @router.get("/submitted/{complaint_id}")
    @router.get("/submitted/{complaint_id}/{token}")
    async def submitted(request: Request, complaint_id: str, token: str = "", lang: str = ""):
        lang = lang_of(lang)
        if not VALID_ID.match(complaint_id):
            return render(request, "not_found.html", 404, complaint_id=complaint_id)
        valid = links is not None and bool(token) and len(token) <= 100
        if valid:
            valid = await run_in_threadpool(links.verify, complaint_id, token, now())
        return render(
            request,
            "submitted.html",
            headers=PRIVATE,
            lang=lang,
            t=labels_for(lang),
            complaint_id=complaint_id,
            link=links.url_of(complaint_id, token) if valid else "",
        )

    async def complaint_page(
        request: Request, complaint_id: str, who: Principal, *, error: str = "", status: int = 200
    ) -> Response:
        if not VALID_ID.match(complaint_id):
            return render(request, "not_found.html", 404, complaint_id=complaint_id)
        try:
            state = await complaint_for(who, service, complaint_id) or await service.state(
                complaint_id
            )
        except ComplaintNotFound:
            return render(request, "not_found.html", 404, complaint_id=complaint_id)
        records = await run_in_threadpool(service.events, complaint_id)
        customer: dict[str, Any] = {}
        subject = description = ""
        for r in records:
            if r.type == "ComplaintRegistered":
                customer = r.personal or {}
                subject, description = r.data.get("subject", ""), r.data.get("description", "")
        files = await service.attachments_of(complaint_id)
        closure = await run_in_threadpool(service.store.closure, complaint_id)
        await run_in_threadpool(
            access_log.record,
            complaint_id,
            key_id=who.key_id,
            viewer=who.name,
            surface=COMPLAINT_PAGE,
        )
        timeline = [
            {
                "version": r.version,
                "at": r.occurred_at,
                "type": r.type,
                "who": event_actor(r.data),
                "text": event_text(r.data),
            }
            for r in records
        ]
        return render(
            request,
            "complaint.html",
            status,
            contract=state.contract,
            view=view_of(state),
            customer=customer,
            subject=subject,
            description=description,
            timeline=timeline,
            files=files,
            closure=closure,
            forms=action_forms(tuple(service.policy_of(state).categories)),
            error=error,
        )

    @router.get("/complaints/{complaint_id}")
    async def complaint(request: Request, complaint_id: str, who: Staff) -> Response:
        return await complaint_page(request, complaint_id, who)

    @router.get("/complaints/{complaint_id}/attachments/{sha256}")
    async def attachment(request: Request, complaint_id: str, sha256: str, who: Staff):
        """An attachment, for staff who may see the complaint: always a download, of the type
        its content showed at upload, never sniffed into something a browser would run."""
        if not VALID_ID.match(complaint_id):
            return render(request, "not_found.html", 404, complaint_id=complaint_id)
        try:
            await complaint_for(who, service, complaint_id)
        except ComplaintNotFound:
            return render(request, "not_found.html", 404, complaint_id=complaint_id)
        found = await service.attachment(complaint_id, sha256)
        if found is None:
            return render(request, "not_found.html", 404, complaint_id=complaint_id)
        await run_in_threadpool(
            access_log.record,
            complaint_id,
            key_id=who.key_id,
            viewer=who.name,
            surface=ATTACHMENT_DOWNLOAD,
        )
        return Response(found.content, media_type=found.info.content_type, headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(found.info.filename)}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "no-store",
        })  # fmt: skip

    @router.post("/complaints/{complaint_id}/act/{action}")
    async def act(request: Request, complaint_id: str, action: str, who: Staff) -> Response:
        if not same_origin(request):
            return forbidden()
        if action not in ACTIONS:
            return await complaint_page(
                request, complaint_id, who, error=f"unknown action {action[:50]!r}", status=404
            )
        form = await request.form()
        values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
        try:
            command = action_of(action, values, who.author)
        except ValidationError as error:
            message = error_line(error)
            return await complaint_page(
                request, complaint_id, who, error=f"{action}: {message}", status=422
            )
        try:
            # Who may act is checked by the workflow, on the state the action meets.
            await service.act(complaint_id, command, who.author)
        except ActionRefused as refused:
            return await complaint_page(request, complaint_id, who, error=str(refused), status=409)
        except ComplaintNotFound:
            return render(request, "not_found.html", 404, complaint_id=complaint_id)
        return RedirectResponse(f"/complaints/{complaint_id}", status_code=303)

    @router.get("/supervisor")
    async def supervisor(
        request: Request,
        who: Annotated[Principal, Depends(require(Role.SUPERVISOR, to="the dashboard"))],
        tier: str = "",
        status: str | None = None,
        team: str = "",
        breached: str = "",
        cursor: str = "",
    ) -> Response:
        if status is None:
            status = Status.OPEN.value  # until the filter form says otherwise ("" is all)
        filters = {"tier": tier, "status": status, "team": team, "breached": breached}
        query: dict[str, Any] = {
            "tier": int(tier) if tier in ("1", "2", "3") else None,
            "status": status if status in {s.value for s in Status} else None,
            "team": team.strip()[:100] or None,
            "breached": {"yes": True, "no": False}.get(breached),
            "contracts": who.contracts,  # a key scoped to contracts sees only theirs
            "limit": 50,
            "cursor": cursor or None,
        }
        complaints = complaint_list
        try:
            page = await run_in_threadpool(lambda: complaints.page(**query))
        except ValueError:  # a malformed cursor: start from the first page
            page = await run_in_threadpool(lambda: complaints.page(**{**query, "cursor": None}))
        counts = await run_in_threadpool(
            lambda: complaints.counts_by_tier(open_only=True, contracts=who.contracts)
        )
        return render(
            request,
            "supervisor.html",
            page=page,
            counts=dict(sorted(counts.items())),
            filters=filters,
            statuses=[s.value for s in Status],
            several_contracts=len(service.contracts.contracts) > 1,
        )

    return router
