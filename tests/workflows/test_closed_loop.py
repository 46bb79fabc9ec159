"""The closed loop with the customer in workflow time: waiting on them has an end, and what
becomes of a message to them is recorded in the complaint and acted on."""

from datetime import timedelta

from domain import commands as c
from domain.vocabulary import Status
from workflows.complaint import ComplaintWorkflow

HOUR = timedelta(hours=1)


async def test_waiting_on_the_customer_reminds_then_closes_as_no_reply(harness):
    sub = await harness.submit()  # tier 3: remind after 12 h, close after 3 d
    h = sub.handle
    await harness.wait_for(h, lambda s: s.status is Status.OPEN)
    asked = await harness.act(h, c.RequestInfo(by="agent.chen", question="A photo of the label?"))
    since = asked.pauses[-1].started_at
    await harness.skip_to(since + 12 * HOUR + timedelta(seconds=1))
    state = await harness.wait_for(h, lambda s: s.pauses[-1].reminded_at is not None)
    assert state.status is Status.WAITING_ON_CUSTOMER
    await harness.skip_to(since + 72 * HOUR + timedelta(seconds=1))
    state = await harness.wait_for(h, lambda s: s.status is Status.CLOSED)
    told = [
        (m.kind, m.payload.get("text"))
        for m in harness.store.outbox_for(sub.complaint_id)
        if m.recipient == "customer"
    ]
    assert told == [
        ("acknowledgement", None),
        ("information_request", "A photo of the label?"),
        ("information_reminder", "A photo of the label?"),
        ("closed_no_reply", None),
    ]
    final = await h.result()  # the reopen window passes: archived, with its closure record
    assert final.status is Status.ARCHIVED
    record = harness.store.closure_record(sub.complaint_id)
    assert record["closed_because"] == "no_reply"
    await harness.keep_history(h, "closed_loop_no_reply_by_load")


async def test_a_message_that_never_reached_the_customer_goes_to_the_assignee(harness):
    sub = await harness.submit()
    h = sub.handle
    await harness.wait_for(h, lambda s: s.status is Status.OPEN)
    state = await harness.act(h, c.Respond(by="agent.chen", message="We will call you at 3 pm"))
    response = harness.store.outbox_for(sub.complaint_id)[-1]
    assert (response.kind, response.payload["text"]) == ("response", "We will call you at 3 pm")
    report = c.RecordDelivery(
        key=response.key, kind="response", delivered=False, reason="SMTP 550 (recipient refused)"
    )
    await h.signal(ComplaintWorkflow.delivery_reported, report)
    await h.signal(ComplaintWorkflow.delivery_reported, report)  # a repeat changes nothing
    state = await harness.wait_for(h, lambda s: response.key in s.deliveries_recorded)
    events = harness.events(sub.complaint_id)
    assert [e.type for e in events].count("CustomerMessageUndelivered") == 1
    told = harness.store.outbox_for(sub.complaint_id)[-1]
    assert (told.kind, told.recipient) == ("customer_unreachable", "assignee")
    assert told.payload["undelivered"]["reason"] == "SMTP 550 (recipient refused)"
    assert state.version == len(events)
    await harness.keep_history(h, "closed_loop_undelivered_by_load")


async def test_the_customers_message_left_unanswered_breaches_and_escalates_on_time(harness):
    sub = await harness.submit()  # tier 3: an answer within 15 minutes, around the clock
    h = sub.handle
    await harness.wait_for(h, lambda s: s.status is Status.OPEN)
    await harness.act(h, c.Respond(by="agent.chen", message="Calling you now"))
    await harness.act(h, c.GiveInitialSolution(by="agent.chen", solution="Unplug it"))
    wrote = await harness.act(h, c.RecordCustomerReply(message="It is smoking again"))
    since = wrote.unanswered_since
    assert since is not None and wrote.status is Status.OPEN
    told = harness.store.outbox_for(sub.complaint_id)[-1]
    assert (told.kind, told.recipient) == ("customer_wrote", "assignee")
    await harness.skip_to(since + timedelta(minutes=15, seconds=1))
    state = await harness.wait_for(h, lambda s: s.breached)
    missed = [e for e in harness.events(sub.complaint_id) if e.type == "CustomerAnswerMissed"]
    assert [e.due_at for e in missed] == [since + timedelta(minutes=15)]
    assert state.escalation_level == 1 and state.unanswered_since is None
    # Answered at last: nothing more is owed for that message.
    await harness.act(h, c.Respond(by="agent.chen", message="Sorry: an engineer is on the way"))
    await harness.keep_history(h, "customer_wrote_unanswered_by_load")
