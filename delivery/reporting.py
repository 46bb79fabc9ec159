"""Reporting what became of each message to the customer back to its complaint.

The dispatcher settles an outbox row (sent, or failed for good) in its own transaction; this loop
then tells the complaint's workflow (a `delivery_reported` signal), whose domain records the
outcome as an event of the complaint and decides who must act on a failure. Only then is the row
stamped `reported_at`, so a report lost to a crash or an unreachable server is sent again, and
the domain refuses the repeat of one it already recorded: each outcome counts exactly once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import structlog
from sqlalchemy import Engine
from temporalio.service import RPCError, RPCStatusCode

from delivery.dispatcher import NOTIFICATION_SENT, deliveries_stream
from domain.commands import RecordDelivery
from store.event_store import EventStore
from store.outbox import Outbox, SettledCustomerMessage
from store.polling import poll_until_stopped

log = structlog.get_logger(__name__)

# complaint id, report -> sent to the complaint's workflow (engine.worker_assembly signals it)
Signal = Callable[[str, RecordDelivery], Awaitable[None]]


class DeliveryReporter:
    def __init__(self, engine: Engine, signal: Signal, *, batch: int = 50) -> None:
        self._outbox = Outbox(engine)
        self._store = EventStore(engine)
        self._signal = signal
        self._batch = batch

    async def run_once(self) -> int:
        """Report every settled message not yet reported (up to one batch); how many were."""
        settled = await asyncio.to_thread(self._outbox.unreported, self._batch)
        done: list[int] = []
        unreachable = 0
        for message in settled:
            report = await asyncio.to_thread(self._report_of, message)
            try:
                await self._signal(message.stream_id, report)
            except RPCError as error:
                if error.status is not RPCStatusCode.NOT_FOUND:
                    unreachable += 1
                    continue
                # The complaint's workflow has ended (archived): nobody left to tell; the
                # delivery log keeps the outcome.
            done.append(message.id)
        if done:
            await asyncio.to_thread(self._outbox.mark_reported, done, datetime.now(UTC))
        if unreachable and not done:
            # Temporal is away: fail the round, so the loop waits longer before the next.
            raise RuntimeError(f"{unreachable} delivery reports not sent; will retry")
        return len(done)

    async def run_forever(self, stop: asyncio.Event, interval: float = 0.5) -> None:
        await poll_until_stopped("delivery reporter", self.run_once, stop, interval)

    def _report_of(self, message: SettledCustomerMessage) -> RecordDelivery:
        channels = sorted(
            {
                str(record.data.get("channel"))
                for record in self._store.read_stream(deliveries_stream(message.stream_id))
                if record.type == NOTIFICATION_SENT and record.data.get("key") == message.key
            }
        )
        return RecordDelivery(
            key=message.key,
            kind=message.kind,
            delivered=message.delivered,
            channels=channels,
            reason="" if message.delivered else (message.error or "not delivered")[:1000],
        )
