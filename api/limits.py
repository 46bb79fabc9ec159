"""Refuse oversize and non-JSON bodies before anything parses them.

A pure ASGI middleware: it answers 413 when Content-Length says the body is too big, and also
counts the bytes actually received (a chunked body has no Content-Length, and a client may lie),
buffering at most MAX_BODY bytes before handing the body on. A request that carries a body must
say it is JSON (415 otherwise); outside /api/, an HTML form's urlencoded post is accepted too.

The upload path (the customer's page's attach form) takes a multipart body instead, capped by
the attachment size setting plus room for the form around the file; its size is checked as the
body arrives, so a 30 MB upload is refused long before it is all read into memory.
"""

from __future__ import annotations

import json
import re
from enum import Enum

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY = 64 * 1024
# Before answering 413, read (and drop) up to this much of the rest of the body, so the client
# gets the answer instead of a connection reset; a bigger body just has its connection closed.
DRAIN_MAX = 1024 * 1024
# An upload too big is read (and dropped) up to this much, so a browser shows the 413 page
# rather than a reset connection; beyond it the connection is just closed.
UPLOAD_DRAIN_MAX = 64 * 1024 * 1024
FORM_ROOM = 64 * 1024  # the multipart headers and fields around an uploaded file
_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


class BodyLimits:
    def __init__(
        self,
        app: ASGIApp,
        max_body: int = MAX_BODY,
        upload_path: re.Pattern[str] | None = None,
        upload_max: int = 0,
    ) -> None:
        self.app, self.max_body = app, max_body
        self.upload_path, self.upload_max = upload_path, upload_max

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _WITH_BODY:
            await self.app(scope, receive, send)
            return
        if self.upload_path is not None and self.upload_path.fullmatch(scope["path"]):
            await self._upload(scope, receive, send)
            return
        headers = _headers(scope)
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                await _answer(send, 400, "invalid Content-Length header", "content-length")
                return
            if int(length) > self.max_body:
                if int(length) <= DRAIN_MAX:
                    await _drain(receive)
                await _answer(send, 413, self._too_large(), "body")
                return
        body = await _read_at_most(receive, self.max_body, DRAIN_MAX)
        if body is _Unread.DISCONNECTED:
            return
        if body is _Unread.TOO_LARGE:
            await _answer(send, 413, self._too_large(), "body")
            return
        content_type = headers.get("content-type", "")
        if (
            (body or length not in (None, "0"))
            and not _is_json(content_type)
            and not (_is_form(content_type) and not (scope["path"] + "/").startswith("/api/"))
        ):
            await _answer(
                send,
                415,
                "the body must be JSON (Content-Type: application/json)",
                "content-type",
                rule="media_type",
            )
            return
        await self.app(scope, _replay(body, receive), send)

    async def _upload(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = _headers(scope)
        if not headers.get("content-type", "").lower().startswith("multipart/form-data"):
            await _answer(send, 415, "an upload is a multipart/form-data post", "content-type",
                          rule="media_type")  # fmt: skip
            return
        cap = self.upload_max + FORM_ROOM
        too_big = f"file: larger than the limit of {self.upload_max} bytes"
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > cap:
            if int(length) <= UPLOAD_DRAIN_MAX:
                await _drain(receive, UPLOAD_DRAIN_MAX)
            await _answer(send, 413, too_big, "file", rule="max_size")
            return
        body = await _read_at_most(receive, cap, UPLOAD_DRAIN_MAX)
        if body is _Unread.DISCONNECTED:
            return
        if body is _Unread.TOO_LARGE:
            await _answer(send, 413, too_big, "file", rule="max_size")
            return
        await self.app(scope, _replay(body, receive), send)

    def _too_large(self) -> str:
        return f"the body exceeds {self.max_body} bytes"


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _is_form(content_type: str) -> bool:
    """An HTML form's post: accepted by the web pages only (the API stays JSON-only)."""
    return content_type.split(";", 1)[0].strip().lower() == "application/x-www-form-urlencoded"


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


class _Unread(Enum):
    DISCONNECTED = "the client went away"
    TOO_LARGE = "the body is larger than allowed"


async def _read_at_most(receive: Receive, cap: int, drain: int) -> bytes | _Unread:
    """The whole body, counted as it arrives (a chunked body has no Content-Length, and a client
    may lie); TOO_LARGE past `cap` (the rest drained up to `drain`, so the client reads the
    answer), DISCONNECTED if the client went away."""
    body, more = bytearray(), True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return _Unread.DISCONNECTED
        body += message.get("body", b"")
        more = message.get("more_body", False)
        if len(body) > cap:
            if more:
                await _drain(receive, drain)
            return _Unread.TOO_LARGE
    return bytes(body)


async def _drain(receive: Receive, limit: int = DRAIN_MAX) -> None:
    drained = 0
    while drained <= limit:
        message = await receive()
        if message["type"] != "http.request":
            return
        drained += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


def _replay(body: bytes, receive: Receive) -> Receive:
    """The buffered body once, then the real channel (which reports the disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _answer(send: Send, status: int, error: str, field: str, rule: str = "") -> None:
    detail = [{"field": field, "rule": rule or f"http_{status}", "message": error}]
    payload = json.dumps({"error": error, "detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
