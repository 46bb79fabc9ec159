"""The closed loop with the customer: what they are told (with the agent's words), kept informed,
reminded while we wait on them, and what becomes of a message that cannot reach them."""

from datetime import datetime
from typing import get_args

import pytest

from domain import commands as c
from domain.closure import closure_record
from domain.decide import DomainError
from domain.events import Event, NotificationRequested
from domain.state import _HANDLERS, evolve, fold
from domain.vocabulary import DeadlineKind, Status
from tests.unit.helpers import POLICY, T0, Story, minutes, registration, story, types

PARCEL = registration("My parcel is late", subject="Parcel")  # tier 2, business hours


def when(message: NotificationRequested) -> datetime:
    return datetime.fromisoformat(message.details["due_at"])


def told_customer(events) -> list[tuple[str, str]]:
    return [
        (e.kind, e.details.get("text", ""))
        for e in events
        if isinstance(e, NotificationRequested) and e.recipient == "customer"
    ]


@pytest.mark.parametrize(
    ("command", "kind"),
    [
        (c.Respond(by="a", message="We are calling the courier."), "response"),
        (
            c.GiveInitialSolution(by="a", solution="A new charger is on its way."),
            "initial_solution",
        ),
        (c.RequestInfo(by="a", question="Which store did you buy it in?"), "information_request"),
        (c.Resolve(by="a", resolution="Refunded 120 yuan."), "resolution"),
    ],
)
def test_the_customer_is_told_in_the_agents_own_words(command, kind):
    s = story()
    new = s.when(command, T0 + minutes(3))
    words = next(v for k, v in vars(command).items() if k not in ("by", "by_key", "action"))
    assert told_customer(new) == [(kind, words)]


def test_an_internal_note_never_reaches_the_customer():
    s = story()
    assert told_customer(s.when(c.AddNote(by="a", text="Customer sounds upset"), T0)) == []


def test_every_escalation_tells_the_customer_the_new_expected_time():
    s = story()  # tier 3: resolution due in 24 h
    new = s.tick(T0 + minutes(10))  # first response missed
    progress = [e for e in new if e.type == "NotificationRequested" and e.recipient == "customer"]
    assert [e.kind for e in progress] == ["progress"]
    assert when(progress[0]) == T0 + minutes(24 * 60)
    # Once the promised time itself has passed, a fresh resolution budget is promised from now.
    s.when(c.Respond(by="a", message="Looking into it"), T0 + minutes(11))
    s.when(c.GiveInitialSolution(by="a", solution="Stop using it"), T0 + minutes(12))
    late = s.tick(T0 + minutes(24 * 60))
    promise = [e for e in late if getattr(e, "kind", "") == "progress"]
    assert when(promise[0]) == T0 + minutes(48 * 60)


def test_kept_informed_a_customer_message_meets_the_recurring_deadline():
    s = story(PARCEL)  # Wednesday 10:00; tier 2 owes word every 2 business hours
    assert s.state.tier == 2
    s.when(c.Respond(by="a", message="We asked the courier."), T0 + minutes(60))
    assert s.tick(T0 + minutes(170)) == []
    s.when(c.AddNote(by="a", text="courier silent"), T0 + minutes(175))  # not to the customer
    new = s.tick(T0 + minutes(180))  # two hours after the last word to the customer
    assert types(new)[:2] == ["ProgressUpdateMissed", "ComplaintEscalated"]
    assert new[0].due_at == T0 + minutes(180)
    assert new[1].reason == "progress_update" and s.state.breached
    assert [k for k, _ in told_customer(new)] == ["progress"]  # which starts the count again
    assert s.tick(T0 + minutes(299)) == []


def test_kept_informed_counts_business_hours_and_not_while_we_wait_on_the_customer():
    s = story(PARCEL)
    s.when(c.Respond(by="a", message="We asked the courier."), T0 + minutes(7 * 60 + 30))  # 17:30
    # 30 minutes left today, 90 tomorrow from 09:00: due Thursday 10:30.
    s.when(c.RequestInfo(by="a", question="Your order number?"), T0 + minutes(7 * 60 + 40))
    assert s.tick(T0 + minutes(24 * 60 + 60)) == []  # waiting on the customer: not owed
    s.when(c.RecordCustomerReply(message="12345"), T0 + minutes(24 * 60 + 60))  # Thu 10:00
    new = s.tick(T0 + minutes(24 * 60 + 180))  # Thursday 13:00: 2 h after their reply
    assert "ProgressUpdateMissed" in types(new)


def test_waiting_on_the_customer_reminds_once_then_closes_for_want_of_a_reply():
    s = story()  # tier 3: remind after 12 h, close after 3 d
    s.when(c.RequestInfo(by="a", question="A photo of the label?"), T0 + minutes(4))
    new = s.tick(T0 + minutes(4 + 12 * 60))
    assert types(new)[0] == "CustomerReminded"
    assert told_customer(new) == [("information_reminder", "A photo of the label?")]
    assert s.tick(T0 + minutes(4 + 24 * 60)) == []  # once
    new = s.tick(T0 + minutes(4 + 3 * 24 * 60))
    assert [(e.type, getattr(e, "reason", "")) for e in new][0] == ("ComplaintClosed", "no_reply")
    assert [k for k, _ in told_customer(new)] == ["closed_no_reply"]
    assert s.state.status is Status.CLOSED and s.state.pauses[-1].ended_at is not None
    with pytest.raises(DomainError, match="closed"):
        s.when(c.RecordCustomerReply(message="sorry, here"), T0 + minutes(5 * 24 * 60))
    # They may still come back within the reopen window: the clock starts again.
    s.when(c.Reopen(reason="I have the photo now"), T0 + minutes(5 * 24 * 60))
    assert s.state.status is Status.OPEN
    assert s.state.deadline(DeadlineKind.FIRST_RESPONSE).pending


