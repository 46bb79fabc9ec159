"""Every deadline path of ComplaintWorkflow on the time-skipping server, with the real store."""

from datetime import timedelta

from domain import commands as c
from domain.vocabulary import DeadlineKind, Status

FR, IS, RES = DeadlineKind.FIRST_RESPONSE, DeadlineKind.INITIAL_SOLUTION, DeadlineKind.RESOLUTION
MIN = timedelta(minutes=1)


def breached(state):
    return [d.kind for d in state.current_deadlines() if d.breached_at]


async def test_tier3_left_alone_breaches_at_10_30_and_24h_escalating(harness):
    sub = await harness.submit()
    state = await harness.wait_for(sub.handle, lambda s: s.status is Status.OPEN)
    t0 = state.received_at
    assert state.tier == 3

    await harness.skip_to(t0 + 10 * MIN + timedelta(seconds=1))
    state = await harness.wait_for(sub.handle, lambda s: breached(s) == [FR])
    assert state.escalation_level == 1
    assert state.deadline(FR).breached_at - t0 < 10 * MIN + timedelta(seconds=2)

    await harness.skip_to(t0 + 30 * MIN + timedelta(seconds=1))
    state = await harness.wait_for(sub.handle, lambda s: breached(s) == [FR, IS])
    assert state.escalation_level == 2

    await harness.skip_to(t0 + 24 * 60 * MIN + timedelta(seconds=1))
    state = await harness.wait_for(sub.handle, lambda s: breached(s) == [FR, IS, RES])
    # Between the breaches, 30 minutes without an answer climbed once more, to the top.
    assert state.escalation_level == 3

    stored = harness.events(sub.complaint_id)
    breaches = [e for e in stored if e.type == "DeadlineBreached"]
    assert [(e.kind, e.due_at - t0) for e in breaches] == [
        (FR, 10 * MIN),
        (IS, 30 * MIN),
        (RES, 24 * 60 * MIN),
    ]
    assert [e.to_role for e in stored if e.type == "ComplaintEscalated"] == [
        "team_lead",
        "supervisor",
        "duty_manager",
    ]
    outbox = harness.store.outbox_for(sub.complaint_id)
    assert [(m.kind, m.recipient) for m in outbox if m.recipient != "customer"] == [
        ("assignment", "assignee"),
        ("deadline_warning", "assignee"),  # +8 min: 80% of the first response's time
        ("escalation", "team_lead"),
        ("deadline_warning", "team_lead"),  # +24 min, to whoever holds it by then
        ("escalation", "supervisor"),
        ("escalation", "duty_manager"),
        *[("escalation", "duty_manager")] * 4,  # +5, 9, 13, 17 h: no word to the customer
        ("deadline_warning", "duty_manager"),  # +19.2 h
        ("escalation", "duty_manager"),  # +21 h
        ("escalation", "duty_manager"),
    ]
    # The customer: the receipt, then word of every escalation.
    assert [m.kind for m in outbox if m.recipient == "customer"] == [
        "acknowledgement",
        *["progress"] * 9,
    ]
    assert state.version == len(stored)
    # Recorded under a new name: the older histories, without warnings, must keep replaying.
    await harness.keep_history(sub.handle, "tier3_left_alone_with_warnings_by_load")


async def test_tier3_answered_in_time_breaches_nothing_and_archives(harness):
    sub = await harness.submit()
    h = sub.handle
    await harness.wait_for(h, lambda s: s.status is Status.OPEN)
    await harness.env.sleep(5 * MIN)
    await harness.act(h, c.Respond(by="agent.chen", message="We are calling you"))
    await harness.env.sleep(15 * MIN)
    await harness.act(h, c.GiveInitialSolution(by="agent.chen", solution="Unplug it"))
    await harness.env.sleep(3 * 60 * MIN)  # within the 4 h the customer may wait for word
    await harness.act(h, c.Resolve(by="agent.chen", resolution="Replacement sent"))
    state = await harness.act(h, c.RecordFeedback(rating=5, comment="Fast"))
    assert state.status is Status.CLOSED and not state.breached

    final = await h.result()  # time skips through the reopen window to the archive
    assert final.status is Status.ARCHIVED
    record = harness.store.closure_record(sub.complaint_id)
    assert record["breaches"] == 0 and record["satisfaction"] == {"rating": 5, "comment": "Fast"}
    assert record["closed_because"] == "feedback"
    assert all(d["met_at"] for d in record["deadlines"])
    # Who the customer was is only in `customer`, which the store keeps sealed (tests/security).
    assert record["customer"]["name"] == "Li Lei"
    assert "Li Lei" not in str({k: v for k, v in record.items() if k != "customer"})
    await harness.keep_history(h, "tier3_answered_in_time_by_load")


