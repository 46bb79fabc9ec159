"""Spot-checks in the domain: the policy's checklist, the rules a review must keep, and the
sample drawn reproducibly per agent."""

from __future__ import annotations

from datetime import date

import pytest

from domain.access import Author, NotServed, RoleForbidden, check_access
from domain.contracts import terms_version
from domain.policy import PolicyError, parse_policy
from domain.qa import Candidate, QaChecklist, QaScale, draw_sample, review_problems
from domain.vocabulary import Status
from engine.spot_checks import period_days
from tests.unit.helpers import POLICY, POLICY_FILE, story

DEFAULT = POLICY_FILE.read_text()
CHECKLIST = POLICY.qa
FULL = {"greeted": 2, "identified the issue": 1, "kept the customer informed": 2,
        "resolution explained": 0}  # fmt: skip


def test_the_default_policy_names_the_checklist_and_leaves_the_terms_version_alone():
    assert CHECKLIST.checklist == [
        "greeted",
        "identified the issue",
        "kept the customer informed",
        "resolution explained",
    ]
    assert CHECKLIST.scale == QaScale(min=0, max=2)
    # The shipped file states the defaults: the contract's terms keep their version.
    without = parse_policy(DEFAULT.split("\n[qa]")[0])
    assert terms_version(without, {}) == terms_version(POLICY, {})


@pytest.mark.parametrize(
    ("qa", "message"),
    [
        ("scale = { min = 3, max = 2 }", r"qa\.scale: .*max must be greater than min"),
        ("scale = { min = -1, max = 2 }", r"qa\.scale\.min: .*greater than or equal to 0"),
        ("checklist = []", r"qa\.checklist: .*at least 1 item"),
        ('checklist = ["greeted", "greeted"]', r"qa: .*repeated: greeted"),
        ('checklist = ["greeted", ""]', r"qa\.checklist\.1: .*at least 1 character"),
        ("points = 3", r"qa\.points: .*Extra inputs are not permitted"),
    ],
)
def test_a_bad_checklist_is_named_by_key_and_rule(qa: str, message: str):
    text = DEFAULT.split("\n[qa]")[0] + f"\n[qa]\n{qa}\n"
    with pytest.raises(PolicyError, match=message):
        parse_policy(text, "acme/policy.toml")


def test_a_full_review_of_a_closed_complaint_keeps_every_rule():
    for status in (Status.CLOSED, Status.ARCHIVED):
        assert review_problems(CHECKLIST, status, FULL, "polite and clear") == []
    assert CHECKLIST.share(FULL) == pytest.approx(5 / 8)


@pytest.mark.parametrize(
    ("status", "scores", "problems"),
    [
        (Status.CLOSED, FULL | {"greeted": 3}, [("scores.greeted", "out_of_scale")]),
        (Status.CLOSED, FULL | {"greeted": -1}, [("scores.greeted", "out_of_scale")]),
        (Status.CLOSED, FULL | {"smiled": 1}, [("scores.smiled", "unknown_item")]),
        (
            Status.CLOSED,
            {k: v for k, v in FULL.items() if k != "greeted"},
            [("scores.greeted", "missing_item")],
        ),
        (Status.CLOSED, FULL | {"greeted": "2"}, [("scores.greeted", "not_a_whole_number")]),
        (Status.CLOSED, FULL | {"greeted": True}, [("scores.greeted", "not_a_whole_number")]),
        (Status.RESOLVED, FULL, [("status", "not_closed")]),
        (
            Status.OPEN,
            FULL | {"greeted": 9},
            [("status", "not_closed"), ("scores.greeted", "out_of_scale")],
        ),
        (None, FULL, [("status", "not_closed")]),
    ],
)
def test_a_review_that_breaks_a_rule_names_the_field_and_the_rule(status, scores, problems):
    found = review_problems(CHECKLIST, status, scores, "")
    assert [(p.field, p.rule) for p in found] == problems


def test_remarks_have_a_limit():
    found = review_problems(CHECKLIST, Status.CLOSED, FULL, "x" * 2001)
    assert [(p.field, p.rule) for p in found] == [("remarks", "too_long")]


def _candidates(agents: dict[str, int]) -> list[Candidate]:
    return [
        Candidate(agent, "team", f"C-{agent}-{n:03d}")
        for agent, count in agents.items()
        for n in range(count)
    ]


def test_the_same_seed_draws_the_same_sample_whatever_the_order_of_the_candidates():
    candidates = _candidates({"agent.chen": 40, "agent.zhao": 25, "agent.li": 2})
    first = draw_sample(candidates, 5, seed=1234, draw="acme|2026-11")
    again = draw_sample(list(reversed(candidates)), 5, seed=1234, draw="acme|2026-11")
    assert first == again
    sizes = {agent: len(drawn) for agent, drawn in first.items()}
    assert sizes == {"agent.chen": 5, "agent.li": 2, "agent.zhao": 5}
    assert all(c.agent == agent for agent, drawn in first.items() for c in drawn)


def test_another_seed_or_another_period_draws_another_sample():
    candidates = _candidates({"agent.chen": 40, "agent.zhao": 25})
    first = draw_sample(candidates, 5, seed=1234, draw="acme|2026-11")
    assert draw_sample(candidates, 5, seed=1235, draw="acme|2026-11") != first
    assert draw_sample(candidates, 5, seed=1234, draw="acme|2026-12") != first


def test_one_agents_complaints_never_change_another_agents_sample():
    before = draw_sample(_candidates({"agent.chen": 40}), 5, seed=9, draw="d")
    after = draw_sample(_candidates({"agent.chen": 40, "agent.zhao": 30}), 5, seed=9, draw="d")
    assert after["agent.chen"] == before["agent.chen"]


def test_a_sample_needs_at_least_one_per_agent():
    with pytest.raises(ValueError, match="per_agent"):
        draw_sample([], 0, seed=1, draw="d")


@pytest.mark.parametrize(
    ("period", "days"),
    [
        ("2026-11", (date(2026, 11, 1), date(2026, 11, 30))),
        ("2026-02", (date(2026, 2, 1), date(2026, 2, 28))),
        ("2026-W48", (date(2026, 11, 23), date(2026, 11, 29))),
    ],
)
def test_periods_are_months_or_iso_weeks(period, days):
    assert period_days(period) == days


@pytest.mark.parametrize("period", ["2026-13", "2026-W54", "November", "2026-11-01"])
def test_a_period_that_does_not_parse_is_named(period):
    with pytest.raises(ValueError, match="^period: "):
        period_days(period)


def test_a_checklist_of_its_own_scale():
    five = QaChecklist(scale=QaScale(min=1, max=5), checklist=["tone", "accuracy"])
    assert five.share({"tone": 5, "accuracy": 3}) == pytest.approx((4 + 2) / 8)


def test_the_auditor_reads_its_contracts_complaints_and_never_acts():
    state = story().state  # registered under no contract: the "default" one
    auditor = Author(name="audit.acme", role="auditor", contracts=frozenset({"default"}))
    check_access(auditor, state)  # reads, whatever the team
    for action in ("note", "respond", "reclassify", "reassign"):
        with pytest.raises(RoleForbidden, match="an auditor reads and spot-checks"):
            check_access(auditor, state, action)
    stranger = auditor.model_copy(update={"contracts": frozenset({"globex"})})
    with pytest.raises(NotServed):
        check_access(stranger, state)
