"""Each contract's report schedules in Temporal: one Schedule per contract and kind (weekly,
monthly), at the contract's report times in its own time zone (domain.report_times), starting
ScheduledReportWorkflow. They show in the Web UI and in `temporal schedule list`.

ensure_schedules runs at every worker's start-up: it creates the missing ones, updates the others
to what the contracts file says now (so a change of times moves a schedule), and deletes those
of retired or removed contracts and of contracts that name no report_recipients. Doing it
again changes nothing.

A run missed while the server was down is started when it is back if it was due less than
COMPLAINTS_REPORT_CATCHUP_HOURS ago; overlapping runs are allowed, since each report has its own
key (workflows.reports) and two triggers of one report start it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
)
from temporalio.service import RPCError, RPCStatusCode

from activities.report_models import DeliveryRetry, ScheduledReportInput
from domain.contracts import Contract
from domain.report_times import REPORT_KINDS, ReportKind, ReportTime
from engine.contracts import ContractBook
from engine.settings import Settings
from workflows.reports import ScheduledReportWorkflow

log = structlog.get_logger(__name__)
PREFIX = "report-schedule:"


def schedule_id(contract_id: str, kind: ReportKind) -> str:
    return f"{PREFIX}{contract_id}:{kind}"


def calendar(at: ReportTime) -> ScheduleCalendarSpec:
    """The calendar entry of a report time. Temporal counts weekdays from Sunday (0)."""
    days = (
        {"day_of_week": [ScheduleRange((at.day + 1) % 7)]}
        if at.kind == "weekly"
        else {"day_of_month": [ScheduleRange(at.day)]}
    )
    return ScheduleCalendarSpec(
        second=[ScheduleRange(0)],
        minute=[ScheduleRange(at.minute)],
        hour=[ScheduleRange(at.hour)],
        comment=f"{at.kind} report: {at.text()}",
        **days,
    )


def schedule_for(contract: Contract, kind: ReportKind, settings: Settings) -> Schedule:
    zone = contract.policy.timezone
    return Schedule(
        action=ScheduleActionStartWorkflow(
            ScheduledReportWorkflow.run,
            ScheduledReportInput(
                contract=contract.id, kind=kind, timezone=zone, retry=delivery_retry(settings)
            ),
            id=f"report-trigger:{contract.id}:{kind}",  # Temporal appends the nominal time
            task_queue=settings.task_queue,
        ),
        spec=ScheduleSpec(calendars=[calendar(contract.reports.of(kind))], time_zone_name=zone),
        policy=SchedulePolicy(
            overlap=ScheduleOverlapPolicy.ALLOW_ALL,
            catchup_window=timedelta(hours=settings.report_catchup_hours),
        ),
    )


def delivery_retry(settings: Settings) -> DeliveryRetry:
    return DeliveryRetry(
        base_seconds=settings.delivery_retry_base,
        cap_seconds=settings.delivery_retry_cap,
        max_attempts=settings.delivery_max_attempts,
    )


async def ensure_schedules(client: Client, contracts: ContractBook, settings: Settings) -> None:
    # A contract that names no report_recipients is owed no reports: scheduling it would build
    # one every week only to tell its supervisors it reached nobody (the default contract of
    # `make run` names none).
    reported = [c for c in contracts if not c.retired and c.report_recipients]
    for contract in contracts:
        if not contract.retired and not contract.report_recipients:
            log.info("no report schedules: no report_recipients", contract=contract.id)
    wanted = {
        schedule_id(c.id, kind): schedule_for(c, kind, settings)
        for c in reported
        for kind in REPORT_KINDS
    }
    for sid, schedule in wanted.items():
        try:
            await client.create_schedule(sid, schedule)
            log.info("report schedule created", schedule=sid)
        except ScheduleAlreadyRunningError:
            await client.get_schedule_handle(sid).update(
                lambda _current, new=schedule: ScheduleUpdate(schedule=new)
            )
            log.info("report schedule updated", schedule=sid)
    # The book's own contracts that are owed none lose theirs by name: a list is the server's
    # visibility index, which may not show yet a schedule made a moment ago (a start-up just
    # before). The list finds those of contracts gone from the book, made at an earlier start.
    owed_none = {schedule_id(c.id, kind) for c in contracts for kind in REPORT_KINDS} - set(wanted)
    for sid in sorted(owed_none):
        await _remove(client, sid)
    async for listed in await client.list_schedules():
        if listed.id.startswith(PREFIX) and listed.id not in wanted and listed.id not in owed_none:
            await _remove(client, listed.id)


async def _remove(client: Client, sid: str) -> None:
    try:
        await client.get_schedule_handle(sid).delete()
    except RPCError as error:
        if error.status is not RPCStatusCode.NOT_FOUND:
            raise
        return  # none to remove
    log.info("report schedule removed", schedule=sid)


@dataclass(frozen=True)
class ScheduleRow:
    id: str
    when: str  # the calendar's comment: "weekly report: fri 16:30"
    timezone: str
    next_runs: list[datetime]
    paused: bool


async def report_schedules(client: Client) -> list[ScheduleRow]:
    """The report schedules on the server, with their next runs."""
    rows = []
    async for listed in await client.list_schedules():
        if not listed.id.startswith(PREFIX):
            continue
        described = await client.get_schedule_handle(listed.id).describe()
        spec = described.schedule.spec
        rows.append(
            ScheduleRow(
                id=listed.id,
                when="; ".join(c.comment for c in spec.calendars),
                timezone=spec.time_zone_name or "UTC",
                next_runs=list(described.info.next_action_times),
                paused=described.schedule.state.paused,
            )
        )
    return sorted(rows, key=lambda r: r.id)
