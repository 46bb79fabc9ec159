"""The contracts' report schedules on the real dev server (the time-skipping server has no
Schedules): made at start-up in each contract's time zone, made again without change, moved when
the contract's times change, removed when it retires; a missed Friday run caught up (a backfill,
as the server does after an outage) reaches the recipients once, even when caught up twice."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import ScheduleBackfill, ScheduleOverlapPolicy
from temporalio.service import RPCError

from activities.events import EventActivities
from activities.reports import ReportActivities
from delivery.senders import SmtpSender
from domain.report_times import ReportTimes, parse_report_time
from engine.contracts import ContractBook
from engine.report_schedules import ensure_schedules, report_schedules, schedule_id
from engine.settings import Settings
from engine.worker_assembly import ACTIVITY_THREADS, build_worker
from store import EventStore, ProjectionRunner, ReportProjection, make_engine, migrate
from tests.delivery.conftest import SmtpServer
from tests.keys import VAULT
from tests.unit.report_stories import append_all, decisions
from tests.workflows.test_contract_reports import CLIENT, FRIDAY, SUPERVISOR_ZH, contracts

SHANGHAI = ZoneInfo("Asia/Shanghai")


def with_times(book: ContractBook, **changes) -> ContractBook:
    contract = dataclasses.replace(book.default, **changes)
    return ContractBook({contract.id: contract}, book.directories, contract.id)


async def next_run(client, kind: str):
    described = await client.get_schedule_handle(schedule_id("default", kind)).describe()
    return described, described.info.next_action_times[0].astimezone(SHANGHAI)


async def test_schedules_follow_the_contracts_in_their_time_zone(temporal, tmp_path):
    client = temporal.client
    settings = Settings(
        task_queue=f"tq-{uuid.uuid4().hex}", data_dir=tmp_path, report_catchup_hours=48
    )
    book = contracts()

    await ensure_schedules(client, book, settings)
    await ensure_schedules(client, book, settings)  # start-up again: nothing changes

    weekly, at = await next_run(client, "weekly")
    assert (at.weekday(), at.hour, at.minute) == (4, 16, 30)  # Friday 16:30 in Shanghai
    assert weekly.schedule.policy.catchup_window == timedelta(hours=48)
    _, at = await next_run(client, "monthly")
    assert (at.day, at.hour, at.minute) == (1, 9, 0)
    listed = await _listed(client, 2)
    assert [r.id for r in listed] == [schedule_id("default", k) for k in ("monthly", "weekly")]
    assert listed[1].when == "weekly report: fri 16:30" and listed[1].next_runs

    moved = ReportTimes(weekly=parse_report_time("weekly", "thu 10:15"))
    await ensure_schedules(client, with_times(book, reports=moved), settings)
    _, at = await next_run(client, "weekly")
    assert (at.weekday(), at.hour, at.minute) == (3, 10, 15)

    await ensure_schedules(client, with_times(book, retired=True), settings)
    for kind in ("weekly", "monthly"):
        with pytest.raises(RPCError):
            await client.get_schedule_handle(schedule_id("default", kind)).describe()

    # A contract that names nobody to send its reports to gets no schedules.
    await ensure_schedules(client, book, settings)
    await ensure_schedules(client, with_times(book, report_recipients=()), settings)
    for kind in ("weekly", "monthly"):
        with pytest.raises(RPCError):
            await client.get_schedule_handle(schedule_id("default", kind)).describe()


async def _listed(client, count: int):
    """The schedules as `complaints schedules` lists them (the list lags a creation a little)."""
    async with asyncio.timeout(30):
        while len(rows := await report_schedules(client)) < count:
            await asyncio.sleep(0.2)
    return rows


async def test_a_missed_friday_caught_up_twice_is_sent_once(temporal, tmp_path):
    client = temporal.client
    engine = make_engine(f"sqlite:///{tmp_path / 'events.sqlite3'}")
    migrate(engine)
    store = EventStore(engine, VAULT)
    append_all(store, decisions())
    ProjectionRunner(engine, [ReportProjection()]).run_to_end()
    smtp = SmtpServer()
    smtp.start()
    settings = Settings(task_queue=f"tq-{uuid.uuid4().hex}", data_dir=tmp_path)
    book = contracts()
    mailer = SmtpSender("127.0.0.1", smtp.port, False, None, None, "reports@provider.example")
    activities = ReportActivities(engine, book, mailer)
    try:
        with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as pool:
            worker = build_worker(
                client, settings.task_queue, EventActivities(store), pool, reports=activities
            )
            async with worker:
                await ensure_schedules(client, book, settings)
                handle = client.get_schedule_handle(schedule_id("default", "weekly"))
                window = ScheduleBackfill(
                    start_at=FRIDAY - timedelta(minutes=1),
                    end_at=FRIDAY + timedelta(minutes=1),
                    overlap=ScheduleOverlapPolicy.ALLOW_ALL,
                )
                await handle.backfill(window)
                await handle.backfill(window)
                await _triggers_done(client, settings.task_queue)
    finally:
        smtp.stop()
        await ensure_schedules(client, with_times(book, retired=True), settings)
        engine.dispose()

    assert len(smtp.to(CLIENT)) == 1 and len(smtp.to(SUPERVISOR_ZH)) == 1
    assert "2026-W48" in smtp.to(CLIENT)[0].message["Subject"]  # the week it was due for


async def _triggers_done(client, task_queue: str) -> None:
    """Until a trigger completed and none runs. (A second backfill of the same nominal time
    while the first runs is refused by the server itself: the trigger's id carries that time.)"""
    mine = f"WorkflowType = 'ScheduledReport' AND TaskQueue = '{task_queue}'"
    async with asyncio.timeout(60):
        while (
            await client.count_workflows(f"{mine} AND ExecutionStatus = 'Completed'")
        ).count < 1 or (
            await client.count_workflows(f"{mine} AND ExecutionStatus = 'Running'")
        ).count:
            await asyncio.sleep(0.2)


async def test_a_sent_report_is_listed_and_downloadable_as_sent(stack, database):
    from store.sent_reports import ArchivedReport, SentReports
    from tests.e2e.conftest import bearer

    archive = SentReports(database)
    kept = archive.archive(
        ArchivedReport(
            key=f"report:api-{uuid.uuid4().hex[:6]}:weekly:2026-W48",
            contract="acme",
            kind="weekly",
            period="2026-W48",
            period_start=FRIDAY - timedelta(days=7),
            period_end=FRIDAY,
            recipients=[CLIENT],
            built_at=FRIDAY,
            content_hash="ab" * 32,
            figures={"volume": 4},
            csv="section,item\n",
            pdf=b"%PDF-1.4 as sent",
        )
    )

    listed = (await stack.http.get("/reports/sent")).json()
    pdf = await stack.http.get(f"/reports/sent/{kept.id}.pdf")
    intake = await stack.http.get("/reports/sent", headers=bearer(stack.keys["intake"]))
    missing = await stack.http.get("/reports/sent/999999.csv")

    assert any(r["key"] == kept.key and r["sent_at"] is None for r in listed)
    assert pdf.content == b"%PDF-1.4 as sent"
    assert pdf.headers["x-content-hash"] == "ab" * 32
    assert intake.status_code == 403 and missing.status_code == 404
