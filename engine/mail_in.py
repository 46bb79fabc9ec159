"""Inbound e-mail: carry out what delivery.mail_routing decides, and keep every message.

The SMTP answer never lies: 250 once the message is kept (store.inbound_mail) after it was acted
on, or kept as held (unmatched, refused, unparsable, failed); 451 when the database or Temporal
is out of reach, so the sending MTA keeps the message and tries again. Nothing is lost either way.

A message whose Message-ID is kept already was handled before (the MTA redelivers when our 250
did not reach it): it is answered 250 and nothing is done again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import structlog
from sqlalchemy.exc import DBAPIError
from temporalio.service import RPCError

from delivery.mail_receiver import start_receiver
from delivery.mail_routing import Route, route
from domain.access import Author
from engine.composition import Parts, open_parts, service_of
from engine.service import (
    EMAIL_SCOPE,
    ActionRefused,
    ComplaintNotFound,
    ComplaintService,
    IdempotencyConflict,
)
from engine.settings import Settings
from engine.temporal import TemporalUnreachable
from engine.uploads import UploadRefused
from store.inbound_mail import InboundMailStore
from store.vault import PersonalVault, is_withheld

log = structlog.get_logger(__name__)

OK = "250 2.0.0 OK: message taken"
TRY_LATER = "451 4.3.0 temporarily unable to take the message; try again later"
# Out of reach for now, not wrong: the database or Temporal. The MTA will try again.
TEMPORARY = (DBAPIError, RPCError, TemporalUnreachable, TimeoutError)


class MailIntake:
    def __init__(
        self,
        service: ComplaintService,
        kept: InboundMailStore,
        vault: PersonalVault,
        reply_key: bytes,
    ) -> None:
        self._service, self._kept, self._vault, self._reply_key = service, kept, vault, reply_key

    async def receive(
        self, raw: bytes, envelope_from: str, envelope_to: tuple[str, ...] = ()
    ) -> str:
        """Route, act, keep; returns the SMTP answer."""
        received_at = datetime.now(UTC)
        decided: Route | None = None
        try:
            decided = await asyncio.to_thread(
                route, raw, envelope_from, self._reply_key, self._sent_by_customer
            )
            if decided.message_id and await asyncio.to_thread(self._kept.find, decided.message_id):
                log.info("inbound mail already taken", outcome="duplicate")
                return OK
            done = await self._carry_out(decided, envelope_to)
        except TEMPORARY as exc:
            log.warning("inbound mail deferred", error=type(exc).__name__)
            return TRY_LATER
        except Exception as exc:  # a defect: keep the message for staff, say what failed
            done = Route(
                "failed",
                f"unexpected {type(exc).__name__} while handling it",
                decided.message_id if decided else None,
                decided.complaint_id if decided else None,
            )
        return await self._keep(raw, received_at, done)

    async def _carry_out(self, decided: Route, envelope_to: tuple[str, ...]) -> Route:
        done = await self._act(decided, envelope_to)
        if done.outcome in ("complaint", "reply") and decided.attachments:
            done = await self._attach(done, decided)
        return done

    async def _attach(self, done: Route, decided: Route) -> Route:
        """Photos and documents join the complaint under the page's upload rules; one refused
        is named in the kept message's reason (the sealed raw message still holds it)."""
        refused = []
        for part in decided.attachments:
            try:
                await self._service.attach(
                    done.complaint_id, part.filename, part.content_type, part.data, "email"
                )
            except (UploadRefused, ActionRefused) as refusal:
                refused.append(f"an attachment was not joined: {refusal}")
        return replace(done, reason="; ".join([done.reason, *refused])) if refused else done

    async def _act(self, decided: Route, envelope_to: tuple[str, ...]) -> Route:
        if decided.submission is not None:
            # A new complaint belongs to the contract whose address it was sent to: the MTA's
            # envelope says so even for Bcc and aliases, To and Cc when an MTA rewrote it;
            # none of them known: the default contract.
            contract = self._service.contracts.for_mail([*envelope_to, *decided.addressed_to])
            submission = decided.submission.model_copy(update={"contract": contract.id})
            # Idempotent by Message-ID, in the e-mail channel's own scope (a key belongs to its
            # sender: an API caller's keys never meet these).
            try:
                intake = await self._service.submit(
                    submission, idempotency_key=decided.message_id, scope=EMAIL_SCOPE
                )
            except IdempotencyConflict:
                reason = "a message with this Message-ID but another content made a complaint"
                return replace(decided, outcome="refused", reason=reason)
            why = "a new complaint" if intake.created else "registered before under this key"
            return replace(decided, complaint_id=intake.state.complaint_id, reason=why)
        if decided.reply is not None and decided.complaint_id:
            try:
                # Recorded as the customer's, the holder of the reply address's token.
                customer = Author.customer()
                reply = decided.reply.model_copy(update={"by": customer.name})
                await self._service.act(decided.complaint_id, reply, customer)
            except ActionRefused as refused:
                return replace(decided, outcome="refused", reason=str(refused))
            except ComplaintNotFound:
                return replace(decided, outcome="unmatched", reason="no such complaint")
        return decided

    async def _keep(self, raw: bytes, received_at: datetime, done: Route) -> str:
        try:
            kept = await asyncio.to_thread(
                self._kept.keep,
                raw,
                received_at=received_at,
                outcome=done.outcome,
                reason=done.reason,
                message_id=done.message_id,
                complaint_id=done.complaint_id,
            )
        except Exception as exc:  # not kept: the MTA must keep it, whatever went wrong
            log.error("inbound mail not stored", error=type(exc).__name__, outcome=done.outcome)
            return TRY_LATER
        # Never the sender, the subject or the Message-ID (which may hold an address).
        log.info(
            "inbound mail",
            inbound_id=kept.id,
            outcome=kept.outcome,
            reason=kept.reason,
            complaint_id=kept.complaint_id,
        )
        return OK

    def _sent_by_customer(self, complaint_id: str, address: str) -> bool:
        """Is `address` the e-mail address of the complaint's customer? Compared as customer
        references (the vault's keyed HMAC), as erasure finds a customer."""
        history = self._service.store.read_stream(complaint_id)
        personal = history[0].personal if history else None
        if not isinstance(personal, dict) or is_withheld(personal) or not personal.get("email"):
            return False
        ours = self._vault.customer_ref(email=personal["email"])
        return ours == self._vault.customer_ref(email=address)


