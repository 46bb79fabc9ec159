"""Temporal's own floors, for bench/herd.py, intake.py and lifecycle.py: the engine's workflow
tasks, with nothing of the engine's work in them.

A FloorWorkflow makes a breach's decision with none of the engine's work in it: its timer fires
at the instant it is given, one workflow task runs a local activity that does nothing (the
engine's append), publishes one search attribute (the engine's ComplaintBreached) and starts the
next timer, as a complaint's breach does. So N of them due at one instant clear as fast as the
server and the SDK allow a breach to be recorded, on the same server as the engine's herd; the
engine's breaches per second against theirs is the share of that floor the engine reaches.
A FloorLifecycle does the same for intake (registered by update-with-start) and for a whole
life (four actions, each an update, the reopen window, archived).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from temporalio import activity, workflow
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle
from temporalio.common import SearchAttributeKey, SearchAttributePair, WorkflowIDConflictPolicy
from temporalio.worker import Worker

from engine.settings import Settings

# Registered on the engine's namespace (workflows.search), so no set-up is needed.
BREACHED = SearchAttributeKey.for_bool("ComplaintBreached")
STATUS = SearchAttributeKey.for_keyword("ComplaintStatus")
LOCAL = timedelta(seconds=10)  # a local activity's start-to-close
# The engine's sticky wait and cache, so the worker decides alike.
STICKY = timedelta(seconds=Settings.model_fields["worker_sticky_seconds"].default)
CACHED = Settings.model_fields["worker_cached_complaints"].default

lateness: list[float] = []  # seconds each floor breach was decided after its instant


@activity.defn
async def record(due: datetime, decided: datetime) -> None:
    lateness.append((decided - due).total_seconds())


@workflow.defn(sandboxed=False)
class FloorWorkflow:
    @workflow.run
    async def run(self, due: datetime) -> None:
        await workflow.sleep(due - workflow.now())
        await workflow.execute_local_activity(
            record, args=[due, workflow.now()], start_to_close_timeout=LOCAL
        )
        workflow.upsert_search_attributes([SearchAttributePair(BREACHED, True)])
        await workflow.sleep(timedelta(days=1))  # the next deadline; the bench ends it


@activity.defn
async def nothing() -> None:
    """The engine's append, without the append."""


@workflow.defn(sandboxed=False)
class FloorLifecycle:
    """A complaint's life as bench/lifecycle.py drives it, as Temporal sees it: registered in
    the start's own update, four actions (an update each), the reopen window's timer, archived;
    each decision a local activity and a published status."""

    def __init__(self) -> None:
        self._registered, self._actions = False, 0

    @workflow.run
    async def run(self, window: timedelta) -> None:
        await self._decide("open")
        self._registered = True
        await workflow.wait_condition(lambda: self._actions == 4)
        await workflow.sleep(window)
        await self._decide("archived")

    @workflow.update
    async def registered(self) -> None:
        await workflow.wait_condition(lambda: self._registered)

    @workflow.update
    async def act(self, status: str) -> None:
        await self._decide(status)
        self._actions += 1

    async def _decide(self, status: str) -> None:
        await workflow.execute_local_activity(nothing, start_to_close_timeout=LOCAL)
        workflow.upsert_search_attributes([SearchAttributePair(STATUS, status)])


@asynccontextmanager
async def floor_worker(client: Client, cached: int = CACHED) -> AsyncIterator[str]:
    """A worker of the floors' own, on a queue of its own (yielded), deciding as the engine's
    worker does (its cache the engine's default unless `cached` says otherwise)."""
    queue = f"floor-{uuid.uuid4().hex}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[FloorWorkflow, FloorLifecycle],
        activities=[record, nothing],
        max_cached_workflows=cached,
        sticky_queue_schedule_to_start_timeout=STICKY,
    ):
        yield queue


async def register(client: Client, queue: str, i: int, window: timedelta) -> WorkflowHandle:
    """Start FloorLifecycle `i` and have it answer once registered, in one round trip, as the
    engine's intake does (update-with-start)."""
    start = WithStartWorkflowOperation(
        FloorLifecycle.run, window, id=f"{queue}-{i}", task_queue=queue,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )  # fmt: skip
    await client.execute_update_with_start_workflow(
        FloorLifecycle.registered, start_workflow_operation=start
    )
    return await start.workflow_handle()
