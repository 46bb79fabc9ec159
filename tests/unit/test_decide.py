"""The domain's decisions: given (earlier commands), when (a command at a time), then (events)."""

import pytest

from domain import commands as c
from domain.decide import DomainError
from domain.events import DEADLINE_ANSWERED_BY
from domain.vocabulary import DeadlineKind, Status, kinds_met_by
from tests.unit.helpers import (
    POLICY,
    T0,
    Story,
    local,
    minutes,
    refold,
    registration,
    story,
    types,
)

FR, IS, RES, ACK = (
    DeadlineKind.FIRST_RESPONSE,
    DeadlineKind.INITIAL_SOLUTION,
    DeadlineKind.RESOLUTION,
    DeadlineKind.ACKNOWLEDGE,
)


def due(s, kind):
    return s.state.deadline(kind).due_at


def test_registration_classifies_assigns_schedules_and_acknowledges():
    s = story()
    assert types(s.events) == [
        "ComplaintRegistered",
        "ComplaintClassified",
        "ComplaintAssigned",
        "DeadlinesScheduled",
        "DeadlineMet",
        "NotificationRequested",
        "NotificationRequested",
    ]
    st = s.state
    assert (st.tier, st.category, st.classified_by_rule) == (3, "product_quality", "safety")
    assert st.team == "quality" and st.assignee in POLICY.teams["quality"].members
    assert [due(s, k) - T0 for k in (FR, IS, RES)] == [minutes(10), minutes(30), minutes(24 * 60)]
    assert st.deadline(ACK).met_at == T0 and not st.breached
    receipt = next(e for e in s.events if e.type == "NotificationRequested")
    assert receipt.details["due_at"] == due(s, RES).isoformat()  # the expected completion
    assert [(e.recipient, e.kind) for e in s.events if e.type == "NotificationRequested"] == [
        ("customer", "acknowledgement"),
        ("assignee", "assignment"),
    ]


@pytest.mark.parametrize(
    ("subject", "text", "urgent", "expected"),
    [
        ("充电器", "充电器起火了，孩子受伤", False, (3, "product_quality", "safety")),
        (
            "Firefox",
            "Firefox shows an error when I log in",
            False,
            (1, "technical", "technical"),
        ),  # "fire" must not match "Firefox"
        ("Parcel", "My parcel is late", False, (2, "delivery", "late_delivery")),
        ("Parcel", "My parcel is late", True, (3, "delivery", "late_delivery")),
        ("Question", "Where is your shop?", False, (1, "other", "default")),
        (
            "Kettle",
            "It exploded and burned my hand",
            False,
            (3, "product_quality", "safety"),
        ),
        ("快递", "快递一直没到", False, (2, "delivery", "late_delivery")),
    ],
)
def test_classification(subject, text, urgent, expected):
    s = story(registration(text, subject=subject, urgent=urgent))
    classified = next(e for e in s.events if e.type == "ComplaintClassified")
    assert (classified.tier, classified.category, classified.rule) == expected
    assert classified.urgent_raised is (urgent and expected[0] == 3)


def test_no_action_breaches_each_deadline_and_climbs_the_chain():
    s = story()
    assert s.tick(T0 + minutes(7)) == []
    assert types(s.tick(T0 + minutes(9))) == ["DeadlineWarningIssued", "NotificationRequested"]
    new = s.tick(T0 + minutes(10))
    assert types(new) == [
        "DeadlineBreached",
        "ComplaintEscalated",
        "NotificationRequested",
        "NotificationRequested",
    ]
    assert (new[1].level, new[1].to_role, new[2].recipient) == (1, "team_lead", "team_lead")
    assert (new[3].recipient, new[3].kind) == ("customer", "progress")  # kept informed
    new = s.tick(T0 + minutes(30))
    assert [e.kind for e in new if e.type == "DeadlineBreached"] == [IS]
    assert s.state.escalation_level == 2
    # Still no answer 30 minutes after the last escalation: up again, to the top of the chain.
    new = s.tick(T0 + minutes(60))
    assert [(e.type, getattr(e, "reason", None)) for e in new][0] == (
        "ComplaintEscalated",
        "still_unanswered",
    )
    assert s.state.escalation_level == 3
    new = s.tick(T0 + minutes(24 * 60))
    breach = [e for e in new if e.type == "DeadlineBreached"]
    assert [e.kind for e in breach] == [RES]
    assert not [e for e in new if e.type == "ComplaintEscalated"]  # top: tell, stay
    told = [e.recipient for e in new if e.type == "NotificationRequested"]
    assert told[-2:] == ["duty_manager", "customer"]
    keys = [e.key for e in s.events if e.type == "NotificationRequested"]
    assert len(set(keys)) == len(keys)


def test_an_answer_after_the_deadline_records_the_breach_first():
    s = story()
    new = s.when(c.Respond(by="agent.chen", message="On it"), T0 + minutes(11))
    assert types(new)[:5] == [
        "DeadlineWarningIssued",  # owed at +8 min: recorded, late, telling nobody
        "DeadlineBreached",
        "ComplaintEscalated",
        "NotificationRequested",  # the team lead
        "NotificationRequested",  # the customer's progress
    ]
    assert types(new)[5:] == ["FirstResponseGiven", "DeadlineMet", "NotificationRequested"]
    fr = s.state.deadline(FR)
    assert fr.breached_at and fr.met_at == T0 + minutes(11)


