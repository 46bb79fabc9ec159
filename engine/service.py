"""The engine as its doors (HTTP API, web pages, CLI) use it: submit, read, act.

One place for how a complaint is reached: the workflow for live state and actions, the event
store for the record (and for the state of complaints whose workflow has finished).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from domain import commands as c
from domain.access import FORBIDDEN, Author, NotServed, check_access
from domain.amendment import AmendmentEffect
from domain.contracts import UnknownContract
from domain.events import join_personal
from domain.policy import Policy
from domain.state import ComplaintState, fold
from engine.contracts import ContractBook
from engine.intake import idempotency_key_of, new_complaint_id, submit_registered
from engine.metrics import count_intake, intake_result
from engine.uploads import DEFAULT_RULES, UploadRules
from store import EventStore, RecordedEvent
from store.attachments import (
    AttachmentContent,
    Attachments,
    NoCustomerKey,
    StoredAttachment,
)
from workflows.complaint import AmendmentPreview, ComplaintWorkflow

REGISTERED = "ComplaintRegistered"  # every complaint's stream begins with it
REGISTRATION_WAIT = 10.0  # seconds a submission waits for its workflow to register it


class ComplaintNotFound(LookupError):
    def __init__(self, complaint_id: str) -> None:
        super().__init__(f"no complaint {complaint_id!r}")
        self.complaint_id = complaint_id


class ActionRefused(Exception):
    """The complaint's state forbids the action; the message is the domain's. `field` names the
    action's field when the domain found its value bad (a category the contract lacks)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


# Domain refusals that are about a field's value (domain.decide), by their failure type.
_BAD_VALUES = {"UnknownCategory": "category"}


class IdempotencyConflict(Exception):
    """The caller's idempotency key (`source` "key") or external reference ("external_ref")
    made a complaint before from a different submission: refused, nothing written."""

    def __init__(self, source: str) -> None:
        named = "the idempotency key" if source == "key" else "the external_ref"
        super().__init__(
            f"{named} was used before for a different submission; send that same submission "
            "again, or this one under a new key"
        )
        self.source = source


# Who owns an idempotency key (ComplaintService.submit's `scope`): each door its own, and every
# API key its own, so one caller's keys never find another's complaints.
WEB_FORM_SCOPE = "web-form"
EMAIL_SCOPE = "email"
CLI_SCOPE = "cli"


def api_scope(key_id: str) -> str:
    return f"api-key:{key_id}"


@dataclass(frozen=True)
class Intake:
    state: ComplaintState
    created: bool
    # False: the complaint's workflow runs, so it will be registered, but it had not confirmed
    # so within the wait (a loaded server). The caller is told it was accepted, never that
    # nothing was done: a retry under the same key finds the same complaint.
    registered: bool = True