@dataclass
class Receiving:
    """A receiver listening, and where."""

    server: asyncio.Server
    address: str

    async def close(self) -> None:
        self.server.close()
        await self.server.wait_closed()


async def start(settings: Settings, parts: Parts) -> Receiving:
    """The receiver on settings.mail_in_host:mail_in_port, on `parts` (`complaints run` shares
    its own with the worker and the API); the caller closes them once the receiver is closed."""
    engine, keys = parts.engine, settings.key_material()
    intake = MailIntake(
        service_of(settings, parts), InboundMailStore(engine, keys.master), parts.vault,
        keys.reply_key,
    )  # fmt: skip
    server = await start_receiver(
        intake.receive,
        settings.mail_in_host,
        settings.mail_in_port,
        max_bytes=settings.mail_in_max_bytes,
        protocol=settings.mail_in_protocol,
    )
    host, port = server.sockets[0].getsockname()[:2]
    log.info("inbound mail receiver started", protocol=settings.mail_in_protocol, port=port)
    return Receiving(server, f"{settings.mail_in_protocol}://{host}:{port}")


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    """`complaints mail-in`: the receiver alone, for a Temporal server already running."""
    parts = await open_parts(settings)
    try:
        receiving = await start(settings, parts)
        try:
            print(f"inbound mail: {receiving.address}  (Ctrl-C stops it)", flush=True)
            await stop.wait()
        finally:
            await receiving.close()
    finally:
        parts.close()
