"""Spot-checks over HTTP: draw a sample (GET /api/qa/sample), record a review (POST
/api/complaints/{id}/qa), read a complaint's reviews (GET /api/complaints/{id}/qa).

For supervisors, admins and the client's auditor (a key scoped to its contracts). The review is
recorded as the key's holder's; a body naming `by` is refused (422, author_from_key).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, StrictInt
from pydantic.json_schema import SkipJsonSchema
from starlette.concurrency import run_in_threadpool

from api.auth import Denied, complaint_for, require
from api.errors import error_response
from api.keys import Principal, Role
from api.reports import From, To
from api.routes import ERROR_RESPONSES, ComplaintId
from domain.commands import AUTHOR_FIELDS, AUTHOR_MESSAGE, AUTHOR_RULE
from domain.qa import MAX_REMARKS
from engine.service import ComplaintService
from engine.spot_checks import MAX_PER_AGENT, MAX_SEED, ReviewRefused, SpotChecks, period_days
from store.qa_reviews import reviews_of

Reviewer = Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.AUDITOR, to="spot-checks"))]


class QaReviewBody(BaseModel):
    """Every item of the contract's checklist (its policy's `[qa]`) with a whole-number score
    within its scale, and remarks."""

    model_config = ConfigDict(extra="forbid")
    scores: dict[str, StrictInt] = Field(
        description="checklist item: score", examples=[{"greeted": 2, "identified the issue": 1}]
    )
    remarks: str = Field(default="", max_length=MAX_REMARKS)
    # Declared only to be refused by their own rule rather than as unknown fields.
    by: SkipJsonSchema[Any] = None
    by_key: SkipJsonSchema[Any] = None


def qa_routes(service: ComplaintService) -> APIRouter:
    checks = SpotChecks(service.store, service.contracts)
    router = APIRouter(tags=["spot-checks"], responses=ERROR_RESPONSES)

    @router.post("/api/complaints/{complaint_id}/qa", status_code=201)
    async def record_review(
        complaint_id: ComplaintId, body: QaReviewBody, who: Reviewer
    ) -> dict[str, Any]:
        """Record a spot-check of a closed complaint: 201 with the review as recorded (the
        author is the key's holder). 422 naming each item that is unknown, missing or outside
        the scale, or a complaint not closed yet; nothing is written then."""
        named = [f for f in AUTHOR_FIELDS if f in body.model_fields_set]
        if named:
            raise RequestValidationError(
                [{"loc": ("body", f), "type": AUTHOR_RULE, "msg": AUTHOR_MESSAGE} for f in named]
            )
        await complaint_for(who, service, complaint_id)  # 404 for another contract's
        try:
            review = await run_in_threadpool(
                checks.record, complaint_id, body.scores, body.remarks, who.author
            )
        except ReviewRefused as refused:
            detail = [
                {"field": p.field, "rule": p.rule, "message": p.message} for p in refused.problems
            ]
            return error_response(422, "review refused", detail)  # type: ignore[return-value]
        return review.model_dump(mode="json")

    @router.get("/api/complaints/{complaint_id}/qa")
    async def list_reviews(complaint_id: ComplaintId, who: Reviewer) -> list[dict[str, Any]]:
        """The complaint's spot-checks, oldest first."""
        await complaint_for(who, service, complaint_id)
        reviews = await run_in_threadpool(reviews_of, service.store, complaint_id)
        return [r.model_dump(mode="json") for r in reviews]

    @router.get("/api/qa/sample")
    async def draw(
        who: Reviewer,
        contract: Annotated[str | None, Query(max_length=100)] = None,
        period: Annotated[
            str | None, Query(max_length=20, description="2026-11 (a month) or 2026-W48 (a week)")
        ] = None,
        first_day: From = None,
        to: To = None,
        per_agent: Annotated[int, Query(ge=1, le=MAX_PER_AGENT)] = 5,
        seed: Annotated[
            int | None, Query(ge=0, le=MAX_SEED, description="none: a new one, in the answer")
        ] = None,
    ) -> dict[str, Any]:
        """A random, reproducible sample of the contract's closed complaints per agent, among
        those received in the period (its local days): the same seed over the same closed
        complaints draws the same sample."""
        chosen = _contract(who, service, contract)
        try:
            first, last = _days(period, first_day, to)
            sample = await run_in_threadpool(
                checks.sample, chosen, first, last, per_agent=per_agent, seed=seed
            )
        except ValueError as error:
            field = str(error).partition(":")[0]
            detail = [{"field": field, "rule": "invalid", "message": str(error)}]
            return error_response(422, "invalid request", detail)  # type: ignore[return-value]
        return sample.as_json()

    return router


def _contract(who: Principal, service: ComplaintService, named: str | None) -> str:
    """The contract sampled: the one named (which the key must serve: else 404, as for one that
    does not exist), else the key's only one, else the deployment's only one."""
    book = service.contracts
    if named is not None:
        if named not in book.contracts or not who.serves(named):
            raise Denied(404, f"contract: no contract {named!r}", "contract", "not_found")
        return named
    served = [c.id for c in book if who.serves(c.id)]
    if len(served) == 1:
        return served[0]
    raise RequestValidationError(
        [{"loc": ("query", "contract"), "type": "contract_required",
          "msg": f"name one of the contracts: {', '.join(served)}"}]
    )  # fmt: skip


def _days(period: str | None, first: date | None, last: date | None) -> tuple[date, date]:
    if period is not None:
        if first is not None or last is not None:
            raise ValueError("period: give period, or from and to, not both")
        return period_days(period)
    if first is None or last is None:
        raise ValueError("period: give period (2026-11, 2026-W48), or both from and to")
    return first, last