class ComplaintService:
    def __init__(
        self,
        client: Client,
        task_queue: str,
        contracts: ContractBook | Policy,  # a policy: one contract, "default", of it
        store: EventStore,
        uploads: UploadRules = DEFAULT_RULES,  # the settings' defaults
        registration_wait: float = REGISTRATION_WAIT,
    ):
        self.client, self.task_queue, self.store = client, task_queue, store
        self.contracts = (
            contracts if isinstance(contracts, ContractBook) else ContractBook.serving(contracts)
        )
        self.uploads = uploads
        self.registration_wait = registration_wait
        # Sealed with the customers' keys: a store without a vault holds none.
        self.attachments = Attachments(store.engine, store.vault) if store.vault else None

    async def submit(
        self, submission: c.Submission, idempotency_key: str | None = None, *, scope: str
    ) -> Intake:
        """Register `submission` once. `scope` names the caller (the scopes above): its
        idempotency key, or else the submission's external_ref, finds only what that caller made
        before. Raises IdempotencyConflict for a key reused with another body. Counted, with
        its duration, by channel and result (engine.metrics), whichever door it came by."""
        started, result = time.monotonic(), "error"
        try:
            intake = await self._submit(submission, idempotency_key, scope)
            result = intake_result(intake.created, intake.registered)
            return intake
        except IdempotencyConflict:
            result = "conflict"
            raise
        except UnknownContract:
            result = "refused"
            raise
        finally:
            count_intake(submission.channel, result, time.monotonic() - started)

    async def _submit(
        self, submission: c.Submission, idempotency_key: str | None, scope: str
    ) -> Intake:
        contract = self.contracts.for_intake(submission.contract)  # UnknownContract: refused
        key = idempotency_key_of(idempotency_key, submission.channel, submission.external_ref)
        complaint_id = new_complaint_id()
        if key is not None:
            # Claimed before the workflow starts: a crash between the two leaves a claim whose
            # retry (same key, same body) finds the same id and starts the workflow then.
            claim = await asyncio.to_thread(
                self.store.claim_intake_key,
                scope,
                key,
                submission.model_dump(mode="json"),
                complaint_id,
            )
            if not claim.same_body:
                raise IdempotencyConflict("external_ref" if idempotency_key is None else "key")
            complaint_id = claim.complaint_id
        # Sealed with the customer's own key before Temporal sees it: the workflow's history then
        # holds only the envelope, which erasing the customer makes unreadable like the rest.
        sealed = await asyncio.to_thread(
            self.store.seal_personal, complaint_id, submission.customer.model_dump(mode="json")
        )
        register = c.Register(
            complaint_id=complaint_id,
            customer=sealed,
            **submission.model_dump(exclude_unset=True, exclude={"customer", "contract"}),
            contract=contract.id,
            policy_version=contract.version,
        )
        started = await submit_registered(
            self.client, self.task_queue, contract.policy, register, self.registration_wait
        )
        if started.state is not None:
            return Intake(started.state, created=True)
        if not started.created:  # a resubmission: registered by now, or soon
            with contextlib.suppress(TimeoutError):
                return Intake(await self._registered(started.complaint_id), created=False)
        accepted = ComplaintState(complaint_id=started.complaint_id)
        return Intake(accepted, started.created, registered=False)

    @property
    def policy(self) -> Policy:
        """The default contract's policy: what a door shows where no complaint is at hand."""
        return self.contracts.default.policy

    def policy_of(self, state: ComplaintState) -> Policy:
        """The policy of the complaint's contract as served now (for display: the complaint's
        own decisions follow the version it pinned)."""
        return self.contracts.of(state.contract).policy

    async def state(self, complaint_id: str) -> ComplaintState:
        """Live state from the workflow while it runs; the event log's fold once it has ended."""
        try:
            handle = self.client.get_workflow_handle(complaint_id)
            return await handle.query(ComplaintWorkflow.state)
        except RPCError as error:
            if error.status not in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
                raise
        state = fold(join_personal(r.data, r.personal) for r in self.events(complaint_id))
        if state.status is None:
            raise ComplaintNotFound(complaint_id)
        return state

    def events(self, complaint_id: str) -> list[RecordedEvent]:
        """A complaint's events; [] (as for an unknown id) for a stream that is not a
        complaint's: the log also holds the engine's own (`erasures`, which names customers'
        references and complaints), and a complaint id is whatever a caller types."""
        records = self.store.read_stream(complaint_id)
        return records if records and records[0].type == REGISTERED else []

    async def act(
        self, complaint_id: str, action: c.Action, author: Author | None = None
    ) -> ComplaintState:
        """Take `action` as `author`, whom the workflow holds to the access rule (domain.access)
        on the state the action meets: Forbidden (403) or ComplaintNotFound (another contract's,
        404) when refused, ActionRefused when the state forbids it. None: a door of the engine's
        own (inbound mail, the customer's attachments), already the rule's."""
        handle = self.client.get_workflow_handle(complaint_id)
        try:
            return await handle.execute_update(
                ComplaintWorkflow.act, c.ActionRequest(action=action, author=author)
            )
        except WorkflowUpdateFailedError as failed:
            cause = failed.cause
            kind = cause.type if isinstance(cause, ApplicationError) else None
            if kind in FORBIDDEN:
                raise FORBIDDEN[kind](_message(failed)) from None
            if kind == NotServed.__name__:
                raise ComplaintNotFound(complaint_id) from None
            raise ActionRefused(_message(failed), _BAD_VALUES.get(kind or "")) from None
        except RPCError as error:
            if error.status is not RPCStatusCode.NOT_FOUND:
                raise
            if self.store.stream_version(complaint_id) == 0:
                raise ComplaintNotFound(complaint_id) from None
            if author is not None:  # its workflow has ended: the same rule, on the record
                try:
                    check_access(author, await self.state(complaint_id), action.action)
                except NotServed:
                    raise ComplaintNotFound(complaint_id) from None
            raise ActionRefused(
                f"cannot {action.verb}: complaint {complaint_id} is archived"
            ) from None

    async def amend(self, complaint_id: str, amendment: c.AmendPolicy) -> AmendmentEffect:
        """Record new terms on a running complaint; ActionRefused with the domain's reason."""
        handle = self.client.get_workflow_handle(complaint_id)
        try:
            return await handle.execute_update(ComplaintWorkflow.amend, amendment)
        except WorkflowUpdateFailedError as failed:
            raise ActionRefused(_message(failed)) from None
        except RPCError as error:
            if error.status is not RPCStatusCode.NOT_FOUND:
                raise
            raise ActionRefused(
                f"cannot {amendment.verb}: complaint {complaint_id} is archived"
            ) from None

    async def preview_amendment(
        self, complaint_id: str, amendment: c.AmendPolicy, at: datetime
    ) -> AmendmentEffect:
        """What `amend` would do at `at`, recording nothing (a refusal is in the answer)."""
        handle = self.client.get_workflow_handle(complaint_id)
        try:
            return await handle.query(
                ComplaintWorkflow.preview_amendment, AmendmentPreview(amendment=amendment, at=at)
            )
        except RPCError as error:
            if error.status is not RPCStatusCode.NOT_FOUND:
                raise
            raise ActionRefused(
                f"cannot {amendment.verb}: complaint {complaint_id} is archived"
            ) from None

    async def attach(
        self,
        complaint_id: str,
        filename: str,
        content_type: str,
        data: bytes,
        source: Literal["page", "email", "staff"],
    ) -> StoredAttachment:
        """Check, store (sealed) and join an attachment to the complaint. `content_type` is the
        sender's word, kept out of every decision: the type is read from the content. Raises
        UploadRefused (size, type, name), ComplaintNotFound, ActionRefused (the domain's no;
        the stored content stays, harmless and sealed, and a retry finds it)."""
        del content_type  # never trusted (engine.uploads says why)
        kind = self.uploads.check(filename, data)
        if self.attachments is None:
            raise RuntimeError("attachments need a store with a vault (the customers' keys)")
        try:
            stored, _ = await asyncio.to_thread(
                self.attachments.put, complaint_id, filename, kind, data, source
            )
        except NoCustomerKey:
            raise ComplaintNotFound(complaint_id) from None
        # The same file again is the same attachment: it is joined once.
        if stored.sha256 not in await self._joined(complaint_id):
            await self.act(
                complaint_id,
                c.AddAttachment(
                    attachment_id=stored.sha256,
                    content_type=stored.content_type,
                    size=stored.size,
                    source=source,
                ),
            )
        return stored

    async def attachments_of(self, complaint_id: str) -> list[StoredAttachment]:
        """The attachments the complaint's stream has joined (AttachmentAdded). Content stored
        for an attachment the domain then refused stays in the store, unlisted."""
        if self.attachments is None:
            return []
        joined = await self._joined(complaint_id)
        stored = await asyncio.to_thread(self.attachments.list, complaint_id)
        return [a for a in stored if a.sha256 in joined]

    async def attachment(self, complaint_id: str, sha256: str) -> AttachmentContent | None:
        if self.attachments is None or sha256 not in await self._joined(complaint_id):
            return None
        return await asyncio.to_thread(self.attachments.get, complaint_id, sha256)

    async def _joined(self, complaint_id: str) -> set[str]:
        records = await asyncio.to_thread(self.events, complaint_id)
        return {r.data["attachment_id"] for r in records if r.type == "AttachmentAdded"}

    async def _registered(self, complaint_id: str) -> ComplaintState:
        """The state of a resubmitted complaint once its workflow has registered it (its
        first step; a new complaint's start waits for that itself, engine.intake)."""
        handle = self.client.get_workflow_handle(complaint_id)
        delay = 0.02
        async with asyncio.timeout(self.registration_wait):
            while True:
                try:
                    state = await handle.query(ComplaintWorkflow.state)
                    if state.status is not None:
                        return state
                except RPCError:
                    pass  # not answering queries before its first workflow task: keep waiting
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.5)


def _message(failed: WorkflowUpdateFailedError) -> str:
    cause = failed.cause
    if isinstance(cause, ApplicationError):
        return cause.message
    return str(cause or failed)
