"""Event-sourced storage: the event log, the notification outbox and closure records."""

from store.db import make_engine, migrate
from store.event_store import EventStore
from store.records import (
    AppendResult,
    ConcurrencyConflict,
    NewEvent,
    OutboxMessage,
    RecordedEvent,
)

__all__ = [
    "AppendResult",
    "ConcurrencyConflict",
    "EventStore",
    "NewEvent",
    "OutboxMessage",
    "RecordedEvent",
    "make_engine",
    "migrate",
]
