"""A decision's append is a local activity: its input is not in history, so a decision whose
workflow task is lost (a worker killed mid-append) is made again, later. What the lost attempt
committed is the record, and the workflow adopts it; these tests commit such an attempt's
events behind the workflow's back, as the lost attempt would have, and check that nothing is
written twice, nothing is lost, and the workflow's state is the store's."""

import uuid
from datetime import timedelta

from activities.events import stored_event
from activities.models import StampedEvent
from domain import commands as c
from domain.decide import decide_with_state
from domain.events import NoteAdded
from domain.state import fold
from domain.vocabulary import DeadlineKind, Status
from engine.service import ComplaintService
from tests.unit.helpers import POLICY
from tests.workflows.test_amendments import amendment, longer_first_response
from tests.workflows.test_contracts import BOOK, outage
from workflows.complaint import ComplaintWorkflow, decision_event_ids

MIN = timedelta(minutes=1)


def commit_behind(harness, complaint_id, version, stamped):
    harness.store.append(complaint_id, version, [stored_event(s) for s in stamped])


async def test_another_decisions_lost_attempt_is_adopted_and_this_one_made_on_top(harness):
    sub = await harness.submit()
    state = await harness.wait_for(sub.handle, lambda s: s.status is Status.OPEN)
    note = NoteAdded(at=state.received_at + MIN, by="agent.chen", text="called back")
    commit_behind(
        harness,
        sub.complaint_id,
        state.version,
        [StampedEvent(event_id=str(uuid.uuid4()), event=note)],
    )

    after = await harness.act(sub.handle, c.Respond(by="agent.chen", message="On it"))

    stored = harness.events(sub.complaint_id)
    assert [e.type for e in stored[state.version :]][:2] == ["NoteAdded", "FirstResponseGiven"]
    assert after.model_dump() == fold(stored).model_dump()
    assert after.deadline(DeadlineKind.FIRST_RESPONSE).met_at is not None


async def test_its_own_lost_attempt_is_adopted_as_it_was_and_nothing_is_written_twice(harness):
    sub = await harness.submit()
    state = await harness.wait_for(sub.handle, lambda s: s.status is Status.OPEN)
    respond = c.Respond(by="agent.chen", message="On it")
    # The lost attempt decided at +1 min; the retry decides at +2 min, with the same ids.
    lost_at = state.received_at + MIN
    events, _ = decide_with_state(state, respond, lost_at, POLICY)
    ids = decision_event_ids(sub.complaint_id, state.version, "respond-1", len(events))
    commit_behind(
        harness,
        sub.complaint_id,
        state.version,
        [StampedEvent(event_id=i, event=e) for i, e in zip(ids, events, strict=True)],
    )
    await harness.skip_to(state.received_at + 2 * MIN)

    after = await sub.handle.execute_update(
        ComplaintWorkflow.act, c.ActionRequest(action=respond), id="respond-1"
    )

    stored = harness.events(sub.complaint_id)
    assert [e.type for e in stored].count("FirstResponseGiven") == 1
    assert after.deadline(DeadlineKind.FIRST_RESPONSE).met_at == lost_at
    assert after.model_dump() == fold(stored).model_dump()


async def test_an_amendment_its_lost_attempt_recorded_decides_from_then_on(harness):
    """Adopting its own lost PolicyAmended, the amend update still takes the new terms for the
    complaint's later decisions: a round opened after it (a reopening) is timed by them."""
    service = ComplaintService(harness.client, harness.task_queue, BOOK, harness.store)
    globex = BOOK.of("globex")
    state = (await service.submit(outage("globex"), scope="cli")).state
    handle = harness.client.get_workflow_handle(state.complaint_id)
    harness.started.append(handle)
    new = amendment("globex", longer_first_response(globex.policy, "3", "30m"))
    events, _ = decide_with_state(state, new, state.received_at + MIN, globex.policy)
    ids = decision_event_ids(state.complaint_id, state.version, "amend-1", len(events))
    commit_behind(
        harness,
        state.complaint_id,
        state.version,
        [StampedEvent(event_id=i, event=e) for i, e in zip(ids, events, strict=True)],
    )

    await handle.execute_update(ComplaintWorkflow.amend, new, id="amend-1")
    await harness.act(handle, c.Resolve(by="agent.chen", resolution="Power restored"))
    reopened = await harness.act(handle, c.Reopen(reason="It went out again"))

    assert reopened.policy_version == new.version
    first_response = reopened.deadline(DeadlineKind.FIRST_RESPONSE)
    assert first_response.due_at - reopened.round_started_at == 30 * MIN  # not globex's 15
