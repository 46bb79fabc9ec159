"""Traces (README, Tracing): OpenTelemetry spans across API -> Temporal client -> workflow ->
activities, exported over OTLP/HTTP when COMPLAINTS_OTLP_ENDPOINT is set, and nothing at all
(no provider, no interceptor, no middleware) when it is not.

Temporal's TracingInterceptor carries the trace in the workflow's and activities' headers, so a
complaint submitted through the API is one trace whatever process runs its workflow. What the
spans hold: the HTTP method, route template and status (api.tracing), Temporal's workflow,
run and activity ids and type names. Never a body, a path with its values (the customer's page
has its private token in the path), a client address or anything of the customer's.
"""

from __future__ import annotations

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import Tracer
from temporalio.contrib.opentelemetry import TracingInterceptor

from engine.settings import Settings

INSTRUMENTATION = "complaints"
DEFAULT_SERVICE = "complaints"  # OTEL_SERVICE_NAME, when set, names the process instead

# One provider per process and endpoint: the worker, the API and the CLI of `complaints run`
# share it, and its batch processor flushes once at exit (shut_down_tracing).
_providers: dict[str, TracerProvider] = {}


def provider_with(processor: SpanProcessor) -> TracerProvider:
    """A tracer provider sending its spans to `processor` (the tests' in-memory exporter)."""
    provider = TracerProvider(resource=Resource.create({"service.name": _service_name()}))
    provider.add_span_processor(processor)
    return provider


def tracer_for(settings: Settings) -> Tracer | None:
    """The process's tracer, exporting to COMPLAINTS_OTLP_ENDPOINT; None when tracing is off."""
    endpoint = settings.otlp_endpoint
    if not endpoint:
        return None
    provider = _providers.get(endpoint)
    if provider is None:
        provider = _providers[endpoint] = provider_with(BatchSpanProcessor(_exporter(endpoint)))
    return provider.get_tracer(INSTRUMENTATION)


def shut_down_tracing() -> None:
    """Export what the process's providers still hold and stop them: at exit, where a process
    that ends with os._exit (entrypoints.process_exit) runs no atexit hook of theirs."""
    for provider in _providers.values():
        provider.shutdown()
    _providers.clear()


def interceptors_for(tracer: Tracer | None) -> list[TracingInterceptor]:
    """The Temporal client's interceptors: a client's interceptor also serves every worker
    built on it, so one list covers the client's calls, workflows and activities."""
    return [TracingInterceptor(tracer)] if tracer is not None else []


def _exporter(endpoint: str) -> SpanExporter:
    # Imported only when tracing is on: the exporter's HTTP stack is not needed otherwise.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")


def _service_name() -> str:
    # Resource.create reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES; only a name set by
    # neither falls back to ours.
    detected = Resource.create().attributes.get("service.name", "")
    return (
        str(detected)
        if detected and not str(detected).startswith("unknown_service")
        else DEFAULT_SERVICE
    )
