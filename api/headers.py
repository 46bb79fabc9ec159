"""Security headers on every answer: one middleware, so no page can forget them.

- Content-Security-Policy: only this origin; inline script only with the request's nonce (the
  pages' scripts are files in api/static; /docs starts Swagger UI inline), no framing.
- Referrer-Policy same-origin: the customer's page address holds its access token, so no other
  site may see it; not no-referrer, with which chromium sends `Origin: null` on form posts and
  the same-origin check of the pages (api/auth.py) refuses them.
- Cache-Control no-store on everything but /static: pages and API answers show complaints and
  customers, which must not stay in a shared or browser cache.
"""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATIC = "/static/"
# Swagger UI and ReDoc set style attributes and inject <style> elements as they render.
DOCS_PAGES = ("/docs", "/redoc")


def policy(nonce: str, path: str) -> str:
    styles = "'self' 'unsafe-inline'" if path in DOCS_PAGES else "'self'"
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            f"style-src {styles}",
            "img-src 'self' data:",
            "worker-src 'self' blob:",  # ReDoc's search runs in a worker made from a blob
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def nonce_of(request: Request) -> str:
    return request.scope["state"]["csp_nonce"]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (b"content-security-policy", policy(nonce, path).encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                ]
                if not path.startswith(STATIC):
                    headers.append((b"cache-control", b"no-store"))
                names = {name for name, _ in headers}  # ours replace any the route set
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": kept + headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
