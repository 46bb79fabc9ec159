"""What the customer's page shows, from the complaint's state and events (no I/O here).

Every message is the one the customer was sent: each NotificationRequested to the customer is
rendered again by delivery.messages, with the same details, locale and moment, so the page and
the e-mail say the same words. A delivery result is shown when the stream has one for the
message (CustomerMessageDelivered / CustomerMessageUndelivered, by the message's key).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from api.page_parts import lang_of
from delivery.messages import UnknownKind, render
from domain import sla
from domain.policy import Policy
from domain.state import ComplaintState
from domain.vocabulary import DeadlineKind, Status
from store import RecordedEvent
from store.attachments import StoredAttachment

DELIVERY_RESULTS = {"CustomerMessageDelivered": True, "CustomerMessageUndelivered": False}


def customer_view(
    state: ComplaintState,
    records: list[RecordedEvent],
    files: list[StoredAttachment],
    policy: Policy,
    base_url: str,
    now: datetime,
) -> dict[str, Any]:
    customer: dict[str, Any] = next(
        (r.personal or {} for r in records if r.type == "ComplaintRegistered"), {}
    )
    lang = lang_of(customer.get("locale")) or "en"
    status = state.status or Status.OPEN
    resolution = state.deadline(DeadlineKind.RESOLUTION)
    live = status in (Status.OPEN, Status.WAITING_ON_CUSTOMER)
    reopen_until = sla.reopen_deadline(state, policy)
    return {
        "lang": lang,
        "complaint_id": state.complaint_id,
        "status": status.value,
        "expected": resolution.due_at if live and resolution and resolution.pending else None,
        "paused": status is Status.WAITING_ON_CUSTOMER,
        "messages": _messages(records, lang, customer.get("name", ""), policy, base_url),
        "replies": [
            {"at": r.occurred_at, "message": r.data.get("message", "")}
            for r in records
            if r.type in ("CustomerReplied", "CustomerWrote")
        ],
        # The customer's own files; what staff attach is for staff.
        "files": [f for f in files if f.source != "staff"],
        # While open, a message asks an answer of whoever holds it; while we wait, it answers.
        "can_reply": live,
        "can_attach": status in (Status.OPEN, Status.WAITING_ON_CUSTOMER, Status.RESOLVED),
        "can_rate": status in (Status.RESOLVED, Status.CLOSED) and state.rating is None,
        "can_reopen": reopen_until is not None and now < reopen_until,
    }


def _messages(
    records: list[RecordedEvent], lang: str, name: str, policy: Policy, base_url: str
) -> list[dict[str, Any]]:
    delivered = {
        r.data.get("key"): DELIVERY_RESULTS[r.type] for r in records if r.type in DELIVERY_RESULTS
    }
    shown = []
    for r in records:
        if r.type != "NotificationRequested" or r.data.get("recipient") != "customer":
            continue
        try:
            message = render(
                r.data["kind"],
                lang,
                r.data.get("details", {}),
                base_url,
                recipient_name=name,
                now=r.occurred_at,
                timezone=policy.timezone,
            )
        except UnknownKind:
            continue  # a kind this version cannot word was not sent in these words either
        shown.append(
            {
                "at": r.occurred_at,
                "subject": message.subject,
                "body": message.body,
                "delivered": delivered.get(r.data.get("key")),
            }
        )
    return shown
