"""SMTP and webhook receivers down while complaints ask for notifications: once they return,
every notification is delivered exactly once, and the worker recorded each delivery once.

tests/delivery covers the dispatcher's rules in-process with a fake clock. This variant adds
what only the real worker shows: delivery configured by COMPLAINTS_* variables alone, outbox
rows written by real workflows, the customer's address unsealed from the encrypted store in
the worker process, and real-time backoff across the outage.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from delivery.dispatcher import deliveries_stream
from store import EventStore, make_engine, migrate
from tests.chaos.driving import CUSTOMER, PATH_POLICY, take_paths
from tests.chaos.processes import wait_until
from tests.chaos.receivers import SmtpReceiver, WebhookReceiver

COMPLAINTS = 10
SECRET = "chaos-webhook-secret"
WEBHOOK_ROLES = {"team_lead"}  # lead.quality below has a webhook and no e-mail


def parties_toml(hooks: WebhookReceiver) -> str:
    """Every team and role of the policy; fictional people, reachable on loopback only."""
    people = ["agent.zhang", "agent.liu", "agent.chen", "agent.zhao", "agent.wang", "agent.li"]
    people += ["lead.other", "supervisor", "duty"]
    entries = "".join(
        f'[people."{p}"]\nname = "{p}"\nemail = "{p}@example.com"\n\n' for p in people
    )
    teams = "".join(
        f'[teams.{t}]\nteam_lead = "{"lead.quality" if t == "quality" else "lead.other"}"\n'
        f'supervisor = "supervisor"\n\n'
        for t in ("customer_service", "quality", "logistics", "billing")
    )
    return (
        f'duty_manager = "duty"\n\n{teams}{entries}'
        f'[people."lead.quality"]\nname = "Quality Lead"\nwebhook = "{hooks.url("lead")}"\n'
    )


async def test_notifications_wait_for_receivers_and_arrive_once(make_engine_under_test, tmp_path):
    smtp, hooks = SmtpReceiver(), WebhookReceiver(SECRET)  # ports chosen, nothing listening yet
    parties = tmp_path / "parties.toml"
    parties.write_text(parties_toml(hooks))
    url = f"sqlite:///{tmp_path / 'events.sqlite3'}"
    engine = make_engine(url)
    try:
        migrate(engine)
        store = EventStore(engine)
        e = await make_engine_under_test(
            PATH_POLICY,
            url,
            COMPLAINTS_PARTIES=str(parties),
            COMPLAINTS_SMTP_HOST="127.0.0.1",
            COMPLAINTS_SMTP_PORT=str(smtp.port),
            COMPLAINTS_WEBHOOK_SECRET=SECRET,
            # Quick retries, and never so many that the outage turns into a permanent failure.
            COMPLAINTS_DELIVERY_RETRY_BASE="1",
            COMPLAINTS_DELIVERY_RETRY_CAP="2",
            COMPLAINTS_DELIVERY_MAX_ATTEMPTS="1000",
        )
        worker = e.worker()
        worker.start()
        await worker.wait_started()
        service = e.service(store)
        ids = await asyncio.gather(*take_paths(service, COMPLAINTS, COMPLAINTS))
        outbox = [m for cid in ids for m in store.outbox_for(cid)]
        # The acknowledgement, the assignment, the escalation and the customer's word of it,
        # the agent's response and the resolution.
        assert len(outbox) == 6 * COMPLAINTS

        def deferred() -> set[str]:
            return {
                line["key"]
                for line in worker.logged(lambda line: line.get("event") == "notification deferred")
            }

        # Every message has met a closed port at least once before the receivers come up.
        await wait_until(
            lambda: {m.key for m in outbox} <= deferred(),
            "every notification has been tried and deferred while the receivers are down",
            timeout=60,
            also=worker.check_alive,
        )
        assert not smtp.keys and not hooks.keys
        smtp.start()
        hooks.start()

        await wait_until(
            lambda: not [m for m in store.pending_outbox(limit=10_000) if m.stream_id in ids],
            "no notification of these complaints is pending any more",
            timeout=60,
            also=worker.check_alive,
        )
        await asyncio.sleep(3)  # a repeated send would arrive now
        by_webhook = Counter(m.key for m in outbox if m.recipient in WEBHOOK_ROLES)
        by_mail = Counter(m.key for m in outbox if m.recipient not in WEBHOOK_ROLES)
        assert hooks.keys == by_webhook and hooks.unsigned == 0
        assert smtp.keys == by_mail
        records = [r for cid in ids for r in store.read_stream(deliveries_stream(cid))]
        assert [r.type for r in records if r.type != "NotificationSent"] == []
        assert Counter(r.data["key"] for r in records) == by_webhook + by_mail
        # The worker unsealed the customer's address to send; it must not have logged it.
        logged = "\n".join(path.read_text() for path in worker.runs)
        assert CUSTOMER.name not in logged and CUSTOMER.email not in logged
        print(
            f"\n{COMPLAINTS} complaints, {len(outbox)} notifications ({sum(by_mail.values())} "
            f"e-mails, {sum(by_webhook.values())} webhooks), each delivered once after "
            f"{len(worker.logged(lambda line: line.get('event') == 'notification deferred'))} "
            "deferrals while the receivers were down"
        )
    finally:
        smtp.stop()
        hooks.stop()
        engine.dispose()
