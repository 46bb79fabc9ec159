"""ComplaintWorkflow: one durable workflow per complaint. Orchestration only.

The domain decides (pure `decide`), one local activity appends the decision's events (and the
outbox rows they imply) in one transaction, and one durable timer waits for the next thing the
clock owes. Every decision costs one workflow task and no round trip to the server beyond it, so
a complaint costs the server as few round trips as the business allows. (Complaints begun
before the patch `local-appends-and-assignment-by-load` append with regular activities.)
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, field_validator
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.models import AppendOutcome, AppendRequest, StampedEvent, TeamLoadRequest
    from domain import commands as c
    from domain.access import Author, Forbidden, NotServed, check_access
    from domain.amendment import AmendmentEffect, effect_of
    from domain.assignment import TeamLoad, team_of
    from domain.decide import DomainError, decide, decide_with_state
    from domain.events import ComplaintArchived, Event
    from domain.policy import Policy
    from domain.sla import next_alarm
    from domain.state import ComplaintState, fold
    from domain.vocabulary import Status
    from workflows.search import search_attributes_for
    from workflows.shared_policies import shared

# Appends retry until the store answers: an event is never dropped because the database was
# briefly away. A version clash is a bug (one workflow owns each stream), so it fails loudly.
APPEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=["ConcurrencyConflict"],
)
# An append takes milliseconds; when a worker dies mid-append the retry waits for this timeout,
# so it is short (a slow attempt that is retried meanwhile is harmless: appends are idempotent).
APPEND_TIMEOUT = timedelta(seconds=10)
# Patch ids: each marks a change of decisions that running complaints must replay without.
DEADLINE_WARNINGS = "deadline-warnings"
CLOSED_LOOP_LEAN = "closed-loop-lean-decisions"
CONTRACT_CALENDARS = "contract-calendars"
LOCAL_APPENDS_AND_LOAD = "local-appends-and-assignment-by-load"
# The event ids of a decision are named after it (see _event_ids), in this namespace.
EVENT_IDS = uuid.UUID("5d3c7a52-4f0e-4c1b-9a57-0b8e2c1f6a13")
# Reading the team's load is a few short queries: a local activity, in the registering task.
TEAM_LOAD_TIMEOUT = timedelta(seconds=10)


class ComplaintInput(BaseModel):
    policy: Policy  # the policy the complaint was registered under; it keeps it for life
    registration: c.Register | None = None  # the first run
    carried_state: ComplaintState | None = None  # a continued run
    history_limit: int = 10_000  # continue as new beyond this many history events
    # The policy settings this complaint's own history set (see __init__), carried through
    # continue-as-new, where the carried policy has them already and __init__ sets none.
    own_settings: dict[str, Any] = {}

    @field_validator("policy")
    @classmethod
    def _shared(cls, policy: Policy) -> Policy:
        # The SDK keeps a cached complaint's input decoded: complaints under equal terms hold
        # one policy object between them (workflows.shared_policies).
        return shared(policy)


class AmendmentPreview(BaseModel):
    """The dry run of an amendment: what it would do at `at`."""

    amendment: c.AmendPolicy
    # The caller's clock: a workflow's own stands still between its tasks.
    at: datetime


# Without Temporal's sandbox: it re-creates the workflow's modules for every complaint in the
# cache, and in a 2,000-deadline herd the engine held 692 MiB with it against 533 MiB without,
# and cleared the herd later (p99 81 s against 74 s; bench/herd.py, measured while appends were
# local activities, the same for both). Determinism rests on the house rules instead: decisions
# are domain/'s pure functions, time and ids come only from workflow.now() and workflow.uuid4(),
# no I/O, and the replay suite replays every main path.
@workflow.defn(sandboxed=False)
class ComplaintWorkflow:
    @workflow.init
    def __init__(self, inp: ComplaintInput) -> None:
        self._policy = inp.policy
        # Each change of decisions is a patch: a complaint begun before it replays without it.
        # A complaint that has a patch has every earlier change too, so a new complaint records
        # one marker (the newest), not one per change; `or` asks for older markers only then.
        # Each decision's append a local activity (one workflow task per decision, not two),
        # and a new complaint to the least loaded member present, not by a hash of its id (one
        # patch: they shipped together):
        wave = workflow.patched(LOCAL_APPENDS_AND_LOAD)
        self._local_appends = self._assigns_by_load = wave
        # Business-hours tiers re-escalating in business time, and quiet hours for staff:
        calendars = wave or workflow.patched(CONTRACT_CALENDARS)
        # The closed loop with the customer, late warnings recorded, and the alarm's timer kept
        # while the alarm stays put:
        self._keeps_timer = calendars or workflow.patched(CLOSED_LOOP_LEAN)
        if not calendars:
            self._policy = self._policy.model_copy(update={"business_time_rules": False})
        if not self._keeps_timer:
            self._policy = self._policy.model_copy(update={"closed_loop": False})
            if not workflow.patched(DEADLINE_WARNINGS):
                # A complaint that began before warnings existed replays without them.
                self._policy = self._policy.model_copy(update={"deadline_warning_share": None})
        self._timer: asyncio.Task | None = None
        self._timer_alarm: datetime | None = None
        self._state = inp.carried_state or ComplaintState()
        self._lock = asyncio.Lock()  # one decision at a time: updates and timers take turns
        self._changed = False
        self._published: list | None = None
        self._own_settings = {**inp.own_settings, **_settings_changed(inp.policy, self._policy)}

    @workflow.run
    async def run(self, inp: ComplaintInput) -> ComplaintState:
        if inp.registration is not None and self._state.status is None:
            await self._apply(await self._with_team_load(inp.registration))
        while self._state.status is not Status.ARCHIVED:
            if self._history_full(inp.history_limit):
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    ComplaintInput(
                        policy=self._policy,
                        carried_state=self._state,
                        history_limit=inp.history_limit,
                        own_settings=self._own_settings,
                    )
                )
            await self._wait_for_next_alarm()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state

    @workflow.query
    def state(self) -> ComplaintState:
        return self._state

    # Intake starts the workflow with this update (update-with-start): the registered complaint
    # comes back in the start's own round trip, where a query polled for it before. No patch:
    # an update is input recorded in history, and it decides nothing.
    @workflow.update
    async def registered(self) -> ComplaintState:
        await workflow.wait_condition(lambda: self._state.status is not None)
        return self._state

    @workflow.update
    async def act(self, request: c.ActionRequest) -> ComplaintState:
        await self._decide(request.action, request.author)
        return self._state

    @act.validator
    def _validate_act(self, request: c.ActionRequest) -> None:
        # Rejected here, an action leaves no trace in history and writes nothing. Who may act
        # is checked here too, on the state the action meets: a door's earlier read could be
        # stale (the complaint reassigned to another team a moment ago).
        if request.author is not None:
            check_access(request.author, self._state, request.action.action)
        decide(self._state, request.action, workflow.now(), self._policy)

    # No patch guards these: histories from before never call them, and no other decision
    # changes (the replay suite holds every recorded path to that).
    @workflow.update
    async def amend(self, amendment: c.AmendPolicy) -> AmendmentEffect:
        """New terms of the complaint's contract (`complaints contracts apply`)."""
        events = await self._decide(self._as_own(amendment))
        return effect_of(self._state.complaint_id, self._state.status, events)

    @amend.validator
    def _validate_amend(self, amendment: c.AmendPolicy) -> None:
        decide(self._state, self._as_own(amendment), workflow.now(), self._policy)

    @workflow.query
    def preview_amendment(self, preview: AmendmentPreview) -> AmendmentEffect:
        """What `amend` would do, decided and not recorded: the dry run asks every complaint."""
        at = max(preview.at, workflow.now())
        try:
            events, after = decide_with_state(
                self._state, self._as_own(preview.amendment), at, self._policy
            )
        except DomainError as refused:
            return AmendmentEffect(
                complaint_id=self._state.complaint_id, status=self._state.status,
                refused=str(refused),
            )  # fmt: skip
        return effect_of(self._state.complaint_id, after.status, events)

    def _as_own(self, amendment: c.AmendPolicy) -> c.AmendPolicy:
        """The new terms with this complaint's own settings kept (those its history turned off,
        so it decides as it ran): an amendment changes the contract's terms, not them."""
        policy = amendment.policy.model_copy(update=self._own_settings)
        return amendment.model_copy(update={"policy": policy})

    @workflow.signal
    async def delivery_reported(self, report: c.RecordDelivery) -> None:
        """The dispatcher's word on a message to the customer (delivery.reporting). A signal, as
        the dispatcher only needs it received; a repeat, or a report reaching an archived
        complaint, is refused by the domain and changes nothing."""
        try:
            await self._apply(report)
        except ApplicationError as refused:
            workflow.logger.info("delivery report not recorded: %s", refused.message)

    async def _with_team_load(self, registration: c.Register) -> c.Register:
        """The registration with the team as it stands (open complaints, who is away, the
        lead), so the complaint goes to whoever is present and least loaded. Complaints begun
        before replay without it: assigned by a hash of their id."""
        if not self._assigns_by_load:
            return registration
        team = team_of(self._policy, registration)
        load = await workflow.execute_local_activity(
            "team_load",
            TeamLoadRequest(
                contract=registration.contract,
                team=team,
                members=self._policy.teams[team].members,
            ),
            result_type=TeamLoad,
            start_to_close_timeout=TEAM_LOAD_TIMEOUT,
            retry_policy=APPEND_RETRY,  # the store's answer is needed, however long it takes
        )
        return registration.model_copy(update={"team_load": load})

    async def _wait_for_next_alarm(self) -> None:
        if self._keeps_timer:
            await self._wait_on_kept_timer()
            return
        alarm = next_alarm(self._state, self._policy)
        self._changed = False
        if alarm is None:
            await workflow.wait_condition(lambda: self._changed)
            return
        delay = alarm - workflow.now()
        if delay > timedelta(0):
            try:
                await workflow.wait_condition(lambda: self._changed, timeout=delay)
                return  # an action changed the state: the next alarm may have moved
            except TimeoutError:
                pass
        await self._apply(c.Tick())

    async def _wait_on_kept_timer(self) -> None:
        """One durable timer per alarm: a change that leaves the next alarm where it was (a
        note, a delivery report) keeps the timer running instead of cancelling it and starting
        another."""
        alarm = next_alarm(self._state, self._policy)
        if alarm != self._timer_alarm:
            if self._timer is not None:
                self._timer.cancel()
            self._timer, self._timer_alarm = None, alarm
            if alarm is not None and alarm > workflow.now():
                self._timer = asyncio.create_task(workflow.sleep(alarm - workflow.now()))
        if alarm is not None and (self._timer is None or self._timer.done()):
            self._timer, self._timer_alarm = None, None  # spent: the tick decides what is owed
            await self._apply(c.Tick())
            return
        self._changed = False
        await workflow.wait_condition(lambda: self._changed or self._timer_rang())

    def _timer_rang(self) -> bool:
        return self._timer is not None and self._timer.done()

    async def _apply(self, command: c.Command) -> ComplaintState:
        await self._decide(command)
        return self._state

    async def _decide(self, command: c.Command, author: Author | None = None) -> list[Event]:
        """Decide and record `command`; the events recorded (none: nothing to record)."""
        async with self._lock:
            recorded: list[Event] = []
            try:
                while True:
                    events, after = self._decided(command, author)
                    if not events:
                        break
                    stamped = self._stamped(command, events)
                    adopted = await self._record(stamped, after.tier)
                    if adopted:
                        # An attempt of a decision lost with its workflow task had committed
                        # these: they are the record. If they are this decision's own, it is
                        # done; otherwise it is decided again on top of them.
                        self._state = fold([a.event for a in adopted], self._state)
                        recorded += [a.event for a in adopted]
                        done = bool({a.event_id for a in adopted} & {s.event_id for s in stamped})
                    else:
                        self._state, done = after, True
                        recorded += events
                    if done:
                        if isinstance(command, c.AmendPolicy):
                            # The new terms decide from now on (one object for every
                            # complaint amended to them).
                            self._policy = shared(command.policy)
                        break
            finally:
                if recorded:
                    self._changed = True
                    self._publish()
            return recorded

    def _decided(
        self, command: c.Command, author: Author | None
    ) -> tuple[list[Event], ComplaintState]:
        try:
            if author is not None:
                check_access(author, self._state, command.action)
            return decide_with_state(self._state, command, workflow.now(), self._policy)
        except (DomainError, Forbidden, NotServed) as refused:
            # The state moved between validation and our turn at the lock.
            raise ApplicationError(
                str(refused), type=type(refused).__name__, non_retryable=True
            ) from refused

    def _stamped(self, command: c.Command, events: list[Event]) -> list[StampedEvent]:
        return [
            StampedEvent(event_id=event_id, event=e)
            for event_id, e in zip(self._event_ids(command, len(events)), events, strict=True)
        ]

    def _event_ids(self, command: c.Command, count: int) -> list[str]:
        """With local appends, a decision's ids are named after the decision (the stream's
        version, and the update's id or the command itself): the attempt of a lost workflow
        task that decides the same thing again gets the same ids, and so recognises its own
        events among those it adopts, while any other decision's ids differ. (workflow.uuid4()
        would hand a lost decision's ids to whichever decision came first in the retry.)"""
        if not self._local_appends:
            return [str(workflow.uuid4()) for _ in range(count)]
        update = workflow.current_update_info()
        name = update.id if update is not None else command.model_dump_json()
        return decision_event_ids(workflow.info().workflow_id, self._state.version, name, count)

    async def _record(self, stamped: list[StampedEvent], tier: int) -> list[StampedEvent]:
        """Append one decision's events; what a lost attempt had committed instead, if so.
        `tier` (after the decision) is for the worker's metrics only: an activity's input is
        not compared on replay, so running complaints replay unchanged."""
        archiving = any(isinstance(s.event, ComplaintArchived) for s in stamped)
        request = AppendRequest(
            stream_id=workflow.info().workflow_id,
            expected_version=self._state.version,
            events=stamped,
            tier=tier,
        )
        activity = "archive_complaint" if archiving else "append_events"
        if self._local_appends:
            # A local activity: no scheduling round trip to the server and one workflow task
            # per decision. Its input is not in history, so a decision whose workflow task is
            # lost (a worker killed mid-append) is made again, later, perhaps differently: the
            # append then hands back what the lost attempt committed, and _decide adopts it.
            outcome = await workflow.execute_local_activity(
                activity,
                request,
                result_type=AppendOutcome,
                start_to_close_timeout=APPEND_TIMEOUT,
                retry_policy=APPEND_RETRY,
            )
        else:
            outcome = await workflow.execute_activity(
                activity,
                request,
                result_type=AppendOutcome,
                start_to_close_timeout=APPEND_TIMEOUT,
                retry_policy=APPEND_RETRY,
            )
        return outcome.adopted

    def _publish(self) -> None:
        pairs = search_attributes_for(self._state)
        values = [p.value for p in pairs]
        if values != self._published:  # an upsert is a history event: only on change
            workflow.upsert_search_attributes(pairs)
            self._published = values

    def _history_full(self, limit: int) -> bool:
        info = workflow.info()
        return info.get_current_history_length() >= limit or info.is_continue_as_new_suggested()


def decision_event_ids(stream_id: str, version: int, decision: str, count: int) -> list[str]:
    """The ids of the events decided by `decision` (an update's id, or the command) on the
    stream at `version`."""
    named = f"{stream_id}:{version}:{hashlib.sha256(decision.encode()).hexdigest()}"
    return [str(uuid.uuid5(EVENT_IDS, f"{named}:{i}")) for i in range(count)]


def _settings_changed(pinned: Policy, deciding: Policy) -> dict[str, Any]:
    """The policy settings __init__ set for this complaint alone (a patch's flag)."""
    return {
        name: getattr(deciding, name)
        for name in Policy.model_fields
        if getattr(deciding, name) != getattr(pinned, name)
    }
