"""The one way to reach Temporal: every client uses the pydantic data converter and the payload
codec (security.codec.data_converter), the tracing interceptor when traces are on
(engine.tracing), and the SDK's metrics runtime when COMPLAINTS_SDK_METRICS_ADDRESS is set."""

import threading

from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import RPCError, RPCStatusCode

from engine.settings import Settings
from engine.temporal_tls import tls_config
from engine.tracing import interceptors_for, tracer_for
from security.codec import data_converter
from workflows import search


class TemporalUnreachable(ConnectionError):
    pass


async def connect(settings: Settings) -> Client:
    converter = data_converter(
        settings.key_material().codec,  # a bad key stops us here
        accept_plaintext=settings.accept_plaintext_payloads,
    )
    tls = tls_config(settings)  # and so does a bad TLS file
    try:
        return await Client.connect(
            settings.temporal_address,
            namespace=settings.namespace,
            data_converter=converter,
            tls=tls,
            interceptors=interceptors_for(tracer_for(settings)),
            runtime=sdk_runtime(settings.sdk_metrics_address),
        )
    except RuntimeError as err:  # the SDK's "Failed client connect"
        raise TemporalUnreachable(
            f"cannot reach Temporal at {settings.temporal_address} "
            "(COMPLAINTS_TEMPORAL_ADDRESS); is `complaints run` or a server running?"
        ) from err


_runtimes: dict[str, Runtime] = {}
_runtimes_lock = threading.Lock()


def sdk_runtime(metrics_address: str) -> Runtime | None:
    """The SDK runtime exporting Temporal's own metrics (workflow task latency, polls, slots,
    schedule-to-start, ...) for Prometheus on `metrics_address`; None: the default runtime, no
    exporter. One per process and address, since each binds its port: every client of the
    process shares it (and so the worker built on one)."""
    if not metrics_address:
        return None
    with _runtimes_lock:
        runtime = _runtimes.get(metrics_address)
        if runtime is None:
            metrics = PrometheusConfig(
                bind_address=metrics_address,
                # The names Prometheus conventions expect: counters end in _total, durations
                # are seconds and say so (temporal_workflow_task_execution_latency_seconds).
                counters_total_suffix=True,
                unit_suffix=True,
                durations_as_seconds=True,
            )
            runtime = Runtime(telemetry=TelemetryConfig(metrics=metrics))
            _runtimes[metrics_address] = runtime
    return runtime


async def register_search_attributes(client: Client, namespace: str) -> None:
    """Make the complaint search attributes known to the server; ones it knows are left alone.
    (One at a time, and without listing first: the time-skipping server cannot list them.)"""
    for key in search.ALL:
        request = AddSearchAttributesRequest(
            namespace=namespace,
            # The SDK's enum carries the API's numbers, so its value is the API's IndexedValueType.
            search_attributes={key.name: key.indexed_value_type.value},
        )
        try:
            await client.operator_service.add_search_attributes(request)
        except RPCError as error:
            if error.status is not RPCStatusCode.ALREADY_EXISTS:
                raise
