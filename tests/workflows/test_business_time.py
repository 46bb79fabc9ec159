"""A business-hours complaint in workflow time: it re-escalates in business time, and staff hear
of what is decided at night when the business opens (quiet hours)."""

import uuid
from datetime import date, datetime, time, timedelta

from domain import commands as c
from domain.vocabulary import CUSTOMER
from tests.unit.helpers import POLICY, SHANGHAI, registration

CALENDAR = POLICY.calendar()


def next_working_monday(today: date) -> date:
    """A Monday, after `today`, on which the business works and the day after too."""
    day = today + timedelta(days=1)
    while not (
        day.weekday() == 0
        and CALENDAR.is_working_day(day)
        and CALENDAR.is_working_day(day + timedelta(days=1))
    ):
        day += timedelta(days=1)
    return day


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


def to_the_minute(moment: datetime) -> datetime:
    return moment.astimezone(SHANGHAI).replace(second=0, microsecond=0)


async def test_a_tier1_complaint_keeps_business_time_overnight(harness):
    now = await harness.env.get_current_time()
    monday = next_working_monday(now.astimezone(SHANGHAI).date())
    tuesday = monday + timedelta(days=1)
    await harness.skip_to(at(monday, 17))
    question = registration(
        "Where can I find the manual?", subject="Manual", cid=f"C-{uuid.uuid4().hex[:10]}"
    )
    sub = await harness.submit(question)
    h = sub.handle
    await harness.wait_for(h, lambda s: s.tier == 1)

    # 17:30: the 30 minutes to resolve are gone; up to the team lead.
    await harness.skip_to(at(monday, 17, 30) + timedelta(seconds=1))
    state = await harness.wait_for(h, lambda s: s.escalation_level == 1)
    # 20:00: reassigned at night; the new assignee hears at Tuesday's opening.
    await harness.skip_to(at(monday, 20))
    other = next(m for m in POLICY.teams[state.team].members if m != state.assignee)
    await harness.act(h, c.Reassign(by="supervisor.wu", assignee=other))
    # Two hours later on the wall clock nothing climbs: two hours of business time end on
    # Tuesday at 10:30.
    await harness.skip_to(at(monday, 22))
    assert (await harness.state(h)).escalation_level == 1
    await harness.skip_to(at(tuesday, 10, 30) + timedelta(seconds=1))
    await harness.wait_for(h, lambda s: s.escalation_level == 2)

    stored = harness.events(sub.complaint_id)
    climbs = [(e.to_role, to_the_minute(e.at)) for e in stored if e.type == "ComplaintEscalated"]
    assert climbs == [("team_lead", at(monday, 17, 30)), ("supervisor", at(tuesday, 10, 30))]
    told = [
        (e.kind, e.recipient, e.not_before) for e in stored if e.type == "NotificationRequested"
    ]
    assert told == [
        ("acknowledgement", CUSTOMER, None),
        ("assignment", "assignee", None),
        ("deadline_warning", "assignee", None),  # 17:24, 80% of the half hour
        ("escalation", "team_lead", None),
        ("progress", CUSTOMER, None),
        ("assignment", "assignee", at(tuesday, 9)),  # held through the night
        ("escalation", "supervisor", None),
        ("progress", CUSTOMER, None),
    ]
    await harness.keep_history(h, "tier1_overnight_local")
