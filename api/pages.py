"""Server-rendered pages: the customers' intake form, an agent's complaint page and the
supervisor's dashboard. Labels are bilingual (English / 中文), or one language with ?lang=en|zh.

The customer's personal data appears only on the complaint page (agents need it); it is read
from the ComplaintRegistered event's personal part and never logged.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool

from api.errors import field_errors
from api.schemas import ACTIONS, view_of
from domain import commands as c
from domain.vocabulary import Category, Channel, Status
from engine.service import ActionRefused, ComplaintNotFound, ComplaintService
from store import ComplaintList

_ACTION = TypeAdapter(c.Action)
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
_TEXTAREAS = {"message", "solution", "question", "resolution", "reason", "text", "comment"}

_TEMPLATES = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
)

# label key -> (English, 中文)
LABELS: dict[str, tuple[str, str]] = {
    "title": ("Submit a complaint", "提交投诉"),
    "name": ("Name", "姓名"),
    "email": ("Email", "电子邮件"),
    "phone": ("Phone", "电话"),
    "channel": ("Channel", "渠道"),
    "subject": ("Subject", "主题"),
    "description": ("Description", "描述"),
    "urgent": ("Urgent", "紧急"),
    "submit": ("Submit", "提交"),
    "fix_errors": ("Please correct the marked fields.", "请更正标记的字段。"),
    "required": ("Required", "必填"),
    "bad_format": ("Invalid format", "格式无效"),
    "too_long": ("Too long", "太长"),
    "submitted": ("Complaint received", "投诉已收到"),
    "reference": ("Your reference number", "您的参考编号"),
    "keep_ref": ("Please quote it when you contact us.", "联系我们时请提供此编号。"),
    "another": ("Submit another complaint", "提交另一项投诉"),
    "unavailable": (
        "The service is unavailable; please try again.",
        "服务暂时不可用，请稍后再试。",
    ),
}


def _labels(lang: str) -> dict[str, str]:
    pick = {
        "en": lambda en, zh: en,
        "zh": lambda en, zh: zh,
    }.get(lang, lambda en, zh: f"{en} / {zh}")
    return {key: pick(en, zh) for key, (en, zh) in LABELS.items()}


def _lang(value: str | None) -> str:
    return value if value in ("en", "zh") else ""


def _field_messages(error: ValidationError, labels: dict[str, str]) -> dict[str, str]:
    """{form field: message} from the domain's own rules (pydantic locs, never the input)."""
    messages: dict[str, str] = {}
    for detail in field_errors(error.errors(include_input=False), drop_prefix=False):
        field = detail["field"].removeprefix("customer.")
        rule = detail["rule"]
        if rule in ("missing", "string_too_short"):
            text = labels["required"]
        elif rule == "string_pattern_mismatch":
            text = labels["bad_format"]
        elif rule == "string_too_long":
            text = f"{labels['too_long']}: {detail['message']}"
        else:
            text = detail["message"]
        messages.setdefault(field or "form", text)
    return messages


def _same_origin(request: Request) -> bool:
    """A browser names the page a form was posted from; refuse posts from other sites."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


def _forbidden() -> HTMLResponse:
    return HTMLResponse("<h1>403</h1><p>cross-site form post refused</p>", status_code=403)


# --- the complaint page's helpers -------------------------------------------------------------


def _who(data: dict[str, Any]) -> str:
    if "by" in data:
        return str(data["by"])
    if data.get("type") in ("CustomerReplied", "FeedbackRecorded", "ComplaintRegistered"):
        return "customer"
    return "system"


def _text(data: dict[str, Any]) -> str:
    t = data.get("type")
    for key in ("message", "solution", "question", "resolution", "text"):
        if key in data:
            return str(data[key])
    if t == "ComplaintRegistered":
        return f"{data.get('subject', '')}: {data.get('description', '')}"
    if t in ("ComplaintClassified", "ComplaintReclassified"):
        extra = f" ({data['reason']})" if data.get("reason") else ""
        return f"tier {data.get('tier')}, {data.get('category')}{extra}"
    if t in ("ComplaintAssigned", "ComplaintReassigned"):
        return f"{data.get('team')} / {data.get('assignee')}"
    if t == "DeadlinesScheduled":
        due = ", ".join(f"{d['kind']} {d['due_at']}" for d in data.get("deadlines", []))
        return f"{data.get('reason')}: {due}"
    if t in ("DeadlineMet", "DeadlineBreached"):
        return f"{data.get('kind')} (due {data.get('due_at')})"
    if t == "ComplaintEscalated":
        return f"level {data.get('level')} to {data.get('to_role')} ({data.get('reason')})"
    if t == "NotificationRequested":
        return f"{data.get('kind')} to {data.get('recipient')}"
    if t == "FeedbackRecorded":
        return f"rating {data.get('rating')} {data.get('comment', '')}".strip()
    if "reason" in data:
        return str(data["reason"])
    return ""


def _action_forms() -> list[dict[str, Any]]:
    """One small form per action, its fields taken from the command's own model."""
    forms = []
    for name, (command, body) in ACTIONS.items():
        fields = []
        for field, info in body.model_fields.items():
            kind = "text"
            choices: list[str] = []
            if field in _TEXTAREAS:
                kind = "textarea"
            elif field == "category":
                kind, choices = "select", [""] + [x.value for x in Category]
            elif field in ("rating", "tier"):
                kind = "number"
            fields.append(
                {"name": field, "kind": kind, "choices": choices, "required": info.is_required()}
            )
        forms.append({"name": name, "verb": command.verb, "fields": fields})
    return forms


