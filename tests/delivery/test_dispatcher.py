"""The dispatcher against real servers on loopback, with outbox rows made by the real domain."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

from sqlalchemy import Engine

from delivery.dispatcher import deliveries_stream
from delivery.reporting import DeliveryReporter
from delivery.senders import verify_signature
from domain.commands import Register
from domain.events import CustomerDetails
from store import EventStore
from store.outbox import Outbox
from tests.delivery.conftest import SECRET, FakeClock, HookReceiver, SmtpServer, record
from tests.unit.helpers import CUSTOMER, T0, Story, local, minutes, registration, story

CID = "C-TEST"  # story()'s complaint: tier 3, team quality, assignee agent.chen


def left_alone(store: EventStore, until: list[float]) -> None:
    s = story()
    n = record(store, s, CID)
    for m in until:
        s.tick(T0 + minutes(m))
        n = record(store, s, CID, n)


def statuses(engine: Engine, cid: str = CID) -> dict[str, tuple[str, int]]:
    return {row.key: (row.status, row.attempts) for row in Outbox(engine).state(cid)}


def delivery_log(store: EventStore, cid: str = CID) -> list[tuple[str, dict]]:
    return [(e.type, e.data) for e in store.read_stream(deliveries_stream(cid))]


def test_a_tier3_complaint_left_alone_reaches_each_party_in_turn(
    engine, store, smtp: SmtpServer, hooks: HookReceiver, make_dispatcher, clock: FakeClock
):
    left_alone(store, [8, 10, 30, 60, 24 * 60])
    clock.now = T0 + minutes(24 * 60 + 5)
    dispatcher = make_dispatcher()

    assert dispatcher.run_once() == 11
    assert dispatcher.run_once() == 0

    # The customer: the acknowledgement with the reference number, by e-mail, then word of
    # each escalation with the time they may now expect the outcome.
    ack, *progress = smtp.to(CUSTOMER.email)
    assert [m.message["Subject"] for m in progress] == [f"An update on your complaint {CID}"] * 4
    assert "expect to complete it by 2026-11-26 10:00 CST" in progress[0].body
    assert "expect to complete it by 2026-11-27 10:00 CST" in progress[-1].body  # promise missed
    assert CID in ack.message["Subject"] and f"reference number {CID}" in ack.body
    assert "Li Lei" in ack.body
    assert "resolved by 2026-11-26 10:00 CST" in ack.body  # the expected completion time
    assert ack.message["X-Complaints-Key"] == f"{CID}:acknowledgement:r1:customer"
    # The assignee: the assignment and the warning before the first-response deadline.
    assignment, warning = smtp.to("agent.chen@example.com")
    assert assignment.message["Subject"] == f"Complaint {CID} is assigned to you"
    assert "first response" in warning.message["Subject"]
    assert "2026-11-25 10:10 CST" in warning.body
    # +10 min: the team lead, by webhook, signed.
    (lead,) = hooks.to("lead.quality")
    assert verify_signature(SECRET, lead.raw, lead.headers["X-Complaints-Signature"])
    assert not verify_signature("another secret", lead.raw, lead.headers["X-Complaints-Signature"])
    assert lead.headers["X-Complaints-Key"] == f"{CID}:escalation:r1-first_response:team_lead"
    payload = lead.json
    assert set(payload) == {"key", "kind", "complaint_id", "subject", "body", "details"}
    assert (payload["kind"], payload["complaint_id"]) == ("escalation", CID)
    assert payload["subject"] == f"Escalation level 1: complaint {CID}, first response"
    assert "the first response deadline was 2026-11-25 10:10 CST" in payload["body"]
    assert "1 d 0 h" not in payload["body"] and "23 h 55 min late" in payload["body"]
    assert f"http://127.0.0.1:8000/complaints/{CID}" in payload["body"]
    # +30 min: the supervisor, in Chinese.
    (supervisor,) = hooks.to("sup.quality")
    assert verify_signature(SECRET, supervisor.raw, supervisor.headers["X-Complaints-Signature"])
    assert supervisor.json["subject"] == f"升级（第 2 级）：投诉 {CID}，初步解决方案"
    assert "质量主管，您好" in supervisor.json["body"]
    # +60 min and +24 h: the duty manager, on both channels.
    assert [h.json["details"]["reason"] for h in hooks.to("duty")] == [
        "still_unanswered",
        "resolution",
    ]
    assert [m.message["Subject"] for m in smtp.to("duty@example.com")] == [
        h.json["subject"] for h in hooks.to("duty")
    ]
    # Nothing for anyone else, and no customer contact details for the parties.
    assert len(smtp.mails) == 9 and len(hooks.calls) == 4
    customer_mails = [ack, *progress]
    party_texts = [m.message["Subject"] + m.body for m in smtp.mails if m not in customer_mails] + [
        h.raw.decode() for h in hooks.calls
    ]
    for text in party_texts:
        assert CUSTOMER.email not in text and "138 0000" not in text and "Li Lei" not in text

    assert set(statuses(engine).values()) == {("sent", 1)}
    log = delivery_log(store)
    assert [t for t, _ in log] == ["NotificationSent"] * 13
    assert {(d["role"], d["recipient"], d["channel"]) for _, d in log} == {
        ("customer", "customer", "email"),
        ("assignee", "agent.chen", "email"),
        ("team_lead", "lead.quality", "webhook"),
        ("supervisor", "sup.quality", "webhook"),
        ("duty_manager", "duty", "email"),
        ("duty_manager", "duty", "webhook"),
    }
    # The complaint's own stream is left to its workflow.
    assert "NotificationSent" not in [e.type for e in store.read_stream(CID)]

    # Later rounds send nothing again.
    clock.advance(3600)
    assert dispatcher.run_once() == 0
    assert len(smtp.mails) == 9 and len(hooks.calls) == 4


def test_smtp_down_for_a_while_then_delivered_exactly_once(
    engine, store, smtp: SmtpServer, make_dispatcher, clock: FakeClock
):
    smtp.stop()  # not listening
    left_alone(store, [])
    dispatcher = make_dispatcher()  # retry_base 10 s

    assert dispatcher.run_once() == 2
    assert set(statuses(engine).values()) == {("pending", 1)}
    assert "SMTP ConnectionRefusedError" in Outbox(engine).state(CID)[0].last_error
    assert dispatcher.run_once() == 0  # waiting out the backoff
    clock.advance(11)
    assert dispatcher.run_once() == 2  # still down: now 20 s
    clock.advance(19)
    assert dispatcher.run_once() == 0

    smtp.start()  # on the same port
    clock.advance(2)
    assert dispatcher.run_once() == 2
    assert len(smtp.to(CUSTOMER.email)) == 1
    assert len(smtp.to("agent.chen@example.com")) == 1
    assert set(statuses(engine).values()) == {("sent", 3)}
    clock.advance(3600)
    assert dispatcher.run_once() == 0
    assert len(smtp.mails) == 2
    assert [t for t, _ in delivery_log(store)] == ["NotificationSent"] * 2


def test_a_webhook_answering_500_then_200_is_delivered_once(
    engine, store, hooks: HookReceiver, make_dispatcher, clock: FakeClock
):
    hooks.script["/hooks/lead.quality"] = [500]
    left_alone(store, [10])
    # On a whole minute, so the retry 11 s later renders the same "how late" text.
    clock.now = T0 + minutes(30)
    dispatcher = make_dispatcher()
    key = f"{CID}:escalation:r1-first_response:team_lead"

    assert dispatcher.run_once() == 4  # ack, assignment, team lead, the customer's progress
    assert statuses(engine)[key] == ("pending", 1)
    assert Outbox(engine).state(CID)[2].last_error == "webhook HTTP 500"
    clock.advance(11)
    assert dispatcher.run_once() == 1
    assert statuses(engine)[key] == ("sent", 2)
    first, second = hooks.to("lead.quality", status=None)
    assert (first.status, second.status) == (500, 200)
    assert first.raw == second.raw and first.headers["X-Complaints-Key"] == key
    clock.advance(3600)
    assert dispatcher.run_once() == 0
    assert len(hooks.to("lead.quality", status=None)) == 2
    sent = [d for t, d in delivery_log(store) if d["key"] == key]
    assert [(d["recipient"], d["channel"]) for d in sent] == [("lead.quality", "webhook")]


def test_a_webhook_answering_410_fails_and_the_next_party_up_is_told(
    engine, store, hooks: HookReceiver, make_dispatcher, clock: FakeClock
):
    hooks.script["/hooks/lead.quality"] = [410]
    left_alone(store, [10])
    dispatcher = make_dispatcher()
    key = f"{CID}:escalation:r1-first_response:team_lead"

    assert dispatcher.run_once() == 4
    state = {row.key: row for row in Outbox(engine).state(CID)}
    assert (state[key].status, state[key].last_error) == ("failed", "webhook HTTP 410")
    assert state[f"{key}:next:supervisor"].status == "pending"
    failed = [d for t, d in delivery_log(store) if t == "NotificationFailed"]
    assert failed == [
        {
            "key": key,
            "kind": "escalation",
            "role": "team_lead",
            "recipient": "lead.quality",
            "channel": "webhook",
            "reason": "webhook HTTP 410",
        }
    ]

    assert dispatcher.run_once() == 1  # the supervisor, straight away
    (told,) = hooks.to("sup.quality")
    assert told.headers["X-Complaints-Key"] == f"{key}:next:supervisor"
    assert "组长" in told.json["body"] and "HTTP 410" in told.json["body"]
    assert told.json["details"]["undelivered"] == {
        "role": "team_lead",
        "reason": "webhook HTTP 410",
    }
    assert statuses(engine)[f"{key}:next:supervisor"] == ("sent", 1)
    clock.advance(3600)
    assert dispatcher.run_once() == 0
    assert len(hooks.calls) == 2


async def tell_the_complaint(engine, store, s) -> list:
    """The reporter, with the complaint's workflow stood in for by the real domain: each report
    is decided by `decide` and its events recorded, as ComplaintWorkflow does on the signal."""
    reports = []

    async def signal(complaint_id, report):
        reports.append(report)
        s.when(report, s.state.registered_at)
        record(store, s, complaint_id, store.stream_version(complaint_id))

    await DeliveryReporter(engine, signal).run_once()
    return reports


async def test_a_customer_without_an_address_is_reported_and_the_assignee_told(
    engine, store, smtp: SmtpServer, make_dispatcher
):
    phone_only = CustomerDetails(name="Han Meimei", phone="+86 139 1111 2222", locale="zh")
    s = story(
        Register(
            complaint_id=CID,
            channel="phone",
            subject="充电器",
            description="充电器起火了",
            urgent=False,
            customer=phone_only,
        )
    )
    record(store, s, CID)
    dispatcher = make_dispatcher()

    assert dispatcher.run_once() == 2
    ack_key = f"{CID}:acknowledgement:r1:customer"
    assert statuses(engine)[ack_key] == ("failed", 1)
    assert dispatcher.run_once() == 0  # the dispatcher tells nobody: the complaint decides
    (report,) = await tell_the_complaint(engine, store, s)
    assert (report.key, report.delivered) == (ack_key, False)
    assert report.reason == "no channel for the recipient"
    assert [e.type for e in store.read_stream(CID)][-2:] == [
        "CustomerMessageUndelivered",
        "NotificationRequested",
    ]
    assert await tell_the_complaint(engine, store, s) == []  # reported once
    assert dispatcher.run_once() == 1
    assignee = s.state.assignee
    told = [m for m in smtp.to(f"{assignee}@example.com") if "reached" in m.message["Subject"]]
    assert len(told) == 1 and "acknowledgement" in told[0].body
    assert "139 1111" not in told[0].body and "Han Meimei" not in told[0].body


async def test_a_delivered_customer_message_is_recorded_with_its_channel(
    engine, store, smtp: SmtpServer, make_dispatcher
):
    left_alone(store, [])
    make_dispatcher().run_once()
    s = story()
    record(store, s, "C-OTHER")  # an unrelated complaint's messages stay unsent
    reports = await tell_the_complaint(engine, store, story())
    assert [(r.kind, r.delivered, r.channels) for r in reports] == [
        ("acknowledgement", True, ["email"])
    ]


def test_a_message_that_cannot_be_built_fails_at_once_without_naming_the_customer(
    engine, store, smtp: SmtpServer, make_dispatcher, capsys
):
    injected = CustomerDetails(name="Li Lei\r\nBcc: thief@example.org", email="li@example.com")
    s = story(
        Register(
            complaint_id=CID,
            channel="web",
            subject="Charger",
            description="It caught fire",
            customer=injected,
        )
    )
    record(store, s, CID)
    dispatcher = make_dispatcher()
    assert dispatcher.run_once() == 2
    ack = Outbox(engine).state(CID)[0]
    assert (ack.status, ack.attempts) == ("failed", 1)  # not pending, not retried forever
    assert ack.last_error == "the message cannot be built (ValueError)"
    assert smtp.to("thief@example.org") == [] and smtp.to(CUSTOMER.email) == []
    out = capsys.readouterr()
    assert "Li Lei" not in out.out + out.err and "li@example.com" not in out.out + out.err


def test_an_smtp_5xx_is_permanent_and_a_4xx_temporary(
    engine, store, smtp: SmtpServer, make_dispatcher, clock: FakeClock
):
    smtp.refuse[CUSTOMER.email] = "550 no such user"
    smtp.refuse["agent.chen@example.com"] = "451 try again later"
    left_alone(store, [])
    dispatcher = make_dispatcher()

    assert dispatcher.run_once() == 2
    ack, assignment = (f"{CID}:acknowledgement:r1:customer", f"{CID}:assignment:r1:assignee")
    assert statuses(engine)[ack] == ("failed", 1)
    assert Outbox(engine).state(CID)[0].last_error.startswith("SMTP 550")
    assert statuses(engine)[assignment] == ("pending", 1)
    del smtp.refuse["agent.chen@example.com"]
    clock.advance(11)
    assert dispatcher.run_once() == 1
    assert statuses(engine)[assignment] == ("sent", 2)


def test_a_claimed_message_is_not_taken_by_a_second_dispatcher_until_its_lease_ends(
    engine, store, smtp: SmtpServer, make_dispatcher, clock: FakeClock
):
    left_alone(store, [])
    crashed = Outbox(engine).claim(clock(), clock() + timedelta(seconds=300), 10)
    assert len(crashed) == 2
    dispatcher = make_dispatcher()
    assert dispatcher.run_once() == 0
    clock.advance(301)
    assert dispatcher.run_once() == 2
    assert len(smtp.mails) == 2


def test_dispatchers_running_at_once_send_each_message_once(
    engine, store, smtp: SmtpServer, hooks: HookReceiver, make_dispatcher
):
    left_alone(store, [8, 10, 30, 60, 24 * 60])
    dispatchers = [make_dispatcher(batch=2) for _ in range(3)]
    tried: list[int] = []

    def drain(dispatcher) -> None:
        while n := dispatcher.run_once():
            tried.append(n)

    threads = [threading.Thread(target=drain, args=(d,)) for d in dispatchers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sum(tried) == 11
    assert len(smtp.mails) == 9 and len(hooks.calls) == 4
    assert len({m.message["Message-ID"] for m in smtp.mails}) == 9


async def test_run_forever_delivers_until_stopped(store, smtp: SmtpServer, make_dispatcher):
    left_alone(store, [])
    stop = asyncio.Event()
    running = asyncio.create_task(make_dispatcher().run_forever(stop, interval=0.05))
    for _ in range(100):
        if len(smtp.mails) == 2:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(running, 5)
    assert len(smtp.mails) == 2


def test_a_message_held_for_quiet_hours_is_sent_at_the_opening(
    engine, store, smtp: SmtpServer, make_dispatcher, clock: FakeClock
):
    # A tier 1 question (business hours) registered on Monday at 20:00: the customer's receipt
    # goes at once, the assignee hears at Tuesday's opening.
    cid, opening = "C-NIGHT", local(2026, 11, 24, 9)
    s = Story()
    s.when(
        registration("Where can I find the manual?", subject="Manual", cid=cid),
        local(2026, 11, 23, 20),
    )
    record(store, s, cid)
    assignee = f"{s.state.assignee}@example.com"
    clock.now = local(2026, 11, 23, 20, 1)
    dispatcher = make_dispatcher()

    assert dispatcher.run_once() == 1
    assert len(smtp.to(CUSTOMER.email)) == 1 and smtp.to(assignee) == []
    held = {row.key: row for row in Outbox(engine).state(cid)}[f"{cid}:assignment:r1:assignee"]
    assert (held.status, held.attempts, held.next_attempt_at) == ("pending", 0, opening)
    assert store.outbox_for(cid)[1].not_before == opening
    clock.now = opening - timedelta(seconds=1)
    assert dispatcher.run_once() == 0
    clock.now = opening
    assert dispatcher.run_once() == 1
    (mail,) = smtp.to(assignee)
    assert mail.message["Subject"] == f"Complaint {cid} is assigned to you"
    assert statuses(engine, cid)[held.key] == ("sent", 1)
