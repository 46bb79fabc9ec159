"""The whole chain in workflow time: a tier-3 complaint left alone on the time-skipping server,
its outbox delivered by the real dispatcher to a real SMTP server and a real webhook receiver."""

import asyncio
from datetime import timedelta
from zoneinfo import ZoneInfo

from delivery.directory import load_directory
from delivery.dispatcher import OutboxDispatcher
from delivery.reporting import DeliveryReporter
from delivery.senders import SmtpSender, WebhookSender, verify_signature
from domain.vocabulary import Status
from tests.delivery.conftest import BASE_URL, SECRET, hooks, parties_toml, smtp  # noqa: F401
from tests.keys import VAULT
from tests.unit.helpers import CUSTOMER, POLICY
from workflows.complaint import ComplaintWorkflow

MIN = timedelta(minutes=1)


async def test_tier3_left_alone_reaches_each_party_at_10_30_and_24h(harness, smtp, hooks):  # noqa: F811
    directory = load_directory(parties_toml(hooks), POLICY)
    mail = SmtpSender("127.0.0.1", smtp.port, False, None, None, "complaints@example.com")
    webhook = WebhookSender(SECRET)
    dispatcher = OutboxDispatcher(
        harness.store.engine, directory, [mail, webhook], BASE_URL, vault=VAULT
    )

    sub = await harness.submit()
    state = await harness.wait_for(sub.handle, lambda s: s.status is Status.OPEN)
    t0, assignee_mail = state.received_at, f"{state.assignee}@example.com"

    async def delivered(expected: dict[str, int]) -> None:
        """Dispatch until each party has had exactly its expected number of messages."""

        def counts() -> dict[str, int]:
            return {
                "customer": len(smtp.to(CUSTOMER.email)),
                "assignee": len(smtp.to(assignee_mail)),
                "team_lead": len(hooks.to("lead.quality")),
                "supervisor": len(hooks.to("sup.quality")),
                "duty_manager": len(hooks.to("duty")),
            }

        async with asyncio.timeout(20):
            while counts() != expected:
                await asyncio.to_thread(dispatcher.run_once)
                await asyncio.sleep(0.05)

    await harness.skip_to(t0 + 10 * MIN + timedelta(seconds=1))
    await harness.wait_for(sub.handle, lambda s: s.escalation_level == 1)
    # The receipt, the assignment and the +8 min warning; at +10 the team lead is told, and the
    # customer hears that it was escalated and when to expect the outcome.
    await delivered(
        {"customer": 2, "assignee": 2, "team_lead": 1, "supervisor": 0, "duty_manager": 0}
    )
    progress = smtp.to(CUSTOMER.email)[1]
    assert progress.message["Subject"] == f"An update on your complaint {sub.complaint_id}"
    expected = (t0 + 24 * 60 * MIN).astimezone(ZoneInfo(POLICY.timezone))
    assert f"expect to complete it by {expected:%Y-%m-%d %H:%M}" in progress.body
    (lead,) = hooks.to("lead.quality")
    assert verify_signature(SECRET, lead.raw, lead.headers["X-Complaints-Signature"])
    assert lead.json["details"]["reason"] == "first_response"

    await harness.skip_to(t0 + 30 * MIN + timedelta(seconds=1))
    await harness.wait_for(sub.handle, lambda s: s.escalation_level == 2)
    # +24 min: a warning to the team lead, who holds it now; +30: the supervisor, in Chinese.
    await delivered(
        {"customer": 3, "assignee": 2, "team_lead": 2, "supervisor": 1, "duty_manager": 0}
    )
    assert "初步解决方案" in hooks.to("sup.quality")[0].json["subject"]

    await harness.skip_to(t0 + 24 * 60 * MIN + timedelta(seconds=1))
    await harness.wait_for(sub.handle, lambda s: s.deadline("resolution").breached_at)
    # The duty manager: the +60 min re-escalation; every 4 h nobody wrote to the customer
    # (+5, 9, 13, 17 h), the +19.2 h warning, +21 h, and the +24 h breach. The customer hears
    # of each escalation (the receipt and nine updates).
    await delivered(
        {"customer": 10, "assignee": 2, "team_lead": 2, "supervisor": 1, "duty_manager": 8}
    )
    assert [h.json["details"].get("reason", "warning") for h in hooks.to("duty")] == [
        "still_unanswered",
        *["progress_update"] * 4,
        "warning",
        "progress_update",
        "resolution",
    ]
    missed = [e for e in harness.events(sub.complaint_id) if e.type == "ProgressUpdateMissed"]
    # (each counted from the update before it, which timers deliver a few milliseconds late)
    assert [round((e.due_at - t0) / MIN) for e in missed] == [h * 60 for h in (5, 9, 13, 17, 21)]

    # What became of each message to the customer is reported back to the complaint, once.
    async def signal(complaint_id, report):
        await harness.client.get_workflow_handle(complaint_id).signal(
            ComplaintWorkflow.delivery_reported, report
        )

    reporter = DeliveryReporter(harness.store.engine, signal)
    assert await reporter.run_once() == 10
    assert await reporter.run_once() == 0
    state = await harness.wait_for(sub.handle, lambda s: len(s.deliveries_recorded) == 10)
    delivered_events = [
        e for e in harness.events(sub.complaint_id) if e.type == "CustomerMessageDelivered"
    ]
    assert {e.channels == ["email"] for e in delivered_events} == {True}
    assert len(delivered_events) == 10 and state.version == len(harness.events(sub.complaint_id))
    await harness.keep_history(sub.handle, "tier3_left_alone_customer_kept_informed_local")
    webhook.close()
