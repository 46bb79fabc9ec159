"""One server span per HTTP request, when traces are on (engine.tracing; README, Tracing).

Our own small middleware rather than the OpenTelemetry FastAPI instrumentation, because of what
a span may hold: that one records the full path and query (the customer's page has its private
token in the path), the client's address and user agent. This one records the method, the route
template (`/my/{complaint_id}/{token}`, never the values), and the status code; an incoming W3C
`traceparent` is continued. The handlers' Temporal calls run inside the span, so the workflow's
and activities' spans join the request's trace.
"""

from __future__ import annotations

from opentelemetry.propagate import extract
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class TraceRequests:
    def __init__(self, app: ASGIApp, tracer: Tracer) -> None:
        self.app, self.tracer = app, tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        carrier = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope.get("headers", [])
            if name in (b"traceparent", b"tracestate")
        }
        status: list[int] = []

        async def send_noting_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        with self.tracer.start_as_current_span(
            method,  # named once the route is known
            context=extract(carrier),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method},
            # An exception's text may quote what was sent; its type is enough (set below).
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                await self.app(scope, receive, send_noting_status)
            except Exception as error:
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
                raise
            finally:
                # The router put the matched route in the scope (no route: a 404, named by
                # the method alone).
                route = getattr(scope.get("route"), "path", None)
                if route:
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.route", route)
                if status:
                    span.set_attribute("http.response.status_code", status[0])
                    if status[0] >= 500:
                        span.set_status(Status(StatusCode.ERROR))
