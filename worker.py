"""Composition root of the worker: settings, logging, store, client, Worker(...)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from concurrent.futures import ThreadPoolExecutor

import structlog
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.worker import Worker

from activities.events import EventActivities
from engine.logs import configure_logging
from engine.settings import Settings
from engine.temporal import connect
from store import ComplaintListProjection, EventStore, ProjectionRunner, make_engine, migrate
from workflows.complaint import ComplaintWorkflow

WORKFLOWS = [ComplaintWorkflow]
# Activities are synchronous (SQLAlchemy); they run on this many threads.
ACTIVITY_THREADS = 16

log = structlog.get_logger(__name__)


def build_projector(engine: Engine) -> ProjectionRunner:
    """The read models this worker keeps up to date.

    Every worker runs one, so several may run at once. That is safe: a batch and its checkpoint
    commit together, and the checkpoint only moves by compare-and-set, so no event is ever
    applied twice; on PostgreSQL a per-projection advisory lock also makes a second runner skip
    the round instead of repeating the work (see store.projections.ProjectionRunner).
    """
    return ProjectionRunner(engine, [ComplaintListProjection()])


def build_worker(
    client: Client, task_queue: str, events: EventActivities, executor: ThreadPoolExecutor
) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=[events.append_events, events.archive_complaint],
        activity_executor=executor,
        max_concurrent_activities=ACTIVITY_THREADS,
    )


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    """Run a worker until `stop` is set; in-flight activities finish before it returns."""
    settings.load_policy()  # a malformed policy stops start-up here, with its message
    engine = make_engine(settings.store_url())
    migrate(engine)
    client = await connect(settings)
    with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as executor:
        events = EventActivities(EventStore(engine))
        worker = build_worker(client, settings.task_queue, events, executor)
        projecting = asyncio.create_task(build_projector(engine).run_forever(stop))
        try:
            async with worker:
                log.info(
                    "worker started",
                    task_queue=settings.task_queue,
                    temporal=settings.temporal_address,
                    namespace=settings.namespace,
                )
                await stop.wait()
                log.info("worker stopping")
        finally:
            if not stop.is_set():  # the worker failed: stop projecting too
                projecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await projecting  # once stop is set, it returns after the batch under way
    engine.dispose()


async def main() -> None:
    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await serve(settings, stop)


if __name__ == "__main__":
    asyncio.run(main())
