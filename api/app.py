"""Composition of the HTTP API: create_app(service) builds it; server_for(settings, ..., parts)
serves it on the parts engine.composition opens. Nothing connects at import time.

Run it with `python -m api.app` (settings from COMPLAINTS_* variables; 127.0.0.1:8000).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import uvicorn
from fastapi import Depends, FastAPI
from opentelemetry.trace import Tracer
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from api.archive_routes import archive_routes
from api.auth import SUPERVISOR_ONLY, install_auth, login_routes
from api.codec_routes import CodecCORS, codec_routes
from api.customer_pages import UPLOAD_PATH, HideLinkTokens, customer_routes
from api.docs import install_static_and_docs
from api.errors import install_error_handlers
from api.headers import SecurityHeaders
from api.health import ReadyCheck, readiness, select_one, service_readiness
from api.keys import KeyRing
from api.limits import BodyLimits
from api.pages import page_routes
from api.presence_routes import presence_routes
from api.qa_routes import qa_routes
from api.rate_limit import RateLimiter
from api.reports import report_routes
from api.routes import (
    ERROR_RESPONSES,
    complaint_routes,
    health_routes,
    list_routes,
    plain_query,
)
from api.sent_reports import sent_report_routes
from api.tracing import TraceRequests
from api.web_security import TrustedHost, WebSecurity
from engine.composition import Parts, load_settings, open_parts, service_of
from engine.metrics import metrics_served
from engine.service import ComplaintService
from engine.settings import Settings
from engine.tracing import tracer_for
from security.codec import EncryptionCodec
from security.customer_links import CustomerLinks
from store import ComplaintList, ReportFacts
from store.access_log import AccessLog
from store.qa_reviews import QaFacts
from store.sessions import Sessions


def create_app(
    service: ComplaintService,
    *,
    ready_check: ReadyCheck | None = None,
    complaint_list: ComplaintList | None = None,
    api_keys: KeyRing | None = None,
    links: CustomerLinks | None = None,
    public_posts: RateLimiter | None = None,
    codec_origins: Sequence[str] = (),
    tracer: Tracer | None = None,
    web: WebSecurity | None = None,
) -> FastAPI:
    """The app. `complaint_list` defaults to one on the service's store (engines connect only
    when used, so nothing connects here). Without `api_keys` no key is accepted: only the
    public pages answer; without `links` no customer link opens a page (fail closed).
    `public_posts` limits the public posts (default: the settings' defaults); `web`: the host
    names, proxies and session lifetime (default: loopback names, no proxy, 12 hours). The
    codec endpoint uses the client's payload codec and answers CORS for `codec_origins`. With a
    `tracer`, every request is a span (api.tracing)."""
    if complaint_list is None:
        complaint_list = ComplaintList(service.store.engine)
    web = web or WebSecurity()
    app = FastAPI(
        title="Complaints",
        summary="Submit complaints, read their state and history, and act on them.",
        version="0.1.0",
        docs_url=None,  # api/docs.py serves /docs and /redoc with their own assets
        redoc_url=None,
    )
    install_error_handlers(app)
    sessions = Sessions(service.store.engine, web.session_lifetime)
    install_auth(app, api_keys or KeyRing(None), sessions)
    app.include_router(health_routes(ready_check or service_readiness(service)))
    app.include_router(list_routes(complaint_list))
    app.include_router(complaint_routes(service))
    access_log = AccessLog(service.store.engine)
    app.include_router(archive_routes(service, access_log))
    app.include_router(presence_routes(service))
    app.include_router(qa_routes(service), dependencies=[Depends(plain_query)])
    limiter = public_posts or _default_limiter()
    app.include_router(page_routes(service, complaint_list, links, limiter, access_log))
    app.include_router(customer_routes(service, links, limiter))
    app.include_router(login_routes())
    app.include_router(
        report_routes(
            ReportFacts(service.store.engine), service.contracts, QaFacts(service.store.engine)
        ),
        dependencies=[*SUPERVISOR_ONLY, Depends(plain_query)],  # api/auth.py says why
        # ?format=csv answers the SLA report as CSV: say so, so the schema is the truth.
        responses={
            **ERROR_RESPONSES,
            200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
        },
    )
    app.include_router(
        sent_report_routes(service.store.engine, service.contracts),
        dependencies=[*SUPERVISOR_ONLY, Depends(plain_query)],  # as the reports
        responses=ERROR_RESPONSES,
    )
    codec = service.client.data_converter.payload_codec
    if isinstance(codec, EncryptionCodec):  # every client built by engine.temporal.connect
        app.include_router(codec_routes(codec, service.client.namespace))
    install_static_and_docs(app)
    app.add_middleware(CodecCORS, origins=codec_origins)
    app.add_middleware(BodyLimits, upload_path=UPLOAD_PATH, upload_max=service.uploads.max_size)
    app.add_middleware(TrustedHost, allowed=web.allowed_hosts)
    app.add_middleware(SecurityHeaders)  # outside the rest, so every answer has them
    if tracer is not None:
        app.add_middleware(TraceRequests, tracer=tracer)  # the span holds every answer
    if web.trusted_proxies:  # outermost: every layer sees the client and scheme they name
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(web.trusted_proxies))
    return app


def _default_limiter() -> RateLimiter:
    fields = Settings.model_fields
    return RateLimiter(fields["public_post_limit"].default, fields["public_post_window"].default)


def web_security_of(settings: Settings) -> WebSecurity:
    """A malformed host or proxy list stops start-up with a message naming the setting."""
    return WebSecurity.of(
        settings.allowed_host_names(),
        settings.base_url,
        settings.trusted_proxy_addresses(),
        timedelta(hours=settings.session_hours),
    )


def limiter_for(settings: Settings) -> RateLimiter:
    return RateLimiter(settings.public_post_limit, settings.public_post_window)


# How long an idle keep-alive connection is kept open: longer than the clients' and proxies' own
# idle limits (httpx 5 s, nginx's upstream keepalive 60 s, cloud load balancers 60 s), so the
# client is always the one to close it. With uvicorn's 5 s the two closed at the same moment:
# a client sent its next request into a connection the server was closing and got a
# ReadError, not an answer (seen under load in bench/sustained.py; a complaint posted then
# without an Idempotency-Key cannot be safely retried).
KEEP_ALIVE_SECONDS = 90


def uvicorn_config(app: FastAPI, host: str, port: int, **options: Any) -> uvicorn.Config:
    """How the API is served (tests serve it through this too). Proxy headers are the app's
    (api.web_security), honoured from COMPLAINTS_TRUSTED_PROXIES only, not uvicorn's (which by
    default believes any from 127.0.0.1)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        proxy_headers=False,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        **options,
    )


