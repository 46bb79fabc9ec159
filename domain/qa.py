"""Spot-checks: the client's right to check handled complaints at random and score them.

A contract's policy names the checklist (`[qa]`: the items and the scale each is scored on). A
review scores every item, no other, each within the scale, and only of a closed complaint: the
rules live here once (`review_problems`), for the API, the CLI and the tests alike. A sample is
drawn per agent from the closed complaints of a period; the same seed over the same candidates
gives the same sample (`draw_sample`), so a client can repeat it to check nobody chose.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from domain.events import ByKey
from domain.vocabulary import Status

DEFAULT_CHECKLIST = (
    "greeted",
    "identified the issue",
    "kept the customer informed",
    "resolution explained",
)
# A review needs the handling to be over: the customer has rated it, or it closed without them.
REVIEWABLE = frozenset({Status.CLOSED, Status.ARCHIVED})
MAX_REMARKS = 2000
ChecklistItem = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)
]


class QaScale(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    min: int = Field(default=0, ge=0, le=100)
    max: int = Field(default=2, ge=1, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> QaScale:
        if self.min >= self.max:
            raise ValueError("max must be greater than min")
        return self


class QaChecklist(BaseModel):
    """The policy's `[qa]`: what a spot-check scores. Left out, these defaults apply."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    scale: QaScale = QaScale()
    checklist: list[ChecklistItem] = Field(
        default=list(DEFAULT_CHECKLIST), min_length=1, max_length=30
    )

    @model_validator(mode="after")
    def _unique(self) -> QaChecklist:
        repeated = sorted({i for i in self.checklist if self.checklist.count(i) > 1})
        if repeated:
            raise ValueError(f"checklist: each item once; repeated: {', '.join(repeated)}")
        return self

    def share(self, scores: Mapping[str, int]) -> float:
        """A review's score as a share of the most it could be (0 to 1), so reviews against
        different scales or checklists can be averaged."""
        low, span = self.scale.min, self.scale.max - self.scale.min
        return sum(scores[i] - low for i in self.checklist) / (span * len(self.checklist))


QA_REVIEWED = "QaReviewed"


def qa_stream(complaint_id: str) -> str:
    """The complaint's spot-checks are kept in a companion stream, as its deliveries are: the
    complaint's own stream has one writer, its workflow, which may still be running (a closed
    complaint waits out its reopen window) or long finished (archived)."""
    return f"{complaint_id}/qa"


class QaReviewed(BaseModel):
    """A spot-check of a handled complaint: every item's score, the remarks, and who reviewed
    it (the key's holder). It names the agent and team who handled the complaint and when it
    was received, so the reports can place it without folding the complaint again, and the
    checklist and scale it was scored on, so it reads the same after the policy changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["QaReviewed"] = QA_REVIEWED
    at: datetime
    complaint_id: str
    contract: str
    team: str
    agent: str
    received_at: datetime
    checklist: list[str]
    scale: QaScale
    scores: dict[str, int]
    score: float  # QaChecklist.share of the scores
    remarks: str = ""
    by: str
    by_key: ByKey = None
    by_role: str  # supervisor, admin, auditor (the client's), operator (the CLI)


@dataclass(frozen=True)
class ReviewProblem:
    """A review refused: `field` (scores.<item>, status, remarks), `rule`, and why."""

    field: str
    rule: str
    message: str


def review_problems(
    checklist: QaChecklist, status: Status | None, scores: Mapping[str, object], remarks: str
) -> list[ReviewProblem]:
    """Every reason to refuse this review; none: it may be recorded."""
    problems: list[ReviewProblem] = []
    if status not in REVIEWABLE:
        problems.append(
            ReviewProblem(
                "status",
                "not_closed",
                f"only a closed complaint is spot-checked; this one is {status or 'unknown'}",
            )
        )
    items, scale = checklist.checklist, checklist.scale
    for item in sorted(set(scores) - set(items)):
        problems.append(
            ReviewProblem(
                f"scores.{item}",
                "unknown_item",
                f"not on the contract's checklist ({'; '.join(items)})",
            )
        )
    for item in items:
        if item not in scores:
            problems.append(ReviewProblem(f"scores.{item}", "missing_item", "every item is scored"))
            continue
        value = scores[item]
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(
                ReviewProblem(f"scores.{item}", "not_a_whole_number", "a score is a whole number")
            )
        elif not scale.min <= value <= scale.max:
            problems.append(
                ReviewProblem(
                    f"scores.{item}",
                    "out_of_scale",
                    f"{value} is outside the checklist's scale {scale.min} to {scale.max}",
                )
            )
    if len(remarks) > MAX_REMARKS:
        problems.append(ReviewProblem("remarks", "too_long", f"at most {MAX_REMARKS} characters"))
    return problems


@dataclass(frozen=True)
class Candidate:
    """A closed complaint that may be drawn: who handled it (its holder at closure)."""

    agent: str
    team: str
    complaint_id: str


def draw_sample(
    candidates: Iterable[Candidate], per_agent: int, seed: int, draw: str
) -> dict[str, list[Candidate]]:
    """Up to `per_agent` complaints of each agent, chosen at random but reproducibly: candidates
    are sorted first (so the database's order does not matter), and each agent's draw has its
    own generator seeded with (`draw`, seed, agent), so one agent's complaints never change
    another agent's sample. `draw` names what is sampled (contract and period): the same seed
    for another period is another draw. Agents and their samples come back sorted."""
    if per_agent < 1:
        raise ValueError(f"per_agent: must be at least 1, got {per_agent}")
    by_agent: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        by_agent.setdefault(candidate.agent, []).append(candidate)
    sample: dict[str, list[Candidate]] = {}
    for agent in sorted(by_agent):
        pool = sorted(by_agent[agent], key=lambda c: c.complaint_id)
        # A string seed is hashed with SHA-512 by random.Random: the same on every run and
        # machine, unlike hash(), which PYTHONHASHSEED salts.
        chooser = random.Random(f"{draw}|{seed}|{agent}")
        chosen = chooser.sample(pool, min(per_agent, len(pool)))
        sample[agent] = sorted(chosen, key=lambda c: c.complaint_id)
    return sample
