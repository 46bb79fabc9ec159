"""Temporal's own floor for a herd of deadlines, for bench/herd.py.

A FloorWorkflow makes a breach's decision with none of the engine's work in it: its timer fires
at the instant it is given, one workflow task runs a local activity that does nothing (the
engine's append), publishes one search attribute (the engine's ComplaintBreached) and starts the
next timer, as a complaint's breach does. So N of them due at one instant clear as fast as the
server and the SDK allow a breach to be recorded, on the same server as the engine's herd; the
engine's breaches per second against theirs is the share of that floor the engine reaches.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import activity, workflow
from temporalio.common import SearchAttributeKey, SearchAttributePair

# Registered on the engine's namespace (workflows.search), so no set-up is needed.
BREACHED = SearchAttributeKey.for_bool("ComplaintBreached")
# The engine's sticky wait and cache (engine.settings), so the worker decides alike.
STICKY = timedelta(seconds=60)
CACHED = 5000

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
            record, args=[due, workflow.now()], start_to_close_timeout=timedelta(seconds=10)
        )
        workflow.upsert_search_attributes([SearchAttributePair(BREACHED, True)])
        await workflow.sleep(timedelta(days=1))  # the next deadline; the bench ends it
