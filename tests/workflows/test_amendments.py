"""Amendments through the service against the time-skipping server: the dry run's answer is
what is then recorded, the timers follow the new terms, continue-as-new keeps them, and the
complaint's own settings survive them."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from temporalio.common import WorkflowIDReusePolicy
from temporalio.testing import WorkflowEnvironment

from activities.events import EventActivities
from domain import commands as c
from domain.contracts import terms_version
from domain.policy import Policy
from domain.vocabulary import DeadlineKind, Status
from engine.binaries import temporal_test_server
from engine.service import ActionRefused, ComplaintService
from engine.temporal import register_search_attributes
from tests.keys import CONVERTER
from tests.unit.helpers import POLICY, registration
from tests.workflows.conftest import worker_for
from tests.workflows.test_contracts import BOOK, outage
from workflows.complaint import ComplaintInput, ComplaintWorkflow

FR = DeadlineKind.FIRST_RESPONSE


def longer_first_response(policy: Policy, tier: str, budget: str) -> Policy:
    raw = policy.model_dump(mode="json")
    raw["tiers"][tier]["deadlines"]["first_response"] = budget
    return Policy.model_validate(raw)


def amendment(contract: str, policy: Policy) -> c.AmendPolicy:
    return c.AmendPolicy(
        contract=contract, version=terms_version(policy, {}), policy=policy, by="ops.wu"
    )


@pytest.fixture
def service(harness):
    return ComplaintService(harness.client, harness.task_queue, BOOK, harness.store)


@pytest.fixture
async def own_server(store):
    """A time-skipping server of the test's own. After updates on a run that continues as new,
    the test server (not the engine) can stop skipping time for minutes (seen in 3 runs of 4:
    the next tests' sleeps timed out), so that test must not share the session's server."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=CONVERTER, test_server_existing_path=temporal_test_server()
    )
    await register_search_attributes(env.client, "default")
    try:
        async with worker_for(env, store, EventActivities(store)) as harness:
            yield harness, ComplaintService(harness.client, harness.task_queue, BOOK, store)
    finally:
        await env.shutdown()


async def test_an_amendment_moves_the_running_complaints_timers(service, harness):
    globex = BOOK.of("globex")
    state = (await service.submit(outage("globex"), scope="cli")).state
    handle = harness.client.get_workflow_handle(state.complaint_id)
    harness.started.append(handle)
    t0 = state.received_at
    assert state.deadline(FR).due_at == t0 + timedelta(minutes=15)
    new = amendment("globex", longer_first_response(globex.policy, "3", "30m"))

    preview = await service.preview_amendment(state.complaint_id, new, t0)
    effect = await service.amend(state.complaint_id, new)

    assert effect == preview  # the dry run said what was then recorded
    assert [(m.kind, m.old_due_at - t0, m.new_due_at - t0) for m in effect.moved][0] == (
        FR,
        timedelta(minutes=15),
        timedelta(minutes=30),
    )
    assert (effect.from_version, effect.to_version) == (globex.version, new.version)
    with pytest.raises(ActionRefused, match=f"already on version {new.version}"):
        await service.amend(state.complaint_id, new)
    await harness.skip_to(t0 + timedelta(minutes=16))
    # A note decides at +16m, after whatever the clock owes: no breach at the old time.
    assert not (await harness.act(handle, c.AddNote(by="a", text="still 14 min"))).breached
    await harness.skip_to(t0 + timedelta(minutes=30, seconds=1))
    breached = await harness.wait_for(handle, lambda s: s.breached)
    assert breached.deadline(FR).breached_at >= t0 + timedelta(minutes=30)
    assert breached.policy_version == new.version
    recorded = [r.type for r in harness.store.read_stream(state.complaint_id)]
    assert recorded.count("PolicyAmended") == 1
    await harness.keep_history(handle, "policy_amended_local")


async def _start(harness, **inp) -> tuple:
    cid = f"C-{uuid.uuid4().hex[:10]}"
    handle = await harness.client.start_workflow(
        ComplaintWorkflow.run,
        ComplaintInput(registration=registration(cid=cid), **inp),
        id=cid,
        task_queue=harness.task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )
    # The chain's latest run, not this one: a run continued as new must be stopped too.
    harness.started.append(harness.client.get_workflow_handle(cid))
    state = await harness.wait_for(handle, lambda s: s.status is Status.OPEN)
    return cid, state


async def test_continue_as_new_keeps_the_amended_terms(own_server):
    harness, service = own_server
    cid, state = await _start(harness, policy=POLICY, history_limit=14)
    # Registered without naming a contract: the "default" one's.
    await service.amend(cid, amendment("default", longer_first_response(POLICY, "3", "20m")))
    first_run = (await harness.client.get_workflow_handle(cid).describe()).run_id
    latest = harness.client.get_workflow_handle(cid)
    await harness.act(latest, c.RequestInfo(by="a", question="Which model?"))
    for n in range(4):  # past the history limit: the workflow continues as new
        await harness.act(latest, c.AddNote(by="a", text=f"{n}"))
    assert (await latest.describe()).run_id != first_run
    await harness.skip_to(state.received_at + timedelta(minutes=5))
    # The reply schedules with the policy the workflow holds: the amended one, carried over.
    resumed = await harness.act(latest, c.RecordCustomerReply(message="The X2"))
    pause = resumed.pauses[-1]
    paused_for = pause.ended_at - pause.started_at
    assert resumed.deadline(FR).due_at == state.received_at + timedelta(minutes=20) + paused_for


async def test_an_amendment_keeps_the_settings_the_complaints_history_set(service, harness):
    # A complaint begun before the closed loop, continued as new: its carried policy has the
    # loop off, and so must the amended one (the file's terms have it on).
    old = POLICY.model_copy(update={"closed_loop": False})
    cid, state = await _start(harness, policy=old, own_settings={"closed_loop": False})
    await service.amend(cid, amendment("default", POLICY))
    await harness.skip_to(state.received_at + timedelta(minutes=10, seconds=1))
    await harness.wait_for(harness.client.get_workflow_handle(cid), lambda s: s.breached)
    told = [e for e in harness.events(cid) if e.type == "NotificationRequested"]
    assert [e.kind for e in told if e.recipient == "customer"] == ["acknowledgement"]
