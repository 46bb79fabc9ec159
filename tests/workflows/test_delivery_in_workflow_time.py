"""The whole chain in workflow time: a tier-3 complaint left alone on the time-skipping server,
its outbox delivered by the real dispatcher to a real SMTP server and a real webhook receiver."""

import asyncio
from datetime import timedelta

from delivery.directory import load_directory
from delivery.dispatcher import OutboxDispatcher
from delivery.senders import SmtpSender, WebhookSender, verify_signature
from domain.vocabulary import Status
from tests.delivery.conftest import BASE_URL, SECRET, hooks, parties_toml, smtp  # noqa: F401
from tests.keys import VAULT
from tests.unit.helpers import CUSTOMER, POLICY

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
    # The receipt, the assignment and the +8 min warning; at +10 the team lead is told.
    await delivered(
        {"customer": 1, "assignee": 2, "team_lead": 1, "supervisor": 0, "duty_manager": 0}
    )
    (lead,) = hooks.to("lead.quality")
    assert verify_signature(SECRET, lead.raw, lead.headers["X-Complaints-Signature"])
    assert lead.json["details"]["reason"] == "first_response"

    await harness.skip_to(t0 + 30 * MIN + timedelta(seconds=1))
    await harness.wait_for(sub.handle, lambda s: s.escalation_level == 2)
    # +24 min: a warning to the team lead, who holds it now; +30: the supervisor, in Chinese.
    await delivered(
        {"customer": 1, "assignee": 2, "team_lead": 2, "supervisor": 1, "duty_manager": 0}
    )
    assert "初步解决方案" in hooks.to("sup.quality")[0].json["subject"]

    await harness.skip_to(t0 + 24 * 60 * MIN + timedelta(seconds=1))
    await harness.wait_for(sub.handle, lambda s: s.deadline("resolution").breached_at)
    # +60 min re-escalation, the +19.2 h warning and the +24 h breach: the duty manager.
    await delivered(
        {"customer": 1, "assignee": 2, "team_lead": 2, "supervisor": 1, "duty_manager": 3}
    )
    assert [h.json["kind"] for h in hooks.to("duty")] == [
        "escalation",
        "deadline_warning",
        "escalation",
    ]
    webhook.close()
