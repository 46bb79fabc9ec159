"""The what-if simulation over recorded complaints (the same stories as the report tests)."""

from __future__ import annotations

from domain.policy import parse_policy
from reports.simulate import BREACHED, MET, PENDING, simulate
from tests.unit.helpers import POLICY_FILE, local
from tests.unit.report_stories import decisions

AFTER_ALL = local(2026, 12, 31, 0, 0)  # every deadline of the stories has passed


def recorded():
    return [[e for decision in made for e in decision] for made in decisions().values()]


def rows(result):
    return {(r.tier, r.kind): (r.actual, r.simulated) for r in result.rows}


def test_the_policy_the_complaints_ran_under_reproduces_what_happened() -> None:
    result = simulate(recorded(), parse_policy(POLICY_FILE.read_text()), AFTER_ALL)
    assert result.complaints == 5
    for actual, simulated in rows(result).values():
        # E's unanswered tier-3 deadlines are still pending in the log (nobody ticked), but
        # have passed by AFTER_ALL: those are the only differences allowed.
        assert simulated[MET] == actual[MET]
        assert simulated[BREACHED] == actual[BREACHED] + actual[PENDING]
    assert result.total("actual", BREACHED) == 3  # B twice, D once


def test_a_stricter_policy_counts_the_breaches_it_would_have_made() -> None:
    text = POLICY_FILE.read_text()
    stricter = text.replace('first_response = "10m"', 'first_response = "4m"')
    stricter = stricter.replace('resolution = "30m"', 'resolution = "45m"')  # tier 1 looser
    result = simulate(recorded(), parse_policy(stricter), local(2026, 11, 26, 0, 0))
    by_kind = rows(result)
    # Tier 3 first responses took 5m (A), 15m (B) and 4m (E): only E's is within 4 minutes.
    assert by_kind[(3, "first_response")][1] == {MET: 1, BREACHED: 2, PENDING: 0}
    # D's resolution at 40m breached 30m but meets 45m.
    assert by_kind[(1, "resolution")] == (
        {MET: 0, BREACHED: 1, PENDING: 0},
        {MET: 1, BREACHED: 0, PENDING: 0},
    )
    # E was received on 30 November: on the 26th its deadlines are not due yet.
    assert by_kind[(3, "resolution")][1][PENDING] == 1
    assert (result.complaints_breached_actual, result.complaints_breached_simulated) == (2, 2)
