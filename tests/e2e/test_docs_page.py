"""/docs and /redoc work offline: every asset comes from the app itself (api/docs.py), and in
chromium, with every request to another origin refused, Swagger UI and ReDoc list the operations
and the browser reports no CSP violation."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from tests.e2e.conftest import Stack
from tests.e2e.test_pages import anonymous_page, browser  # noqa: F401 - fixtures

REDOCLY_BADGE = "https://cdn.redoc.ly/redoc/logo-mini.svg"
ORIGINS = re.compile(r"""(?:https?:)?//[^\s"'<>)]+""")


async def test_the_docs_pages_reference_only_their_own_origin(stack: Stack) -> None:
    for path in ("/docs", "/redoc"):
        page = await stack.http.get(path)
        assert page.status_code == 200
        assert ORIGINS.findall(page.text) == [], path
        assets = re.findall(r"""(?:src|href)="([^"]+)\"""", page.text)
        assert assets, path
        for asset in assets:
            assert asset.startswith("/static/docs/"), asset
            answer = await stack.http.get(asset)
            assert answer.status_code == 200, asset
            assert len(answer.content) > 1000, asset


async def _offline(page, stack: Stack) -> tuple[list[str], list[str]]:
    """Refuse every request to another origin; returns (refused urls, CSP complaints)."""
    own = urlsplit(stack.url).netloc
    refused: list[str] = []
    complaints: list[str] = []

    async def route(r):
        if urlsplit(r.request.url).netloc in (own, ""):
            await r.continue_()
        else:
            refused.append(r.request.url)
            await r.abort()

    await page.route("**/*", route)
    page.on(
        "console",
        lambda m: complaints.append(m.text) if "Content Security Policy" in m.text else None,
    )
    return refused, complaints


async def test_swagger_ui_lists_the_operations_offline(anonymous_page, stack: Stack) -> None:  # noqa: F811
    from playwright.async_api import expect

    refused, complaints = await _offline(anonymous_page, stack)
    await anonymous_page.goto("/docs")
    operation = anonymous_page.locator(".opblock-summary-path", has_text="/api/complaints")
    await expect(operation.first).to_be_visible()
    assert await anonymous_page.locator(".opblock").count() > 5
    assert refused == [] and complaints == []


async def test_redoc_lists_the_operations_offline(anonymous_page, stack: Stack) -> None:  # noqa: F811
    from playwright.async_api import expect

    refused, complaints = await _offline(anonymous_page, stack)
    await anonymous_page.goto("/redoc")
    operations = anonymous_page.locator("[data-section-id^='operation/']")
    await expect(operations.first).to_be_attached()
    assert await operations.count() > 5
    # ReDoc's "API docs by Redocly" badge is an image on Redocly's CDN; the CSP stops it before
    # any request (and ReDoc drops the image). That is the one complaint, and it is the point.
    assert refused == []
    assert [c for c in complaints if REDOCLY_BADGE not in c] == []


async def test_the_pages_run_under_the_policy(anonymous_page, stack: Stack) -> None:  # noqa: F811
    """Their style sheet and scripts are files now: nothing inline for the CSP to refuse."""
    refused, complaints = await _offline(anonymous_page, stack)
    await anonymous_page.goto("/")
    font = await anonymous_page.evaluate("getComputedStyle(document.body).fontFamily")
    assert "system-ui" in font  # api/static/pages.css applied
    await anonymous_page.goto("/login?next=/supervisor")
    assert refused == [] and complaints == []
