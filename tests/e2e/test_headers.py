"""Security headers over real HTTP, on each kind of answer (api/headers.py)."""

from __future__ import annotations

import re

import httpx

from tests.e2e.conftest import Stack

# The CSP names no origin but its own ('self'): no scheme, no host, no wildcard.
FOREIGN_SOURCE = re.compile(r"https?:|\*|//")


def _check_common(answer: httpx.Response, what: str) -> None:
    csp = answer.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp, what
    assert "default-src 'self'" in csp, what
    assert not FOREIGN_SOURCE.search(csp), (what, csp)
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0], what
    assert answer.headers["x-content-type-options"] == "nosniff", what
    assert answer.headers["referrer-policy"] == "same-origin", what


async def test_every_kind_of_page_has_the_headers_and_personal_ones_are_not_stored(
    stack: Stack,
) -> None:
    cid = (await stack.submit()).json()["id"]
    anonymous = httpx.AsyncClient(base_url=stack.url, timeout=20)
    async with anonymous:
        answers = {
            "staff complaint page": await stack.http.get(f"/complaints/{cid}"),
            "customer's page": await anonymous.get(stack.customer_path(cid)),
            "dashboard": await stack.http.get("/supervisor"),
            "intake form": await anonymous.get("/"),
            "API answer": await stack.http.get(f"/api/complaints/{cid}"),
            "404 page": await anonymous.get("/complaints/C-NOSUCHTHING1"),
            "docs": await anonymous.get("/docs"),
        }
        static = await anonymous.get("/static/pages.css")
    for what, answer in answers.items():
        assert answer.status_code in (200, 401, 404), (what, answer.status_code)
        _check_common(answer, what)
        assert answer.headers["cache-control"] == "no-store", what
    assert answers["staff complaint page"].status_code == 200
    assert answers["customer's page"].status_code == 200
    # Static files hold no personal data: they may be cached, and still carry the rest.
    assert static.status_code == 200
    _check_common(static, "static")
    assert "no-store" not in static.headers.get("cache-control", "")


async def test_each_answer_has_a_nonce_of_its_own(stack: Stack) -> None:
    first, second = (await stack.http.get("/docs")), (await stack.http.get("/docs"))
    nonces = [
        re.search(r"'nonce-([^']+)'", a.headers["content-security-policy"])[1]
        for a in (first, second)
    ]
    assert nonces[0] != nonces[1]
    assert f'<script nonce="{nonces[0]}">' in first.text
