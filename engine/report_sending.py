"""Sending a contract's report by hand (`complaints reports send`) and resending one to the
recipients it did not reach (`complaints reports resend`), through the same workflows and keys as
the schedules, so neither sends a report twice to anyone.

send: starts ScheduledReportWorkflow for the period's due time, as the schedule would; the
report's key (report:<contract>:<kind>:<period>) makes a second send find the first.
resend: starts the report's own workflow again under its key (Temporal allows that only after it
failed): it builds nothing new (the archive holds the report as first built) and sends only to
the recipients no run has reached (store.report_deliveries), each outcome a new record.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.report_models import ReportInput, ScheduledReportInput
from domain.contracts import Contract
from domain.report_times import (
    REPORT_KINDS,
    ReportKind,
    ReportPeriodError,
    due_of,
    last_due,
    period_of,
    report_key,
)
from engine.contracts import ContractBook
from engine.report_schedules import delivery_retry
from engine.settings import Settings
from store.report_deliveries import Delivery, ReportDeliveries, outcomes
from store.sent_reports import ArchivedReport, SentReports
from workflows.reports import ContractReportWorkflow, ScheduledReportWorkflow

SENT, ALREADY_SENT, UNDER_WAY, UNDELIVERED = "sent", "already_sent", "under_way", "undelivered"


@dataclass(frozen=True)
class Sending:
    """What a send or resend came to (`status`), with the archive's record of the report."""

    key: str
    status: str  # SENT, ALREADY_SENT, UNDER_WAY or UNDELIVERED
    report: ArchivedReport | None = None
    outcomes: dict[str, Delivery] = field(default_factory=dict)  # per recipient, the latest
    error: str = ""


@dataclass(frozen=True)
class Asked:
    """A report asked for by hand, checked."""

    contract: Contract
    kind: ReportKind
    key: str
    due: datetime


def asked_report(
    book: ContractBook, contract_id: str, kind: str, period: str | None, now: datetime
) -> Asked:
    """The report of `contract_id`'s `kind` for `period` (None: the latest one due by `now`);
    ValueError names the option and the rule it breaks."""
    contract = book.contracts.get(contract_id)
    if contract is None:
        served = ", ".join(book.contracts)
        raise ValueError(f"--contract: {contract_id!r} is not a contract served here ({served})")
    if not contract.report_recipients:
        raise ValueError(f"--contract: {contract_id!r} names no report_recipients to send to")
    if kind not in REPORT_KINDS:
        raise ValueError(f"--kind: must be one of {', '.join(REPORT_KINDS)}, got {kind!r}")
    zone, at = ZoneInfo(contract.policy.timezone), contract.reports.of(kind)  # type: ignore[arg-type]
    if period is None:
        due = last_due(kind, at, now, zone)  # type: ignore[arg-type]
    else:
        try:
            due = due_of(kind, period, at, zone)  # type: ignore[arg-type]
        except ReportPeriodError as exc:
            raise ValueError(f"--period: {exc}") from None
        if due > now:
            raise ValueError(
                f"--period: {period} is not over yet; its {kind} report falls due"
                f" {due:%Y-%m-%d %H:%M} {zone.key}"
            )
    label = period_of(kind, due, zone).label  # type: ignore[arg-type]
    return Asked(contract, kind, report_key(contract.id, kind, label), due)  # type: ignore[arg-type]


class ReportSender:
    def __init__(self, client: Client, engine: Engine, settings: Settings) -> None:
        self._client, self._settings = client, settings
        self._archive, self._deliveries = SentReports(engine), ReportDeliveries(engine)

    async def send(self, asked: Asked, by: str) -> Sending:
        """Send the report unless it was sent: then say when and to whom, and send nothing."""
        if (done := self._settled(asked.key)) is not None:
            return done
        trigger = ScheduledReportInput(
            contract=asked.contract.id,
            kind=asked.kind,
            timezone=asked.contract.policy.timezone,
            retry=delivery_retry(self._settings),
            due=asked.due,
            requested_by=by,
        )
        try:
            outcome = await self._client.execute_workflow(
                ScheduledReportWorkflow.run,
                trigger,
                id=f"report-trigger:{asked.contract.id}:{asked.kind}:by-hand-{uuid.uuid4().hex}",
                task_queue=self._settings.task_queue,
            )
        except WorkflowFailureError as failed:
            return self._outcome(asked.key, UNDELIVERED, _cause(failed))
        if outcome.already:
            return self._settled(asked.key) or self._outcome(asked.key, UNDER_WAY)
        return self._outcome(asked.key, SENT)

    async def resend(self, report: ArchivedReport, by: str) -> Sending:
        """Send `report` again to the recipients no run has reached; ValueError when none."""
        owed = self._deliveries.owed(report.key, report.recipients)
        if report.sent_at is not None or not owed:
            raise ValueError(
                f"ID: report {report.id} ({report.key}) reached every recipient; nothing to resend"
            )
        request = ReportInput(
            contract=report.contract,
            kind=report.kind,  # type: ignore[arg-type]
            due=report.period_end,  # the end of its period: the period it was due for
            retry=delivery_retry(self._settings),
            requested_by=by,
        )
        try:
            await self._client.execute_workflow(
                ContractReportWorkflow.run,
                request,
                id=report.key,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
                task_queue=self._settings.task_queue,
            )
        except WorkflowAlreadyStartedError:
            return self._outcome(report.key, UNDER_WAY)
        except WorkflowFailureError as failed:
            return self._outcome(report.key, UNDELIVERED, _cause(failed))
        return self._outcome(report.key, SENT)

    def _settled(self, key: str) -> Sending | None:
        archived = self._archive.get(key)
        if archived is None or archived.sent_at is None:
            return None
        return self._outcome(key, ALREADY_SENT)

    def _outcome(self, key: str, status: str, error: str = "") -> Sending:
        return Sending(
            key=key,
            status=status,
            report=self._archive.get(key),
            outcomes=outcomes(self._deliveries.of([key])[key]),
            error=error,
        )


def _cause(failed: WorkflowFailureError) -> str:
    cause = failed.cause
    while getattr(cause, "cause", None) is not None:
        cause = cause.cause  # type: ignore[union-attr]
    return str(getattr(cause, "message", None) or cause or failed)
