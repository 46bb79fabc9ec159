"""The customer's page over real HTTP: the e2e stack's uvicorn server, worker, Temporal dev server
and store. The link opens the page; nothing else does, and every refusal looks the same."""

from __future__ import annotations

import logging
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from api.app import create_app
from api.customer_pages import HideLinkTokens
from api.rate_limit import RateLimiter
from engine.service import ComplaintService
from security.customer_links import CustomerLinks, link_key
from store.erasure import erase_customer
from tests.e2e.conftest import Stack, bearer, customer_links, form, page_client, serving
from tests.keys import VAULT
from tests.unit.helpers import POLICY

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200  # a Windows program's first bytes


async def act(stack: Stack, cid: str, action: str, **body) -> None:
    response = await stack.http.post(f"/api/complaints/{cid}/actions/{action}", json=body)
    assert response.status_code == 200, response.text


async def state(stack: Stack, cid: str) -> dict:
    return (await stack.http.get(f"/api/complaints/{cid}")).json()


@pytest.fixture
async def customer(stack: Stack):
    """The customer's browser-less client: no API key, a same-origin Origin on posts."""
    async with page_client(stack.url) as http:
        yield http


async def new_complaint(stack: Stack) -> str:
    response = await stack.submit(form(subject="Kettle", description="The kettle leaks"))
    assert response.status_code == 201
    return response.json()["id"]


async def test_the_link_opens_the_page_with_what_the_customer_was_told(stack, customer):
    cid = await new_complaint(stack)
    await act(stack, cid, "request-info", question="Which model is it?")
    response = await customer.get(stack.customer_path(cid))
    assert response.status_code == 200
    page = response.text
    assert 'id="status" data-status="waiting_on_customer"' in page
    assert 'id="reply-form"' in page and 'id="rate-form"' not in page
    assert 'id="expected"' in page  # the round's resolution due time
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["cache-control"] == "no-store"
    assert cid in page and "Li Lei" in page  # their acknowledgement, in the e-mail's words


async def test_without_a_valid_token_every_answer_is_the_same_404(stack, customer):
    cid = await new_complaint(stack)
    other = await new_complaint(stack)
    links = stack.links
    now = datetime.now(UTC)
    token = links.token_for(cid, now)
    foreign = CustomerLinks(link_key(b"\x09" * 32), "", timedelta(days=1), stack.store.customer_key)
    wrong = {
        "unknown complaint": f"/my/C-NOSUCHTHING1/{links.token_for(cid, now)}",
        "tampered": f"/my/{cid}/{token[:-2]}{'AA' if not token.endswith('AA') else 'BB'}",
        "expired": f"/my/{cid}/{links.token_for(cid, now - timedelta(days=38))}",
        "another complaint's": f"/my/{cid}/{links.token_for(other, now)}",
        "another server's": f"/my/{cid}/{foreign.token_for(cid, now)}",
        "no token": f"/my/{cid}/x",
        "malformed id": f"/my/{'C' * 101}/{token}",
    }
    answers = {why: await customer.get(path) for why, path in wrong.items()}
    bodies = {(r.status_code, r.headers["content-length"], r.text) for r in answers.values()}
    assert len(bodies) == 1, {why: (r.status_code, len(r.text)) for why, r in answers.items()}
    ((status, _length, body),) = bodies
    assert status == 404 and "not valid or has expired" in body and cid not in body
    # A post with a wrong token writes nothing and answers the same.
    before = stack.event_count()
    posted = await customer.post(f"/my/{cid}/{token}x/rate", data={"rating": "5"})
    assert (posted.status_code, posted.text) == (404, body)
    assert stack.event_count() == before


async def test_an_erased_customers_link_opens_nothing(stack, customer):
    alone = {"name": "Wu Fang", "email": f"wu-{uuid.uuid4().hex}@example.com"}
    cid = (await stack.submit(form(customer=alone))).json()["id"]
    path = stack.customer_path(cid)
    assert (await customer.get(path)).status_code == 200
    unknown = await customer.get(f"/my/C-NOSUCHTHING1/{path.rsplit('/', 1)[1]}")

    erase_customer(stack.store, VAULT, complaint_id=cid, by="dpo.wu")

    erased = await customer.get(path)
    assert (erased.status_code, erased.text) == (404, unknown.text)


