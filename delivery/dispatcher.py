"""The outbox dispatcher: delivers the notifications the complaints' decisions queued.

Each round claims the due messages (store.outbox), finds who holds the message's role
(Directory), renders the message in each recipient's language and sends it on every channel the
recipient has. What became of it is recorded in one transaction with the row's new status:

- delivered: the row is `sent`; a NotificationSent record per channel.
- a temporary failure: the row stays `pending`, its attempts go up, and it waits (exponential
  backoff) before the next try. Channels that already succeeded are not sent again.
- a permanent failure (a refusal, a message that cannot even be built), no channel, nobody
  holding the role, or too many temporary failures: the row is `failed`, NotificationFailed
  records say why, and a new message goes to the next role up the tier's escalation chain, so the
  failure is never lost. A message to the customer is the complaint's own business: its outcome,
  delivered or failed, is reported to the complaint's workflow (delivery.reporting), and the
  domain decides who is told.

The records go to the companion stream `<complaint_id>/deliveries`: the complaint's own stream
has exactly one writer, its workflow. Logs name keys, kinds and roles, never addresses or names.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Engine

from delivery.directory import CUSTOMER, Directory, Recipient
from delivery.messages import Message, render
from delivery.senders import Outgoing, PermanentFailure, Sender, TemporaryFailure
from engine.metrics import NOTIFICATIONS
from store.event_store import EventStore
from store.outbox import ClaimedMessage, LeaseLost, Outbox
from store.polling import poll_until_stopped
from store.records import NewEvent, OutboxMessage, RecordedEvent
from store.tables import OUTBOX_FAILED, OUTBOX_PENDING, OUTBOX_SENT
from store.vault import PersonalVault, is_withheld

log = structlog.get_logger(__name__)

NOTIFICATION_SENT = "NotificationSent"
NOTIFICATION_FAILED = "NotificationFailed"


def deliveries_stream(complaint_id: str) -> str:
    return f"{complaint_id}/deliveries"


@dataclass
class _Result:
    recipient: Recipient | None
    channel: str
    reason: str | None = None  # None: delivered
    temporary: bool = False


@dataclass
class _Attempt:
    new_sent: list[_Result] = field(default_factory=list)
    failed: list[_Result] = field(default_factory=list)
    temporary: list[_Result] = field(default_factory=list)
    unreached: list[str] = field(default_factory=list)  # recipient ids, or the role if nobody


class OutboxDispatcher:
    def __init__(
        self,
        engine: Engine,
        directory: Directory,
        senders: Sequence[Sender],
        base_url: str,
        *,
        retry_base: float = 30.0,  # seconds before the first retry; doubled each time
        retry_cap: float = 3600.0,  # the longest wait between tries
        max_attempts: int = 12,  # then a temporary failure counts as permanent
        lease: float = 300.0,  # how long a claimed message is ours; longer than any send
        batch: int = 50,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        vault: PersonalVault | None = None,  # opens the customer's address; none: no customer
        customer_link: Callable[[str], str] | None = None,  # complaint id -> the customer's page
        # Each contract's own parties, by contract id; `directory` serves complaints naming none
        # (registered before contracts) or one missing here.
        directories: Mapping[str, Directory] | None = None,
    ) -> None:
        channels = [s.channel for s in senders]
        if len(set(channels)) != len(channels):
            raise ValueError(f"senders: one per channel, got {channels}")
        if max_attempts < 1 or retry_base <= 0 or retry_cap < retry_base or lease <= 0:
            raise ValueError("need max_attempts >= 1, 0 < retry_base <= retry_cap, lease > 0")
        self._store = EventStore(engine, vault)
        self._outbox = Outbox(engine)
        self._directory = directory
        self._directories = dict(directories or {})
        self._senders = list(senders)
        self._base_url = base_url
        self._retry_base, self._retry_cap = retry_base, retry_cap
        self._max_attempts = max_attempts
        self._lease = timedelta(seconds=lease)
        self._batch = batch
        self._clock = clock
        self._customer_link = customer_link

    # --- running -------------------------------------------------------------------------------

    def run_once(self) -> int:
        """Try every message that is due (up to one batch); returns how many were tried."""
        now = self._clock()
        claimed = self._outbox.claim(now, now + self._lease, self._batch)
        for message in claimed:
            try:
                self._deliver(message)
            except LeaseLost:
                log.warning("notification lease lost", key=message.key, kind=message.kind)
            except Exception:
                # Left claimed: it is tried again when the lease runs out.
                log.exception("notification dispatch failed", key=message.key, kind=message.kind)
        return len(claimed)

    async def run_forever(self, stop: asyncio.Event, interval: float = 0.5) -> None:
        """Deliver until `stop` is set (smtplib and the webhook client are synchronous, so the
        rounds run on a thread)."""
        channels = [s.channel for s in self._senders]
        await poll_until_stopped("dispatcher", self.run_once, stop, interval, channels=channels)

    def _directory_of(self, details: Mapping[str, Any]) -> Directory:
        """The parties of the complaint's contract, which the notification names."""
        return self._directories.get(str(details.get("contract")), self._directory)

    # --- one message ---------------------------------------------------------------------------

    def _deliver(self, message: ClaimedMessage) -> None:
        role, details = message.recipient, dict(message.payload)
        complaint_id = str(details.get("complaint_id") or message.stream_id)
        history: list[RecordedEvent] | None = None
        if role == CUSTOMER or (message.kind == "escalation" and "due_at" not in details):
            history = self._store.read_stream(message.stream_id)
        customer = history[0].personal if role == CUSTOMER and history else None
        if history and "due_at" not in details:
            details.update(_breached_deadline(history, details, message.created_at))
        directory = self._directory_of(details)
        team = details.get("team")
        if team:
            details.setdefault("department", directory.department(str(team)))

        already = self._already_sent(complaint_id, message.key)
        recipients = directory.resolve(role, details, customer)
        attempt = _Attempt()
        if is_withheld(customer):
            # Erased, or sealed from a dispatcher given no vault: a permanent failure, recorded.
            recipients = []
            why = f"the customer's personal data is {customer['withheld']}"
            attempt.failed.append(_Result(None, "", why))
            attempt.unreached.append(role)
        elif not recipients:
            attempt.failed.append(_Result(None, "", f"nobody holds the role {role}"))
            attempt.unreached.append(role)
        for recipient in recipients:
            self._send_to(message, complaint_id, details, recipient, already, attempt)
        self._conclude(message, complaint_id, attempt)

    def _send_to(
        self,
        message: ClaimedMessage,
        complaint_id: str,
        details: dict[str, Any],
        recipient: Recipient,
        already: set[tuple[str, str]],
        attempt: _Attempt,
    ) -> None:
        senders = [s for s in self._senders if s.address(recipient)]
        if not senders:
            attempt.failed.append(_Result(recipient, "", "no channel for the recipient"))
            attempt.unreached.append(recipient.id)
            return
        text: Message | None = None
        reached = False
        for sender in senders:
            if (recipient.id, sender.channel) in already:
                reached = True  # sent on an earlier try
                continue
            try:
                text = text or self._render(message, complaint_id, details, recipient)
                sender.send(
                    recipient, Outgoing(message.key, message.kind, complaint_id, details, text)
                )
            except TemporaryFailure as exc:
                attempt.temporary.append(_Result(recipient, sender.channel, str(exc), True))
            except PermanentFailure as exc:
                attempt.failed.append(_Result(recipient, sender.channel, str(exc)))
            except Exception as exc:
                # A message that cannot be built (a header the mail library refuses, a template
                # that fails) never will be: permanent, counted now, not retried forever. The
                # reason names the error's type only: its text may quote the recipient's data.
                reason = f"the message cannot be built ({type(exc).__name__})"
                attempt.failed.append(_Result(recipient, sender.channel, reason))
            else:
                reached = True
                attempt.new_sent.append(_Result(recipient, sender.channel))
        if not reached:
            attempt.unreached.append(recipient.id)

    def _render(
        self, message: ClaimedMessage, complaint_id: str, details: dict[str, Any], to: Recipient
    ) -> Message:
        link = ""
        if to.id == CUSTOMER and self._customer_link is not None:
            link = self._customer_link(complaint_id)
        return render(
            message.kind,
            to.locale,
            details,
            self._base_url,
            recipient_name=to.name,
            now=self._clock(),
            timezone=self._directory_of(details).policy.timezone,
            customer_link=link,
        )

    def _conclude(self, message: ClaimedMessage, complaint_id: str, attempt: _Attempt) -> None:
        now = self._clock()
        role, kind, key = message.recipient, message.kind, message.key
        stream = deliveries_stream(complaint_id)
        sent_records = [self._record(NOTIFICATION_SENT, message, r, now) for r in attempt.new_sent]
        attempts = message.attempts + 1
        if attempt.temporary and attempts < self._max_attempts:
            # Some channel may work later: try again after the backoff (only what has not yet
            # been delivered; permanent failures are tried again too, and recorded at the end).
            delay = min(self._retry_base * 2 ** (attempts - 1), self._retry_cap)
            reason = "; ".join(r.reason or "" for r in attempt.temporary + attempt.failed)
            self._outbox.record(
                message,
                status=OUTBOX_PENDING,
                error=reason,
                now=now,
                next_attempt_at=now + timedelta(seconds=delay),
                log_stream=stream,
                records=sent_records,
            )
            NOTIFICATIONS.labels(kind, "deferred").inc()
            log.info(
                "notification deferred", key=key, kind=kind, role=role, attempts=attempts,
                retry_in=delay, reason=reason,
            )  # fmt: skip
            return
        failures = attempt.failed + [
            _Result(r.recipient, r.channel, f"gave up after {attempts} attempts: {r.reason}")
            for r in attempt.temporary
        ]
        failed_records = [self._record(NOTIFICATION_FAILED, message, r, now) for r in failures]
        if not attempt.unreached:
            self._outbox.record(
                message,
                status=OUTBOX_SENT,
                error="; ".join(r.reason or "" for r in failures) or None,
                now=now,
                next_attempt_at=None,
                log_stream=stream,
                records=sent_records + failed_records,
            )
            NOTIFICATIONS.labels(kind, "sent").inc()
            log.info("notification sent", key=key, kind=kind, role=role, attempts=attempts)
            return
        reason = "; ".join(r.reason or "" for r in failures) or "not delivered"
        follow_up = self._follow_up(message, reason, now)
        self._outbox.record(
            message,
            status=OUTBOX_FAILED,
            error=reason,
            now=now,
            next_attempt_at=None,
            log_stream=stream,
            records=sent_records + failed_records,
            follow_up=follow_up,
        )
        NOTIFICATIONS.labels(kind, "failed").inc()
        if role == CUSTOMER:
            log.warning(
                "notification to the customer failed; reported to the complaint",
                key=key, kind=kind, reason=reason,
            )  # fmt: skip
        elif follow_up is None:
            log.error(
                "notification failed at the top of the escalation chain",
                key=key, kind=kind, role=role, reason=reason,
            )  # fmt: skip
        else:
            log.warning(
                "notification failed; passed up the escalation chain",
                key=key, kind=kind, role=role, reason=reason, next_key=follow_up.key,
                next_role=follow_up.recipient,
            )  # fmt: skip

    def _follow_up(
        self, message: ClaimedMessage, reason: str, now: datetime
    ) -> OutboxMessage | None:
        if message.recipient == CUSTOMER:
            return None  # reported to the complaint's workflow, whose domain decides who is told
        tier = message.payload.get("tier")
        try:
            next_role = self._directory_of(message.payload).next_role(int(tier), message.recipient)
        except (TypeError, ValueError, KeyError):
            next_role = None
        if next_role is None:
            return None
        payload = {**message.payload, "undelivered": {"role": message.recipient, "reason": reason}}
        return OutboxMessage(
            key=f"{message.key}:next:{next_role}",
            stream_id=message.stream_id,
            kind=message.kind,
            recipient=next_role,
            payload=payload,
            created_at=now,
        )

    def _record(self, type_: str, message: ClaimedMessage, result: _Result, now: datetime):
        data = {
            "key": message.key,
            "kind": message.kind,
            "role": message.recipient,
            "recipient": result.recipient.id if result.recipient else None,
            "channel": result.channel or None,
        }
        if result.reason is not None:
            data["reason"] = result.reason
        return NewEvent(
            event_id=str(uuid.uuid4()), type=type_, data=data, personal=None, occurred_at=now
        )

    def _already_sent(self, complaint_id: str, key: str) -> set[tuple[str, str]]:
        return {
            (e.data.get("recipient"), e.data.get("channel"))
            for e in self._store.read_stream(deliveries_stream(complaint_id))
            if e.type == NOTIFICATION_SENT and e.data.get("key") == key
        }


def _breached_deadline(
    history: list[RecordedEvent], details: dict[str, Any], requested_at: datetime
) -> dict[str, Any]:
    """For an escalation: the deadline it is about and when it was due, from the complaint's
    DeadlineBreached events (the one of the escalation's reason, else the latest)."""
    breaches = [
        e for e in history if e.type == "DeadlineBreached" and e.occurred_at <= requested_at
    ]
    matching = [e for e in breaches if e.data.get("kind") == details.get("reason")]
    chosen = (matching or breaches or [None])[-1]
    if chosen is None or not chosen.data.get("due_at"):
        return {}
    return {"deadline": chosen.data.get("kind"), "due_at": chosen.data["due_at"]}
