"""Intake: turn a submission into exactly one ComplaintWorkflow.

Complaint ids are random (`secrets`): a reference number a customer quotes must not be
computable from anything a client sent, such as its idempotency key or its own reference. A
resubmission is recognised through the intake key table instead (store.intake_keys), where a
key belongs to the caller that sent it. The workflow id is the complaint id, and Temporal
refuses a second workflow with the same id, even after the first has finished.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
from dataclasses import dataclass

from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain.commands import Register
from domain.policy import Policy
from domain.state import ComplaintState
from workflows.complaint import ComplaintInput, ComplaintWorkflow

ID_CHARACTERS = 12  # base32: 60 random bits, far beyond guessing, short enough to quote


@dataclass(frozen=True)
class Submitted:
    complaint_id: str
    created: bool  # False: this submission had already been made; nothing new was started
    handle: WorkflowHandle
    # The complaint as its workflow registered it (submit_registered only); None when that was
    # not confirmed within the wait, or for a resubmission.
    state: ComplaintState | None = None


def new_complaint_id() -> str:
    """A fresh reference number: `C-` and 12 random base32 characters."""
    return "C-" + base64.b32encode(secrets.token_bytes(10)).decode()[:ID_CHARACTERS]


def idempotency_key_of(
    explicit_key: str | None, channel: str, external_ref: str | None
) -> str | None:
    if explicit_key:
        return f"key:{explicit_key}"
    if external_ref:  # the sender's own reference identifies a resubmission just as well
        return f"ref:{channel}:{external_ref}"
    return None


async def submit(
    client: Client,
    task_queue: str,
    policy: Policy,
    registration: Register,
) -> Submitted:
    """Start the complaint's workflow; `registration.complaint_id` is its workflow id."""
    cid = registration.complaint_id
    try:
        handle = await client.start_workflow(
            ComplaintWorkflow.run,
            ComplaintInput(policy=policy, registration=registration),
            id=cid,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
        return Submitted(cid, created=True, handle=handle)
    except WorkflowAlreadyStartedError:
        return Submitted(cid, created=False, handle=client.get_workflow_handle(cid))


async def submit_registered(
    client: Client,
    task_queue: str,
    policy: Policy,
    registration: Register,
    wait: float,
) -> Submitted:
    """Start the complaint's workflow and have it answer once registered, in one round trip
    (update-with-start: the start carries the workflow's `registered` update). Waits `wait`
    seconds at most: a workflow started and not yet registered by then is answered without its
    state. Raises TimeoutError or RPCError only when the workflow was not started."""
    cid = registration.complaint_id
    start = WithStartWorkflowOperation(
        ComplaintWorkflow.run,
        ComplaintInput(policy=policy, registration=registration),
        id=cid,
        task_queue=task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        # A workflow already running under this id is a resubmission: said so, not joined.
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )
    started = asyncio.ensure_future(start.workflow_handle())
    call = asyncio.ensure_future(
        client.execute_update_with_start_workflow(
            ComplaintWorkflow.registered, start_workflow_operation=start
        )
    )
    try:
        async with asyncio.timeout(wait):
            state = await asyncio.shield(call)
        return Submitted(cid, created=True, handle=await started, state=state)
    except WorkflowAlreadyStartedError:
        return Submitted(cid, created=False, handle=client.get_workflow_handle(cid))
    except RPCError as failed:
        # The same, from a server that sends the bare status (the time-skipping test server).
        if failed.status is RPCStatusCode.ALREADY_EXISTS:
            return Submitted(cid, created=False, handle=client.get_workflow_handle(cid))
        if not _answered(started):  # else started, and only waiting for it failed: below
            raise
    except TimeoutError:
        call.cancel()
        await asyncio.gather(call, started, return_exceptions=True)
    finally:
        _answered(started)  # reads a failure the call reported, which asyncio would log unread
    if _answered(started):
        return Submitted(cid, created=True, handle=started.result())
    # The server answered nothing within the wait: whether it started the workflow is its word.
    handle = client.get_workflow_handle(cid)
    try:
        await handle.describe()
    except RPCError as unknown:
        if unknown.status is RPCStatusCode.NOT_FOUND:
            raise TimeoutError(f"the workflow service did not start {cid} in time") from None
        raise
    return Submitted(cid, created=True, handle=handle)


def _answered(started: asyncio.Future) -> bool:
    """Whether the server said it started the workflow."""
    return started.done() and not started.cancelled() and started.exception() is None
