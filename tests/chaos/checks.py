"""What "nothing lost or doubled" means, checked on the store's rows.

For every complaint stream:
- versions are 1..n with no gap, and no event id appears twice anywhere in the global log;
- the event types are exactly the sequence the pure domain decides for the same commands (so
  every once-only event, such as ComplaintRegistered, ComplaintClosed, ComplaintArchived or a
  deadline's DeadlineBreached, is there exactly once, and nothing is missing);
- the outbox holds one row per NotificationRequested, and the closure record exists once the
  complaint is archived.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from domain import commands as c
from domain.decide import decide_with_state
from domain.policy import Policy
from domain.sla import next_alarm
from domain.state import ComplaintState
from domain.vocabulary import Status
from store import EventStore, RecordedEvent
from tests.chaos.driving import FIRE
from tests.unit.helpers import T0


def expected_types(
    policy: Policy,
    actions: list[c.Action],
    *,
    then_wait: timedelta,
    nothing_runs_until: timedelta | None = None,
) -> list[str]:
    """The event types the domain decides for a complaint submitted as FIRE, given `actions` one
    second apart, then left alone for `then_wait`: a tick at each alarm, as the workflow's timers
    do. With `nothing_runs_until` (from registration), no timer fires before that moment, as
    when the server was down: the first tick comes then."""
    state, types = ComplaintState(), []
    now = T0
    register = c.Register(complaint_id="C-EXPECTED", **FIRE.model_dump())
    for command in [register, *actions]:
        events, state = decide_with_state(state, command, now, policy)
        types += [e.type for e in events]
        now += timedelta(seconds=1)
    if nothing_runs_until is not None:
        now = max(now, T0 + nothing_runs_until)
        events, state = decide_with_state(state, c.Tick(), now, policy)
        types += [e.type for e in events]
    end = now + then_wait
    while state.status is not Status.ARCHIVED:
        alarm = next_alarm(state, policy)
        if alarm is None or alarm > end:
            break
        events, state = decide_with_state(state, c.Tick(), alarm, policy)
        types += [e.type for e in events]
    return types


def stream_problems(store: EventStore, stream_id: str, expected: list[str]) -> list[str]:
    """Everything wrong with one complaint's stream; empty when it is exactly as expected."""
    events = store.read_stream(stream_id)
    problems = []
    versions = [e.version for e in events]
    if versions != list(range(1, len(events) + 1)):
        problems.append(f"{stream_id}: versions {versions} are not 1..{len(events)}")
    types = [e.type for e in events]
    if types != expected:
        problems.append(f"{stream_id}: event types {types}\n    expected {expected}")
    requested = Counter(e.data["key"] for e in events if e.type == "NotificationRequested")
    queued = Counter(m.key for m in store.outbox_for(stream_id))
    if requested != queued or any(n > 1 for n in requested.values()):
        problems.append(f"{stream_id}: outbox keys {dict(queued)} != requested {dict(requested)}")
    archived = "ComplaintArchived" in types
    if archived != (store.closure_record(stream_id) is not None):
        problems.append(f"{stream_id}: archived={archived} but closure record disagrees")
    return problems


class LogCounter:
    """How many events the global log holds, read incrementally (cheap to poll)."""

    def __init__(self, store: EventStore) -> None:
        self.store, self.position, self.count = store, 0, 0

    def __call__(self) -> int:
        while batch := self.store.read_all(after_position=self.position, limit=5000):
            self.position = batch[-1].position
            self.count += len(batch)
        return self.count


def duplicate_event_ids(store: EventStore) -> list[str]:
    everything: list[RecordedEvent] = store.read_all(limit=10_000_000)
    counts = Counter(e.event_id for e in everything)
    return [event_id for event_id, n in counts.items() if n > 1]


def assert_streams_exact(store: EventStore, expected: dict[str, list[str]]) -> int:
    """Check every stream in `expected` and the whole log; returns how many events it holds."""
    problems = [p for cid, types in expected.items() for p in stream_problems(store, cid, types)]
    shown = "\n".join(problems[:10])
    assert not problems, f"{len(problems)} problems in {len(expected)} streams, e.g.:\n{shown}"
    duplicates = duplicate_event_ids(store)
    assert not duplicates, f"event ids stored more than once: {duplicates[:10]}"
    return len(store.read_all(limit=10_000_000))
