"""Amendments: new terms of a contract reach a running complaint on purpose (PolicyAmended), its
open deadlines re-timed under them from the time already spent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from api.page_parts import event_text
from domain import commands as c
from domain.amendment import effect_of
from domain.closure import closure_record
from domain.decide import DomainError
from domain.policy import Policy
from domain.vocabulary import DeadlineKind, Status
from tests.unit.helpers import POLICY, T0, Story, minutes, refold, registration, story, types

ACK, FR, IS, RES = tuple(DeadlineKind)
# Derandomized: the same cases every run (random campaigns belong outside make test).
HYPO = settings(max_examples=100, deadline=None, derandomize=True, database=None)


def terms(tiers: dict[str, dict[str, str]] | None = None, **top: Any) -> Policy:
    """The default policy with some of its numbers changed, as an operator edits the file."""
    raw = POLICY.model_dump(mode="json") | top
    for tier, deadlines in (tiers or {}).items():
        raw["tiers"][tier]["deadlines"] |= deadlines
    return Policy.model_validate(raw)


def edited(change: Callable[[dict[str, Any]], object]) -> Policy:
    raw = POLICY.model_dump(mode="json")
    change(raw)
    return Policy.model_validate(raw)


def _without_product_quality(raw: dict[str, Any]) -> None:
    raw["categories"].remove("product_quality")
    raw["classification"]["rules"] = [
        r for r in raw["classification"]["rules"] if r["category"] != "product_quality"
    ]
    del raw["routing"]["categories"]["product_quality"]


def amend(policy: Policy, version: str = "v2", contract: str = "default") -> c.AmendPolicy:
    return c.AmendPolicy(contract=contract, version=version, policy=policy, by="ops.wu")


LONGER = terms({"3": {"first_response": "20m", "initial_solution": "1h", "resolution": "48h"}})


def test_an_amendment_re_times_the_open_deadlines_from_the_time_spent():
    s = story()  # tier 3, received at T0: first response due T0+10m
    new = s.when(amend(LONGER), T0 + minutes(5))
    assert types(new) == ["PolicyAmended", "DeadlinesScheduled"]
    amended, scheduled = new
    assert [(m.kind, m.old_due_at - T0, m.new_due_at - T0) for m in amended.deadlines] == [
        (FR, minutes(10), minutes(20)),
        (IS, minutes(30), minutes(60)),
        (RES, timedelta(hours=24), timedelta(hours=48)),
    ]
    assert (amended.by, amended.from_version, amended.to_version) == ("ops.wu", None, "v2")
    assert scheduled.reason == "amended" and scheduled.round == 1
    assert s.state.policy_version == "v2" and s.policy is LONGER
    assert s.state.deadline(FR).due_at == T0 + minutes(20)
    assert s.state.deadline(ACK).met_at == T0  # settled deadlines stand
    # The new terms decide from now on: no breach at the old time, one at the new.
    assert s.tick(T0 + minutes(12)) == []
    assert [e.kind for e in s.tick(T0 + minutes(20)) if e.type == "DeadlineBreached"] == [FR]
    assert refold(s) == s.state


def test_a_deadline_moved_into_the_past_is_breached_at_once_and_escalated():
    s = story()
    shorter = terms({"3": {"first_response": "5m"}})
    new = s.when(amend(shorter), T0 + minutes(7))
    assert types(new)[:4] == [
        "PolicyAmended",
        "DeadlinesScheduled",
        "DeadlineWarningIssued",  # its new warning time passed too: recorded late, as always
        "DeadlineBreached",
    ]
    breach = new[3]
    assert (breach.kind, breach.due_at, breach.at) == (FR, T0 + minutes(5), T0 + minutes(7))
    assert "ComplaintEscalated" in types(new) and s.state.escalation_level == 1
    effect = effect_of(s.state.complaint_id, s.state.status, new)
    assert effect.breached_at_once == [FR]
    assert [(m.kind, m.new_due_at) for m in effect.moved] == [(FR, T0 + minutes(5))]


def test_a_breach_owed_under_the_old_terms_is_decided_first_under_them():
    s = story()
    new = s.when(amend(LONGER), T0 + minutes(11))  # first response was due at +10m
    assert types(new)[:2] == ["DeadlineWarningIssued", "DeadlineBreached"]
    amended = next(e for e in new if e.type == "PolicyAmended")
    assert [m.kind for m in amended.deadlines] == [IS, RES]  # a breached deadline stays put
    assert effect_of(s.state.complaint_id, s.state.status, new).breached_at_once == []


def test_a_paused_complaint_takes_the_new_terms_when_the_customer_replies():
    s = story()
    s.when(c.RequestInfo(by="a", question="Which model?"), T0 + minutes(2))
    new = s.when(amend(LONGER), T0 + minutes(5))
    assert types(new) == ["PolicyAmended"] and new[0].deadlines == []
    assert s.state.status is Status.WAITING_ON_CUSTOMER and s.state.policy_version == "v2"
    s.when(c.RecordCustomerReply(message="The X2"), T0 + minutes(32))
    # 20 minutes of budget, 30 of them paused.
    assert s.state.deadline(FR).due_at == T0 + minutes(50)


def test_a_resolved_complaint_moves_no_deadline_but_pins_the_new_version():
    s = story()
    s.when(c.Resolve(by="a", resolution="Replaced"), T0 + minutes(5))
    shorter_window = terms(confirmation_window="1d")
    new = s.when(amend(shorter_window), T0 + timedelta(hours=2))
    assert types(new) == ["PolicyAmended"] and new[0].deadlines == []
    assert s.state.policy_version == "v2"
    # Its remaining steps follow the new terms: closed one day after the resolution.
    assert types(s.tick(T0 + minutes(5) + timedelta(days=1))) == ["ComplaintClosed"]


def test_nothing_moves_when_only_the_parties_changed():
    s = story()
    new = s.when(amend(POLICY), T0 + minutes(5))  # same policy, another version (its parties)
    assert types(new) == ["PolicyAmended"] and new[0].deadlines == []


def test_the_closure_record_lists_the_amendments():
    s = story()
    s.when(amend(LONGER), T0 + minutes(5))
    record = closure_record(s.events)
    (entry,) = record["amendments"]
    assert (entry["by"], entry["from_version"], entry["to_version"]) == ("ops.wu", None, "v2")
    assert [d["kind"] for d in entry["deadlines"]] == ["first_response", "initial_solution",
                                                       "resolution"]  # fmt: skip
    assert record["policy_version"] == "v2"


def test_the_timeline_names_the_versions_and_the_moves():
    s = story()
    (amended, _) = s.when(amend(LONGER), T0 + minutes(5))
    text = event_text(amended.model_dump(mode="json"))
    assert text.startswith("terms None -> v2: first_response ")
    assert "first_response 2026-11-25T02:10:00Z -> 2026-11-25T02:20:00Z, " in text  # T0 + 20m


def _resolved_and_closed(s: Story) -> None:
    s.when(c.Resolve(by="a", resolution="Replaced"), T0 + minutes(5))
    s.when(c.RecordFeedback(rating=5), T0 + minutes(6))


@pytest.mark.parametrize(
    ("given", "command", "refusal"),
    [
        (None, amend(POLICY, contract="acme"), "belongs to contract 'default', not 'acme'"),
        (
            lambda s: s.when(amend(LONGER, version="v2"), T0 + minutes(1)),
            amend(LONGER, version="v2"),
            "it is already on version v2",
        ),
        (
            None,
            amend(edited(_without_product_quality)),
            "categories lack its category 'product_quality' (reclassify it first)",
        ),
        (
            None,
            amend(
                terms(
                    routing={"default_team": "customer_service"},
                    teams={"customer_service": {"members": ["agent.zhang"]}},
                )
            ),
            "teams lack its team 'quality' (reassign it first)",
        ),
        (
            None,
            amend(edited(lambda raw: raw["tiers"]["3"]["deadlines"].pop("first_response"))),
            "tier 3 has no first_response deadline, which it still owes",
        ),
        (_resolved_and_closed, amend(LONGER), "is closed"),
    ],
    ids=["another contract", "same version", "category", "team", "dropped deadline", "closed"],
)
def test_terms_the_complaint_cannot_live_under_are_refused(given, command, refusal):
    s = story()
    if given:
        given(s)
    before = list(s.events)
    with pytest.raises(DomainError, match=refusal.replace("(", r"\(").replace(")", r"\)")):
        s.when(command, T0 + minutes(8))
    assert s.events == before


# --- the property: an amendment gives what a fresh registration under the new terms would ----

TEXTS = ["The charger caught fire", "My parcel is late", "The app shows an error", "Hello"]
budgets = st.integers(1, 5 * 24 * 60).map(lambda n: f"{n}m")


@st.composite
def new_terms(draw) -> Policy:
    """The default policy with new budgets, and perhaps another clock, for every tier."""
    tiers = {
        tier: {kind: draw(budgets) for kind in POLICY.tiers[tier].deadlines if kind != ACK}
        for tier in POLICY.tiers
    }
    policy = terms(tiers)
    raw = policy.model_dump(mode="json")
    for tier in raw["tiers"]:
        raw["tiers"][tier]["clock"] = draw(st.sampled_from(["24x7", "business"]))
    return Policy.model_validate(raw)


def _live(terms_: Policy, text: str, received: datetime, pauses, until: datetime) -> Story:
    s = Story(terms_)
    s.when(registration(text), received)
    at = received
    for gap, length in pauses:
        s.when(c.RequestInfo(by="a", question="?"), at := at + gap)
        s.when(c.RecordCustomerReply(message="!"), at := at + length)
    return s


@HYPO
@given(
    new=new_terms(),
    text=st.sampled_from(TEXTS),
    received=st.timedeltas(timedelta(0), timedelta(days=7)).map(lambda d: T0 + d),
    pauses=st.lists(
        st.tuples(
            st.timedeltas(timedelta(minutes=1), timedelta(days=2)),
            st.timedeltas(timedelta(minutes=1), timedelta(hours=10)),  # before any reminder
        ),
        max_size=2,
    ),
    then=st.timedeltas(timedelta(0), timedelta(days=3)),
)
@example(  # a deadline moved into the past, on a business clock, over a weekend
    new=terms({"2": {"first_response": "1m"}}),
    text="My parcel is late",
    received=T0 + timedelta(days=2, hours=7),  # Friday 17:00
    pauses=[],
    then=timedelta(days=3),
)
def test_amending_gives_the_due_times_of_a_fresh_registration_after_the_same_time_spent(
    new, text, received, pauses, then
):
    spent = received + sum((g + n for g, n in pauses), timedelta(0)) + then
    fresh = _live(new, text, received, pauses, spent)
    fresh.tick(spent)
    s = _live(POLICY, text, received, pauses, spent)
    s.tick(spent)  # what the old terms owed is decided under them first
    owed = {d.kind: d.due_at for d in s.state.current_deadlines() if d.pending}

    moved = s.when(amend(new), spent)

    amended = next(e for e in moved if e.type == "PolicyAmended")
    for kind, old_due in owed.items():
        due = fresh.state.deadline(kind).due_at
        assert s.state.deadline(kind).due_at == due
        assert {m.kind: m.new_due_at for m in amended.deadlines}.get(kind, old_due) == due
        if due <= spent:  # moved into the past: breached at once, never dropped
            assert s.state.deadline(kind).breached_at == spent