async def test_waiting_on_the_customer_pauses_the_deadlines(harness):
    sub = await harness.submit()
    h = sub.handle
    t0 = (await harness.wait_for(h, lambda s: s.status is Status.OPEN)).received_at
    await harness.env.sleep(5 * MIN)
    state = await harness.act(h, c.RequestInfo(by="agent.chen", question="A photo, please?"))
    assert state.status is Status.WAITING_ON_CUSTOMER
    await harness.skip_to(t0 + 60 * MIN)  # both early deadlines would have passed
    assert not breached(await harness.state(h))
    state = await harness.act(h, c.RecordCustomerReply(message="Attached"))
    paused = state.pauses[0].ended_at - state.pauses[0].started_at
    assert paused > 50 * MIN
    assert state.deadline(FR).due_at == t0 + 10 * MIN + paused
    await harness.skip_to(state.deadline(FR).due_at + timedelta(seconds=1))
    state = await harness.wait_for(h, lambda s: breached(s) == [FR])
    await harness.keep_history(h, "paused_and_resumed_answer_owed_by_load")


async def test_reclassified_from_tier1_to_tier3_midway(harness):
    from tests.unit.helpers import registration

    sub = await harness.submit(
        registration("Where can I find the manual?", subject="Manual", cid="C-RECLASS1")
    )
    h = sub.handle
    state = await harness.wait_for(h, lambda s: s.status is Status.OPEN)
    t0 = state.received_at
    assert state.tier == 1
    await harness.env.sleep(4 * MIN)
    state = await harness.act(
        h, c.Reclassify(by="supervisor.wu", tier=3, category="product_quality", reason="It smoked")
    )
    assert state.tier == 3
    assert state.deadline(FR).due_at == t0 + 10 * MIN  # from the time already spent
    await harness.skip_to(t0 + 10 * MIN + timedelta(seconds=1))
    state = await harness.wait_for(h, lambda s: breached(s) == [FR])
    assert state.escalation_level == 1
    await harness.keep_history(h, "reclassified_1_to_3_by_load")


async def test_reopen_starts_a_new_round(harness):
    sub = await harness.submit()
    h = sub.handle
    await harness.wait_for(h, lambda s: s.status is Status.OPEN)
    await harness.act(h, c.GiveInitialSolution(by="a", solution="Unplug it"))
    await harness.act(h, c.Resolve(by="a", resolution="Replaced"))
    await harness.env.sleep(timedelta(days=1))
    state = await harness.act(h, c.Reopen(reason="The new one is broken too"))
    assert (state.round, state.status) == (2, Status.OPEN)
    reopened = state.round_started_at
    assert state.deadline(FR).due_at == reopened + 10 * MIN
    await harness.skip_to(reopened + 10 * MIN + timedelta(seconds=1))
    await harness.wait_for(h, lambda s: breached(s) == [FR])
    await harness.keep_history(h, "reopened_by_load")


async def test_no_answer_closes_after_the_window_and_archives(harness):
    sub = await harness.submit()
    h = sub.handle
    await harness.wait_for(h, lambda s: s.status is Status.OPEN)
    await harness.act(h, c.Resolve(by="a", resolution="Replaced"))
    final = await h.result()
    assert final.status is Status.ARCHIVED
    kinds = [e.type for e in harness.events(sub.complaint_id)][-2:]
    assert kinds == ["ComplaintClosed", "ComplaintArchived"]
    record = harness.store.closure_record(sub.complaint_id)
    assert record["closed_because"] == "no_answer"
    assert record["event_count"] == len(harness.events(sub.complaint_id))
    await harness.keep_history(h, "auto_closed_by_load")
