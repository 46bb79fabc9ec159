"""What an amendment of a contract's terms does to one complaint, read from the events `decide`
gives for it: the same summary for the dry run (events decided, not recorded) and the real one
(events recorded), so the two can never disagree about what moves."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from domain import events as ev
from domain.vocabulary import DeadlineKind, Status


class AmendmentEffect(BaseModel):
    model_config = ConfigDict(frozen=True)
    complaint_id: str
    status: Status | None  # after the decision (a shorter window may close it at once)
    from_version: str | None = None
    to_version: str | None = None
    moved: list[ev.DeadlineMoved] = []
    # Moved into the past: breached (and escalated) by the same decision.
    breached_at_once: list[DeadlineKind] = []
    refused: str | None = None  # the domain's reason; nothing else is set then


def effect_of(
    complaint_id: str, status: Status | None, events: Sequence[ev.Event]
) -> AmendmentEffect:
    """The summary of one amendment's decision. Breaches decided before PolicyAmended were owed
    under the old terms (time comes first) and are not the amendment's doing."""
    amended = next(i for i, e in enumerate(events) if isinstance(e, ev.PolicyAmended))
    fact = events[amended]
    assert isinstance(fact, ev.PolicyAmended)
    return AmendmentEffect(
        complaint_id=complaint_id,
        status=status,
        from_version=fact.from_version,
        to_version=fact.to_version,
        moved=fact.deadlines,
        breached_at_once=[
            e.kind for e in events[amended + 1 :] if isinstance(e, ev.DeadlineBreached)
        ],
    )