_FORMS = _action_forms()


def _action_of(name: str, form: dict[str, str]) -> c.Action:
    _command, body = ACTIONS[name]
    values: dict[str, Any] = {}
    for field, info in body.model_fields.items():
        value = form.get(field, "")
        if value == "" and not info.is_required():
            continue  # an optional field left blank keeps its default
        values[field] = value
    return _ACTION.validate_python({**values, "action": name})


def _due_iso(moment: datetime | None) -> str:
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def page_routes(service: ComplaintService, complaint_list: ComplaintList) -> APIRouter:
    """The pages. `complaint_list` feeds the dashboard (the worker's projector keeps it)."""
    router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

    def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
        return _TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)

    def intake(request: Request, lang: str, values: dict[str, Any], errors: dict, status=200):
        return render(
            request,
            "intake.html",
            status_code=status,
            lang=lang,
            t=_labels(lang),
            values=values,
            errors=errors,
            channels=[ch.value for ch in Channel],
        )

    @router.get("/")
    async def intake_form(request: Request, lang: str | None = None) -> Response:
        values = {"channel": Channel.WEB.value, "token": secrets.token_urlsafe(24)}
        return intake(request, _lang(lang), values, {})

    @router.post("/")
    async def intake_post(request: Request) -> Response:
        if not _same_origin(request):
            return _forbidden()
        form = await request.form()
        values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
        lang = _lang(values.get("lang"))
        token = values.get("token", "")
        if not _TOKEN.match(token):
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
        }
        try:
            submission = c.Submission.model_validate(body)
        except ValidationError as error:
            return intake(request, lang, values, _field_messages(error, _labels(lang)), 422)
        made = await service.submit(submission, idempotency_key=f"web-form:{token}")
        suffix = f"?lang={lang}" if lang else ""
        return RedirectResponse(f"/submitted/{made.state.complaint_id}{suffix}", status_code=303)

    @router.get("/submitted/{complaint_id}")
    async def submitted(request: Request, complaint_id: str, lang: str | None = None):
        lang = _lang(lang)
        if not _ID.match(complaint_id):
            return render(request, "not_found.html", 404, complaint_id=complaint_id)
        return render(
            request, "submitted.html", lang=lang, t=_labels(lang), complaint_id=complaint_id
        )

    async def complaint_page(
        request: Request, complaint_id: str, *, error: str = "", status: int = 200
    ) -> Response:
        if not _ID.match(complaint_id):
            return render(request, "not_found.html", 404, complaint_id=complaint_id)
        try:
            state = await service.state(complaint_id)
        except ComplaintNotFound:
            return render(request, "not_found.html", 404, complaint_id=complaint_id)
        records = await run_in_threadpool(service.events, complaint_id)
        customer: dict[str, Any] = {}
        subject = description = ""
        for r in records:
            if r.type == "ComplaintRegistered":
                customer = r.personal or {}
                subject, description = r.data.get("subject", ""), r.data.get("description", "")
        timeline = [
            {
                "version": r.version,
                "at": r.occurred_at,
                "type": r.type,
                "who": _who(r.data),
                "text": _text(r.data),
            }
            for r in records
        ]
        return render(
            request,
            "complaint.html",
            status,
            view=view_of(state),
            customer=customer,
            subject=subject,
            description=description,
            timeline=timeline,
            forms=_FORMS,
            error=error,
            due_iso=_due_iso,
        )

    @router.get("/complaints/{complaint_id}")
    async def complaint(request: Request, complaint_id: str) -> Response:
        return await complaint_page(request, complaint_id)

    @router.post("/complaints/{complaint_id}/act/{action}")
    async def act(request: Request, complaint_id: str, action: str) -> Response:
        if not _same_origin(request):
            return _forbidden()
        if action not in ACTIONS:
            return await complaint_page(
                request, complaint_id, error=f"unknown action {action[:50]!r}", status=404
            )
        form = await request.form()
        values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
        try:
            command = _action_of(action, values)
        except ValidationError as error:
            details = field_errors(error.errors(include_input=False), drop_prefix=False)
            message = "; ".join(f"{d['field']}: {d['message']}" for d in details)
            return await complaint_page(
                request, complaint_id, error=f"{action}: {message}", status=422
            )
        try:
            await service.act(complaint_id, command)
        except ActionRefused as refused:
            return await complaint_page(request, complaint_id, error=str(refused), status=409)
        except ComplaintNotFound:
            return render(request, "not_found.html", 404, complaint_id=complaint_id)
        return RedirectResponse(f"/complaints/{complaint_id}", status_code=303)

    @router.get("/supervisor")
    async def supervisor(
        request: Request,
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
            "limit": 50,
            "cursor": cursor or None,
        }
        complaints = complaint_list
        try:
            page = await run_in_threadpool(lambda: complaints.page(**query))
        except ValueError:  # a malformed cursor: start from the first page
            page = await run_in_threadpool(lambda: complaints.page(**{**query, "cursor": None}))
        counts = await run_in_threadpool(complaints.counts_by_tier, open_only=True)
        return render(
            request,
            "supervisor.html",
            page=page,
            counts=dict(sorted(counts.items())),
            filters=filters,
            statuses=[s.value for s in Status],
            due_iso=_due_iso,
        )

    return router
