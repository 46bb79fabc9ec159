"""The engine's doors all go through ComplaintService: submit, read, act."""

from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from domain import commands as c
from domain.vocabulary import Status
from engine.binaries import temporal_test_server
from engine.intake import new_complaint_id
from engine.service import (
    ActionRefused,
    ComplaintNotFound,
    ComplaintService,
    IdempotencyConflict,
)
from tests.keys import CONVERTER
from tests.unit.helpers import CUSTOMER, POLICY

FORM = c.Submission(
    channel="web", subject="Charger", description="It caught fire", customer=CUSTOMER
)
CALLER, OTHER_CALLER = "ck-0123456789ab", "ck-ba9876543210"  # two API keys' ids


@pytest.fixture
def service(harness):
    return ComplaintService(harness.client, harness.task_queue, harness.policy, harness.store)


async def test_submit_returns_the_registered_complaint_once(service, harness):
    first = await service.submit(FORM, idempotency_key="retry-me", scope=CALLER)
    harness.started.append(harness.client.get_workflow_handle(first.state.complaint_id))
    again = await service.submit(FORM, idempotency_key="retry-me", scope=CALLER)
    assert first.created and not again.created
    assert again.state.complaint_id == first.state.complaint_id
    assert first.state.status is Status.OPEN and first.state.tier == 3
    assert [r.type for r in service.events(first.state.complaint_id)].count(
        "ComplaintRegistered"
    ) == 1


async def test_the_senders_own_reference_also_identifies_a_resubmission(service, harness):
    api_post = c.Submission.model_validate(
        FORM.model_dump() | {"channel": "api", "external_ref": "ticket-991"}
    )
    first = await service.submit(api_post, scope=CALLER)
    harness.started.append(harness.client.get_workflow_handle(first.state.complaint_id))
    again = await service.submit(api_post, scope=CALLER)
    other = await service.submit(FORM, scope=CALLER)
    harness.started.append(harness.client.get_workflow_handle(other.state.complaint_id))
    assert again.state.complaint_id == first.state.complaint_id != other.state.complaint_id


async def test_a_key_belongs_to_the_caller_that_sent_it(service, harness):
    """Another caller's identical key (or external_ref) is its own complaint, never the first
    caller's; the ids are random, not made from the key."""
    api_post = c.Submission.model_validate(FORM.model_dump() | {"external_ref": "ticket-7"})
    mine = await service.submit(FORM, idempotency_key="shared-key", scope=CALLER)
    theirs = await service.submit(FORM, idempotency_key="shared-key", scope=OTHER_CALLER)
    by_ref = await service.submit(api_post, scope=CALLER)
    their_ref = await service.submit(api_post, scope=OTHER_CALLER)
    intakes = [mine, theirs, by_ref, their_ref]
    harness.started.extend(
        harness.client.get_workflow_handle(i.state.complaint_id) for i in intakes
    )
    assert all(intake.created for intake in intakes)
    assert len({intake.state.complaint_id for intake in intakes}) == 4


async def test_the_same_key_with_another_body_is_a_conflict(service, harness):
    api_post = c.Submission.model_validate(FORM.model_dump() | {"external_ref": "ticket-8"})
    firsts = [
        await service.submit(FORM, idempotency_key="edited", scope=CALLER),
        await service.submit(api_post, scope=OTHER_CALLER),
    ]
    harness.started.extend(harness.client.get_workflow_handle(i.state.complaint_id) for i in firsts)
    written = len(harness.store.read_all())
    edited = {"subject": "Charger (edited)"}

    with pytest.raises(IdempotencyConflict) as by_key:
        changed = c.Submission.model_validate(FORM.model_dump() | edited)
        await service.submit(changed, idempotency_key="edited", scope=CALLER)
    with pytest.raises(IdempotencyConflict) as by_ref:
        changed = c.Submission.model_validate(api_post.model_dump() | edited)
        await service.submit(changed, scope=OTHER_CALLER)

    assert (by_key.value.source, by_ref.value.source) == ("key", "external_ref")
    assert len(harness.store.read_all()) == written  # nothing of either was recorded


