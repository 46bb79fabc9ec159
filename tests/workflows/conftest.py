"""A time-skipping Temporal server per session; per test a fresh store, task queue and worker."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.events import EventActivities
from domain import commands as c
from domain.events import Event, join_personal
from domain.policy import Policy
from domain.state import ComplaintState
from engine.binaries import temporal_test_server
from engine.intake import Submitted, submit
from engine.temporal import register_search_attributes
from engine.worker_assembly import ACTIVITY_THREADS, build_worker
from store import EventStore, make_engine, migrate
from tests.keys import CONVERTER, VAULT
from tests.unit.helpers import POLICY, registration
from workflows.complaint import ComplaintWorkflow

HISTORIES = Path(__file__).parent / "histories"


@pytest.fixture(scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=CONVERTER,
        test_server_existing_path=temporal_test_server(),
    )
    await register_search_attributes(env.client, "default")
    yield env
    await env.shutdown()


@pytest.fixture
def store(tmp_path) -> EventStore:
    engine = make_engine(f"sqlite:///{tmp_path / 'events.sqlite3'}")
    migrate(engine)
    yield EventStore(engine, VAULT)
    engine.dispose()


@dataclass
class Harness:
    env: WorkflowEnvironment
    client: Client
    task_queue: str
    store: EventStore
    policy: Policy = POLICY
    started: list[WorkflowHandle] = dataclasses.field(default_factory=list)

    async def submit(self, register: c.Register | None = None) -> Submitted:
        register = register or registration(cid=f"C-{uuid.uuid4().hex[:10]}")
        submitted = await submit(self.client, self.task_queue, self.policy, register)
        self.started.append(submitted.handle)
        return submitted

    async def keep_history(self, handle: WorkflowHandle, name: str) -> None:
        """With COMPLAINTS_RECORD_HISTORIES=1, check this path's history in for the replay test."""
        if os.environ.get("COMPLAINTS_RECORD_HISTORIES") == "1":
            history = await handle.fetch_history()
            HISTORIES.mkdir(exist_ok=True)
            (HISTORIES / f"{name}.json").write_text(history.to_json())

    async def stop_leftovers(self) -> None:
        """The time-skipping server cannot skip past a timer whose workflow has no worker any
        more, so a test's unfinished complaints would stall the next test's clock."""
        for handle in self.started:
            with contextlib.suppress(RPCError):
                await handle.terminate("test finished")

    async def state(self, handle: WorkflowHandle) -> ComplaintState:
        return await handle.query(ComplaintWorkflow.state)

    async def act(self, handle: WorkflowHandle, action) -> ComplaintState:
        return await handle.execute_update(ComplaintWorkflow.act, c.ActionRequest(action=action))

    async def wait_for(
        self, handle: WorkflowHandle, done: Callable[[ComplaintState], bool], timeout: float = 20
    ) -> ComplaintState:
        """Query until `done(state)`: a timer that fired still needs its activity to finish."""
        async with asyncio.timeout(timeout):
            while True:
                state = await self.state(handle)
                if done(state):
                    return state
                await asyncio.sleep(0.05)

    async def skip_to(self, moment: datetime) -> None:
        delta = moment - await self.env.get_current_time()
        await self.env.sleep(delta)

    def events(self, complaint_id: str) -> list[Event]:
        return [join_personal(r.data, r.personal) for r in self.store.read_stream(complaint_id)]


@contextlib.asynccontextmanager
async def worker_for(
    env: WorkflowEnvironment, store: EventStore, events: EventActivities
) -> AsyncIterator[Harness]:
    """A worker on its own task queue, so tests never pick up each other's complaints. Tests that
    inject faults into the activities pass their own `events`."""
    harness = Harness(env, env.client, f"tq-{uuid.uuid4().hex}", store)
    with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as pool:
        async with build_worker(env.client, harness.task_queue, events, pool):
            try:
                yield harness
            finally:
                await harness.stop_leftovers()


@pytest.fixture
async def harness(env, store) -> AsyncIterator[Harness]:
    async with worker_for(env, store, EventActivities(store)) as h:
        yield h
