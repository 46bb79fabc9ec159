"""Event-sourced storage: the event log, the notification outbox, closure records and the read
models projected from the log."""

from store.complaint_list import (
    ComplaintList,
    ComplaintListProjection,
    ListedComplaint,
    ListPage,
)
from store.db import make_engine, migrate
from store.event_store import EventStore
from store.projections import Projection, ProjectionRunner
from store.records import (
    AppendResult,
    ConcurrencyConflict,
    NewEvent,
    OutboxMessage,
    RecordedEvent,
)
from store.report_model import ReportFacts, ReportProjection

__all__ = [
    "AppendResult",
    "ComplaintList",
    "ComplaintListProjection",
    "ConcurrencyConflict",
    "EventStore",
    "ListPage",
    "ListedComplaint",
    "NewEvent",
    "OutboxMessage",
    "Projection",
    "ProjectionRunner",
    "RecordedEvent",
    "ReportFacts",
    "ReportProjection",
    "make_engine",
    "migrate",
]
