"""Who is away: the periods that keep team members out of new assignments (domain.presence).
Supervisors (and admins) list them, mark someone away, and withdraw a mark; each mark is recorded
as the key holder's, in the contract's presence stream."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema
from starlette.concurrency import run_in_threadpool

from api.auth import intake_contract, require
from api.errors import error_response
from api.keys import Principal, Role
from api.routes import ERROR_RESPONSES
from domain import commands as c
from domain.presence import AwayPeriod, BadPeriod
from engine.presence import NO_SUCH_PERIOD, AwayPeriods
from engine.service import ComplaintService

Marker = Annotated[Principal, Depends(require(Role.SUPERVISOR, to="marking people away"))]
ContractQuery = Annotated[str | None, Query(min_length=1, max_length=40)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    person: str = Field(min_length=1, max_length=200)
    start: date = Field(alias="from", description="the first day away")
    contract: str | None = Field(default=None, min_length=1, max_length=40)
    # Named anyway, the author is refused by its own rule, as on every action's body.
    by: SkipJsonSchema[object] = Field(default=None, exclude=True)
    by_key: SkipJsonSchema[object] = Field(default=None, exclude=True)

    @field_validator("by", "by_key", mode="before")
    @classmethod
    def _refuse_author(cls, value: object) -> object:
        raise c.author_given()


class AwayMark(_Body):
    """Mark a team member away from one day to another, both included, in the contract's time
    zone: they get no new complaints meanwhile (what they hold stays theirs)."""

    end: date = Field(alias="until", description="the last day away")


class AwayWithdrawal(_Body):
    """Withdraw a supervisor's away mark, named by its person and first day."""


def presence_routes(service: ComplaintService) -> APIRouter:
    router = APIRouter(prefix="/api/away", tags=["assignment"], responses=ERROR_RESPONSES)
    periods = AwayPeriods(service.store, service.contracts)

    def contract_of(who: Principal, named: str | None) -> str:
        contract = intake_contract(who, named) or service.contracts.default_id
        if contract not in service.contracts.contracts:
            raise BadPeriod("contract", "unknown_contract", f"{contract!r} is not served here")
        return contract

    @router.get("")
    async def list_away(who: Marker, contract: ContractQuery = None) -> list[dict[str, Any]]:
        """Periods not over yet: the parties file's and the supervisors' marks."""
        try:
            chosen = contract_of(who, contract)
        except BadPeriod as bad:
            return _refused(bad)
        return [_view(p) for p in await run_in_threadpool(periods.standing, chosen)]

    @router.post("", status_code=201)
    async def mark_away(body: AwayMark, who: Marker) -> Any:
        """Recorded as the key holder's. 422 names the field and rule: an end before the start
        (ends_before_start), an end in the past (ended_in_past), a person in no team."""
        try:
            contract = contract_of(who, body.contract)
            period = await run_in_threadpool(
                periods.mark, who.author, contract, body.person, body.start, body.end
            )
        except BadPeriod as bad:
            return _refused(bad)
        return _view(period)

    @router.post("/withdraw")
    async def withdraw_away(body: AwayWithdrawal, who: Marker) -> Any:
        """404 (rule no_such_period) when no supervisor's mark of the person begins that day."""
        try:
            contract = contract_of(who, body.contract)
            await run_in_threadpool(periods.cancel, who.author, contract, body.person, body.start)
        except BadPeriod as bad:
            return _refused(bad)
        return {"withdrawn": {"person": body.person, "from": body.start.isoformat()}}

    return router


def _view(p: AwayPeriod) -> dict[str, Any]:
    return {"person": p.person, "from": p.start, "until": p.end, "source": p.source}


def _refused(bad: BadPeriod):
    status = 404 if bad.rule == NO_SUCH_PERIOD else 422  # nothing to withdraw: not a bad value
    return error_response(
        status, str(bad), [{"field": bad.field, "rule": bad.rule, "message": str(bad)}]
    )
