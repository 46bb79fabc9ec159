"""Idempotent intake, retried appends, refused actions, search attributes, continue-as-new."""

import uuid
from datetime import timedelta

import pytest
from temporalio import activity
from temporalio.client import WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy

from activities.events import EventActivities
from activities.models import AppendOutcome, AppendRequest
from domain import commands as c
from domain.vocabulary import Status
from engine.intake import new_complaint_id
from tests.unit.helpers import registration
from tests.workflows.conftest import worker_for
from workflows import search
from workflows.complaint import ComplaintInput, ComplaintWorkflow


async def test_the_same_submission_twice_is_one_complaint(harness):
    cid = new_complaint_id()
    first = await harness.submit(registration(cid=cid))
    again = await harness.submit(registration(cid=cid))
    assert (first.created, again.created) == (True, False)
    assert again.complaint_id == first.complaint_id
    await harness.wait_for(again.handle, lambda s: s.status is Status.OPEN)
    stored = harness.events(cid)
    assert [e.type for e in stored].count("ComplaintRegistered") == 1

    await harness.act(first.handle, c.Resolve(by="a", resolution="done"))
    await first.handle.result()  # finished and archived: still refused as a new complaint
    after = await harness.submit(registration(cid=cid))
    assert after.created is False


class AppendsThatFailAfterWriting(EventActivities):
    """Every append's first two attempts commit, then lose the answer (a connection drop), so
    Temporal retries an append that already wrote."""

    lost_answers = 0

    @activity.defn(name="append_events")
    def append_events(self, req: AppendRequest) -> AppendOutcome:
        outcome = super().append_events(req)
        if activity.info().attempt <= 2:
            self.lost_answers += 1
            raise ConnectionError("connection lost after commit")
        return outcome


async def test_a_retried_append_leaves_exactly_one_copy(env, store):
    flaky = AppendsThatFailAfterWriting(store)
    async with worker_for(env, store, flaky) as harness:
        sub = await harness.submit()
        await harness.wait_for(sub.handle, lambda s: s.status is Status.OPEN, timeout=30)
        state = await harness.act(sub.handle, c.Respond(by="a", message="Calling you"))
        assert flaky.lost_answers == 4  # two appends (registration, response), twice each
    records = store.read_stream(sub.complaint_id)
    assert [r.version for r in records] == list(range(1, len(records) + 1))
    assert len({r.event_id for r in records}) == len(records) == state.version
    assert [r.type for r in records].count("ComplaintRegistered") == 1
    assert [r.type for r in records].count("FirstResponseGiven") == 1
    keys = [m.key for m in store.outbox_for(sub.complaint_id)]
    assert len(keys) == len(set(keys)) == 3  # receipt, assignment, the response to the customer


async def test_a_refused_action_writes_nothing(harness):
    sub = await harness.submit()
    h = sub.handle
    await harness.wait_for(h, lambda s: s.status is Status.OPEN)
    state = await harness.act(h, c.RequestInfo(by="a", question="Which model?"))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await harness.act(h, c.Resolve(by="a", resolution="done"))
    assert "waiting_on_customer" in str(refused.value.cause)
    assert len(harness.store.read_stream(sub.complaint_id)) == state.version
    history = await h.fetch_history()
    accepted = [
        e
        for e in history.events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]
    assert len(accepted) == 1  # only the information request; the refusal left no trace


async def test_search_attributes_follow_the_state(harness):
    sub = await harness.submit()
    h = sub.handle
    t0 = (await harness.wait_for(h, lambda s: s.status is Status.OPEN)).received_at
    attrs = (await h.describe()).typed_search_attributes
    assert (attrs.get(search.TIER), attrs.get(search.STATUS)) == (3, "open")
    assert (attrs.get(search.CATEGORY), attrs.get(search.BREACHED)) == ("product_quality", False)
    await harness.skip_to(t0 + timedelta(minutes=10, seconds=1))
    await harness.wait_for(h, lambda s: s.breached)
    assert (await h.describe()).typed_search_attributes.get(search.BREACHED) is True


async def test_continue_as_new_keeps_the_complaint(harness):
    cid = f"C-{uuid.uuid4().hex[:10]}"
    h = await harness.client.start_workflow(
        ComplaintWorkflow.run,
        ComplaintInput(policy=harness.policy, registration=registration(cid=cid), history_limit=12),
        id=cid,
        task_queue=harness.task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )
    harness.started.append(h)
    first_run = h.result_run_id
    await harness.wait_for(h, lambda s: s.status is Status.OPEN)
    for n in range(4):
        await harness.act(harness.client.get_workflow_handle(cid), c.AddNote(by="a", text=f"n{n}"))
    latest = harness.client.get_workflow_handle(cid)
    state = await harness.wait_for(latest, lambda s: s.version == len(harness.events(cid)))
    assert (await latest.describe()).run_id != first_run
    assert state.status is Status.OPEN and state.tier == 3
    records = harness.store.read_stream(cid)
    assert [r.version for r in records] == list(range(1, len(records) + 1))
    assert [r.type for r in records].count("NoteAdded") == 4
