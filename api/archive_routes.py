"""The archive's endpoints: a complaint's closure record, and who has seen its customer's data.

Reading the closure record shows the customer's personal data, so every read is recorded in the
access log (store.access_log) under the key that made it; the log itself is supervisors' only.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.auth import Staff, Supervisor, complaint_for
from api.errors import error_response
from api.routes import ERROR_RESPONSES, ComplaintId, plain_query
from engine.service import ComplaintService
from store.access_log import CLOSURE_API, AccessLog


def archive_routes(service: ComplaintService, access_log: AccessLog) -> APIRouter:
    router = APIRouter(
        prefix="/api/complaints",
        tags=["archive"],
        responses=ERROR_RESPONSES,
        dependencies=[Depends(plain_query)],
    )

    @router.get("/{complaint_id}/closure")
    async def closure(complaint_id: ComplaintId, who: Staff) -> Any:
        """The closure record written when the complaint was archived, with its hash and the
        hash of the stream's last event it chains to (`complaints verify` proves both). 404
        until the complaint is archived. The read is recorded in the access log."""
        await complaint_for(who, service, complaint_id)
        found = await run_in_threadpool(service.store.closure, complaint_id)
        if found is None:
            message = f"complaint {complaint_id} has no closure record: it is not archived yet"
            return _not_archived(message)
        await run_in_threadpool(
            access_log.record,
            complaint_id,
            key_id=who.key_id,
            viewer=who.name,
            surface=CLOSURE_API,
        )
        return asdict(found)

    @router.get("/{complaint_id}/views")
    async def views(complaint_id: ComplaintId, who: Supervisor) -> list[dict[str, Any]]:
        """Every recorded view of the complaint's customer data, oldest first: who (key id and
        name), when, where. Supervisors only."""
        await complaint_for(who, service, complaint_id)
        return [asdict(view) for view in await run_in_threadpool(access_log.views, complaint_id)]

    return router


def _not_archived(message: str) -> JSONResponse:
    return error_response(
        404, message, [{"field": "id", "rule": "not_archived", "message": message}]
    )
