"""Where a request comes from: the Host it names, the proxy it came through, the page a form was
posted from. One module, so the pages and the API agree on each rule.

- **Trusted Host.** Only the host names the deployment answers to (COMPLAINTS_ALLOWED_HOSTS;
  by default localhost, 127.0.0.1 and the host of COMPLAINTS_BASE_URL); another is a 400. A
  page reached under a foreign name (DNS rebinding) would otherwise be same-origin to that
  name's scripts, and the same-origin check below compares against the Host. The probes are
  exempt: an orchestrator asks them by the container's address.
- **Trusted proxies.** X-Forwarded-Proto and X-Forwarded-For are honoured only from the
  addresses in COMPLAINTS_TRUSTED_PROXIES (uvicorn's middleware), so the sign-in cookie is
  `Secure` behind a TLS proxy and the public-post limit counts the real client, while anyone
  else's claim to be "https" or another address is ignored.
- **Same origin.** A form post names the page it came from (Origin, else Referer); one naming
  another site, or none at all, is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import error_response

LOCAL_HOSTS = ("localhost", "127.0.0.1")
# Asked by address by orchestrators (Compose, Kubernetes); they answer nothing a page could use.
PROBES = frozenset({"/healthz", "/readyz"})


@dataclass(frozen=True)
class WebSecurity:
    """The settings of this module and of the sign-in session, made by Settings.web_security()."""

    allowed_hosts: frozenset[str] = frozenset(LOCAL_HOSTS)
    trusted_proxies: tuple[str, ...] = ()
    session_lifetime: timedelta = field(default=timedelta(hours=12))

    @classmethod
    def of(
        cls,
        allowed_hosts: Sequence[str],
        base_url: str,
        trusted_proxies: Sequence[str],
        session_lifetime: timedelta,
    ) -> WebSecurity:
        public = urlsplit(base_url).hostname
        hosts = {h.lower() for h in (*LOCAL_HOSTS, *allowed_hosts, *([public] if public else []))}
        return cls(frozenset(hosts), tuple(trusted_proxies), session_lifetime)


def host_name(host_header: str) -> str:
    """The name in a Host header, without its port ([::1]:8000 -> ::1)."""
    if host_header.startswith("["):
        return host_header[1:].partition("]")[0].lower()
    return host_header.rpartition(":")[0].lower() if ":" in host_header else host_header.lower()


class TrustedHost:
    def __init__(self, app: ASGIApp, allowed: frozenset[str]) -> None:
        self.app, self.allowed = app, allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PROBES:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        name = host_name(headers.get(b"host", b"").decode("latin-1"))
        if name in self.allowed:
            await self.app(scope, receive, send)
            return
        message = "this server does not answer to that host name (COMPLAINTS_ALLOWED_HOSTS)"
        detail = [{"field": "Host", "rule": "untrusted_host", "message": message}]
        await error_response(400, message, detail)(scope, receive, send)


def same_origin(request: Request) -> bool:
    """A browser names the page a form was posted from: Origin on every POST (chromium, Firefox),
    else Referer. Neither, `Origin: null` (a sandboxed frame, a file), or another site: refused."""
    named = request.headers.get("origin") or request.headers.get("referer")
    if not named or named == "null":
        return False
    return urlsplit(named).netloc == request.headers.get("host", "")


def forbidden() -> HTMLResponse:
    return HTMLResponse(
        "<h1>403</h1><p>form post refused: it did not come from this site's own page</p>",
        status_code=403,
    )
