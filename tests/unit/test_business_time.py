"""Business-hours tiers keep business time in everything they decide: re-escalations, warnings,
and when staff are told (quiet hours). Tier 3 runs around the clock."""

from domain import sla
from domain.vocabulary import CUSTOMER, DeadlineKind
from tests.unit.helpers import POLICY, Story, local, registration, types

# Tier 1 (a how-to question): resolution in 30 business minutes, re-escalated every 2 hours up
# assignee -> team_lead -> supervisor.
QUESTION = registration("Where can I find the manual?", subject="Manual", cid="C-Q")
# Tier 2 (a late delivery): resolved within 3 working days, warned at 80%.
PARCEL = registration("My parcel delivery is late", subject="Parcel", cid="C-P")
BEFORE = POLICY.model_copy(update={"business_time_rules": False})  # complaints from before


def given(register, at, policy=POLICY) -> Story:
    s = Story(policy)
    s.when(register, at)
    return s


def notifications(events):
    return [
        (e.kind, e.recipient, e.not_before) for e in events if e.type == "NotificationRequested"
    ]


def test_a_business_hours_tier_re_escalates_in_business_time():
    s = given(QUESTION, local(2026, 11, 23, 17))  # a Monday
    assert s.state.tier == 1
    s.tick(local(2026, 11, 23, 17, 30))  # the resolution deadline: breached, up one level
    assert (s.state.escalation_level, s.state.last_escalated_at) == (1, local(2026, 11, 23, 17, 30))
    # Two hours of business time: half an hour on Monday, the rest on Tuesday morning.
    assert sla.re_escalation_at(s.state, POLICY) == local(2026, 11, 24, 10, 30)
    assert sla.next_alarm(s.state, POLICY) == local(2026, 11, 24, 10, 30)
    assert s.tick(local(2026, 11, 23, 19, 30)) == []
    climbed = s.tick(local(2026, 11, 24, 10, 30))
    assert "ComplaintEscalated" in types(climbed) and s.state.escalation_level == 2


def test_complaints_from_before_re_escalate_round_the_clock():
    s = given(QUESTION, local(2026, 11, 23, 17), BEFORE)
    s.tick(local(2026, 11, 23, 17, 30))
    assert sla.re_escalation_at(s.state, BEFORE) == local(2026, 11, 23, 19, 30)
    assert notifications(s.tick(local(2026, 11, 23, 19, 30))) == [
        ("escalation", "supervisor", None),  # at night, not held: as they ran
        ("progress", CUSTOMER, None),
    ]


def test_re_escalation_counts_a_make_up_saturday():
    # Fri 13 Feb 2026, 17:30; Sat 14 Feb is a make-up working day before the Spring Festival.
    s = given(QUESTION, local(2026, 2, 13, 17))
    s.tick(local(2026, 2, 13, 17, 30))
    assert sla.re_escalation_at(s.state, POLICY) == local(2026, 2, 14, 10, 30)
    # Escalated on the make-up Saturday at 17:30, the next climb waits out the whole holiday.
    s = given(QUESTION, local(2026, 2, 14, 17))
    s.tick(local(2026, 2, 14, 17, 30))
    assert sla.re_escalation_at(s.state, POLICY) == local(2026, 2, 24, 10, 30)


def test_a_tier3_complaint_re_escalates_round_the_clock():
    s = given(registration(), local(2026, 11, 23, 17, 50))
    assert s.state.tier == 3
    s.tick(local(2026, 11, 23, 18))  # first response missed at +10 min
    assert sla.re_escalation_at(s.state, POLICY) == local(2026, 11, 23, 18, 30)


def test_warnings_on_a_business_hours_tier_fall_in_business_time():
    s = given(PARCEL, local(2026, 11, 25, 10))  # a Wednesday
    resolution = s.state.deadline(DeadlineKind.RESOLUTION)
    # 3 working days are 27 business hours, due Monday 10:00; 80% of them (21 h 36 min) is
    # Friday 13:36, not Thursday 07:36 as 80% of the calendar time would be.
    assert resolution.due_at == local(2026, 11, 30, 10)
    assert resolution.warn_at == local(2026, 11, 27, 13, 36)
    first_response = s.state.deadline(DeadlineKind.FIRST_RESPONSE)
    assert (first_response.due_at, first_response.warn_at) == (
        local(2026, 11, 25, 12),
        local(2026, 11, 25, 11, 36),
    )


def test_staff_hear_of_a_complaint_registered_at_night_at_the_opening():
    s = given(QUESTION, local(2026, 11, 23, 20))
    assert notifications(s.events) == [
        ("acknowledgement", CUSTOMER, None),  # the customer is never kept waiting
        ("assignment", "assignee", local(2026, 11, 24, 9)),
    ]


def test_quiet_hours_end_on_a_make_up_saturday():
    s = given(QUESTION, local(2026, 2, 13, 20))  # Friday evening before the make-up Saturday
    assert notifications(s.events)[1] == ("assignment", "assignee", local(2026, 2, 14, 9))


def test_an_escalation_decided_at_closing_time_waits_for_the_opening():
    s = given(QUESTION, local(2026, 11, 23, 17, 30))
    new = s.tick(local(2026, 11, 23, 18))  # due at closing time, when the business is closed
    assert "DeadlineBreached" in types(new)
    assert notifications(new) == [
        ("escalation", "team_lead", local(2026, 11, 24, 9)),
        ("progress", CUSTOMER, None),
    ]
    # Decided while open, nothing waits.
    s = given(QUESTION, local(2026, 11, 23, 10))
    assert [n[2] for n in notifications(s.tick(local(2026, 11, 23, 10, 30)))] == [None, None]


def test_a_tier3_complaint_tells_staff_at_any_hour():
    s = given(registration(), local(2026, 11, 23, 23))
    assert notifications(s.events) == [
        ("acknowledgement", CUSTOMER, None),
        ("assignment", "assignee", None),
    ]


def test_complaints_from_before_hold_nothing():
    s = given(QUESTION, local(2026, 11, 23, 20), BEFORE)
    assert [n[2] for n in notifications(s.events)] == [None, None]
