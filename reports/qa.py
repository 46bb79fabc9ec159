"""Spot-check scores beside the SLA figures: per team and per agent, over the same complaints
(those received in the report's range), from the `qa_reviews` read model.

A complaint's latest review stands. A score is the review's share of the most it could be (0 to
1: every item at the top of its scale), so reviews against different checklists or scales
average fairly; a group's score is the mean of its reviewed complaints' scores, and each item's
the mean of its shares. Complaints nobody reviewed count nowhere: a sample is not a census.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from reports.metrics import SlaReport
from reports.periods import day_bounds
from store.qa_reviews import QaFact, QaFacts


class QaGroup(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    team: str
    agent: str  # "" in a team's own row
    reviewed: int  # complaints reviewed
    score: float  # mean share, 0 to 1


class QaScores(BaseModel):
    """The spot-checks of a report: over all, per checklist item, per team and per agent."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    reviewed: int
    score: float | None  # None: nothing reviewed
    items: dict[str, float]
    teams: list[QaGroup]
    agents: list[QaGroup]


def qa_scores(facts: Iterable[QaFact]) -> QaScores:
    facts = list(facts)
    teams: dict[str, list[QaFact]] = {}
    agents: dict[tuple[str, str], list[QaFact]] = {}
    items: dict[str, list[float]] = {}
    for fact in facts:
        teams.setdefault(fact.team, []).append(fact)
        agents.setdefault((fact.team, fact.agent), []).append(fact)
        for item, share in fact.scores.items():
            items.setdefault(item, []).append(share)
    return QaScores(
        reviewed=len(facts),
        score=_mean(f.score for f in facts),
        items={item: _mean(shares) for item, shares in items.items()},  # type: ignore[misc]
        teams=[_group(team, "", group) for team, group in sorted(teams.items())],
        agents=[_group(team, agent, group) for (team, agent), group in sorted(agents.items())],
    )


def qa_scores_between(
    facts: QaFacts,
    first_day: date,
    last_day: date,
    zone: ZoneInfo | str,
    contracts: Collection[str] | None,
) -> QaScores:
    """The scores of the complaints received on the local days first..last of `zone`."""
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    start, end = day_bounds(first_day, last_day, zone)
    return qa_scores(facts.received_between(start, end, contracts))


def qa_beside(facts: QaFacts, report: SlaReport) -> QaScores:
    """The scores of the SLA report's complaints: its range, time zone and contracts."""
    covered = report.contracts or None  # none listed: every contract's
    return qa_scores_between(facts, report.first_day, report.last_day, report.timezone, covered)


def qa_table(scores: QaScores) -> str:
    """The scores as text, for the CLI's table."""
    if not scores.reviewed:
        return "Spot-checks: no complaint of the range has been reviewed"
    lines = [
        f"Spot-checks: {scores.reviewed} reviewed, score {scores.score:.0%}",
        f"  {'team':<20} {'agent':<20} {'reviewed':>8} {'score':>6}",
    ]
    for group in [*scores.teams, *scores.agents]:
        who = group.agent or "(team)"
        lines.append(f"  {group.team:<20} {who:<20} {group.reviewed:>8} {group.score:>6.0%}")
    lines += [f"  item {item!r}: {share:.0%}" for item, share in scores.items.items()]
    return "\n".join(lines)


def _group(team: str, agent: str, facts: list[QaFact]) -> QaGroup:
    return QaGroup(team=team, agent=agent, reviewed=len(facts), score=_mean(f.score for f in facts))


def _mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None
