"""The engine's doors all go through ComplaintService: submit, read, act."""

from datetime import timedelta

import pytest

from domain import commands as c
from domain.vocabulary import Status
from engine.service import ActionRefused, ComplaintNotFound, ComplaintService
from tests.unit.helpers import CUSTOMER

FORM = c.Submission(
    channel="web", subject="Charger", description="It caught fire", customer=CUSTOMER
)


@pytest.fixture
def service(harness):
    return ComplaintService(harness.client, harness.task_queue, harness.policy, harness.store)


async def test_submit_returns_the_registered_complaint_once(service, harness):
    first = await service.submit(FORM, idempotency_key="retry-me")
    harness.started.append(harness.client.get_workflow_handle(first.state.complaint_id))
    again = await service.submit(FORM, idempotency_key="retry-me")
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
    first = await service.submit(api_post)
    harness.started.append(harness.client.get_workflow_handle(first.state.complaint_id))
    again = await service.submit(api_post)
    other = await service.submit(FORM)
    harness.started.append(harness.client.get_workflow_handle(other.state.complaint_id))
    assert again.state.complaint_id == first.state.complaint_id != other.state.complaint_id


async def test_actions_refused_or_unknown(service, harness):
    intake = await service.submit(FORM)
    cid = intake.state.complaint_id
    harness.started.append(harness.client.get_workflow_handle(cid))
    with pytest.raises(ActionRefused, match="no information was requested"):
        await service.act(cid, c.RecordCustomerReply(message="hello"))
    with pytest.raises(ComplaintNotFound):
        await service.act("C-NOSUCHTHING", c.AddNote(by="a", text="x"))
    with pytest.raises(ComplaintNotFound):
        await service.state("C-NOSUCHTHING")


async def test_an_archived_complaint_is_read_from_the_log(service, harness):
    intake = await service.submit(FORM)
    cid = intake.state.complaint_id
    await service.act(cid, c.Resolve(by="a", resolution="done"))
    await harness.env.sleep(timedelta(days=8))  # past the reopen window
    handle = harness.client.get_workflow_handle(cid)
    await harness.wait_for(handle, lambda s: s.status is Status.ARCHIVED)
    state = await service.state(cid)
    assert state.status is Status.ARCHIVED and state.version == len(service.events(cid))
    with pytest.raises(ActionRefused, match="archived"):
        await service.act(cid, c.Reopen(reason="too late"))
