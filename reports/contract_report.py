"""A contract's periodic report, as figures: what the weekly demand summary and the monthly
service-execution report say (README, Scheduled reports).

Built from the report read model (reports.metrics' own figures, over the complaints of this
contract received in the period, in its time zone), the deadline ledger and the registrations'
words (reports.demand). The result is plain data, JSON-able: it is archived as sent, rendered
to the e-mail, the PDF and the CSV (reports.contract_report_render).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine

from domain.contracts import Contract, QualityTargets
from domain.report_times import ReportPeriod
from reports.business_time import business_clocks, business_hours_times
from reports.demand import demand_summary
from reports.metrics import MET, NO_DATA, RATINGS, Figures, check_targets, figures, sla_report
from reports.periods import label, period_start
from reports.qa import QaScores, qa_scores
from store.complaint_texts import registration_texts
from store.qa_reviews import QaFacts
from store.report_model import ComplaintFacts, ReportFacts

# How far back the review looks for a team's run of weeks below the threshold, so a long run is
# seen whole (and notified once, by its first week).
REVIEW_LOOKBACK_WEEKS = 8


class _Fact(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Durations(_Fact):
    count: int
    median_seconds: float | None
    p90_seconds: float | None


class BusinessHours(_Fact):
    """First response and resolution of the business-hours tiers in business time (the
    contract's calendar), wall clock beside (reports.business_time)."""

    tiers: list[int]
    first_response: Durations
    first_response_wall_clock: Durations
    resolution: Durations
    resolution_wall_clock: Durations


class TierDeadlines(_Fact):
    tier: int
    met: int
    breached: int
    # The customer left without word from us, or without an answer (absent in reports sent
    # before it was counted).
    closed_loop_breached: int = 0


class TargetOutcome(_Fact):
    name: str  # a QualityTargets field
    target: float
    actual: float | None  # None: nothing to measure it on in the period
    met: bool | None


class FlaggedTeam(_Fact):
    team: str
    weeks: list[str]
    resolution_rates: list[float]


class Term(_Fact):
    term: str
    count: int
    previous: int


class DemandSummary(_Fact):
    categories: dict[str, int]
    previous_categories: dict[str, int]
    terms: list[Term]
    rising: list[Term]
    falling: list[Term]


class ContractReport(_Fact):
    contract: str
    contract_name: str
    kind: str
    period: str
    start: datetime  # local, in `timezone`
    end: datetime
    timezone: str
    volume: int
    previous_volume: int
    by_channel: dict[str, int]
    by_category: dict[str, int]
    deadlines_by_tier: list[TierDeadlines]
    first_response: Durations
    resolution: Durations
    resolved: int
    first_contact_resolution_rate: float | None
    reopen_rate: float | None
    resolution_rate: float | None
    first_response_in_time: float | None
    satisfaction_average: float | None
    satisfaction_distribution: dict[int, int]
    targets: list[TargetOutcome]
    flagged_teams: list[FlaggedTeam]
    demand: DemandSummary
    # None: no complaint on a business-hours tier (or archived before this figure existed).
    business_hours: BusinessHours | None = None
    # The spot-checks of the period's complaints (reports.qa); absent in reports archived before.
    qa: QaScores | None = None


def build_report(engine: Engine, contract: Contract, period: ReportPeriod) -> ContractReport:
    """The report of `contract` for `period` (a period with no complaints is a report that says
    so: zero volume, rates None)."""
    facts = ReportFacts(engine)
    mine = _received(facts, contract, period.start, period.end)
    previous_period = period.previous()
    before = _received(facts, contract, previous_period.start, previous_period.end)
    whole = figures(period.label, period.start.date(), "all", mine)
    texts = registration_texts(engine, [f.complaint_id for f in mine + before])
    demand = demand_summary(
        (texts.get(f.complaint_id, "") for f in mine),
        (texts.get(f.complaint_id, "") for f in before),
    )
    return ContractReport(
        contract=contract.id,
        contract_name=contract.name,
        kind=period.kind,
        period=period.label,
        start=period.start,
        end=period.end,
        timezone=contract.policy.timezone,
        volume=whole.volume,
        previous_volume=len(before),
        by_channel=_count(mine, "channel"),
        by_category=_count(mine, "category"),
        deadlines_by_tier=[
            TierDeadlines(
                tier=tier,
                met=f.deadlines_met,
                breached=f.deadlines_breached,
                closed_loop_breached=f.closed_loop_breaches,
            )
            for tier, f in sorted(_by_tier(mine, period).items())
        ],
        first_response=_durations(whole.time_to_first_response),
        resolution=_durations(whole.time_to_resolution),
        resolved=whole.resolved,
        first_contact_resolution_rate=whole.first_contact_resolution_rate,
        reopen_rate=whole.reopen_rate,
        resolution_rate=whole.resolution_rate,
        first_response_in_time=whole.first_response_in_time_rate,
        satisfaction_average=whole.satisfaction_average,
        satisfaction_distribution={r: whole.satisfaction_distribution[r] for r in RATINGS},
        targets=targets_met_or_missed(contract.targets, whole),
        flagged_teams=flagged_teams(facts, contract, period.end),
        demand=DemandSummary(
            categories=_count(mine, "category"),
            previous_categories=_count(before, "category"),
            terms=[Term(term=t.term, count=t.count, previous=t.previous) for t in demand.terms],
            rising=[Term(term=t.term, count=t.count, previous=t.previous) for t in demand.rising],
            falling=[Term(term=t.term, count=t.count, previous=t.previous) for t in demand.falling],
        ),
        qa=spot_checks(engine, contract, period),
        business_hours=business_hours(contract, mine),
    )


def business_hours(contract: Contract, mine: list[ComplaintFacts]) -> BusinessHours | None:
    times = business_hours_times(mine, business_clocks({contract.id: contract}))
    if times is None:
        return None
    return BusinessHours(
        tiers=times.tiers,
        first_response=_durations(times.first_response),
        first_response_wall_clock=_durations(times.first_response_wall_clock),
        resolution=_durations(times.resolution),
        resolution_wall_clock=_durations(times.resolution_wall_clock),
    )


def spot_checks(engine: Engine, contract: Contract, period: ReportPeriod) -> QaScores:
    """The QA scores of the contract's complaints received in the period, as reviewed by now."""
    return qa_scores(QaFacts(engine).received_between(period.start, period.end, {contract.id}))


def targets_met_or_missed(targets: QualityTargets, whole: Figures) -> list[TargetOutcome]:
    """Each target the contract sets against the period's figure, by the reports' own rule
    (reports.metrics.check_targets: met at or above it; None when nothing measures it)."""
    return [
        TargetOutcome(
            name=check.target,
            target=check.promised,
            actual=check.actual,
            met=None if check.status == NO_DATA else check.status == MET,
        )
        for check in check_targets(whole, targets)
    ]


def flagged_teams(facts: ReportFacts, contract: Contract, until: datetime) -> list[FlaggedTeam]:
    """Teams of the contract flagged for review (policy performance_review) by the complete
    weeks before `until`: only runs that reach the last complete week, the flags standing now."""
    zone = until.tzinfo
    this_week = period_start(until.date(), "week")
    first = this_week - timedelta(weeks=REVIEW_LOOKBACK_WEEKS)
    start = datetime.combine(first, datetime.min.time(), zone)
    end = datetime.combine(this_week, datetime.min.time(), zone)
    review = sla_report(
        _received(facts, contract, start, end),
        period="week",
        group_by="team",
        first_day=first,
        last_day=this_week - timedelta(days=1),
        zone=zone,  # type: ignore[arg-type]
        review=contract.policy.performance_review,
    )
    last_week = label(this_week - timedelta(weeks=1), "week")
    return [
        FlaggedTeam(team=f.team, weeks=f.weeks, resolution_rates=f.resolution_rates)
        for f in review.flagged_teams
        if f.weeks[-1] == last_week
    ]


def _received(
    facts: ReportFacts, contract: Contract, start: datetime, end: datetime
) -> list[ComplaintFacts]:
    return [f for f in facts.received_between(start, end) if f.contract == contract.id]


def _count(facts: list[ComplaintFacts], field: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for f in facts:
        key = str(getattr(f, field)) or "unclassified"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _by_tier(facts: list[ComplaintFacts], period: ReportPeriod) -> dict[int, Figures]:
    tiers: dict[int, list[ComplaintFacts]] = {}
    for f in facts:
        tiers.setdefault(f.tier, []).append(f)
    start: date = period.start.date()
    return {tier: figures(period.label, start, str(tier), group) for tier, group in tiers.items()}


def _durations(spread) -> Durations:
    return Durations(count=spread.count, median_seconds=spread.median, p90_seconds=spread.p90)
