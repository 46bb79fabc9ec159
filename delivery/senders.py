"""The channels: e-mail over SMTP and signed JSON webhooks.

Both are synchronous (call them from a thread) and raise TemporaryFailure for what may succeed
later and PermanentFailure for what never will.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from typing import Any, Protocol

import httpx

from delivery.directory import CUSTOMER, Recipient
from delivery.messages import Message
from security.message_ids import reply_message_id

SIGNATURE_HEADER = "X-Complaints-Signature"
KEY_HEADER = "X-Complaints-Key"


class DeliveryFailure(Exception):
    """A message that was not delivered; str() is the reason (never an address)."""


class TemporaryFailure(DeliveryFailure):
    """Try again later: the server is down, busy or said 4xx (SMTP) / 5xx (HTTP)."""


class PermanentFailure(DeliveryFailure):
    """Trying again will not help: SMTP 5xx, HTTP 4xx."""


@dataclass(frozen=True)
class Outgoing:
    """What the dispatcher sends: one outbox row's message to one recipient."""

    key: str  # the outbox key
    kind: str
    complaint_id: str
    details: dict[str, Any]
    message: Message


class Sender(Protocol):
    channel: str  # "email" or "webhook": also the name recorded in the delivery log

    def address(self, recipient: Recipient) -> str | None:
        """Where this channel reaches the recipient, or None if it does not."""
        ...

    def send(self, recipient: Recipient, outgoing: Outgoing) -> None: ...


def message_id(key: str, recipient_id: str, domain: str = "complaints.invalid") -> str:
    """The same for every attempt at one notification to one recipient, so a receiver can drop a
    repeat (a send that succeeded but whose outcome we failed to record)."""
    digest = hashlib.sha256(f"{key}\n{recipient_id}".encode()).hexdigest()[:40]
    return f"<{digest}@{domain}>"


class SmtpSender:
    channel = "email"

    def __init__(
        self,
        host: str,
        port: int,
        starttls: bool,
        username: str | None,
        password: str | None,
        from_address: str,
        *,
        timeout: float = 10.0,
        reply_key: bytes | None = None,
    ) -> None:
        self.host, self.port, self.starttls = host, port, starttls
        self.username, self.password = username, password
        self.from_address = from_address
        self.timeout = timeout
        self._domain = from_address.rpartition("@")[2] or "complaints.invalid"
        # Signs the Message-IDs of the customer's mails, so their answers can be taken as their
        # replies (security.message_ids); None: no reply by e-mail is recognised by its id.
        self._reply_key = reply_key

    def address(self, recipient: Recipient) -> str | None:
        return recipient.email

    def send(self, recipient: Recipient, outgoing: Outgoing) -> None:
        if not recipient.email:
            raise PermanentFailure("recipient has no e-mail address")
        mail = EmailMessage()
        mail["From"] = self.from_address
        mail["To"] = formataddr((recipient.name, recipient.email))
        mail["Subject"] = outgoing.message.subject
        mail["Date"] = formatdate(usegmt=True)
        mail["Message-ID"] = self._message_id(recipient, outgoing)
        mail[KEY_HEADER] = outgoing.key
        mail.set_content(outgoing.message.body)  # utf-8 where needed
        self.send_mail(mail)

    def send_mail(self, mail: EmailMessage) -> None:
        """Send a message made elsewhere (a contract's report) over this server, failures told
        apart as for notifications."""
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password or "")
                refused = smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise _by_smtp_code(min(codes, default=550), "recipient refused") from None
        except smtplib.SMTPResponseException as exc:
            raise _by_smtp_code(exc.smtp_code, type(exc).__name__) from None
        except (smtplib.SMTPException, OSError) as exc:  # refused, reset, timed out, TLS
            raise TemporaryFailure(f"SMTP {type(exc).__name__}: {exc}") from None
        if refused:  # only some recipients refused; there is one, so not reached
            raise _by_smtp_code(min(code for code, _ in refused.values()), "recipient refused")

    def _message_id(self, recipient: Recipient, outgoing: Outgoing) -> str:
        # Only the customer's mails are signed: staff answering a notification are not the
        # customer, and their answer must not count as the customer's reply.
        if recipient.id == CUSTOMER and self._reply_key is not None:
            return reply_message_id(
                self._reply_key, outgoing.complaint_id, outgoing.key, recipient.id, self._domain
            )
        return message_id(outgoing.key, recipient.id, self._domain)


def _by_smtp_code(code: int, what: str) -> DeliveryFailure:
    reason = f"SMTP {code} ({what})"
    return TemporaryFailure(reason) if 400 <= code < 500 else PermanentFailure(reason)


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """For receivers: does `header` (X-Complaints-Signature) sign exactly `body` with `secret`?
    Compared as bytes: compare_digest raises TypeError on a str with non-ASCII characters, and
    a header is whatever the sender put there."""
    if not header:
        return False
    return hmac.compare_digest(sign(secret, body).encode(), header.encode("utf-8", "replace"))


class WebhookSender:
    channel = "webhook"

    def __init__(self, secret: str, *, timeout: float = 10.0) -> None:
        if not secret:
            raise ValueError("a webhook secret is needed to sign the requests")
        self._secret = secret
        self._client = httpx.Client(timeout=timeout, follow_redirects=False)

    def address(self, recipient: Recipient) -> str | None:
        return recipient.webhook

    def close(self) -> None:
        self._client.close()

    def send(self, recipient: Recipient, outgoing: Outgoing) -> None:
        if not recipient.webhook:
            raise PermanentFailure("recipient has no webhook")
        body = json.dumps(
            {
                "key": outgoing.key,
                "kind": outgoing.kind,
                "complaint_id": outgoing.complaint_id,
                "subject": outgoing.message.subject,
                "body": outgoing.message.body,
                "details": outgoing.details,
            },
            ensure_ascii=False,
            sort_keys=True,
            default=str,
        ).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            SIGNATURE_HEADER: sign(self._secret, body),
            KEY_HEADER: outgoing.key,
        }
        try:
            response = self._client.post(recipient.webhook, content=body, headers=headers)
        except httpx.HTTPError as exc:  # connection refused, timeouts, protocol errors
            raise TemporaryFailure(f"webhook {type(exc).__name__}") from None
        status = response.status_code
        if status < 300:
            return
        reason = f"webhook HTTP {status}"
        if status >= 500 or status in (408, 425, 429):
            raise TemporaryFailure(reason)
        raise PermanentFailure(reason)  # 4xx, and redirects, which are not followed