async def test_a_claim_whose_workflow_never_started_is_started_by_the_retry(service, harness):
    """A crash between claiming the key and starting the workflow: the client's retry (same key,
    same body) finds the claimed id and starts the complaint under it."""
    claimed = new_complaint_id()
    harness.store.claim_intake_key(CALLER, "key:crashed", FORM.model_dump(mode="json"), claimed)
    retry = await service.submit(FORM, idempotency_key="crashed", scope=CALLER)
    harness.started.append(harness.client.get_workflow_handle(claimed))
    assert (retry.state.complaint_id, retry.created) == (claimed, True)


async def test_actions_refused_or_unknown(service, harness):
    intake = await service.submit(FORM, scope=CALLER)
    cid = intake.state.complaint_id
    harness.started.append(harness.client.get_workflow_handle(cid))
    with pytest.raises(ActionRefused, match="is open"):  # a question needs one to answer
        await service.act(cid, c.RecordFeedback(rating=5))
    with pytest.raises(ComplaintNotFound):
        await service.act("C-NOSUCHTHING", c.AddNote(by="a", text="x"))
    with pytest.raises(ComplaintNotFound):
        await service.state("C-NOSUCHTHING")


async def test_an_archived_complaint_is_read_from_the_log(service, harness):
    intake = await service.submit(FORM, scope=CALLER)
    cid = intake.state.complaint_id
    await service.act(cid, c.Resolve(by="a", resolution="done"))
    await harness.env.sleep(timedelta(days=8))  # past the reopen window
    handle = harness.client.get_workflow_handle(cid)
    await harness.wait_for(handle, lambda s: s.status is Status.ARCHIVED)
    state = await service.state(cid)
    assert state.status is Status.ARCHIVED and state.version == len(service.events(cid))
    with pytest.raises(ActionRefused, match="archived"):
        await service.act(cid, c.Reopen(reason="too late"))


async def test_a_started_complaint_not_yet_registered_is_accepted_never_refused(store):
    """A loaded server: the workflow has started but has not registered the complaint within the
    wait (here: no worker polls its queue at all). The caller learns its id, not a failure.
    On a time-skipping server of its own: the test server stops skipping time for good once an
    update has waited on a workflow that never took it, which would stall the tests after."""
    async with await WorkflowEnvironment.start_time_skipping(
        data_converter=CONVERTER, test_server_existing_path=temporal_test_server()
    ) as env:
        idle = ComplaintService(env.client, "idle", POLICY, store, registration_wait=0.3)
        first = await idle.submit(FORM, idempotency_key="busy-morning", scope="test")
        assert (first.created, first.registered, first.state.status) == (True, False, None)
        again = await idle.submit(FORM, idempotency_key="busy-morning", scope="test")
        assert (again.created, again.registered) == (False, False)
        assert again.state.complaint_id == first.state.complaint_id


async def test_intake_answers_the_registered_complaint_with_the_start(service, harness):
    """Intake is update-with-start: the start carries the workflow's `registered` update, whose
    answer is the registered complaint (one round trip, no query polled). The complaint then
    runs its course as any other; its history is kept for the replay suite."""
    intake = await service.submit(FORM, scope=CALLER)
    cid = intake.state.complaint_id
    h = harness.client.get_workflow_handle(cid)
    harness.started.append(h)
    assert intake.created and intake.registered and intake.state.status is Status.OPEN
    assert intake.state.version == len(service.events(cid))
    updates = [
        e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
        for e in (await h.fetch_history()).events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]
    assert updates == ["registered"]

    await harness.env.sleep(timedelta(minutes=5))
    await service.act(cid, c.Respond(by="agent.chen", message="We are calling you"))
    await service.act(cid, c.Resolve(by="agent.chen", resolution="Replacement sent"))
    state = await service.act(cid, c.RecordFeedback(rating=5, comment="Fast"))
    assert state.status is Status.CLOSED and not state.breached
    await harness.env.sleep(timedelta(days=8))  # past the reopen window: archived
    assert (await harness.wait_for(h, lambda s: s.status is Status.ARCHIVED)).version
    await harness.keep_history(h, "tier3_registered_by_update")