def test_a_delivery_result_is_recorded_once_and_a_failure_goes_to_the_assignee():
    s = story()
    ack = next(e for e in s.events if getattr(e, "kind", "") == "acknowledgement")
    new = s.when(
        c.RecordDelivery(key=ack.key, kind=ack.kind, delivered=True, channels=["email"]), T0
    )
    assert types(new) == ["CustomerMessageDelivered"] and new[0].channels == ["email"]
    with pytest.raises(DomainError, match="already recorded"):
        s.when(c.RecordDelivery(key=ack.key, kind=ack.kind, delivered=True), T0)
    reply = s.when(c.Respond(by="a", message="Calling you"), T0 + minutes(2))[-1]
    new = s.when(
        c.RecordDelivery(key=reply.key, kind="response", delivered=False, reason="SMTP 550"),
        T0 + minutes(3),
    )
    assert types(new) == ["CustomerMessageUndelivered", "NotificationRequested"]
    assert (new[1].kind, new[1].recipient) == ("customer_unreachable", "assignee")
    assert new[1].details["undelivered"] == {"role": "customer", "reason": "SMTP 550"}


def test_complaints_from_before_the_closed_loop_decide_as_they_did():
    s = Story(POLICY.model_copy(update={"closed_loop": False}))
    s.when(registration(), T0)
    late_answer = s.when(c.Respond(by="a", message="hi"), T0 + minutes(20))
    assert "ComplaintEscalated" in types(late_answer)  # escalated, but no word to the customer
    assert told_customer(late_answer) == []
    s.when(c.RequestInfo(by="a", question="photo?"), T0 + minutes(31))
    assert s.tick(T0 + minutes(31 + 4 * 24 * 60)) == []  # no reminder, no closing
    assert told_customer(s.events) == [("acknowledgement", ""), ("information_request", "")]


def test_the_closure_record_proves_what_the_customer_was_told_and_how_it_went():
    s = story()
    ack = next(e for e in s.events if getattr(e, "kind", "") == "acknowledgement")
    s.when(c.RecordDelivery(key=ack.key, kind=ack.kind, delivered=True, channels=["email"]), T0)
    reply = s.when(c.Respond(by="a", message="Calling you now"), T0 + minutes(2))[-1]
    s.when(
        c.RecordDelivery(key=reply.key, kind="response", delivered=False, reason="SMTP 550"),
        T0 + minutes(3),
    )
    record = closure_record(s.events)
    assert [
        (m["kind"], m["text"], m.get("channels"), m.get("reason"))
        for m in record["customer_messages"]
    ] == [
        ("acknowledgement", None, ["email"], None),
        ("response", "Calling you now", None, "SMTP 550"),
    ]


def test_a_warning_decided_after_its_deadline_is_still_recorded_but_tells_nobody():
    s = story()  # the first response's warning falls at +8 min, the deadline at +10
    new = s.tick(T0 + minutes(12))  # a herd, or a server that was down: decided late
    assert types(new)[:2] == ["DeadlineWarningIssued", "DeadlineBreached"]
    assert not [e for e in new if getattr(e, "kind", "") == "deadline_warning"]
    before = Story(POLICY.model_copy(update={"closed_loop": False}))
    before.when(registration(), T0)
    assert "DeadlineWarningIssued" not in types(before.tick(T0 + minutes(12)))


def test_evolve_never_changes_the_state_it_was_given():
    """Copy on write: every earlier state stays as it was, whatever the events did since."""
    s = Story()
    s.when(registration(), T0)
    seen = []  # each state, and what it held when it was current
    for command, at in (
        (c.RequestInfo(by="a", question="photo?"), 4),
        (c.RecordCustomerReply(message="here"), 6),
        (c.Tick(), 30),
        (c.Respond(by="a", message="ok"), 31),
        (c.Tick(), 60),
    ):
        seen.append((s.state, s.state.model_dump()))
        s.when(command, T0 + minutes(at))
    assert [state.model_dump() for state, _ in seen] == [then for _, then in seen]


def test_fold_copies_once_yet_leaves_its_start_as_it_was_and_agrees_with_evolve():
    """fold makes one copy for all its events (the read models' rebuild folds millions); the
    state it starts from must come out unchanged, and the result be evolve's, event by event."""
    s = Story()
    s.when(registration(), T0)
    start, start_then, before = s.state, s.state.model_dump(), len(s.events)
    for command, at in (
        (c.RequestInfo(by="a", question="photo?"), 4),
        (c.RecordCustomerReply(message="here"), 6),
        (c.Tick(), 30),
        (c.Respond(by="a", message="ok"), 31),
        (c.Tick(), 60),
    ):
        s.when(command, T0 + minutes(at))
    later = s.events[before:]
    stepped = start
    for event in later:
        stepped = evolve(stepped, event)
    assert fold(later, start).model_dump() == stepped.model_dump() == s.state.model_dump()
    assert start.model_dump() == start_then


def test_every_event_type_says_what_it_does_to_the_state():
    """evolve looks each event's handler up by its type, so a new event type must say what it
    does to the state (if only that it is recorded for the timeline) or folding it fails."""
    assert set(_HANDLERS) == set(get_args(get_args(Event)[0]))
