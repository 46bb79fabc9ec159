"""Every action is its author's: the key's holder (name and key id) on the API and the pages,
the customer on their own page; a request naming its own author is refused, nothing written."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Stack, form, page_client, signed_in
from tests.e2e.test_roles import ACTIONS_PATH, FIRE, call, complaint, denied


def key_id(stack: Stack, holder: str) -> str:
    return stack.keys[holder].partition(".")[0]


async def notes(stack: Stack, cid: str) -> list[dict]:
    events = (await stack.http.get(f"/api/complaints/{cid}/events")).json()
    return [e["data"] for e in events if e["type"] == "NoteAdded"]


@pytest.fixture(scope="module")
async def fire(stack: Stack) -> str:
    return await complaint(stack, FIRE)  # team quality: agent.chen's


async def test_each_key_holder_is_the_author_of_what_it_does(stack: Stack, fire: str):
    holders = ("agent.chen", "supervisor", "admin")
    for holder in holders:
        body = {"text": f"noted by {holder}"}
        response, _ = await call(
            stack, holder, "POST", ACTIONS_PATH.format(fire, "note"), json=body
        )
        assert response.status_code == 200, response.text
    recorded = [(n["text"], n["by"], n["by_key"]) for n in await notes(stack, fire)]
    assert recorded == [(f"noted by {h}", h, key_id(stack, h)) for h in holders]


@pytest.mark.parametrize("field", ["by", "by_key"])
async def test_a_body_naming_its_author_is_refused(stack: Stack, fire: str, field: str):
    body = {field: "supervisor", "text": "Approved by supervisor: refund 10000"}
    response, written = await call(
        stack, "agent.chen", "POST", ACTIONS_PATH.format(fire, "note"), json=body
    )
    denied(response, 422, field, "author_from_key")
    assert "whoever holds the key" in response.json()["detail"][0]["message"]
    assert written == 0


async def test_a_page_form_records_the_signed_in_holder_and_refuses_a_named_author(stack: Stack):
    cid = await complaint(stack, FIRE)
    async with signed_in(stack.url, stack.keys["agent.chen"]) as http:
        before = stack.event_count()
        forged = {"by": "supervisor", "text": "Approved by supervisor"}
        refused = await http.post(f"/complaints/{cid}/act/note", data=forged)
        assert refused.status_code == 422
        assert "by: the author of an action is whoever holds the key" in refused.text
        assert stack.event_count() == before
        done = await http.post(f"/complaints/{cid}/act/note", data={"text": "Called them"})
        assert done.status_code == 303, done.text
    [note] = await notes(stack, cid)
    assert (note["by"], note["by_key"]) == ("agent.chen", key_id(stack, "agent.chen"))


async def test_the_customer_is_the_author_of_their_answers(stack: Stack):
    response = await stack.submit(form(subject="Kettle", description="The kettle leaks"))
    cid = response.json()["id"]
    asked = await stack.http.post(
        ACTIONS_PATH.format(cid, "request-info"), json={"question": "Which model?"}
    )
    assert asked.status_code == 200, asked.text
    here = stack.customer_path(cid)
    async with page_client(stack.url) as customer:
        forged = await customer.post(f"{here}/reply", data={"message": "K-200", "by": "agent"})
        assert forged.status_code == 422
        replied = await customer.post(f"{here}/reply", data={"message": "K-200"})
        assert replied.status_code == 303, replied.text
    events = (await stack.http.get(f"/api/complaints/{cid}/events")).json()
    [reply] = [e["data"] for e in events if e["type"] == "CustomerReplied"]
    assert reply["by"] == "customer" and "by_key" not in reply
