"""A contract's reports end to end on the time-skipping server: the report workflow builds the
report from a hand-built log, a real SMTP server (aiosmtpd) receives it, the PDF's text is read
back with pypdf. The schedules themselves need the dev server: tests/e2e/test_report_schedules.py.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pypdf
import pytest
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from activities.events import EventActivities
from activities.report_models import DeliveryRetry, ReportInput, ScheduledReportInput
from activities.reports import ReportActivities
from delivery.senders import SmtpSender
from domain import commands as c
from engine.binaries import temporal_test_server
from engine.contracts import ContractBook, single_contract
from engine.settings import DEFAULT_PARTIES, DEFAULT_POLICY
from engine.worker_assembly import ACTIVITY_THREADS, build_worker
from store import EventStore, ProjectionRunner, ReportProjection
from store.sent_reports import SentReports
from tests.delivery.conftest import Mail, SmtpServer
from tests.keys import CONVERTER
from tests.unit.helpers import Story, local, minutes, registration
from tests.unit.report_stories import append_all, decisions
from workflows.reports import ContractReportWorkflow, ScheduledReportWorkflow

CLIENT = "client@acme.example"  # not in the directory: English
SUPERVISOR_ZH = "supervisor.quality@example.com"  # a report recipient too, in Chinese
FRIDAY = local(2026, 11, 27, 16, 30)  # week 2026-W48, Shanghai
FIRST_OF_DECEMBER = local(2026, 12, 1, 9, 0)
RETRY = DeliveryRetry(base_seconds=1, cap_seconds=2, max_attempts=3)


def contracts(recipients: tuple[str, ...] = (CLIENT, SUPERVISOR_ZH)) -> ContractBook:
    book = single_contract(DEFAULT_POLICY, DEFAULT_PARTIES)
    contract = dataclasses.replace(book.default, report_recipients=recipients)
    return ContractBook({contract.id: contract}, book.directories, contract.id)


@pytest.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """A server of its own per test: a report's workflow id is its key, the same in every test
    that sends Friday's report, and would be taken by the test before."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=CONVERTER, test_server_existing_path=temporal_test_server()
    )
    yield env
    await env.shutdown()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


class Reports:
    def __init__(self, env, store: EventStore, task_queue: str) -> None:
        self.env, self.store, self.task_queue = env, store, task_queue
        self.archive = SentReports(store.engine)

    def record(self, streams) -> None:
        append_all(self.store, streams)
        ProjectionRunner(self.store.engine, [ReportProjection()]).run_to_end()

    async def trigger(self, kind: str, due: datetime):
        """What the contract's schedule does at `due` (a catch-up or a backfill alike)."""
        return await self.env.client.execute_workflow(
            ScheduledReportWorkflow.run,
            ScheduledReportInput(
                contract="default", kind=kind, timezone="Asia/Shanghai", retry=RETRY, due=due
            ),
            id=f"trigger-{uuid.uuid4().hex}",
            task_queue=self.task_queue,
        )


@pytest.fixture
async def reports(env, store, smtp) -> AsyncIterator[Reports]:
    async with reports_worker(env, store, smtp, contracts()) as harness:
        yield harness


@contextlib.asynccontextmanager
async def reports_worker(env, store, smtp, book: ContractBook) -> AsyncIterator[Reports]:
    mailer = SmtpSender("127.0.0.1", smtp.port, False, None, None, "reports@provider.example")
    mailer.timeout = 5.0
    activities = ReportActivities(store.engine, book, mailer)
    harness = Reports(env, store, f"tq-{uuid.uuid4().hex}")
    with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as pool:
        worker = build_worker(
            env.client, harness.task_queue, EventActivities(store), pool, reports=activities
        )
        async with worker:
            yield harness


def attachments(mail: Mail) -> dict[str, bytes]:
    return {
        part.get_filename(): part.get_content()
        for part in mail.message.iter_attachments()
        if part.get_filename()
    }


def pdf_text(pdf: bytes) -> str:
    """The PDF's text as pypdf extracts it, whitespace made single spaces."""
    pages = pypdf.PdfReader(io.BytesIO(pdf)).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())


def html_of(mail: Mail) -> str:
    return mail.message.get_body(preferencelist=("html",)).get_content()


async def test_the_weekly_report_reaches_each_recipient_with_its_pdf_and_csv(reports, smtp):
    reports.record(decisions())

    outcome = await reports.trigger("weekly", FRIDAY)

    assert outcome.key == "report:default:weekly:2026-W48"
    assert sorted(outcome.sent_to) == sorted([CLIENT, SUPERVISOR_ZH])
    [mail] = smtp.to(CLIENT)
    assert "Weekly demand summary 2026-W48" in mail.message["Subject"]
    files = attachments(mail)
    assert set(files) == {"default-weekly-2026-W48.pdf", "default-weekly-2026-W48.csv"}
    # The hand-built log (tests/unit/report_stories.py): A-D in the week, E the week after.
    text = pdf_text(files["default-weekly-2026-W48.pdf"])
    assert "2026-W48 (2026-11-20 16:30 - 2026-11-27 16:30 Asia/Shanghai)" in text
    assert "Complaints received / 投诉受理量 4" in text
    assert "15m / 40m" in text  # first response: median 15 min, p90 40 min
    assert "60m / 3.0h" in text  # resolution: median 1 h, p90 3 h
    assert "75.0%" in text  # resolution rate: 3 of 4 in time
    assert "25.0%" in text  # first-contact resolution and reopen rate: 1 of 4 each
    assert "3.33" in text  # satisfaction: (5 + 2 + 3) / 3
    csv_text = files["default-weekly-2026-W48.csv"]
    assert "rates,resolution_rate,0.75," in csv_text
    assert "deadlines_met_breached,tier 1,1,1" in csv_text
    assert "closed_loop_breached,tier 3,0," in csv_text  # A and B were kept informed
    assert "closed loop breached / 未闭环" in text
    # In the recipient's language: the Chinese supervisor reads Chinese.
    [chinese] = smtp.to(SUPERVISOR_ZH)
    assert "每周需求汇总" in chinese.message["Subject"] and "投诉受理量" in html_of(chinese)
    assert "Complaints received" in html_of(mail)
    archived = reports.archive.get(outcome.key)
    assert archived.sent_at is not None and archived.pdf == files["default-weekly-2026-W48.pdf"]


