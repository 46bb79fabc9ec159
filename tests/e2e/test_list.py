"""The complaint list over real HTTP, read from the read model the projector keeps (it runs in
the stack fixture, as it does in the worker). The session's database is shared with the other
e2e tests, so checks about membership are about this test's own complaints."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from tests.e2e.conftest import Stack, form


async def walk(stack: Stack, limit: int, **filters) -> list[dict]:
    """Every item, page by page, following next_cursor."""
    items, cursor = [], None
    while True:
        params = {"limit": limit, **filters} | ({"cursor": cursor} if cursor else {})
        response = await stack.http.get("/api/complaints", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"items", "next_cursor"}
        assert len(body["items"]) <= limit
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


async def listed_when(stack: Stack, ready, timeout: float = 20.0) -> dict[str, dict]:
    """Poll the list until `ready(items by id)` holds."""
    async with asyncio.timeout(timeout):
        while True:
            by_id = {i["id"]: i for i in await walk(stack, 200)}
            if ready(by_id):
                return by_id
            await asyncio.sleep(0.1)


def order_key(item: dict) -> tuple:
    due = item["next_due_at"]
    return (due is None, datetime.fromisoformat(due) if due else None, item["id"])


async def submit(stack: Stack, text: str, subject: str) -> str:
    response = await stack.submit(form(description=text, subject=subject))
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def test_submitted_complaints_are_listed_filtered_sorted_and_paged(stack: Stack):
    fire = await submit(stack, "The charger caught fire", "List fire")
    parcel = await submit(stack, "My parcel is late", "List parcel")
    howto = await submit(stack, "How do i change my address", "List how-to")
    refund = await submit(stack, "I was overcharged, refund please", "List refund")
    asked = await stack.http.post(
        f"/api/complaints/{refund}/actions/request-info",
        json={"question": "Which invoice?"},
    )
    assert asked.status_code == 200, asked.text
    mine = {fire, parcel, howto, refund}

    by_id = await listed_when(
        stack,
        lambda items: mine <= set(items) and items[refund]["status"] == "waiting_on_customer",
    )

    # The rows: what was submitted, classified and routed, and nothing personal.
    assert (by_id[fire]["tier"], by_id[fire]["team"], by_id[fire]["subject"]) == (
        3,
        "quality",
        "List fire",
    )
    assert (by_id[parcel]["tier"], by_id[parcel]["category"]) == (2, "delivery")
    assert by_id[howto]["tier"] == 1
    for cid in mine - {refund}:
        assert by_id[cid]["status"] == "open"
        assert by_id[cid]["next_due_at"] and by_id[cid]["next_due_kind"]
    assert by_id[refund]["next_due_at"] is None  # the clock is paused while we wait
    assert "Li Lei" not in str(by_id) and "li@example.com" not in str(by_id)

    # Sorted by next due (none last), then id; small pages follow one another exactly.
    whole = await walk(stack, 200)
    assert whole == sorted(whole, key=order_key)
    assert await walk(stack, 1) == whole
    assert await walk(stack, 3) == whole
    due_ids = [i["id"] for i in whole if i["id"] in mine]
    assert due_ids[-1] == refund

    # Filters.
    tier3 = await walk(stack, 2, tier=3)
    assert fire in {i["id"] for i in tier3} and not {parcel, howto, refund} & {
        i["id"] for i in tier3
    }
    assert all(i["tier"] == 3 for i in tier3)
    logistics = await walk(stack, 2, team="logistics")
    assert parcel in {i["id"] for i in logistics}
    assert all(i["team"] == "logistics" for i in logistics)
    waiting = await walk(stack, 2, status="waiting_on_customer")
    assert refund in {i["id"] for i in waiting} and fire not in {i["id"] for i in waiting}
    not_breached = await walk(stack, 50, breached="false", status="open")
    assert {fire, parcel, howto} <= {i["id"] for i in not_breached}
    assert all(not i["breached"] and i["status"] == "open" for i in not_breached)
    assert await walk(stack, 5, breached="true", team="nobody") == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("tier=abc", "tier"),
        ("tier=4", "tier"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=ten", "limit"),
        ("breached=maybe", "breached"),
        ("status=lost", "status"),
        ("cursor=not-a-cursor", "cursor"),
    ],
)
async def test_a_bad_query_value_answers_422_naming_it(stack: Stack, query: str, field: str):
    response = await stack.http.get(f"/api/complaints?{query}")
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"]
    assert [d["field"] for d in body["detail"]] == [field]
