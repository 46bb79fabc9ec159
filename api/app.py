"""Composition of the HTTP API: create_app(service) builds it; build_service(settings) makes the
service it needs. Nothing connects at import time.

Run it with, for example:
    uvicorn --factory api.app:main_app --host 127.0.0.1 --port 8000
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.errors import install_error_handlers
from api.health import ReadyCheck, readiness, select_one, service_readiness
from api.limits import BodyLimits
from api.routes import complaint_routes, health_routes
from engine.service import ComplaintService
from engine.settings import Settings
from engine.temporal import connect
from store import EventStore, make_engine, migrate


def create_app(service: ComplaintService, *, ready_check: ReadyCheck | None = None) -> FastAPI:
    app = FastAPI(
        title="Complaints",
        summary="Submit complaints, read their state and history, and act on them.",
        version="0.1.0",
    )
    install_error_handlers(app)
    app.include_router(health_routes(ready_check or service_readiness(service)))
    app.include_router(complaint_routes(service))
    app.add_middleware(BodyLimits)
    return app


async def build_service(settings: Settings) -> ComplaintService:
    policy = settings.load_policy()  # a malformed policy stops start-up here, with its message
    engine = make_engine(settings.store_url())
    migrate(engine)
    client = await connect(settings)
    return ComplaintService(client, settings.task_queue, policy, EventStore(engine))


def main_app() -> FastAPI:
    """For `uvicorn --factory`: settings from the environment, connections made at start-up."""
    settings = Settings()
    holder: dict[str, FastAPI] = {}

    @asynccontextmanager
    async def lifespan(_outer: FastAPI) -> AsyncIterator[None]:
        from engine.logs import configure_logging

        configure_logging(settings.log_format, settings.log_level)
        policy = settings.load_policy()
        engine = make_engine(settings.store_url())
        migrate(engine)
        client = await connect(settings)
        service = ComplaintService(client, settings.task_queue, policy, EventStore(engine))
        holder["app"] = create_app(service, ready_check=readiness(client, select_one(engine)))
        yield
        engine.dispose()

    outer = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)

    @outer.middleware("http")
    async def _delegate(request, call_next):  # pragma: no cover - thin wiring
        return await call_next(request)

    return outer