def test_tier3_answered_in_time_breaches_nothing():
    s = story()
    s.when(c.Respond(by="a", message="Calling you now"), T0 + minutes(5))
    s.when(c.GiveInitialSolution(by="a", solution="Stop using it"), T0 + minutes(25))
    s.when(c.Resolve(by="a", resolution="Replaced"), T0 + minutes(200))  # kept informed: < 4 h
    s.when(c.RecordFeedback(rating=5, comment="Thanks"), T0 + minutes(700))
    assert not s.state.breached and s.state.status is Status.CLOSED
    assert all(d.met_at for d in s.state.current_deadlines())
    assert not [e for e in s.events if e.type in ("DeadlineBreached", "ComplaintEscalated")]


def test_initial_solution_also_meets_the_first_response():
    s = story()
    new = s.when(c.GiveInitialSolution(by="a", solution="Refund"), T0 + minutes(3))
    assert [e.kind for e in new if e.type == "DeadlineMet"] == [FR, IS]


@pytest.mark.parametrize(
    "command",
    [
        c.Respond(by="a", message="Calling you"),
        c.GiveInitialSolution(by="a", solution="Refund"),
        c.Resolve(by="a", resolution="Replaced"),
    ],
)
def test_each_action_meets_what_the_events_table_says(command):
    # Reports and the what-if simulation read action times through DEADLINE_ANSWERED_BY.
    s = story()
    new = s.when(command, T0 + minutes(3))
    action = next(e for e in new if e.type in DEADLINE_ANSWERED_BY)
    met = [e.kind for e in new if e.type == "DeadlineMet"]
    assert met == list(kinds_met_by(DEADLINE_ANSWERED_BY[action.type]))[1:]  # acknowledged
    assert s.events[0].type == "ComplaintRegistered"
    assert DEADLINE_ANSWERED_BY["ComplaintRegistered"] in [
        e.kind for e in s.events if e.type == "DeadlineMet"
    ]


def test_waiting_on_the_customer_pauses_the_clock():
    s = story()
    s.when(c.RequestInfo(by="a", question="Photo of the charger?"), T0 + minutes(4))
    assert s.tick(T0 + minutes(30)) == []  # paused: nothing falls due
    s.when(c.RecordCustomerReply(message="Here it is"), T0 + minutes(24))
    assert due(s, FR) == T0 + minutes(10 + 20)
    assert due(s, RES) == T0 + minutes(24 * 60 + 20)
    assert s.state.pauses[0].ended_at == T0 + minutes(24)
    assert types(s.tick(T0 + minutes(30))) == [
        "DeadlineWarningIssued",  # its warning, owed at +28, decided late with the breach
        "DeadlineBreached",
        "ComplaintEscalated",
        "NotificationRequested",
        "NotificationRequested",
    ]


def test_reclassification_recomputes_from_the_time_already_spent():
    s = story(registration("Where is the manual for my kettle?", subject="Manual"))
    assert s.state.tier == 1
    new = s.when(
        c.Reclassify(by="sup", tier=3, category="product_quality", reason="it sparked"),
        T0 + minutes(5),
    )
    assert types(new) == ["ComplaintReclassified", "DeadlinesScheduled"]
    assert [due(s, k) - T0 for k in (FR, IS, RES)] == [minutes(10), minutes(30), minutes(1440)]
    assert s.state.deadline(ACK).met_at == T0  # what was met stays met


def test_reclassification_late_in_the_day_breaches_at_once():
    s = story(registration("Where is the manual?", subject="Manual"))
    new = s.when(c.Reclassify(by="sup", tier=3, reason="injury"), T0 + minutes(20))
    assert [e.kind for e in new if e.type == "DeadlineBreached"] == [FR]


def test_reopen_starts_the_deadlines_again_at_the_tier():
    s = story()
    s.when(c.GiveInitialSolution(by="a", solution="x"), T0 + minutes(5))
    s.when(c.Resolve(by="a", resolution="Replaced"), T0 + minutes(60))
    reopened = T0 + minutes(60 * 30)
    new = s.when(c.Reopen(reason="Still broken"), reopened)
    assert types(new) == ["ComplaintReopened", "DeadlinesScheduled", "NotificationRequested"]
    assert s.state.round == 2 and s.state.status is Status.OPEN
    assert s.state.deadline(ACK) is None
    assert due(s, FR) == reopened + minutes(10)


def test_the_reopen_window_closes():
    s = story()
    s.when(c.Resolve(by="a", resolution="Done"), T0 + minutes(5))
    with pytest.raises(DomainError, match="archived"):
        s.when(c.Reopen(reason="late"), T0 + minutes(5 + 7 * 1440))


