"""The worker as the composition root assembles it: its workflows and activities, the read
models it keeps up, the outbox's delivery and the reports back to each complaint.

worker.py and `complaints run` (entrypoints.local) run it; its parts come from
engine.composition.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.worker import Worker

from activities.assignment import AssignmentActivities
from activities.events import EventActivities
from activities.reports import ReportActivities
from delivery.dispatcher import OutboxDispatcher
from delivery.reporting import DeliveryReporter
from delivery.senders import SmtpSender, WebhookSender
from domain.commands import RecordDelivery
from engine.composition import Parts, build_projector, open_parts
from engine.contracts import ContractBook
from engine.gc_pauses import young_collections_every
from engine.metrics import metrics_served
from engine.report_schedules import ensure_schedules
from engine.settings import Settings
from store import EventStore
from store.vault import PersonalVault
from workflows.complaint import ComplaintWorkflow
from workflows.reports import ContractReportWorkflow, ScheduledReportWorkflow

WORKFLOWS = [ComplaintWorkflow, ScheduledReportWorkflow, ContractReportWorkflow]
# Activities are synchronous (SQLAlchemy); they run on this many threads.
ACTIVITY_THREADS = 16

log = structlog.get_logger(__name__)


def build_dispatcher(
    settings: Settings, engine: Engine, contracts: ContractBook, vault: PersonalVault
) -> OutboxDispatcher | None:
    """Delivery of the outbox over the configured channels; None when none is configured, so
    messages wait in the outbox instead of failing (and escalating) for want of a channel."""
    senders = []
    if smtp := build_smtp(settings):
        senders.append(smtp)
    if secret := settings.webhook_secret.get_secret_value():
        senders.append(WebhookSender(secret))
    if not senders:
        log.warning("no delivery channel configured: notifications stay in the outbox")
        return None
    return OutboxDispatcher(
        engine,
        contracts.directory_of(None),
        senders,
        settings.base_url,
        retry_base=settings.delivery_retry_base,
        retry_cap=settings.delivery_retry_cap,
        max_attempts=settings.delivery_max_attempts,
        vault=vault,  # the customer's address is sealed in the store
        customer_link=customer_link_of(settings, engine, vault),
        directories=contracts.directories,
    )


def build_smtp(settings: Settings) -> SmtpSender | None:
    """The outgoing mail server, shared by notifications and reports; None when not set."""
    if not settings.smtp_host:
        return None
    return SmtpSender(
        settings.smtp_host,
        settings.smtp_port,
        settings.smtp_starttls,
        settings.smtp_username or None,
        settings.smtp_password.get_secret_value() or None,
        settings.smtp_from,
        reply_key=settings.key_material().reply_key,
    )


def customer_link_of(settings: Settings, engine: Engine, vault: PersonalVault):
    """complaint id -> the customer's own page, a signed link (security.customer_links)."""
    links = settings.customer_links(EventStore(engine, vault))
    return lambda complaint_id: links.url_for(complaint_id, datetime.now(UTC))


def build_reporter(client: Client, engine: Engine) -> DeliveryReporter:
    """Tells each complaint what became of its messages to the customer."""

    async def signal(complaint_id: str, report: RecordDelivery) -> None:
        handle = client.get_workflow_handle(complaint_id)
        await handle.signal(ComplaintWorkflow.delivery_reported, report)

    return DeliveryReporter(engine, signal)


def build_worker(
    client: Client,
    task_queue: str,
    events: EventActivities,
    executor: ThreadPoolExecutor,
    cached_complaints: int = Settings.model_fields["worker_cached_complaints"].default,
    sticky_seconds: float = Settings.model_fields["worker_sticky_seconds"].default,
    reports: ReportActivities | None = None,
    assignment: AssignmentActivities | None = None,
) -> Worker:
    """`assignment` reads who is away in the contracts' parties files; without it, new
    complaints are assigned on the store's facts alone (the supervisors' away marks, the load)."""
    assignment = assignment or AssignmentActivities(events.store)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=[
            events.append_events,
            events.archive_complaint,
            assignment.team_load,
            *(reports.all() if reports else []),
        ],
        activity_executor=executor,
        max_concurrent_activities=ACTIVITY_THREADS,
        max_concurrent_local_activities=ACTIVITY_THREADS,
        # A complaint not in the cache is replayed from its whole history before each decision:
        # a herd larger than the cache pays that for nearly every deadline.
        max_cached_workflows=cached_complaints,
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=sticky_seconds),
    )


async def serve(settings: Settings, stop: asyncio.Event, parts: Parts | None = None) -> None:
    """Run a worker until `stop` is set; in-flight activities finish before it returns. On
    `parts` when given (`complaints run` shares its own with the API and the mail receiver, and
    closes them itself), else on parts of its own."""
    young_collections_every(settings.worker_gc_young_threshold)
    owned = parts is None
    if parts is None:
        parts = await open_parts(settings)
    try:
        # The process's metrics (engine.metrics): the worker's counts, and under `complaints
        # run` the API's too, with the store's gauges.
        with metrics_served(settings.metrics_address, parts.engine):
            await _run(settings, stop, parts)
    finally:
        if owned:
            parts.close()


async def _run(settings: Settings, stop: asyncio.Event, parts: Parts) -> None:
    engine, client, contracts, vault = parts.engine, parts.client, parts.contracts, parts.vault
    with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as executor:
        events = EventActivities(EventStore(engine, vault))
        reports = ReportActivities(engine, contracts, build_smtp(settings))
        worker = build_worker(
            client, settings.task_queue, events, executor, settings.worker_cached_complaints,
            settings.worker_sticky_seconds, reports, AssignmentActivities(events.store, contracts),
        )  # fmt: skip
        # The contracts' report schedules, as the files say now (created, moved or removed).
        await ensure_schedules(client, contracts, settings)
        background = [asyncio.create_task(build_projector(engine).run_forever(stop))]
        dispatcher = build_dispatcher(settings, engine, contracts, vault)
        if dispatcher is not None:
            background.append(asyncio.create_task(dispatcher.run_forever(stop)))
            reporter = build_reporter(client, engine)
            background.append(asyncio.create_task(reporter.run_forever(stop)))
        try:
            async with worker:
                log.info(
                    "worker started",
                    task_queue=settings.task_queue,
                    temporal=settings.temporal_address,
                    namespace=settings.namespace,
                    gc_young_threshold=gc.get_threshold()[0],  # in effect, not as configured
                )
                await stop.wait()
                log.info("worker stopping")
        finally:
            for task in background:
                if not stop.is_set():  # the worker failed: stop the loops beside it too
                    task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task  # once stop is set, each returns after the batch under way
