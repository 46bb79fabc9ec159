"""Inputs and outputs of the report workflows and their activities (no database imports: the
workflows import these)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.report_times import ReportKind

# The error type of a delivery that can never succeed (SMTP 5xx, no server): not retried.
UNDELIVERABLE = "ReportUndeliverable"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DeliveryRetry(_Frozen):
    """How a report's delivery is retried (COMPLAINTS_DELIVERY_RETRY_*, as notifications)."""

    base_seconds: float = 30.0
    cap_seconds: float = 3600.0
    max_attempts: int = 12


class ScheduledReportInput(_Frozen):
    """What a contract's schedule starts with; `due` set only by a trigger by hand (otherwise
    the schedule's own nominal time)."""

    contract: str
    kind: ReportKind
    timezone: str
    retry: DeliveryRetry = DeliveryRetry()
    due: datetime | None = None
    requested_by: str | None = None  # who triggered it by hand (complaints reports send)


class ReportInput(_Frozen):
    contract: str
    kind: ReportKind
    due: datetime  # the schedule's nominal time: the period follows from it
    retry: DeliveryRetry = DeliveryRetry()
    requested_by: str | None = None  # who sent or resent it by hand; None: its schedule


class NoticeRequest(_Frozen):
    key: str  # once per key, ever
    contract: str
    kind: str  # review_flag | report_undelivered
    details: dict[str, Any]  # never personal data
    to_report_recipients: bool = False  # the client contact too, besides the supervisors


class BuiltReport(_Frozen):
    key: str
    period: str
    content_hash: str
    recipients: list[str]  # those still owed it: not yet delivered to by an earlier run
    already_sent: bool  # the archive holds it as sent: send nothing
    flag_notices: list[NoticeRequest] = Field(default_factory=list)  # teams flagged now


class SendReport(_Frozen):
    key: str
    recipient: str


class ReportOutcome(_Frozen):
    key: str
    sent_to: list[str] = Field(default_factory=list)
    undelivered: list[str] = Field(default_factory=list)
    already: bool = False  # started or sent before: this trigger did nothing


class RecordDeliveries(_Frozen):
    """What became of one run's sending of a report, per recipient (store.report_deliveries)."""

    key: str
    run_id: str
    requested_by: str | None = None
    delivered: list[str] = Field(default_factory=list)
    undelivered: dict[str, str] = Field(default_factory=dict)  # recipient -> why not