async def test_a_message_while_open_asks_an_answer_and_a_reply_resumes_the_clock(stack, customer):
    cid = await new_complaint(stack)
    here = stack.customer_path(cid)
    assert "Write to us" in (await customer.get(here)).text
    wrote = await customer.post(f"{here}/reply", data={"message": "It smells of smoke"})
    assert wrote.status_code == 303
    events = (await stack.http.get(f"/api/complaints/{cid}/events")).json()
    assert [e["data"]["message"] for e in events if e["type"] == "CustomerWrote"] == [
        "It smells of smoke"
    ]
    assert ("customer_wrote", "assignee") in [
        (e["data"]["kind"], e["data"]["recipient"])
        for e in events
        if e["type"] == "NotificationRequested"
    ]
    assert (await state(stack, cid))["status"] == "open"
    await act(stack, cid, "request-info", question="Which model is it?")
    assert "Answer our question" in (await customer.get(here)).text
    assert (await state(stack, cid))["status"] == "waiting_on_customer"

    replied = await customer.post(f"{here}/reply", data={"message": "Model K-200"})

    assert replied.status_code == 303 and replied.headers["location"] == f"{here}?done=reply"
    assert (await state(stack, cid))["status"] == "open"
    events = (await stack.http.get(f"/api/complaints/{cid}/events")).json()
    kinds = [(e["type"], e["data"].get("reason")) for e in events]
    assert ("CustomerReplied", None) in kinds and ("DeadlinesScheduled", "resumed") in kinds
    page = (await customer.get(replied.headers["location"])).text
    assert "Model K-200" in page and 'id="note"' in page


async def test_a_rating_closes_and_a_second_is_refused(stack, customer):
    cid = await new_complaint(stack)
    await act(stack, cid, "resolve", resolution="Replaced the kettle")
    here = stack.customer_path(cid)
    assert 'id="rate-form"' in (await customer.get(here)).text

    rated = await customer.post(f"{here}/rate", data={"rating": "4", "comment": "Quick"})
    assert rated.status_code == 303
    assert ((s := await state(stack, cid))["status"], s["rating"]) == ("closed", 4)

    again = await customer.post(f"{here}/rate", data={"rating": "5"})
    assert again.status_code == 409 and "already rated 4" in again.text
    invalid = await customer.post(f"{here}/rate", data={"rating": "9"})
    assert invalid.status_code == 422 and "rating" in invalid.text


async def test_the_customer_rejects_the_resolution_within_the_window(stack, customer):
    cid = await new_complaint(stack)
    await act(stack, cid, "resolve", resolution="Done")
    here = stack.customer_path(cid)
    reopened = await customer.post(f"{here}/reopen", data={"reason": "Still leaking"})
    assert reopened.status_code == 303
    assert ((s := await state(stack, cid))["status"], s["round"]) == ("open", 2)


async def test_an_attachment_is_sealed_listed_for_staff_and_served_as_a_download(stack, customer):
    cid = await new_complaint(stack)
    here = stack.customer_path(cid)
    sent = await customer.post(
        f"{here}/attach", files={"file": ("leak.png", PNG, "application/octet-stream")}
    )
    assert sent.status_code == 303, sent.text
    assert "leak.png" in (await customer.get(here)).text
    events = (await stack.http.get(f"/api/complaints/{cid}/events")).json()
    (added,) = [e["data"] for e in events if e["type"] == "AttachmentAdded"]
    assert (added["content_type"], added["size"]) == ("image/png", len(PNG))
    assert added["source"] == "page"

    staff_page = (await stack.http.get(f"/complaints/{cid}")).text
    assert "leak.png" in staff_page
    path = f"/complaints/{cid}/attachments/{added['attachment_id']}"
    download = await stack.http.get(path)
    assert download.status_code == 200 and download.content == PNG
    assert download.headers["content-type"] == "image/png"
    assert download.headers["content-disposition"] == "attachment; filename*=UTF-8''leak.png"
    assert download.headers["x-content-type-options"] == "nosniff"
    # The page's team rule: an agent of another team may not; no key at all may not either.
    other_team = await stack.http.get(path, headers=bearer(stack.keys["agent.wang"]))
    assert other_team.status_code == 403
    assert (await customer.get(path)).status_code == 401

    # The same file again is the same attachment: nothing more recorded.
    before = stack.event_count()
    again = await customer.post(f"{here}/attach", files={"file": ("again.png", PNG, "image/png")})
    assert again.status_code == 303 and stack.event_count() == before


