"""The archive over real HTTP: the closure record read, the access log of who saw a customer's
data (one row per view, no personal data), and their refusals."""

from __future__ import annotations

import uuid

from store.access_log import AccessLog
from tests.e2e.conftest import Stack, bearer, form
from tests.security.conftest import SECRET, file_complaint


async def test_the_closure_record_is_read_and_the_read_recorded(stack: Stack) -> None:
    cid = f"C-ARCH{uuid.uuid4().hex[:8].upper()}"
    file_complaint(stack.store, cid, archive=True)  # as the archive activity writes it

    response = await stack.http.get(f"/api/complaints/{cid}/closure")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["record"]["customer"]["email"] == SECRET.email
    assert len(body["hash"]) == 64 and len(body["last_event_hash"]) == 64
    views = (await stack.http.get(f"/api/complaints/{cid}/views")).json()
    assert [(v["viewer"], v["surface"]) for v in views] == [("admin", "closure-api")]
    assert SECRET.email not in str(views) and SECRET.name not in str(views)


async def test_a_complaint_not_archived_has_no_closure_record_yet(stack: Stack) -> None:
    cid = (await stack.submit(form())).json()["id"]

    response = await stack.http.get(f"/api/complaints/{cid}/closure")

    assert response.status_code == 404
    assert response.json()["detail"][0]["rule"] == "not_archived"
    assert "not archived yet" in response.json()["error"]


async def test_the_complaint_page_is_a_view_and_only_supervisors_list_views(
    stack: Stack,
) -> None:
    cid = (await stack.submit(form())).json()["id"]

    page = await stack.http.get(f"/complaints/{cid}")

    assert page.status_code == 200
    (view,) = AccessLog(stack.store.engine).views(cid)
    assert (view.viewer, view.surface) == ("admin", "complaint-page")
    as_agent = await stack.http.get(
        f"/api/complaints/{cid}/views", headers=bearer(stack.keys["agent.chen"])
    )
    assert as_agent.status_code == 403
