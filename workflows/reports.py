"""A contract's reports as workflows.

ScheduledReportWorkflow is what a contract's Temporal Schedule starts (engine.report_schedules).
It works out which period its nominal time is for and starts ContractReportWorkflow under the
report's key, report:<contract>:<kind>:<period>, as its workflow id: a second trigger of the same
report (a schedule's catch-up, a backfill, a trigger by hand) finds that id taken and starts
nothing. A failed report may be started again (ALLOW_DUPLICATE_FAILED_ONLY); one sent may not,
and past the server's retention the archive still knows it was sent.

ContractReportWorkflow builds and archives the report, sends it to each recipient with retries,
stamps it sent, tells the supervisors and the client contact of each newly flagged team, and,
when a recipient cannot be reached after every retry, tells the contract's supervisors and fails,
so the failure shows in the Web UI and the report can be started again. Each run records what
became of the report for each recipient (store.report_deliveries), and a run sends only to those
no run has reached yet: started again after a partial failure (a resend), it sends to the
others only.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey, WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, ApplicationError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.report_models import (
        UNDELIVERABLE,
        BuiltReport,
        DeliveryRetry,
        NoticeRequest,
        RecordDeliveries,
        ReportInput,
        ReportOutcome,
        ScheduledReportInput,
        SendReport,
    )
    from domain.report_times import period_of, report_key

# Set by Temporal on every workflow a schedule starts: the time it was due, not when it ran.
SCHEDULED_TIME = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
BUILD_TIMEOUT = timedelta(minutes=10)
SEND_TIMEOUT = timedelta(minutes=2)
STORE_RETRY = RetryPolicy(maximum_attempts=10, maximum_interval=timedelta(minutes=1))
# Each run records what became of the report for each recipient, so a supervisor can resend it
# to those it did not reach (a run started before this records nothing).
REPORT_DELIVERIES = "report_deliveries"


# Outside the sandbox, as ComplaintWorkflow: its proxies break ZoneInfo, and determinism rests on
# the pure domain (domain.report_times) and workflow.now().
@workflow.defn(name="ScheduledReport", sandboxed=False)
class ScheduledReportWorkflow:
    @workflow.run
    async def run(self, req: ScheduledReportInput) -> ReportOutcome:
        due = req.due or _scheduled_time() or workflow.now()
        period = period_of(req.kind, due, ZoneInfo(req.timezone))
        key = report_key(req.contract, req.kind, period.label)
        try:
            return await workflow.execute_child_workflow(
                ContractReportWorkflow.run,
                ReportInput(
                    contract=req.contract,
                    kind=req.kind,
                    due=due,
                    retry=req.retry,
                    requested_by=req.requested_by,
                ),
                id=key,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
                # The report goes on even if this trigger is terminated.
                parent_close_policy=ParentClosePolicy.ABANDON,
            )
        except WorkflowAlreadyStartedError:
            workflow.logger.info("report already started or sent", extra={"key": key})
            return ReportOutcome(key=key, already=True)


def _scheduled_time() -> datetime | None:
    return workflow.info().typed_search_attributes.get(SCHEDULED_TIME)


@workflow.defn(name="ContractReport", sandboxed=False)
class ContractReportWorkflow:
    @workflow.run
    async def run(self, req: ReportInput) -> ReportOutcome:
        built: BuiltReport = await workflow.execute_activity(
            "build_contract_report",
            req,
            result_type=BuiltReport,
            start_to_close_timeout=BUILD_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        if built.already_sent:
            return ReportOutcome(key=built.key, already=True)
        sent, failed = await self._deliver(built, req.retry)
        if workflow.patched(REPORT_DELIVERIES):
            await self._store(
                "record_report_deliveries",
                RecordDeliveries(
                    key=built.key,
                    run_id=workflow.info().run_id,
                    requested_by=req.requested_by,
                    delivered=sent,
                    undelivered=failed,
                ),
            )
        undelivered = [f"  {recipient}: {why}" for recipient, why in failed.items()]
        if not built.recipients:
            undelivered.append("  the contract names no report_recipients")
        if not undelivered:
            await self._store("mark_report_sent", built.key)
        for notice in built.flag_notices:
            await self._store("send_report_notice", notice, delivery=req.retry)
        if undelivered:
            await self._store(
                "send_report_notice",
                NoticeRequest(
                    key=f"undelivered:{built.key}",
                    contract=req.contract,
                    kind="report_undelivered",
                    details={"period": built.period, "lines": "\n".join(undelivered)},
                ),
                delivery=req.retry,
            )
            raise ApplicationError(
                f"{built.key}: not delivered to {len(undelivered)} recipient(s); the"
                " supervisors were told",
                type=UNDELIVERABLE,
                non_retryable=True,
            )
        return ReportOutcome(key=built.key, sent_to=sent)

    async def _deliver(
        self, built: BuiltReport, retry: DeliveryRetry
    ) -> tuple[list[str], dict[str, str]]:
        """Send to each recipient owed it: those it reached, and why not for the others."""
        sent: list[str] = []
        failed: dict[str, str] = {}
        for recipient in built.recipients:
            try:
                await workflow.execute_activity(
                    "send_contract_report",
                    SendReport(key=built.key, recipient=recipient),
                    start_to_close_timeout=SEND_TIMEOUT,
                    retry_policy=_delivery_policy(retry),
                )
                sent.append(recipient)
            except ActivityError as err:
                failed[recipient] = _reason(err)
        return sent, failed

    async def _store(self, activity: str, arg, delivery: DeliveryRetry | None = None):
        return await workflow.execute_activity(
            activity,
            arg,
            start_to_close_timeout=SEND_TIMEOUT,
            retry_policy=_delivery_policy(delivery) if delivery else STORE_RETRY,
        )


def _delivery_policy(retry: DeliveryRetry) -> RetryPolicy:
    return RetryPolicy(
        initial_interval=timedelta(seconds=retry.base_seconds),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=retry.cap_seconds),
        maximum_attempts=retry.max_attempts,
        non_retryable_error_types=[UNDELIVERABLE],
    )


def _reason(err: ActivityError) -> str:
    cause = err.cause
    return str(cause.message if isinstance(cause, ApplicationError) else cause or err)
