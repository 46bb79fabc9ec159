"""What the pages show: bilingual labels, form error messages, timeline text, action forms."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from api.errors import field_errors
from api.schemas import ACTIONS
from domain import commands as c
from domain.access import Author

VALID_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
VALID_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
_TEXTAREAS = {"message", "solution", "question", "resolution", "reason", "text", "comment"}


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
    "form_changed": (
        "This form was sent before with other content; send it again to submit it as it is now.",
        "此表单已以其他内容提交过；如需按当前内容提交，请再次发送。",
    ),
    "required": ("Required", "必填"),
    "bad_format": ("Invalid format", "格式无效"),
    "too_long": ("Too long", "太长"),
    "submitted": ("Complaint received", "投诉已收到"),
    "reference": ("Your reference number", "您的参考编号"),
    "keep_ref": ("Please quote it when you contact us.", "联系我们时请提供此编号。"),
    "another": ("Submit another complaint", "提交另一项投诉"),
    "your_link": (
        "Your private page, to follow and answer this complaint (keep it to yourself):",
        "您的专属页面，可查看并回复此投诉（请勿转给他人）：",
    ),
    "unavailable": (
        "The service is unavailable; please try again.",
        "服务暂时不可用，请稍后再试。",
    ),
}


def labels_for(lang: str, table: dict[str, tuple[str, str]] = LABELS) -> dict[str, str]:
    pick = {
        "en": lambda en, zh: en,
        "zh": lambda en, zh: zh,
    }.get(lang, lambda en, zh: f"{en} / {zh}")
    return {key: pick(en, zh) for key, (en, zh) in table.items()}


def lang_of(value: str | None) -> str:
    return value if value in ("en", "zh") else ""


def field_messages(error: ValidationError, labels: dict[str, str]) -> dict[str, str]:
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


# --- the complaint page's helpers -------------------------------------------------------------


def event_actor(data: dict[str, Any]) -> str:
    if "by" in data:
        # The key it was done with, where one was: names can repeat, key ids cannot.
        return f"{data['by']} (key {data['by_key']})" if data.get("by_key") else str(data["by"])
    if data.get("type") in (
        "CustomerReplied", "CustomerWrote", "FeedbackRecorded", "ComplaintRegistered",
    ):  # fmt: skip
        return "customer"
    if data.get("type") == "AttachmentAdded":
        return "staff" if data.get("source") == "staff" else "customer"
    return "system"


def event_text(data: dict[str, Any]) -> str:
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
    if t == "AttachmentAdded":
        return f"{data.get('content_type')}, {data.get('size')} B, from the {data.get('source')}"
    if t == "FeedbackRecorded":
        return f"rating {data.get('rating')} {data.get('comment', '')}".strip()
    if t == "CustomerMessageDelivered":
        return f"{data.get('kind')} reached the customer ({', '.join(data.get('channels', []))})"
    if t == "CustomerMessageUndelivered":
        return f"{data.get('kind')} did not reach the customer: {data.get('reason')}"
    if t == "PolicyAmended":
        moved = ", ".join(
            f"{d['kind']} {d['old_due_at']} -> {d['new_due_at']}" for d in data.get("deadlines", [])
        )
        terms = f"terms {data.get('from_version')} -> {data.get('to_version')}"
        return f"{terms}: {moved or 'no deadline moved'}"
    if t == "ProgressUpdateMissed":
        return f"the customer was owed word from us by {data.get('due_at')}"
    if t == "CustomerAnswerMissed":
        return f"the customer's message was owed an answer by {data.get('due_at')}"
    if "reason" in data:
        return str(data["reason"])
    return ""


@lru_cache(maxsize=64)
def action_forms(categories: tuple[str, ...]) -> list[dict[str, Any]]:
    """One small form per action, its fields taken from the command's own model; a category is
    chosen among the complaint's contract's `categories`."""
    forms = []
    for name, (command, body) in ACTIONS.items():
        fields = []
        for field, info in body.model_fields.items():
            if field in c.AUTHOR_FIELDS:
                continue  # the signed-in key's holder
            kind = "text"
            choices: list[str] = []
            if field in _TEXTAREAS:
                kind = "textarea"
            elif field == "category":
                kind, choices = "select", ["", *categories]
            elif field in ("rating", "tier"):
                kind = "number"
            fields.append(
                {"name": field, "kind": kind, "choices": choices, "required": info.is_required()}
            )
        forms.append({"name": name, "verb": command.verb, "fields": fields})
    return forms


def action_of(name: str, form: dict[str, str], author: Author) -> c.Action:
    """The action a page's form asks for, recorded as `author`'s; a form naming its own
    author (even blank) is refused as the API refuses it."""
    _command, body = ACTIONS[name]
    values: dict[str, Any] = {f: form[f] for f in c.AUTHOR_FIELDS if f in form}
    for field, info in body.model_fields.items():
        value = form.get(field, "")
        if field in c.AUTHOR_FIELDS or (value == "" and not info.is_required()):
            continue  # an optional field left blank keeps its default
        values[field] = value
    return c.parse_action(name, values, author)


def local_time(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if moment else ""


def due_iso(moment: datetime | None) -> str:
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def error_line(error: ValidationError) -> str:
    """A refused action form in one line: each field and what is wrong with it."""
    details = field_errors(error.errors(include_input=False), drop_prefix=False)
    return "; ".join(f"{d['field']}: {d['message']}" for d in details)
