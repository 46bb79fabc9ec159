"""Someone who reaches the Temporal frontend without the codec key sends a running complaint a
plaintext update and a plaintext signal: the workers refuse both (security.codec), nothing is
decided or recorded, and the complaint runs on: its next real action is taken."""

import asyncio

import pytest
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter

from domain import commands as c
from security.codec import REFUSED
from tests.keys import CONVERTER
from workflows.complaint import ComplaintWorkflow


async def test_plaintext_input_is_refused_and_the_complaint_runs_on(harness):
    submitted = await harness.submit()
    cid = submitted.complaint_id
    async with asyncio.timeout(20):  # the registration's events are appended by an activity
        while not harness.events(cid):
            await asyncio.sleep(0.05)
    before = harness.events(cid)
    outsider = Client(
        harness.client.service_client, namespace="default", data_converter=pydantic_data_converter
    ).get_workflow_handle(cid)
    injected = c.ActionRequest(action=c.AddNote(by="intruder", text="injected in clear"))

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await outsider.execute_update(ComplaintWorkflow.act, injected)
    # The rejection is encrypted like every failure: the sender cannot read it, the operator can.
    reason = await CONVERTER.decode_failure(refused.value.cause.failure)
    assert "Failed decoding arguments" in str(reason) and REFUSED.decode() in str(reason.cause)
    await outsider.signal(ComplaintWorkflow.delivery_reported, {"forged": True})

    state = await harness.act(submitted.handle, c.AddNote(by="agent.chen", text="a real note"))
    after = harness.events(cid)
    assert after[: len(before)] == before
    assert [type(e).__name__ for e in after[len(before) :]] == ["NoteAdded"]
    assert "injected in clear" not in repr(after) and "injected" not in repr(state)
