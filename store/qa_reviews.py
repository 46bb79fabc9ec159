"""Spot-checks in the store: reviews appended to the complaint's companion stream `<id>/qa`
(domain.qa.qa_stream), the read model the reports use (`qa_reviews`, one row per complaint: its
latest review), and the closed complaints a sample is drawn from (the complaint list).

The append goes through EventStore.append like every other, so the review is hashed into its
stream's chain (store.chain) and `complaints verify` proves it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select

from domain.qa import QA_REVIEWED, REVIEWABLE, Candidate, QaReviewed, qa_stream
from store.db import for_reading, from_storage, to_storage
from store.event_store import EventStore
from store.projections import Writes, no_writes
from store.records import ConcurrencyConflict, NewEvent, RecordedEvent
from store.tables import ComplaintListRow, QaReviewRow

PROJECTION_NAME = "qa_reviews"
_APPEND_ATTEMPTS = 5  # two reviews of one complaint at once: the loser appends after the winner


def append_review(store: EventStore, review: QaReviewed, event_id: str) -> int:
    """Append `review` to its complaint's spot-check stream; its version there. `event_id`
    makes a retried request one review (the store finds it and writes nothing)."""
    stream = qa_stream(review.complaint_id)
    record = NewEvent(
        event_id=event_id,
        type=QA_REVIEWED,
        data=review.model_dump(mode="json"),
        personal=None,
        occurred_at=review.at,
    )
    for _ in range(_APPEND_ATTEMPTS):
        version = store.stream_version(stream)
        try:
            return store.append(stream, version, [record]).version
        except ConcurrencyConflict:
            continue  # another review came first: ours follows it
    raise ConcurrencyConflict(stream, version, store.stream_version(stream), "busy; try again")


def reviews_of(store: EventStore, complaint_id: str) -> list[QaReviewed]:
    return [QaReviewed.model_validate(r.data) for r in store.read_stream(qa_stream(complaint_id))]


class QaReviewProjection:
    """Keeps `qa_reviews`: a complaint's latest review stands (a second review corrects the
    first; both stay in the log), with the count of reviews it had."""

    name = PROJECTION_NAME

    def reset(self, connection: Connection) -> None:
        connection.execute(delete(QaReviewRow))

    def prepare(self, connection: Connection, events: list[RecordedEvent]) -> Writes:
        reviews = [r for r in events if r.type == QA_REVIEWED]
        if not reviews:
            return no_writes
        ids = sorted({r.data["complaint_id"] for r in reviews})
        counts = dict(
            connection.execute(
                select(QaReviewRow.complaint_id, QaReviewRow.reviews).where(
                    QaReviewRow.complaint_id.in_(ids)
                )
            ).all()
        )
        rows: dict[str, dict[str, Any]] = {}
        for record in reviews:  # in log order: the last one of a complaint stands
            review = QaReviewed.model_validate(record.data)
            counts[review.complaint_id] = counts.get(review.complaint_id, 0) + 1
            rows[review.complaint_id] = _row(review, counts[review.complaint_id])

        def write(connection: Connection) -> None:
            connection.execute(delete(QaReviewRow).where(QaReviewRow.complaint_id.in_(ids)))
            connection.execute(insert(QaReviewRow), list(rows.values()))

        return write


def _row(review: QaReviewed, reviews: int) -> dict[str, Any]:
    low, span = review.scale.min, review.scale.max - review.scale.min
    return {
        "complaint_id": review.complaint_id,
        "contract": review.contract,
        "team": review.team,
        "agent": review.agent,
        "received_at": to_storage(review.received_at),
        "reviewed_at": to_storage(review.at),
        "reviewer": review.by,
        "score": review.score,
        "scores": {item: (value - low) / span for item, value in review.scores.items()},
        "reviews": reviews,
    }


@dataclass(frozen=True)
class QaFact:
    """A reviewed complaint as the reports see it: its latest review."""

    complaint_id: str
    contract: str
    team: str
    agent: str
    received_at: datetime
    reviewed_at: datetime
    reviewer: str
    score: float
    scores: dict[str, float]
    reviews: int


class QaFacts:
    """Reads the spot-check read model (connects only when asked)."""

    def __init__(self, engine: Engine) -> None:
        self._reader = for_reading(engine)

    def received_between(
        self, start: datetime, end: datetime, contracts: Collection[str] | None = None
    ) -> list[QaFact]:
        """The reviewed complaints received in [start, end): the same complaints the SLA
        figures of that range count."""
        received = QaReviewRow.received_at
        query = (
            select(QaReviewRow.__table__)
            .where(received >= to_storage(start), received < to_storage(end))
            .order_by(received, QaReviewRow.complaint_id)
        )
        if contracts is not None:
            query = query.where(QaReviewRow.contract.in_(sorted(contracts)))
        with self._reader.connect() as connection:
            return [
                QaFact(
                    **{
                        **r._mapping,
                        "received_at": from_storage(r.received_at),
                        "reviewed_at": from_storage(r.reviewed_at),
                    }
                )
                for r in connection.execute(query)
            ]


def closed_candidates(
    engine: Engine, contract: str, start: datetime, end: datetime
) -> list[Candidate]:
    """The contract's complaints received in [start, end) whose handling is over (closed or
    archived), each with its holder: what a sample is drawn from (the complaint list's read
    model, so a complaint closed a moment ago counts once the projector has seen it)."""
    received = ComplaintListRow.received_at
    query = select(
        ComplaintListRow.assignee, ComplaintListRow.team, ComplaintListRow.complaint_id
    ).where(
        ComplaintListRow.contract == contract,
        ComplaintListRow.status.in_(sorted(s.value for s in REVIEWABLE)),
        received >= to_storage(start),
        received < to_storage(end),
    )
    with for_reading(engine).connect() as connection:
        return [Candidate(*row) for row in connection.execute(query)]
