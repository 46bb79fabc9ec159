"""The loop behind the worker's background jobs (projections, notification delivery)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)

MAX_RETRY_DELAY = 30.0  # seconds between rounds while a job keeps failing


async def poll_until_stopped(
    job: str,
    round_: Callable[[], int] | Callable[[], Awaitable[int]],
    stop: asyncio.Event,
    interval: float = 0.5,
    **context: object,
) -> None:
    """Run `round_` until `stop` is set: on a thread (the store is synchronous), or awaited if it
    is a coroutine function (one that talks to Temporal). A round that did work is followed at
    once by the next; an idle one waits `interval`. A failing round is logged and retried,
    waiting longer after each failure, never silently given up."""
    log.info(f"{job} started", **context)
    failures = 0
    while not stop.is_set():
        try:
            if inspect.iscoroutinefunction(round_):
                done = await round_()
            else:
                done = await asyncio.to_thread(round_)
        except Exception:
            failures += 1
            delay = min(interval * 2**failures, MAX_RETRY_DELAY)
            log.exception(f"{job} round failed; retrying", failures=failures, delay=delay)
        else:
            failures = 0
            if done:
                continue  # more may be waiting; the stop check comes first
            delay = interval
        try:
            await asyncio.wait_for(stop.wait(), delay)
        except TimeoutError:
            pass
    log.info(f"{job} stopped")
