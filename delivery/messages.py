"""The text of each notification: Jinja2 templates per kind and locale, in
templates/<kind>.<locale>.txt.

A template's first line is the subject, the rest the body. Templates see the notification's
details (never personal data) plus what render() adds: links, the recipient's name, and for
deadlines the due time and how late it is. Only a customer's own messages use their name, and no
message carries a customer's phone or e-mail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound

TEMPLATES = Path(__file__).resolve().parent / "templates"
LOCALES = ("en", "zh")
KINDS = (
    # to the customer
    "acknowledgement",
    "response",
    "initial_solution",
    "information_request",
    "information_reminder",
    "progress",
    "resolution",
    "closed_no_reply",
    # to the parties
    "assignment",
    "escalation",
    "reopened",
    "deadline_warning",
    "customer_unreachable",  # made by the dispatcher when the customer cannot be reached
    "customer_wrote",
)

_DEADLINES = {
    "en": {
        "acknowledge": "acknowledgement",
        "first_response": "first response",
        "initial_solution": "initial solution",
        "resolution": "resolution",
        "still_unanswered": "still unanswered",
        "progress_update": "progress update to the customer",
        "customer_answer": "answer to the customer's message",
    },
    "zh": {
        "acknowledge": "受理确认",
        "first_response": "首次响应",
        "initial_solution": "初步解决方案",
        "resolution": "最终解决",
        "still_unanswered": "仍未处理",
        "progress_update": "向客户同步进展",
        "customer_answer": "答复客户来信",
    },
}
_ROLES = {
    "en": {
        "customer": "the customer",
        "assignee": "the assignee",
        "team_lead": "the team lead",
        "supervisor": "the supervisor",
        "duty_manager": "the duty manager",
    },
    "zh": {
        "customer": "客户",
        "assignee": "处理人",
        "team_lead": "组长",
        "supervisor": "主管",
        "duty_manager": "值班经理",
    },
}


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


class UnknownKind(LookupError):
    """No template for this kind of notification."""


_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    undefined=StrictUndefined,  # a template naming a missing value fails loudly in tests
    keep_trailing_newline=True,
    autoescape=False,  # plain text
)


def _duration(span: timedelta | None, locale: str) -> str:
    if span is None:
        return ""
    minutes = max(int(span.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    units = ("天", "小时", "分钟") if locale == "zh" else (" d", " h", " min")
    parts = [f"{n}{u}" for n, u in zip((days, hours, mins), units, strict=True) if n]
    return ("" if locale == "zh" else " ").join(parts) or ("0分钟" if locale == "zh" else "0 min")


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


def render(
    kind: str,
    locale: str,
    details: dict[str, Any],
    base_url: str,
    *,
    recipient_name: str = "",
    now: datetime | None = None,
    timezone: str = "UTC",
    customer_link: str = "",
) -> Message:
    """The message of `kind` in `locale` ("en" unless "zh"). `customer_link` is the customer's
    own page (a signed link); only their messages carry it."""
    locale = locale if locale in LOCALES else "en"
    try:
        template = _env.get_template(f"{kind}.{locale}.txt")
    except TemplateNotFound:
        raise UnknownKind(f"no template for notification kind {kind!r}") from None
    cid = str(details.get("complaint_id", ""))
    base = base_url.rstrip("/")
    zone = ZoneInfo(timezone)
    due = _moment(details.get("due_at"))
    now = now or datetime.now(UTC)
    deadline = details.get("deadline") or details.get("reason") or ""
    undelivered = details.get("undelivered") or {}
    context = {
        "details": details,
        "complaint_id": cid,
        "tier": details.get("tier", ""),
        "team": details.get("department") or details.get("team", ""),
        "assignee": details.get("assignee", ""),
        "level": details.get("level", ""),
        "recipient_name": recipient_name,
        "link": f"{base}/complaints/{cid}",
        "customer_link": customer_link,
        "text": str(details.get("text") or ""),  # the agent's own words, for the customer
        "deadline": _DEADLINES[locale].get(deadline, deadline),
        "reason": _DEADLINES[locale].get(details.get("reason", ""), details.get("reason", "")),
        "due_at": due.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if due else "",
        "late_by": _duration(now - due, locale) if due and now > due else "",
        "left": _duration(due - now, locale) if due and due > now else "",
        "undelivered_role": _ROLES[locale].get(undelivered.get("role", ""), ""),
        "undelivered_reason": undelivered.get("reason", ""),
    }
    text = template.render(context)
    subject, _, body = text.partition("\n")
    return Message(subject=subject.strip(), body=body.strip() + "\n")
