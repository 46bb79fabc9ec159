"""What the worker counts of a decision's events (engine.metrics.count_recorded): given the
events an append wrote, when counted, then the counters move by exactly these amounts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY

from domain.events import (
    ComplaintEscalated,
    CustomerAnswerMissed,
    DeadlineBreached,
    DeadlineMet,
    NoteAdded,
    ProgressUpdateMissed,
)
from domain.vocabulary import DeadlineKind
from engine.metrics import count_recorded, intake_result

DUE = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def moved(name: str, labels: dict, events, tier: int | None = 2, recorded_at=DUE) -> float:
    """How far the sample `name{labels}` moves when `events` are counted."""
    before = sample(name, **labels)
    count_recorded(tier, events, recorded_at)
    return sample(name, **labels) - before


def met(at: datetime) -> DeadlineMet:
    return DeadlineMet(at=at, round=1, kind=DeadlineKind.RESOLUTION, due_at=DUE)


def test_a_deadline_met_in_time_counts_as_met():
    labels = {"tier": "2", "kind": "resolution", "outcome": "met"}
    assert moved("complaints_deadlines_total", labels, [met(DUE - timedelta(minutes=1))]) == 1


def test_an_answer_after_the_due_time_is_not_counted_again_as_met():
    labels = {"tier": "2", "kind": "resolution", "outcome": "met"}
    assert moved("complaints_deadlines_total", labels, [met(DUE + timedelta(minutes=1))]) == 0


def test_a_breach_counts_with_how_late_it_was_recorded():
    breach = DeadlineBreached(at=DUE, round=1, kind=DeadlineKind.FIRST_RESPONSE, due_at=DUE)
    recorded = DUE + timedelta(seconds=42)
    labels = {"tier": "3", "kind": "first_response", "outcome": "breached"}
    before_sum = sample("complaints_breach_lateness_seconds_sum", tier="3")
    assert moved("complaints_deadlines_total", labels, [breach], 3, recorded) == 1
    assert sample("complaints_breach_lateness_seconds_sum", tier="3") - before_sum == 42


@pytest.mark.parametrize(
    ("missed", "kind"),
    [
        (ProgressUpdateMissed(at=DUE, due_at=DUE), "progress_update"),
        (CustomerAnswerMissed(at=DUE, due_at=DUE), "customer_answer"),
    ],
)
def test_what_the_customer_was_owed_is_a_breach_of_its_own_kind(missed, kind):
    labels = {"tier": "2", "kind": kind, "outcome": "breached"}
    assert moved("complaints_deadlines_total", labels, [missed]) == 1


def test_escalations_count_by_the_role_escalated_to_and_other_events_count_nothing():
    up = ComplaintEscalated(at=DUE, level=1, to_role="team_lead", reason="first_response")
    note = NoteAdded(at=DUE, by="agent.chen", text="called")
    labels = {"tier": "unknown", "to_role": "team_lead"}  # an append from before the tier
    assert moved("complaints_escalations_total", labels, [up, note], None) == 1


def test_intake_results():
    assert intake_result(created=True, registered=True) == "created"
    assert intake_result(created=True, registered=False) == "accepted"
    assert intake_result(created=False, registered=True) == "repeated"