async def test_a_disguised_program_is_refused_by_its_content(stack, customer):
    cid = await new_complaint(stack)
    before = stack.event_count()
    response = await customer.post(
        f"{stack.customer_path(cid)}/attach", files={"file": ("photo.jpg", EXE, "image/jpeg")}
    )
    assert response.status_code == 415
    assert 'data-field="file" data-rule="content_type"' in response.text
    assert stack.event_count() == before


async def test_a_30_mb_upload_is_refused_before_it_is_read(stack, customer):
    cid = await new_complaint(stack)
    before = stack.event_count()
    big = b"\xff\xd8\xff" + b"\x00" * (30 * 1024 * 1024)
    response = await customer.post(
        f"{stack.customer_path(cid)}/attach", files={"file": ("big.jpg", big, "image/jpeg")}
    )
    assert response.status_code == 413
    assert [(d["field"], d["rule"]) for d in response.json()["detail"]] == [("file", "max_size")]
    assert stack.event_count() == before


async def test_public_posts_are_rate_limited_per_address(stack: Stack):
    service = ComplaintService(stack.client, stack.task_queue, POLICY, stack.store)
    app = create_app(service, links=customer_links(stack.store), public_posts=RateLimiter(2, 3600))
    cid = await new_complaint(stack)
    async with serving(app) as url, page_client(url) as http:
        answers = [
            (await http.post(f"/my/{cid}/wrong/rate", data={"rating": "5"})).status_code
            for _ in range(3)
        ]
        limited = await http.post("/", data={"name": "x"})  # the intake form counts too
    assert answers == [404, 404, 429]
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert [(d["field"], d["rule"]) for d in limited.json()["detail"]] == [("client", "rate_limit")]


async def test_the_confirmation_shows_the_private_link(stack, customer):
    html = (await customer.get("/?lang=en")).text
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    body = {"token": token, "name": "Han", "channel": "web", "subject": "S", "description": "D"}
    posted = await customer.post("/", data=body)
    assert posted.status_code == 303
    confirmation = await customer.get(posted.headers["location"])
    link = re.search(r'id="private-link" href="([^"]+)"', confirmation.text).group(1)
    cid = link.split("/")[-2]
    stack.complaint_ids.add(cid)
    opened = await customer.get(link.removeprefix(stack.links.base_url))
    assert opened.status_code == 200 and cid in opened.text
    # Without a (valid) token the confirmation shows the reference only.
    plain = await customer.get(f"/submitted/{cid}/{'A' * 40}")
    assert plain.status_code == 200 and "private-link" not in plain.text


def test_the_access_log_never_holds_a_token():
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/my/C-ABC/123.nonce.mac?done=rate", "1.1", 200), None,
    )  # fmt: skip
    assert HideLinkTokens().filter(record)
    assert record.getMessage() == '127.0.0.1:5 - "GET /my/C-ABC/[token]?done=rate HTTP/1.1" 200'


async def test_a_refused_attachment_is_not_listed(stack, customer):
    """The domain refuses attachments once the complaint is closed: the upload answers 409 with
    its message, and the content it had stored (sealed) is shown nowhere."""
    cid = await new_complaint(stack)
    await act(stack, cid, "resolve", resolution="Done")
    here = stack.customer_path(cid)
    assert (await customer.post(f"{here}/rate", data={"rating": "5"})).status_code == 303
    assert 'id="attach-form"' not in (await customer.get(here)).text
    before = stack.event_count()

    late = await customer.post(f"{here}/attach", files={"file": ("late.png", PNG, "image/png")})

    assert late.status_code == 409 and "cannot add an attachment" in late.text
    assert stack.event_count() == before
    assert "late.png" not in (await customer.get(here)).text
    assert "late.png" not in (await stack.http.get(f"/complaints/{cid}")).text