def test_no_answer_closes_then_archives():
    s = story()
    s.when(c.Resolve(by="a", resolution="Done"), T0 + minutes(5))
    assert s.tick(T0 + minutes(5 + 3 * 1440 - 1)) == []
    assert types(s.tick(T0 + minutes(5 + 3 * 1440))) == ["ComplaintClosed"]
    assert types(s.tick(T0 + minutes(5 + 7 * 1440))) == ["ComplaintArchived"]
    assert s.state.status is Status.ARCHIVED


def test_business_hours_friday_evening_is_due_on_monday():
    friday = local(2026, 11, 27, 17, 50)
    s = story(registration("My parcel is late", subject="Parcel"), at=friday)
    assert s.state.tier == 2
    assert due(s, FR) == local(2026, 11, 30, 10, 50)  # 10 min on Friday, 110 on Monday
    assert due(s, RES) == local(2026, 12, 2, 17, 50)  # three working days


def test_after_hours_first_reply_by_half_past_nine():
    saturday = local(2026, 11, 28, 11, 0)
    s = story(registration("My parcel is late", subject="Parcel"), at=saturday)
    assert due(s, FR) == local(2026, 11, 30, 9, 30)


def test_a_backdated_intake_is_acknowledged_late():
    s = story(registration(received_at=T0 - minutes(120)))
    ack = s.state.deadline(ACK)
    assert ack.breached_at == T0 and ack.met_at == T0
    assert s.state.deadline(FR).breached_at == T0  # 10 minutes after a 2-hour-old message


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (c.Resolve(by="a", resolution="x"), "waiting_on_customer"),
        (c.RecordFeedback(rating=4), "is waiting_on_customer"),
        (c.Reassign(by="sup", assignee="x", team="nope"), "team 'nope' is not defined"),
        (c.RequestInfo(by="a", question="again?"), "is waiting_on_customer"),
    ],
)
def test_refused_commands_name_the_state(command, message):
    s = story()
    s.when(c.RequestInfo(by="a", question="Photo?"), T0 + minutes(1))
    with pytest.raises(DomainError, match=message):
        s.when(command, T0 + minutes(2))


def test_commands_before_registration_or_twice():
    s = story()
    with pytest.raises(DomainError, match="already registered"):
        s.when(registration(), T0)
    with pytest.raises(DomainError, match="not registered"):
        Story().when(c.Respond(by="a", message="hi"), T0)
    with pytest.raises(DomainError, match="in the future"):
        Story().when(registration(received_at=T0 + minutes(1)), T0)


def test_feedback_only_once():
    s = story()
    s.when(c.Resolve(by="a", resolution="Done"), T0 + minutes(5))
    s.when(c.RecordFeedback(rating=2), T0 + minutes(6))
    with pytest.raises(DomainError, match="already rated 2"):
        s.when(c.RecordFeedback(rating=5), T0 + minutes(7))


def test_state_is_a_fold_of_the_events():
    s = story()
    s.when(c.RequestInfo(by="a", question="?"), T0 + minutes(1))
    s.tick(T0 + minutes(40))
    s.when(c.RecordCustomerReply(message="!"), T0 + minutes(45))
    s.tick(T0 + minutes(100))
    s.when(c.Reclassify(by="s", tier=2, reason="minor"), T0 + minutes(101))
    s.when(c.Resolve(by="a", resolution="ok"), T0 + minutes(120))
    assert refold(s) == s.state
    assert s.state.version == len(s.events)


def test_field_rules_name_the_field():
    with pytest.raises(ValueError, match="rating"):
        c.RecordFeedback(rating=6)
    with pytest.raises(ValueError, match="description"):
        registration("")
    with pytest.raises(ValueError, match="by\n.*control characters"):
        c.AddNote(by="ann\x00", text="hello")
    assert c.AddNote(by="ann", text="two\nlines\tand a tab").text == "two\nlines\tand a tab"


def test_a_warning_goes_out_at_80_percent_once_and_only_while_it_helps():
    s = story()
    assert [s.state.deadline(k).warn_at - T0 for k in (FR, IS, RES)] == [
        minutes(8),
        minutes(24),
        minutes(0.8 * 1440),
    ]
    new = s.tick(T0 + minutes(8))
    assert [(e.type, getattr(e, "kind", None)) for e in new] == [
        ("DeadlineWarningIssued", FR),
        ("NotificationRequested", "deadline_warning"),
    ]
    assert new[1].recipient == "assignee" and new[1].details["deadline"] == FR
    assert s.tick(T0 + minutes(9)) == []  # once
    s.when(c.GiveInitialSolution(by="a", solution="x"), T0 + minutes(9))
    assert s.tick(T0 + minutes(25)) == []  # met: nothing to warn about


def test_no_warning_while_paused_or_when_the_policy_says_none():
    s = story()
    s.when(c.RequestInfo(by="a", question="?"), T0 + minutes(1))
    assert s.tick(T0 + minutes(9)) == []
    quiet = Story(POLICY.model_copy(update={"deadline_warning_share": None}))
    quiet.when(registration(), T0)
    assert all(d.warn_at is None for d in quiet.state.deadlines)
    assert types(quiet.tick(T0 + minutes(9))) == []