async def test_the_monthly_report_covers_the_month_before(reports, smtp):
    reports.record(decisions())

    outcome = await reports.trigger("monthly", FIRST_OF_DECEMBER)

    assert outcome.key == "report:default:monthly:2026-11"
    [mail] = smtp.to(CLIENT)
    files = attachments(mail)
    csv_text = files["default-monthly-2026-11.csv"]
    assert "volume,received,5,0" in csv_text  # A-E, all received in November
    assert "Monthly service-execution report 2026-11" in mail.message["Subject"]


async def test_a_second_trigger_of_a_report_sends_nothing(reports, smtp):
    reports.record(decisions())
    first = await reports.trigger("weekly", FRIDAY)

    # A catch-up after an outage and a trigger by hand, both for Friday's report.
    again = await reports.trigger("weekly", FRIDAY)
    late = await reports.trigger("weekly", FRIDAY + timedelta(hours=20))
    # Past the server's retention the id is free again: the archive knows it was sent.
    direct = await reports.env.client.execute_workflow(
        ContractReportWorkflow.run,
        ReportInput(contract="default", kind="weekly", due=FRIDAY),
        id=first.key,
        task_queue=reports.task_queue,
    )

    assert again.already and late.already and direct.already and late.key == first.key
    assert len(smtp.to(CLIENT)) == 1 and len(smtp.to(SUPERVISOR_ZH)) == 1


async def test_a_missed_run_started_later_reports_the_period_it_was_due_for(reports, smtp):
    reports.record(decisions())
    # The server was down on Friday 16:30; it is back on Monday and the schedule catches up:
    # the run is for Friday, whatever the clock says when it starts.
    outcome = await reports.trigger("weekly", FRIDAY)

    assert outcome.key.endswith("2026-W48") and not outcome.already
    assert len(smtp.to(CLIENT)) == 1


async def test_an_undeliverable_report_is_retried_then_the_supervisors_are_told(env, store, smtp):
    smtp.refuse[CLIENT] = "451 mailbox busy"  # temporary: retried, RETRY.max_attempts times
    async with reports_worker(env, store, smtp, contracts((CLIENT,))) as reports:
        reports.record(decisions())
        with pytest.raises(WorkflowFailureError) as failed:
            await reports.trigger("weekly", FRIDAY)

        assert "not delivered to 1 recipient" in str(failed.value.cause.cause)
        assert smtp.to(CLIENT) == []
        told = {a for m in smtp.mails for a in m.rcpt_tos if "not delivered" in m.message["Subject"]
                or "未能送达" in m.message["Subject"]}  # fmt: skip
        assert told == {
            "supervisor.service@example.com",
            "supervisor.quality@example.com",
            "supervisor.operations@example.com",
        }
        assert reports.archive.get("report:default:weekly:2026-W48").sent_at is None


def failing_quality_week(monday: datetime, prefix: str) -> dict:
    """One tier-3 quality complaint whose 24-hour resolution deadline is breached."""
    story = Story()
    cid = f"{prefix}-{monday:%m%d}"
    made = [
        story.when(registration("The charger caught fire", cid=cid, received_at=monday), monday)
    ]
    made.append(story.when(c.Tick(), monday + minutes(25 * 60)))
    return {cid: [d for d in made if d]}


async def test_a_flagged_team_is_notified_once_for_its_flag(reports, smtp):
    # Team quality misses its resolution deadline in weeks 46, 47 and 48.
    streams = {}
    for monday in (local(2026, 11, 9, 10), local(2026, 11, 16, 10), local(2026, 11, 23, 10)):
        streams |= failing_quality_week(monday, "F")
    reports.record(streams)

    await reports.trigger("weekly", FRIDAY)  # flags weeks 46-47
    await reports.trigger("monthly", FIRST_OF_DECEMBER)  # the same run: weeks 46-48
    await reports.trigger("weekly", FRIDAY + timedelta(days=7))  # the same run again

    notices = [m for m in smtp.mails if "flagged for review" in m.message["Subject"]
               or "需评审" in m.message["Subject"]]  # fmt: skip
    by_address = sorted(a for m in notices for a in m.rcpt_tos)
    assert by_address == sorted([CLIENT, SUPERVISOR_ZH, "supervisor.service@example.com",
                                 "supervisor.operations@example.com"])  # fmt: skip
    english = next(m for m in notices if CLIENT in m.rcpt_tos)
    assert "2026-W46: 0.0%" in english.body and "2026-W47: 0.0%" in english.body
    chinese = next(m for m in notices if SUPERVISOR_ZH in m.rcpt_tos)
    assert "需评审" in chinese.message["Subject"] and "2026-W47: 0.0%" in chinese.body
