"""Intake: turn a submission into exactly one ComplaintWorkflow.

Complaint ids are random (`secrets`): a reference number a customer quotes must not be
computable from anything a client sent, such as its idempotency key or its own reference. A
resubmission is recognised through the intake key table instead (store.intake_keys), where a
key belongs to the caller that sent it. The workflow id is the complaint id, and Temporal
refuses a second workflow with the same id, even after the first has finished.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from domain.commands import Register
from domain.policy import Policy
from workflows.complaint import ComplaintInput, ComplaintWorkflow

ID_CHARACTERS = 12  # base32: 60 random bits, far beyond guessing, short enough to quote


@dataclass(frozen=True)
class Submitted:
    complaint_id: str
    created: bool  # False: this submission had already been made; nothing new was started
    handle: WorkflowHandle


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
