"""A report sent by hand and resent after a partial delivery, on the time-skipping server with a
real SMTP receiver (aiosmtpd): a second send says when and to whom and sends nothing; a
recipient refused for good is recorded as such beside the one reached, and the resend goes to it
alone, as a new record, the archived report unchanged. A period with no complaints is a report
that says so."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

from engine.report_sending import (
    ALREADY_SENT,
    SENT,
    UNDELIVERED,
    ReportSender,
    asked_report,
)
from engine.settings import Settings
from entrypoints.sent_report_commands import sending_text
from store.report_deliveries import ReportDeliveries
from tests.unit.report_stories import decisions
from tests.workflows.conftest import HISTORIES
from tests.workflows.test_contract_reports import (  # noqa: F401 (fixtures)
    CLIENT,
    FRIDAY,
    SUPERVISOR_ZH,
    attachments,
    contracts,
    env,
    pdf_text,
    reports,
    smtp,
)

AFTER_FRIDAY = FRIDAY + timedelta(days=1)


def sender(harness, tmp_path) -> ReportSender:
    settings = Settings(
        task_queue=harness.task_queue,
        data_dir=tmp_path,
        delivery_retry_base=1,
        delivery_retry_cap=2,
        delivery_max_attempts=3,
    )
    return ReportSender(harness.env.client, harness.store.engine, settings)


def reports_to(smtp, address: str) -> list:  # noqa: F811
    """The reports (mails with attachments) `address` received, not the notices."""
    return [m for m in smtp.to(address) if attachments(m)]


async def keep_history(harness, run_id: str, name: str) -> None:
    """With COMPLAINTS_RECORD_HISTORIES=1, check this run's history in for the replay test."""
    if os.environ.get("COMPLAINTS_RECORD_HISTORIES") == "1":
        handle = harness.env.client.get_workflow_handle(
            "report:default:weekly:2026-W48", run_id=run_id
        )
        (HISTORIES / f"{name}.json").write_text((await handle.fetch_history()).to_json())


async def test_a_report_sent_by_hand_twice_is_sent_once(reports, smtp, tmp_path):  # noqa: F811
    reports.record(decisions())
    asked = asked_report(contracts(), "default", "weekly", "2026-W48", AFTER_FRIDAY)

    first = await sender(reports, tmp_path).send(asked, by="ops.li")
    again = await sender(reports, tmp_path).send(asked, by="ops.li")

    assert first.status == SENT and first.key == "report:default:weekly:2026-W48"
    assert again.status == ALREADY_SENT and again.report.sent_at is not None
    said = sending_text(again)
    assert f"already sent {again.report.sent_at:%Y-%m-%d %H:%M} UTC to {CLIENT}, " in said
    assert "nothing sent" in said
    assert len(smtp.to(CLIENT)) == 1 and len(smtp.to(SUPERVISOR_ZH)) == 1
    recorded = ReportDeliveries(reports.store.engine).of([first.key])[first.key]
    assert sorted((d.recipient, d.delivered, d.requested_by) for d in recorded) == [
        (CLIENT, True, "ops.li"),
        (SUPERVISOR_ZH, True, "ops.li"),
    ]


async def test_a_partial_delivery_is_resent_to_the_missed_recipient_only(
    reports,  # noqa: F811
    smtp,  # noqa: F811
    tmp_path,
):
    reports.record(decisions())
    smtp.refuse[CLIENT] = "550 no such user"  # for good: not retried
    asked = asked_report(contracts(), "default", "weekly", "2026-W48", AFTER_FRIDAY)

    partial = await sender(reports, tmp_path).send(asked, by="ops.li")

    assert partial.status == UNDELIVERED and partial.report.sent_at is None
    assert partial.outcomes[SUPERVISOR_ZH].delivered
    missed = partial.outcomes[CLIENT]
    assert not missed.delivered and "550" in missed.reason
    assert f"resend with `complaints reports resend {partial.report.id}`" in sending_text(partial)
    assert f"{CLIENT}: NOT delivered" in sending_text(partial)
    await keep_history(reports, missed.run_id, "report_partly_undelivered_deliveries")

    del smtp.refuse[CLIENT]  # the client's mailbox is fixed
    resent = await sender(reports, tmp_path).resend(partial.report, by="supervisor.wang")

    assert resent.status == SENT and resent.report.sent_at is not None
    # The report went to the missed one only (the Chinese supervisor was also told it failed).
    assert len(reports_to(smtp, CLIENT)) == 1 and len(reports_to(smtp, SUPERVISOR_ZH)) == 1
    pdf = attachments(reports_to(smtp, CLIENT)[0])["default-weekly-2026-W48.pdf"]
    assert pdf == partial.report.pdf  # the report as first built and archived
    assert resent.report.content_hash == partial.report.content_hash
    rows = ReportDeliveries(reports.store.engine).of([resent.key])[resent.key]
    assert [(d.recipient, d.delivered, d.requested_by) for d in rows] == [
        (SUPERVISOR_ZH, True, "ops.li"),
        (CLIENT, False, "ops.li"),
        (CLIENT, True, "supervisor.wang"),  # a new record; the failure stays recorded
    ]
    assert rows[2].run_id != rows[1].run_id
    await keep_history(reports, rows[2].run_id, "report_resent_deliveries")
    with pytest.raises(ValueError, match="reached every recipient; nothing to resend"):
        await sender(reports, tmp_path).resend(resent.report, by="supervisor.wang")


async def test_a_period_with_no_complaints_is_a_report_that_says_so(reports, smtp):  # noqa: F811
    outcome = await reports.trigger("weekly", FRIDAY)

    [mail] = smtp.to(CLIENT)
    files = attachments(mail)
    text = pdf_text(files["default-weekly-2026-W48.pdf"])
    assert "Complaints received / 投诉受理量 0" in text
    assert "No complaints were received in this period." in text
    assert "volume,received,0,0" in files["default-weekly-2026-W48.csv"]
    figures = reports.archive.get(outcome.key).figures
    assert figures["volume"] == 0 and figures["resolution_rate"] is None
    assert figures["business_hours"] is None
