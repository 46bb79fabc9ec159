"""The values that go into and come out of the event store."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class NewEvent:
    event_id: str  # made deterministically by the caller, so a retried append can be recognised
    type: str
    data: dict[str, Any]  # never personal data
    # Kept apart from `data` so it can later be encrypted per customer or crypto-shredded
    # without rewriting the rest of the history.
    personal: dict[str, Any] | None
    occurred_at: datetime  # must be tz-aware


@dataclass(frozen=True)
class RecordedEvent:
    position: int  # in the global log; increases in commit order, may have gaps
    stream_id: str
    version: int  # 1-based within the stream, gap-free
    event_id: str
    type: str
    data: dict[str, Any]
    personal: dict[str, Any] | None
    occurred_at: datetime  # UTC
    recorded_at: datetime  # UTC


@dataclass(frozen=True)
class OutboxMessage:
    """A notification to deliver later; delivery happens elsewhere."""

    key: str  # unique per notification; a message whose key is already stored is not added again
    stream_id: str
    kind: str
    recipient: str  # a role such as "team_lead" or "customer", never an address
    payload: dict[str, Any]  # never personal data
    created_at: datetime  # must be tz-aware
    # Not sent before this: a held message's opening (quiet hours); None: at once. Read back
    # from a pending row, it is when the row may next be tried (a retry's backoff, a lease).
    not_before: datetime | None = None


@dataclass(frozen=True)
class AppendResult:
    version: int  # the stream's version after the call
    written: int  # events inserted; 0 when the call repeated an append that had already committed


class ConcurrencyConflict(Exception):
    """The stream is not at the version the caller expected."""

    def __init__(
        self, stream_id: str, expected_version: int, actual_version: int, detail: str = ""
    ) -> None:
        message = f"stream {stream_id!r} is at version {actual_version}, not {expected_version}"
        super().__init__(f"{message}: {detail}" if detail else message)
        self.stream_id = stream_id
        self.expected_version = expected_version
        self.actual_version = actual_version
