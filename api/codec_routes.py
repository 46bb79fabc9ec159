"""Temporal's remote codec protocol, so the Temporal Web UI and `temporal --codec-endpoint` show
a complaint's workflow inputs, updates and results in clear to those allowed to read them.

POST /codec/decode and /codec/encode take and answer `{"payloads": [...]}` in protobuf's JSON
form (metadata values and data in base64), with the namespace in the X-Namespace header. Only a
supervisor or admin key may call them (401 without a key, 403 for another role); the Web UI runs
on another origin, so CORS is answered for the origins configured (COMPLAINTS_CODEC_CORS_ORIGINS),
credentials included: the UI sends the sign-in cookie, or an Authorization header.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from google.protobuf import json_format
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.common.v1 import Payloads

from api.auth import Supervisor
from api.errors import error_response
from security.codec import EncryptionCodec
from security.keys import DecryptionError

log = structlog.get_logger(__name__)

PREFIX = "/codec"
NAMESPACE_HEADER = "X-Namespace"
_SHAPE = 'the body must be {"payloads": [{"metadata": {"name": "<base64>"}, "data": "<base64>"}]}'


def codec_routes(codec: EncryptionCodec, namespace: str) -> APIRouter:
    """The endpoints on `codec`, the one the workers use (decoding passes plaintext through:
    EncryptionCodec.for_display says why); `namespace` is the only one it serves."""
    router = APIRouter(prefix=PREFIX, include_in_schema=False)  # Temporal's protocol, not ours
    display = codec.for_display()

    @router.post("/decode")
    async def decode(request: Request, who: Supervisor) -> Response:
        return await _answer(request, namespace, display.decode, who.key_id, "decoded")

    @router.post("/encode")
    async def encode(request: Request, who: Supervisor) -> Response:
        return await _answer(request, namespace, display.encode, who.key_id, "encoded")

    return router


async def _answer(request: Request, namespace: str, convert, key_id: str, done: str) -> Response:
    asked = request.headers.get(NAMESPACE_HEADER, namespace)
    if asked != namespace:
        return _refused(400, f"this codec serves namespace {namespace!r}", NAMESPACE_HEADER,
                        "unknown_namespace")  # fmt: skip
    try:
        payloads = json_format.Parse(await request.body(), Payloads()).payloads
    except (json_format.ParseError, UnicodeDecodeError):
        # The parser's message can quote the body; the body can be a complaint.
        return _refused(422, _SHAPE, "payloads", "codec_protocol")
    try:
        converted = await convert(payloads)
    except DecryptionError as err:
        return _refused(400, str(err), "payloads", "undecryptable")
    log.info(f"codec.{done}", key_id=key_id, namespace=namespace, payloads=len(converted))
    body = json_format.MessageToDict(Payloads(payloads=converted))
    return JSONResponse({"payloads": body.get("payloads", [])})


def _refused(status: int, message: str, field: str, rule: str) -> Response:
    return error_response(status, message, [{"field": field, "rule": rule, "message": message}])


class CodecCORS:
    """CORS for the codec paths only: the rest of the app stays same-origin. Starlette's own
    middleware answers the preflight and marks the answers (errors included, so the UI can tell
    a 401 from a network failure) for the allowed origins."""

    def __init__(self, app: ASGIApp, origins: Sequence[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=list(origins),
            allow_methods=["POST"],
            allow_headers=["Authorization", "Content-Type", NAMESPACE_HEADER],
            allow_credentials=True,  # the UI's "include credentials": the sign-in cookie
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path == PREFIX or path.startswith(PREFIX + "/"):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
