"""Traces across API -> Temporal client -> workflow -> activities, caught by an in-memory
exporter: the real app over loopback, the real dev server, worker and store. The client, worker
and app get their tracer as the composition does (engine.tracing, api.tracing); only the exporter
is the test's."""

from __future__ import annotations

import asyncio
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client

from activities.events import EventActivities
from api.app import create_app
from engine.service import ComplaintService
from engine.tracing import INSTRUMENTATION, interceptors_for, provider_with
from engine.worker_assembly import ACTIVITY_THREADS, build_worker
from tests.e2e.conftest import bearer, customer_links, form, serving
from tests.keys import CONVERTER
from tests.unit.helpers import POLICY

CUSTOMER = {"name": "Zhou Min", "email": "zhou.min@example.com", "phone": "+86 139 1234 5678"}
DESCRIPTION = "The kettle caught fire in my kitchen"


async def traced_submission(temporal, store, api_keys) -> tuple[str, str, list[ReadableSpan]]:
    """Submit one complaint through the API and open the customer's page; the complaint's id,
    the page's token and every span the exporter got."""
    exporter = InMemorySpanExporter()
    tracer = provider_with(SimpleSpanProcessor(exporter)).get_tracer(INSTRUMENTATION)
    client = await Client.connect(
        temporal.client.service_client.config.target_host,
        data_converter=CONVERTER,
        interceptors=interceptors_for(tracer),
    )
    task_queue = f"traces-{uuid.uuid4().hex}"
    links = customer_links(store)
    app = create_app(
        ComplaintService(client, task_queue, POLICY, store),
        api_keys=api_keys[0],
        links=links,
        tracer=tracer,
    )
    with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as pool:
        async with (
            build_worker(client, task_queue, EventActivities(store), pool),
            serving(app) as url,
            httpx.AsyncClient(base_url=url, timeout=20) as http,
        ):
            response = await http.post(
                "/api/complaints",
                json=form(customer=CUSTOMER, description=DESCRIPTION),
                headers=bearer(api_keys[1]["admin"]),
            )
            assert response.status_code == 201, response.text
            complaint_id = response.json()["id"]
            page = urlsplit(links.url_for(complaint_id, datetime.now(UTC))).path
            assert (await http.get(page)).status_code == 200
            await _until(exporter, lambda s: s.name.startswith("RunActivity:append_events"))
            await client.get_workflow_handle(complaint_id).terminate("tracing test done")
    return complaint_id, page.rsplit("/", 1)[1], list(exporter.get_finished_spans())


async def _until(exporter: InMemorySpanExporter, match) -> None:
    async with asyncio.timeout(20):
        while not any(match(s) for s in exporter.get_finished_spans()):
            await asyncio.sleep(0.05)


def _named(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    found = [s for s in spans if s.name == name]
    assert found, f"no span {name!r} among {sorted({s.name for s in spans})}"
    return found[0]


async def test_a_submission_is_one_trace_from_the_request_to_the_activity(
    temporal, store, api_keys
):
    complaint_id, _token, spans = await traced_submission(temporal, store, api_keys)
    request = _named(spans, "POST /api/complaints")
    start = _named(spans, "StartUpdateWithStartWorkflow:ComplaintWorkflow")
    run = _named(spans, "RunWorkflow:ComplaintWorkflow")
    schedule = _named(spans, "StartActivity:append_events")
    activity = _named(spans, "RunActivity:append_events")
    # One trace. Temporal's interceptor hangs the workflow's spans on the start's context, which
    # reached the worker through the workflow's headers (not through this process's context):
    # request -> StartUpdateWithStartWorkflow (intake's start) -> RunWorkflow, and the start ->
    # StartActivity -> RunActivity.
    assert {s.context.trace_id for s in (request, start, run, schedule, activity)} == {
        request.context.trace_id
    }
    assert request.parent is None
    for parent, child in ((request, start), (start, run), (start, schedule), (schedule, activity)):
        assert child.parent is not None and child.parent.span_id == parent.context.span_id, (
            f"{child.name} is not a child of {parent.name}"
        )
    assert request.attributes["http.route"] == "/api/complaints"
    assert request.attributes["http.response.status_code"] == 201
    assert run.attributes["temporalWorkflowID"] == complaint_id


async def test_spans_carry_no_personal_data_nor_the_customer_link(temporal, store, api_keys):
    _complaint_id, token, spans = await traced_submission(temporal, store, api_keys)
    page = _named(spans, "GET /my/{complaint_id}/{token}")
    assert page.attributes["http.route"] == "/my/{complaint_id}/{token}"
    text = json.dumps([_everything(s) for s in spans], default=str)
    for secret in [*CUSTOMER.values(), DESCRIPTION, token, "127.0.0.1"]:
        assert secret not in text, f"{secret!r} is in a span"


def _everything(span: ReadableSpan) -> dict:
    """Whatever an exporter would send of a span."""
    return {
        "name": span.name,
        "attributes": dict(span.attributes or {}),
        "events": [(e.name, dict(e.attributes or {})) for e in span.events],
        "status": span.status.description,
        "resource": dict(span.resource.attributes),
        "links": [dict(link.attributes or {}) for link in span.links],
    }
