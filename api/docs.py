"""/docs (Swagger UI) and /redoc served offline: their assets come from the app itself.

FastAPI's default pages load Swagger UI and ReDoc from a public CDN, so on an intranet the page
is blank, and third-party script would run on the origin of the cookie-signed-in pages. The
assets ship in the `fastapi-offline` package (MIT; it bundles Swagger UI, Apache-2.0, and
ReDoc, MIT); we only mount its static directory, following FastAPI's self-hosting recipe."""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from api.headers import nonce_of

ASSETS = "/static/docs"
ASSET_DIR = files("fastapi_offline") / "static"
PAGES_DIR = files("api") / "static"


def install_static_and_docs(app: FastAPI) -> None:
    """The pages' own static files at /static, the docs' assets at /static/docs, and the two
    documentation pages. Create the app with docs_url=None and redoc_url=None."""
    # The more specific mount first: Starlette matches mounts in order.
    app.mount(ASSETS, StaticFiles(directory=str(ASSET_DIR)), name="docs-assets")
    app.mount("/static", StaticFiles(directory=str(PAGES_DIR)), name="static")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
            # Swagger UI would otherwise send the schema to a public validator for a badge.
            swagger_ui_parameters={"validatorUrl": None},
        )
        return _with_nonce(page, nonce_of(request))

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        page = get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS}/favicon.png",
            with_google_fonts=False,
        )
        return _with_nonce(page, nonce_of(request))


def _with_nonce(page: HTMLResponse, nonce: str) -> HTMLResponse:
    """FastAPI's page starts Swagger UI with an inline script: the CSP admits it by its nonce."""
    html = bytes(page.body).decode().replace("<script>", f'<script nonce="{nonce}">')
    return HTMLResponse(html, status_code=page.status_code)