def server_for(settings: Settings, host: str, port: int, parts: Parts) -> uvicorn.Server:
    """The API on `parts` under uvicorn, ready to `serve()`; the caller closes the parts once it
    has stopped (`complaints run` shares them with its worker and mail receiver)."""
    service = service_of(settings, parts)
    engine = parts.engine
    app = create_app(
        service,
        ready_check=readiness(service.client, select_one(engine)),
        complaint_list=ComplaintList(engine),
        api_keys=KeyRing(settings.api_keys_file()),
        links=settings.customer_links(service.store),
        public_posts=limiter_for(settings),
        codec_origins=settings.codec_origins(),
        tracer=tracer_for(settings),
        web=web_security_of(settings),
    )
    logging.getLogger("uvicorn.access").addFilter(HideLinkTokens())
    # uvicorn's access log has method, path and status only: never a body.
    return uvicorn.Server(uvicorn_config(app, host, port, log_config=None))


async def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the API until it is told to stop (SIGINT / SIGTERM); `complaints api` alone, so it
    serves the process's metrics too (`complaints run` has the worker serve them)."""
    parts = await open_parts(settings)
    try:
        with metrics_served(settings.metrics_address, parts.engine):
            await server_for(settings, host, port, parts).serve()
    finally:
        parts.close()


def main() -> None:
    asyncio.run(serve(load_settings()))


if __name__ == "__main__":
    main()
