"""The customer writes while their complaint is open (DOMAIN: "a customer message gets a reply
within 15 minutes"): whoever holds it is told at once and owes an answer in their own words
within the tier's `answer_customer_within`; left unanswered, it is a breach and escalates."""

from datetime import datetime

import pytest

from domain import commands as c
from domain.closure import closure_record
from domain.decide import DomainError
from domain.events import NotificationRequested
from domain.vocabulary import Status
from tests.unit.helpers import POLICY, T0, Story, minutes, registration, story, types

PARCEL = registration("My parcel is late", subject="Parcel")  # tier 2, business hours
ANSWERS = [
    c.Respond(by="a", message="We are on it."),
    c.GiveInitialSolution(by="a", solution="A new one is on its way."),
    c.RequestInfo(by="a", question="Your order number?"),
    c.Resolve(by="a", resolution="Refunded."),
]


def answered_in_time_so_far(s: Story) -> None:
    """Tier 3's own deadlines met, so the only alarm left is the customer's message."""
    s.when(c.Respond(by="a", message="Calling you now"), T0 + minutes(1))
    s.when(c.GiveInitialSolution(by="a", solution="Stop using it"), T0 + minutes(2))


def test_the_message_goes_to_whoever_holds_it_with_the_time_to_answer_by():
    s = story()  # tier 3, around the clock: 15 minutes
    answered_in_time_so_far(s)
    new = s.when(c.RecordCustomerReply(message="It is smoking again"), T0 + minutes(3))
    assert types(new) == ["CustomerWrote", "NotificationRequested"]
    assert new[0].message == "It is smoking again" and s.state.status is Status.OPEN
    told = new[1]
    assert isinstance(told, NotificationRequested)
    assert (told.kind, told.recipient) == ("customer_wrote", "assignee")
    assert datetime.fromisoformat(told.details["due_at"]) == T0 + minutes(18)


def test_left_unanswered_it_is_a_breach_escalated_once():
    s = story()
    answered_in_time_so_far(s)
    s.when(c.RecordCustomerReply(message="Any news?"), T0 + minutes(3))
    assert s.tick(T0 + minutes(17)) == []
    new = s.tick(T0 + minutes(18))
    assert types(new)[:2] == ["CustomerAnswerMissed", "ComplaintEscalated"]
    assert new[0].due_at == T0 + minutes(18) and new[1].reason == "customer_answer"
    assert s.state.breached
    # The customer hears how it stands (the escalation's progress message), and it counts once.
    assert [e.kind for e in new if getattr(e, "recipient", "") == "customer"] == ["progress"]
    assert "CustomerAnswerMissed" not in types(s.tick(T0 + minutes(29)))
    record = closure_record(s.events)
    assert record["breaches"] == 1
    assert {"event": "CustomerWrote", "text": "Any news?"}.items() <= next(
        e for e in record["timeline"] if e["event"] == "CustomerWrote"
    ).items()


@pytest.mark.parametrize("answer", ANSWERS, ids=lambda a: a.action)
def test_an_answer_in_staffs_own_words_meets_it(answer):
    s = story()
    answered_in_time_so_far(s)
    s.when(c.RecordCustomerReply(message="Any news?"), T0 + minutes(3))
    s.when(answer, T0 + minutes(10))
    assert s.state.unanswered_since is None
    assert "CustomerAnswerMissed" not in types(s.tick(T0 + minutes(60)))


def test_a_form_letter_is_no_answer():
    """An escalation's progress message goes to the customer, but says nothing to what they
    wrote: their message is still owed an answer."""
    s = story()
    s.when(c.RecordCustomerReply(message="Hello?"), T0 + minutes(3))
    breach = s.tick(T0 + minutes(10))  # first response missed: escalated, the customer told
    assert "progress" in [getattr(e, "kind", "") for e in breach]
    assert types(s.tick(T0 + minutes(18)))[0] == "CustomerAnswerMissed"


def test_several_messages_owe_one_answer_from_the_first():
    s = story()
    answered_in_time_so_far(s)
    s.when(c.RecordCustomerReply(message="Hello?"), T0 + minutes(3))
    s.when(c.RecordCustomerReply(message="Hello??"), T0 + minutes(12))
    assert types(s.tick(T0 + minutes(18)))[0] == "CustomerAnswerMissed"


def test_on_a_business_hours_tier_it_counts_open_hours():
    s = story(PARCEL)  # tier 2, Wednesday 10:00
    s.when(c.Respond(by="a", message="We asked the courier."), T0 + minutes(60))
    new = s.when(c.RecordCustomerReply(message="Still nothing"), T0 + minutes(7 * 60 + 50))
    # 17:50: ten minutes left today, five tomorrow from 09:00.
    told = next(e for e in new if getattr(e, "kind", "") == "customer_wrote")
    due = datetime.fromisoformat(told.details["due_at"])
    assert due == T0 + minutes(23 * 60 + 5)  # Thursday 09:05
    assert "CustomerAnswerMissed" not in types(s.tick(T0 + minutes(23 * 60 + 4)))
    assert "CustomerAnswerMissed" in types(s.tick(T0 + minutes(23 * 60 + 5)))


def test_their_answer_to_our_question_resumes_the_clock_and_is_owed_an_answer_too():
    s = story()
    answered_in_time_so_far(s)
    s.when(c.RequestInfo(by="a", question="A photo?"), T0 + minutes(4))
    new = s.when(c.RecordCustomerReply(message="Here"), T0 + minutes(5))
    assert types(new)[:2] == ["CustomerReplied", "DeadlinesScheduled"]
    assert s.state.status is Status.OPEN
    told = new[-1]
    assert (told.kind, told.recipient) == ("customer_wrote", "assignee")
    assert datetime.fromisoformat(told.details["due_at"]) == T0 + minutes(20)
    assert types(s.tick(T0 + minutes(20)))[0] == "CustomerAnswerMissed"


def test_an_answer_to_our_question_under_a_policy_from_before_the_rule_decides_as_it_ran():
    tiers = {
        k: t.model_copy(update={"answer_customer_within": None}) for k, t in POLICY.tiers.items()
    }
    s = Story(POLICY.model_copy(update={"tiers": tiers}))
    s.when(registration(), T0)
    s.when(c.RequestInfo(by="a", question="A photo?"), T0 + minutes(4))
    new = s.when(c.RecordCustomerReply(message="Here"), T0 + minutes(5))
    assert types(new) == ["CustomerReplied", "DeadlinesScheduled"]  # nobody told, nothing owed


def test_a_resolved_complaint_takes_a_rating_or_a_rejection_not_a_message():
    s = story()
    s.when(c.Resolve(by="a", resolution="Refunded."), T0 + minutes(5))
    with pytest.raises(DomainError, match="cannot record the customer's reply: .* is resolved$"):
        s.when(c.RecordCustomerReply(message="Thanks"), T0 + minutes(6))


def test_a_tier_that_owes_no_answer_time_still_tells_whoever_holds_it():
    tiers = {
        k: t.model_copy(update={"answer_customer_within": None}) for k, t in POLICY.tiers.items()
    }
    s = Story(POLICY.model_copy(update={"tiers": tiers}))
    s.when(registration(), T0)
    answered_in_time_so_far(s)
    new = s.when(c.RecordCustomerReply(message="Hi"), T0 + minutes(3))
    assert new[1].kind == "customer_wrote" and "due_at" not in new[1].details
    assert "CustomerAnswerMissed" not in types(s.tick(T0 + minutes(25)))
