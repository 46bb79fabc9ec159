"""Spot-checks as the doors (API, CLI) use them: draw a sample, record a review.

Both work on the store alone, never Temporal: a sampled complaint is closed, and its workflow
may have ended long ago. Who may draw and review is the door's check (supervisors, admins, the
client's auditor, the CLI's operator); which complaints a caller sees is domain.access's.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from domain.access import Author, NotServed, check_access
from domain.contracts import contract_of
from domain.events import join_personal
from domain.qa import Candidate, QaReviewed, ReviewProblem, draw_sample, review_problems
from domain.state import fold
from engine.contracts import ContractBook
from engine.service import ComplaintNotFound
from reports.periods import day_bounds
from store.event_store import EventStore
from store.qa_reviews import append_review, closed_candidates

DEFAULT_PER_AGENT = 5
MAX_PER_AGENT = 1000
MAX_SEED = 2**63 - 1
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_WEEK = re.compile(r"(\d{4})-W(\d{2})")


class ReviewRefused(ValueError):
    """A review that breaks the checklist's rules or comes too early; nothing was written."""

    def __init__(self, problems: list[ReviewProblem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.message} ({p.rule})" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Sample:
    contract: str
    first_day: date
    last_day: date
    timezone: str
    seed: int
    per_agent: int
    candidates: int  # closed complaints of the period it was drawn from
    agents: dict[str, list[Candidate]]

    def as_json(self) -> dict:
        """The sample as the API answers it and `complaints qa sample --json` prints it."""
        return {
            "contract": self.contract,
            "from": self.first_day.isoformat(),
            "to": self.last_day.isoformat(),
            "timezone": self.timezone,
            "seed": self.seed,
            "per_agent": self.per_agent,
            "candidates": self.candidates,
            "agents": [
                {"agent": a, "team": drawn[0].team, "complaints": [c.complaint_id for c in drawn]}
                for a, drawn in self.agents.items()
            ],
        }


def period_days(period: str) -> tuple[date, date]:
    """The local days of `2026-11` (a month) or `2026-W48` (an ISO week)."""
    if found := _MONTH.fullmatch(period):
        year, month = int(found[1]), int(found[2])
        if 1 <= month <= 12:
            first = date(year, month, 1)
            following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
            return first, following - timedelta(days=1)
    if found := _WEEK.fullmatch(period):
        try:
            first = date.fromisocalendar(int(found[1]), int(found[2]), 1)
        except ValueError:
            pass
        else:
            return first, first + timedelta(days=6)
    raise ValueError(
        f"period: must read like 2026-11 (a month) or 2026-W48 (a week), got {period!r}"
    )


def new_seed() -> int:
    """A seed for a draw that names none; printed with the sample so it can be repeated."""
    return secrets.randbelow(10**8)


class SpotChecks:
    def __init__(self, store: EventStore, contracts: ContractBook) -> None:
        self.store, self.contracts = store, contracts

    def sample(
        self,
        contract_id: str,
        first_day: date,
        last_day: date,
        *,
        per_agent: int = DEFAULT_PER_AGENT,
        seed: int | None = None,
    ) -> Sample:
        """Up to `per_agent` closed complaints of each agent among the contract's complaints
        received from `first_day` to `last_day` (its local days). ValueError names the field."""
        contract = self.contracts.contracts.get(contract_id)
        if contract is None:
            raise ValueError(f"contract: no contract {contract_id!r}")
        if not 1 <= per_agent <= MAX_PER_AGENT:
            raise ValueError(f"per_agent: must be 1 to {MAX_PER_AGENT}, got {per_agent}")
        if seed is not None and not 0 <= seed <= MAX_SEED:
            raise ValueError(f"seed: must be a whole number from 0 to {MAX_SEED}")
        seed = new_seed() if seed is None else seed
        zone = contract.policy.timezone
        start, end = day_bounds(first_day, last_day, ZoneInfo(zone))  # refuses to < from
        candidates = closed_candidates(self.store.engine, contract.id, start, end)
        draw = f"{contract.id}|{first_day}|{last_day}"
        return Sample(
            contract=contract.id,
            first_day=first_day,
            last_day=last_day,
            timezone=zone,
            seed=seed,
            per_agent=per_agent,
            candidates=len(candidates),
            agents=draw_sample(candidates, per_agent, seed, draw),
        )

    def record(
        self,
        complaint_id: str,
        scores: Mapping[str, object],
        remarks: str,
        author: Author,
        *,
        now: datetime | None = None,
    ) -> QaReviewed:
        """Record `author`'s review of a closed complaint; ReviewRefused names every broken
        rule (and nothing is written), ComplaintNotFound for an unknown complaint or one of a
        contract the author does not serve."""
        records = self.store.read_stream(complaint_id)
        state = fold(join_personal(r.data, r.personal) for r in records)
        try:
            check_access(author, state)
        except NotServed:
            raise ComplaintNotFound(complaint_id) from None
        checklist = self.contracts.of(state.contract).policy.qa
        problems = review_problems(checklist, state.status, scores, remarks)
        if problems:
            raise ReviewRefused(problems)
        assert state.received_at is not None  # registered: check_access saw a status
        review = QaReviewed(
            at=now or datetime.now(UTC),
            complaint_id=complaint_id,
            contract=contract_of(state.contract),
            team=state.team,
            agent=state.assignee,
            received_at=state.received_at,
            checklist=list(checklist.checklist),
            scale=checklist.scale,
            scores={item: int(scores[item]) for item in checklist.checklist},  # type: ignore[call-overload]
            score=checklist.share(scores),  # type: ignore[arg-type]
            remarks=remarks,
            by=author.name,
            by_key=author.key_id,
            by_role=author.role,
        )
        append_review(self.store, review, str(uuid.uuid4()))
        return review
