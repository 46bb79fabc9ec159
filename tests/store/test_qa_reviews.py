"""Spot-checks on a real store (SQLite and PostgreSQL): samples drawn from closed complaints,
reviews recorded as events of their author in the complaint's `<id>/qa` stream (hash-chained,
proved by verify), refused with nothing written, and shown per agent and team in the reports."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pypdf
import pytest
from sqlalchemy import Engine

from domain import commands as c
from domain.access import Author
from domain.qa import qa_stream
from domain.report_times import period_of
from engine.contracts import ContractBook
from engine.service import ComplaintNotFound
from engine.spot_checks import ReviewRefused, SpotChecks
from reports.contract_report import build_report
from reports.contract_report_render import CHARTS, as_csv, as_html, as_pdf, charts
from reports.qa import qa_scores_between
from store import ComplaintListProjection, EventStore, ProjectionRunner
from store.qa_reviews import QaFacts, QaReviewProjection, reviews_of
from store.report_model import ReportProjection
from store.verify import verify
from tests.delivery.conftest import record
from tests.security.conftest import file_complaint
from tests.unit.helpers import POLICY, T0, Story, local, minutes, registration

BOOK = ContractBook.serving(POLICY)  # one contract, "default", in Asia/Shanghai
NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))
SUPERVISOR = Author(name="sup.li", role="supervisor", key_id="ck-0123456789ab")
# Texts that route to each team: quality (agent.chen, agent.zhao), logistics (agent.wang),
# billing (agent.li), customer_service (agent.zhang, agent.liu).
TEXTS = ("The charger caught fire", "My parcel is late", "I want a refund", "How do i log out")
SCORES = {"greeted": 2, "identified the issue": 2, "kept the customer informed": 1,
          "resolution explained": 1}  # fmt: skip


def handled(store: EventStore, cid: str, text: str, received, close: bool = True) -> None:
    """A complaint registered and, if `close`, answered, resolved and rated (closed)."""
    story = Story()
    story.when(registration(text, cid=cid, received_at=received), received)
    if close:
        story.when(c.Respond(by="agent", message="On it"), received + minutes(5))
        story.when(c.Resolve(by="agent", resolution="Done"), received + minutes(20))
        story.when(c.RecordFeedback(rating=4), received + minutes(30))
    record(store, story, cid)


def project(engine: Engine) -> None:
    ProjectionRunner(
        engine, [ComplaintListProjection(), ReportProjection(), QaReviewProjection()]
    ).run_to_end()


@pytest.fixture
def checks(engine: Engine, store: EventStore) -> SpotChecks:
    for n in range(48):  # 12 of each text, over November's working hours
        received = T0 - timedelta(days=n % 20, hours=n % 5)
        handled(store, f"C-Q{n:03d}", TEXTS[n % len(TEXTS)], received)
    handled(store, "C-OPEN", TEXTS[0], T0, close=False)
    handled(store, "C-DEC", TEXTS[0], local(2026, 12, 2, 10, 0))  # not November's
    project(engine)
    return SpotChecks(store, BOOK)


def test_the_same_seed_draws_the_same_sample_and_another_seed_another(checks: SpotChecks):
    first = checks.sample("default", *NOVEMBER, per_agent=3, seed=20261130)
    again = checks.sample("default", *NOVEMBER, per_agent=3, seed=20261130)
    assert first == again
    assert first.candidates == 48  # closed and received in November: not C-OPEN nor C-DEC
    drawn = [c.complaint_id for picks in first.agents.values() for c in picks]
    assert len(drawn) == len(set(drawn)) and all(cid.startswith("C-Q") for cid in drawn)
    assert all(len(picks) <= 3 for picks in first.agents.values())
    team_members = {"agent.chen", "agent.zhao", "agent.wang", "agent.li", "agent.zhang",
                    "agent.liu"}  # fmt: skip
    assert set(first.agents) <= team_members and len(first.agents) >= 4  # every team has some
    other = checks.sample("default", *NOVEMBER, per_agent=3, seed=20261131)
    assert other.agents != first.agents


def test_a_draw_without_a_seed_tells_its_seed_which_repeats_it(checks: SpotChecks):
    fresh = checks.sample("default", *NOVEMBER, per_agent=2)
    assert checks.sample("default", *NOVEMBER, per_agent=2, seed=fresh.seed) == fresh


def test_a_review_is_an_event_of_its_author_and_shows_per_agent_and_team(
    engine: Engine, store: EventStore, checks: SpotChecks
):
    sample = checks.sample("default", *NOVEMBER, per_agent=1, seed=1)
    reviewed = [picks[0] for picks in sample.agents.values()]
    for n, candidate in enumerate(reviewed):
        scores = SCORES if n else SCORES | {"greeted": 0}  # the first agent's is lower
        checks.record(candidate.complaint_id, scores, "checked the call", SUPERVISOR)
    first = reviewed[0]
    (review,) = reviews_of(store, first.complaint_id)
    assert (review.by, review.by_key, review.by_role) == ("sup.li", "ck-0123456789ab", "supervisor")
    assert (review.agent, review.team) == (first.agent, first.team)
    assert review.scores == SCORES | {"greeted": 0} and review.score == pytest.approx(4 / 8)
    (stored,) = store.read_stream(qa_stream(first.complaint_id))
    assert (stored.type, stored.version, stored.data["by"]) == ("QaReviewed", 1, "sup.li")
    assert verify(engine).broken is None  # hash-chained like every other event

    project(engine)
    scores = qa_scores_between(QaFacts(engine), *NOVEMBER, "Asia/Shanghai", {"default"})
    assert scores.reviewed == len(reviewed)
    agents = {(g.team, g.agent): (g.reviewed, g.score) for g in scores.agents}
    assert agents[first.team, first.agent] == (1, pytest.approx(0.5))
    assert all(agents[c.team, c.agent] == (1, pytest.approx(6 / 8)) for c in reviewed[1:])
    teams = {g.team: g for g in scores.teams}
    assert set(teams) == {c.team for c in reviewed}
    assert scores.items["greeted"] == pytest.approx((len(reviewed) - 1) / len(reviewed))

    # The monthly report of the contract shows them too, in its figures and its CSV.
    report = build_report(engine, BOOK.default, period_of("monthly", local(2026, 12, 1, 9, 0),
                                                          T0.tzinfo))  # fmt: skip
    assert report.qa == scores
    assert f"qa_agent,{first.team}/{first.agent},0.5,1" in as_csv(report)
    pdf = pypdf.PdfReader(io.BytesIO(as_pdf(report, charts(report))))
    text = " ".join(page.extract_text() for page in pdf.pages)
    assert "Spot-checks" in text and first.agent in text and "50.0%" in text
    mail = as_html(report, "zh", dict.fromkeys(CHARTS, "cid"))
    assert "质检抽查" in mail and f"<td>{first.agent}</td><td>1</td><td>50.0%</td>" in mail


def test_a_second_review_corrects_the_first_in_the_figures(engine: Engine, checks: SpotChecks):
    checks.record("C-Q000", SCORES | {"greeted": 0}, "", SUPERVISOR)
    checks.record("C-Q000", SCORES, "second look: the greeting was there", SUPERVISOR)
    project(engine)
    (fact,) = QaFacts(engine).received_between(T0 - timedelta(days=1), T0 + timedelta(days=1))
    assert (fact.complaint_id, fact.reviews, fact.score) == ("C-Q000", 2, pytest.approx(6 / 8))


def test_an_archived_complaint_is_reviewed_and_its_closure_record_still_proves(
    engine: Engine, store: EventStore
):
    file_complaint(store, "C-ARCH", archive=True)
    project(engine)
    SpotChecks(store, BOOK).record("C-ARCH", SCORES, "", SUPERVISOR)
    proof = verify(engine)
    assert proof.broken is None and proof.closure_records == 1
    assert store.stream_version("C-ARCH/qa") == 1


@pytest.mark.parametrize(
    ("cid", "scores", "problems"),
    [
        ("C-Q001", SCORES | {"greeted": 3}, [("scores.greeted", "out_of_scale")]),
        ("C-Q001", SCORES | {"smiled": 1}, [("scores.smiled", "unknown_item")]),
        ("C-Q001", {"greeted": 1}, [
            ("scores.identified the issue", "missing_item"),
            ("scores.kept the customer informed", "missing_item"),
            ("scores.resolution explained", "missing_item"),
        ]),
        ("C-OPEN", SCORES, [("status", "not_closed")]),
    ],
)  # fmt: skip
def test_a_bad_review_is_refused_naming_field_and_rule_with_nothing_written(
    store: EventStore, checks: SpotChecks, cid, scores, problems
):
    before = len(store.read_all(limit=100_000))
    with pytest.raises(ReviewRefused) as refused:
        checks.record(cid, scores, "", SUPERVISOR)
    assert [(p.field, p.rule) for p in refused.value.problems] == problems
    assert len(store.read_all(limit=100_000)) == before
    assert store.stream_version(qa_stream(cid)) == 0


def test_an_auditor_of_another_contract_finds_no_complaint(checks: SpotChecks):
    auditor = Author(name="audit.globex", role="auditor", contracts=frozenset({"globex"}))
    with pytest.raises(ComplaintNotFound):
        checks.record("C-Q001", SCORES, "", auditor)
    mine = Author(name="audit.default", role="auditor", contracts=frozenset({"default"}))
    assert checks.record("C-Q001", SCORES, "", mine).by_role == "auditor"


def test_the_read_model_rebuilt_from_the_log_equals_the_live_one(
    engine: Engine, checks: SpotChecks
):
    for n, cid in enumerate(("C-Q000", "C-Q001", "C-Q000", "C-Q002")):
        checks.record(cid, SCORES | {"greeted": n % 3}, "", SUPERVISOR)
    runner = ProjectionRunner(engine, [QaReviewProjection()])
    runner.run_to_end(batch=3)  # batches cut through the reviews
    facts = QaFacts(engine)
    live = facts.received_between(T0 - timedelta(days=30), T0 + timedelta(days=1))
    runner.rebuild("qa_reviews", batch=7)
    assert facts.received_between(T0 - timedelta(days=30), T0 + timedelta(days=1)) == live
    latest = {f.complaint_id: (f.reviews, f.score) for f in live}
    assert latest == {
        "C-Q000": (2, pytest.approx(6 / 8)),  # its second review (greeted 2) stands
        "C-Q001": (1, pytest.approx(5 / 8)),
        "C-Q002": (1, pytest.approx(4 / 8)),
    }
