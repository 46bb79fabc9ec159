"""The customer's own page, behind the link only they have (security.customer_links):
`/my/<complaint id>/<token>`. It shows what the customer was told and what they said, and lets
them answer: reply to a question, add a photo or document, rate, reject the resolution. Each
answer is recorded as the customer's (commands without `by`); the domain decides what is
allowed, and its refusal is shown as it says it.

Without a valid token every request gets the same 404 page as an unknown complaint, whatever was
wrong; posts are same-origin checked and rate-limited per client address before the token is.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.customer_labels import CUSTOMER_LABELS
from api.customer_view import customer_view
from api.page_parts import (
    VALID_ID,
    action_of,
    error_line,
    labels_for,
    local_time,
)
from api.rate_limit import RateLimiter
from api.rendering import TEMPLATES
from api.web_security import forbidden, same_origin
from domain.access import Author
from engine.service import ActionRefused, ComplaintNotFound, ComplaintService
from engine.uploads import UploadRefused
from security.customer_links import LINK_PATH, CustomerLinks

UPLOAD_PATH = re.compile(rf"{LINK_PATH}/[^/]+/[^/]+/attach")
# the page's form -> the domain action it records
_ANSWERS = {"reply": "customer-reply", "rate": "feedback", "reopen": "reopen"}
# Never cached, never named to another site in a Referer: the URL is the key to the page.
# (same-origin, not no-referrer: with no-referrer a browser posts the forms with Origin: null,
# which same_origin refuses.)
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "same-origin", "X-Robots-Tag": "noindex"}


def customer_routes(
    service: ComplaintService, links: CustomerLinks | None, limiter: RateLimiter
) -> APIRouter:
    """The customer's page. Without `links` no token opens anything (fail closed)."""
    router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

    def not_found(request: Request) -> Response:
        # One body for every refusal (unknown complaint; wrong, tampered, expired or foreign
        # token; erased customer): nothing in it depends on the request, so nothing tells
        # those cases apart.
        return TEMPLATES.TemplateResponse(
            request, "link_not_found.html", {}, status_code=404, headers=PRIVATE
        )

    async def opens(complaint_id: str, token: str) -> bool:
        if links is None or not VALID_ID.match(complaint_id) or len(token) > 100:
            return False
        return await run_in_threadpool(links.verify, complaint_id, token, datetime.now(UTC))

    def refused_post(request: Request) -> Response | None:
        if not same_origin(request):
            return forbidden()
        return None if limiter.allow(request) else limiter.refused()

    async def show(
        request: Request, cid: str, token: str, note: str = "", error=None, status: int = 200
    ) -> Response:
        try:
            state = await service.state(cid)
        except ComplaintNotFound:
            return not_found(request)
        records = await run_in_threadpool(service.events, cid)
        files = await service.attachments_of(cid)
        base = links.base_url if links else ""
        policy = service.policy_of(state)  # its contract's: times in the contract's time zone
        view = customer_view(state, records, files, policy, base, datetime.now(UTC))
        t = labels_for(view["lang"], CUSTOMER_LABELS)
        context = {
            "v": view,
            "t": t,
            "html_lang": view["lang"],
            "here": f"{LINK_PATH}/{cid}/{token}",
            "note": t["thanks"] if note else "",
            "error": error,
            "local_time": lambda moment: local_time(moment, ZoneInfo(policy.timezone)),
        }
        return TEMPLATES.TemplateResponse(
            request, "customer.html", context, status_code=status, headers=PRIVATE
        )

    @router.get(LINK_PATH + "/{complaint_id}/{token}")
    async def page(request: Request, complaint_id: str, token: str, done: str = "") -> Response:
        if not await opens(complaint_id, token):
            return not_found(request)
        return await show(request, complaint_id, token, note=done)

    @router.post(LINK_PATH + "/{complaint_id}/{token}/attach")
    async def attach(request: Request, complaint_id: str, token: str) -> Response:
        refused = refused_post(request)
        if refused is not None:
            return refused
        if not await opens(complaint_id, token):
            return not_found(request)
        form = await request.form(max_files=1, max_fields=5)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            error = {"field": "file", "rule": "missing", "message": "file: choose a file"}
            return await show(request, complaint_id, token, error=error, status=422)
        data = await upload.read()
        try:
            await service.attach(
                complaint_id, upload.filename or "", upload.content_type or "", data, "page"
            )
        except UploadRefused as no:
            error = {"field": no.field, "rule": no.rule, "message": no.message}
            return await show(request, complaint_id, token, error=error, status=no.status)
        except ActionRefused as no:
            return await show(request, complaint_id, token, error=_refusal(no), status=409)
        except ComplaintNotFound:
            return not_found(request)
        return RedirectResponse(f"{LINK_PATH}/{complaint_id}/{token}?done=attach", 303)

    @router.post(LINK_PATH + "/{complaint_id}/{token}/{answer}")
    async def answer(request: Request, complaint_id: str, token: str, answer: str) -> Response:
        refused = refused_post(request)
        if refused is not None:
            return refused
        if answer not in _ANSWERS or not await opens(complaint_id, token):
            return not_found(request)
        form = await request.form()
        values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
        try:
            action = action_of(_ANSWERS[answer], values, Author.customer())
            await service.act(complaint_id, action, Author.customer())
        except ValidationError as invalid:
            error = {"field": "form", "rule": "invalid", "message": error_line(invalid)}
            return await show(request, complaint_id, token, error=error, status=422)
        except ActionRefused as no:
            return await show(request, complaint_id, token, error=_refusal(no), status=409)
        except ComplaintNotFound:
            return not_found(request)
        return RedirectResponse(f"{LINK_PATH}/{complaint_id}/{token}?done={answer}", 303)

    return router


def _refusal(refused: ActionRefused) -> dict[str, str]:
    return {"field": "action", "rule": "refused", "message": str(refused)}


class HideLinkTokens(logging.Filter):
    """uvicorn's access log names each request's path, and a customer's path holds their token;
    the log keeps the complaint id and drops the token."""

    _TOKEN = re.compile(rf"^((?:{LINK_PATH}|/submitted)/[^/?]+/)[^/?]+")

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], self._TOKEN.sub(r"\1[token]", args[2]), *args[3:])
        return True
