"""Every error answer has one shape: {"error": "...", "detail": [{field, rule, message}]}.

Details name the field (its location joined with dots) and the rule it broke. They never echo
the rejected input: it may be the customer's personal data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.service import RPCError

from domain.contracts import UnknownContract
from engine.service import ActionRefused, ComplaintNotFound, IdempotencyConflict

# Locations FastAPI puts in front of the field path; the client only needs the field.
_LOCATION_PREFIXES = ("body", "query", "path", "header")


def error_body(error: str, detail: Iterable[Mapping[str, Any]] = ()) -> dict[str, Any]:
    return {"error": error, "detail": list(detail)}


def error_response(
    status: int, error: str, detail: Iterable[Mapping[str, Any]] = (), headers=None
) -> JSONResponse:
    return JSONResponse(error_body(error, detail), status_code=status, headers=headers)


def field_errors(errors: Sequence[Mapping[str, Any]], *, drop_prefix: bool = True) -> list[dict]:
    """Pydantic's errors as {field, rule, message}, without the input that was refused."""
    out = []
    for e in errors:
        loc = [str(part) for part in e.get("loc", ())]
        if drop_prefix and loc and loc[0] in _LOCATION_PREFIXES:
            loc = loc[1:]
        rule = e.get("type", "invalid")
        message = e.get("msg", "invalid value")
        if rule == "json_invalid":
            reason = (e.get("ctx") or {}).get("error", "")
            message = f"malformed JSON: {reason}" if reason else "malformed JSON"
        out.append({"field": ".".join(loc) or "body", "rule": rule, "message": message})
    return out


def validation_failed(errors: Sequence[Mapping[str, Any]], *, drop_prefix=True) -> JSONResponse:
    detail = field_errors(errors, drop_prefix=drop_prefix)
    error = "malformed JSON" if any(d["rule"] == "json_invalid" for d in detail) else None
    return error_response(422, error or "invalid request", detail)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _request_invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_failed(exc.errors())

    @app.exception_handler(ValidationError)
    async def _model_invalid(_request: Request, exc: ValidationError) -> JSONResponse:
        return validation_failed(exc.errors(include_input=False), drop_prefix=False)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        return error_response(exc.status_code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(ComplaintNotFound)
    async def _not_found(_request: Request, exc: ComplaintNotFound) -> JSONResponse:
        return error_response(404, str(exc), [_note("id", "not_found", str(exc))])

    @app.exception_handler(ActionRefused)
    async def _refused(_request: Request, exc: ActionRefused) -> JSONResponse:
        if exc.field:  # the value of a field, not the complaint's state: bad input
            return error_response(422, str(exc), [_note(exc.field, "unknown_value", str(exc))])
        return error_response(409, str(exc), [_note("action", "refused", str(exc))])

    @app.exception_handler(IdempotencyConflict)
    async def _key_reused(_request: Request, exc: IdempotencyConflict) -> JSONResponse:
        field = "Idempotency-Key" if exc.source == "key" else "external_ref"
        return error_response(409, str(exc), [_note(field, "reused_with_another_body", str(exc))])

    @app.exception_handler(UnknownContract)
    async def _unknown_contract(_request: Request, exc: UnknownContract) -> JSONResponse:
        rule = "retired_contract" if exc.retired else "unknown_contract"
        return error_response(422, str(exc), [_note("contract", rule, str(exc))])

    @app.exception_handler(RPCError)
    async def _temporal_down(_request: Request, exc: RPCError) -> JSONResponse:
        return error_response(503, "the workflow service is unavailable; try again")

    @app.exception_handler(TimeoutError)
    async def _timeout(_request: Request, exc: TimeoutError) -> JSONResponse:
        return error_response(503, "the workflow service did not answer in time; try again")

    @app.exception_handler(OperationalError)
    async def _database_down(_request: Request, exc: OperationalError) -> JSONResponse:
        # Intake seals the customer in the database before the workflow starts, so a submission
        # needs it too; nothing is started when it is away.
        return error_response(503, "the database is unavailable; try again")


def _note(field: str, rule: str, message: str) -> dict[str, str]:
    return {"field": field, "rule": rule, "message": message}
