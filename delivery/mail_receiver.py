"""The inbound mail receiver: SMTP or LMTP (aiosmtpd) on a loopback port the operator's mail
server forwards to. It only speaks the protocol; what a message becomes is decided by
delivery.mail_routing and carried out by engine.mail_in, whose answer it passes on.

The server runs on the caller's event loop (not aiosmtpd's Controller thread), so the Temporal
client the intake uses stays on the loop it was made on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP

# Takes the raw message, the envelope sender and the envelope recipients; returns the SMTP
# reply: "250 …" once the message is stored or acted on, "451 …" when it should come again later.
Receive = Callable[[bytes, str, tuple[str, ...]], Awaitable[str]]
IDENT = "complaints inbound mail"


class ReceiverUnavailable(ConnectionError):
    """The receiver cannot listen where it is told to; the message names the settings."""


class InboundHandler:
    def __init__(self, receive: Receive, *, lmtp: bool) -> None:
        self._receive = receive
        self._lmtp = lmtp

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):  # not with decode_data=False, but never lose a message to it
            raw = raw.encode("utf-8", "surrogateescape")
        status = await self._receive(raw, envelope.mail_from or "", tuple(envelope.rcpt_tos))
        if self._lmtp:  # LMTP answers once per recipient; it is the same message for each
            return "\r\n".join([status] * max(1, len(envelope.rcpt_tos)))
        return status


async def start_receiver(
    receive: Receive,
    host: str,
    port: int,
    *,
    max_bytes: int,
    protocol: Literal["smtp", "lmtp"] = "smtp",
) -> asyncio.Server:
    """Listening on host:port (port 0: any free one; see the server's sockets) until closed."""
    # aiosmtpd logs every command at INFO, and MAIL FROM/RCPT TO carry addresses: personal data
    # must never reach a log line, so only its errors pass.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    loop = asyncio.get_running_loop()
    handler = InboundHandler(receive, lmtp=protocol == "lmtp")
    kind = LMTP if protocol == "lmtp" else SMTP

    def session() -> SMTP:
        return kind(
            handler,
            data_size_limit=max_bytes,  # larger: 552, a permanent refusal the MTA bounces
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname=IDENT,  # not getfqdn(): no DNS lookup per connection
            ident=IDENT,
            loop=loop,
        )

    try:
        return await loop.create_server(session, host=host, port=port)
    except OSError as exc:
        raise ReceiverUnavailable(
            f"inbound mail: cannot listen on {host}:{port} (COMPLAINTS_MAIL_IN_HOST, "
            f"COMPLAINTS_MAIL_IN_PORT): {exc.strerror or exc}"
        ) from None
