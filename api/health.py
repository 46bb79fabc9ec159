"""Liveness and readiness: /readyz asks Temporal and the database, each with a time limit."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import Engine, text
from temporalio.client import Client

from engine.service import ComplaintService

CHECK_TIMEOUT = 3.0  # seconds each dependency gets to answer

# A readiness check answers {dependency: problem}; an empty answer means ready.
ReadyCheck = Callable[[], Awaitable[dict[str, str]]]


async def temporal_problem(client: Client) -> str | None:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            healthy = await client.service_client.check_health(
                timeout=timedelta(seconds=CHECK_TIMEOUT)
            )
    except Exception as error:  # noqa: BLE001 - any failure means "not ready"
        return _describe(error)
    return None if healthy else "health check reported not serving"


async def database_problem(probe: Callable[[], object]) -> str | None:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            await asyncio.to_thread(probe)
    except Exception as error:  # noqa: BLE001
        return _describe(error)
    return None


def select_one(engine: Engine) -> Callable[[], object]:
    def probe() -> object:
        with engine.connect() as connection:
            return connection.execute(text("SELECT 1")).scalar_one()

    return probe


def readiness(client: Client, database_probe: Callable[[], object]) -> ReadyCheck:
    async def check() -> dict[str, str]:
        temporal, database = await asyncio.gather(
            temporal_problem(client), database_problem(database_probe)
        )
        problems = {"temporal": temporal, "database": database}
        return {name: problem for name, problem in problems.items() if problem}

    return check


def service_readiness(service: ComplaintService) -> ReadyCheck:
    """For a service built elsewhere: the store's cheapest read stands in for SELECT 1."""
    return readiness(service.client, lambda: service.store.stream_version("readyz-probe"))


def _describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return f"no answer within {CHECK_TIMEOUT:g} s"
    # The class name and the first line only: enough to act on, short enough for a probe.
    first_line = (str(error).strip().splitlines() or [""])[0][:200]
    return f"{type(error).__name__}: {first_line}" if first_line else type(error).__name__
