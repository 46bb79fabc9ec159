"""What an inbound e-mail is: a new complaint, the customer's reply, or a message to hold.

One function decides (`route`); engine.mail_in carries the decision out and stores the message.
The rules, in order:
1. what cannot be read as an e-mail with a sender is `unparsable`;
2. automatic mail (auto-replies, bounces, lists) is `ignored`: answering it could loop, and it is
   nobody's complaint;
3. an answer to one of our mails to the customer (In-Reply-To/References holding a Message-ID we
   signed, security.message_ids) is the customer's `reply` on that complaint;
4. so is a mail whose subject names a complaint ([C-…]) when it comes from that complaint's
   customer's address; a reference alone opens nothing, since reference numbers are seen by many;
5. a mail naming a complaint (subject, or an id of ours with a bad MAC) that passes neither check
   is `unmatched`: held for staff, never acted on;
6. anything else is a new `complaint` (channel email); what the domain refuses is `refused`.
   Its contract is not decided here: engine.mail_in asks the contracts for the one whose
   address the message was sent to (envelope recipients, To, Cc). A reply stays with its
   complaint, whatever address it was sent to.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pydantic import ValidationError

from delivery.inbound_mail import (
    InboundMail,
    MailAttachment,
    Unparsable,
    locale_of,
    new_text,
    parse,
)
from domain import commands as c
from security.message_ids import complaint_of, looks_like_ours

Outcome = Literal["complaint", "reply", "ignored", "unmatched", "refused", "unparsable", "failed"]
# Held for staff (`complaints mail-in --held`): nothing was done with them.
HELD: tuple[Outcome, ...] = ("unmatched", "refused", "unparsable", "failed")

REFERENCE = re.compile(r"\b(C-[A-Z0-9]{8,32})\b", re.IGNORECASE)
_AUTOMATIC_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
NO_SUBJECT = "(no subject)"

# Does this address belong to the customer of this complaint? (engine.mail_in asks the store)
SentByCustomer = Callable[[str, str], bool]


@dataclass(frozen=True)
class Route:
    outcome: Outcome
    reason: str
    message_id: str | None = None
    complaint_id: str | None = None
    submission: c.Submission | None = None  # outcome "complaint"
    reply: c.RecordCustomerReply | None = None  # outcome "reply"
    attachments: tuple[MailAttachment, ...] = ()  # for the complaint or the reply
    addressed_to: tuple[str, ...] = ()  # outcome "complaint": its To and Cc addresses


def route(
    raw: bytes, envelope_from: str, reply_key: bytes, sent_by_customer: SentByCustomer
) -> Route:
    try:
        mail = parse(raw)
    except Unparsable as exc:
        return Route("unparsable", str(exc))
    automatic = automatic_reason(mail, envelope_from)
    if automatic:
        return Route("ignored", automatic, mail.message_id)
    for answered in mail.answers:
        cid = complaint_of(reply_key, answered)
        if cid:
            return _reply(mail, cid, "answers our message")
    named = [ref.upper() for ref in REFERENCE.findall(mail.subject)]
    for cid in dict.fromkeys(named):
        if sent_by_customer(cid, mail.from_address):
            return _reply(mail, cid, "reference in the subject, from the customer's address")
    if named:
        return Route(
            "unmatched",
            f"subject names {named[0]} but the sender is not that complaint's customer",
            mail.message_id,
            named[0],
        )
    if any(looks_like_ours(answered) for answered in mail.answers):
        why = "answers a Message-ID of our form whose MAC fails"
        return Route("unmatched", why, mail.message_id)
    return _new_complaint(mail)


def automatic_reason(mail: InboundMail, envelope_from: str) -> str | None:
    """Why `mail` is automatic (RFC 3834 and common practice), or None if a person sent it."""
    headers = mail.headers
    auto_submitted = headers.get("auto-submitted", "").split(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    precedence = headers.get("precedence", "").strip().lower()
    if precedence in _AUTOMATIC_PRECEDENCE:
        return f"Precedence: {precedence}"
    for name in ("x-autoreply", "x-autorespond"):
        if name in headers:
            return f"{name} present"
    if envelope_from.strip() in ("", "<>") or headers.get("return-path", "").strip() == "<>":
        return "empty return path (a bounce)"
    if mail.content_type == "multipart/report":
        return "multipart/report (a delivery or read report)"
    return None


def _reply(mail: InboundMail, complaint_id: str, why: str) -> Route:
    try:
        reply = c.RecordCustomerReply(message=new_text(mail.text))
    except ValidationError as err:
        return Route("refused", describe(err), mail.message_id, complaint_id)
    return Route(
        "reply", why, mail.message_id, complaint_id, reply=reply, attachments=mail.attachments
    )


def _new_complaint(mail: InboundMail) -> Route:
    name = mail.from_name or mail.from_address.rpartition("@")[0]
    try:
        submission = c.Submission(
            channel="email",
            subject=(mail.subject or NO_SUBJECT)[: c.SUBJECT_MAX],
            description=mail.text,
            customer={
                "name": name[: c.NAME_MAX],
                "email": mail.from_address,
                "locale": locale_of(f"{mail.subject}\n{mail.text}"),
            },
        )
    except ValidationError as err:
        return Route("refused", describe(err), mail.message_id)
    return Route(
        "complaint",
        "a new message",
        mail.message_id,
        submission=submission,
        attachments=mail.attachments,
        addressed_to=mail.to_addresses,
    )


def describe(err: ValidationError) -> str:
    """The fields and rules a validation error names; never the value (personal data)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg']}" for e in err.errors()
    )
