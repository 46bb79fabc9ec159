"""Five recorded complaints whose every report figure is worked out by hand in the tests
(tests/store/test_report_model.py, tests/unit/test_simulate.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import uuid4

from domain import commands as c
from domain.events import Event, split_personal
from store import EventStore, NewEvent
from tests.unit.helpers import T0, Story, minutes, registration

WEDNESDAY = T0  # 2026-11-25 10:00 Shanghai, in week 2026-W48


def at(start: datetime, offset_minutes: float) -> datetime:
    return start + minutes(offset_minutes)


def decisions(wednesday: datetime = WEDNESDAY, prefix: str = "C-") -> dict[str, list[list[Event]]]:
    """Five complaints received from `wednesday` (10:00 on a working Wednesday) on, each step
    at minutes after its own receipt; comments say what each contributes to the figures."""
    next_monday = wednesday + timedelta(days=5)
    out: dict[str, list[list[Event]]] = {}

    def run(cid: str, text: str, start: datetime, *steps: tuple[c.Command, float]) -> None:
        story = Story()
        cid = prefix + cid
        made = [story.when(registration(text, cid=cid, received_at=start), start)]
        made += [story.when(command, at(start, when)) for command, when in steps]
        out[cid] = [d for d in made if d]

    agent = "agent.chen"
    # A: tier 3, quality; everything in time; rating 5. First-contact resolution.
    run(
        "A",
        "The charger caught fire",
        wednesday,
        (c.Respond(by=agent, message="Calling you"), 5),
        (c.GiveInitialSolution(by=agent, solution="Unplug it"), 20),
        (c.Resolve(by=agent, resolution="Replaced"), 60),
        (c.RecordFeedback(rating=5), 70),
    )
    # B: tier 3, quality; first response and initial solution breached (escalated), resolved
    # in time at +2h; rating 2.
    run(
        "B",
        "Smoke came out of the kettle",
        at(wednesday, 1),
        (c.Tick(), 11),
        (c.Respond(by=agent, message="Sorry"), 15),
        (c.Tick(), 31),
        (c.Resolve(by=agent, resolution="Refund"), 120),
        (c.RecordFeedback(rating=2), 130),
    )
    # C: tier 2, logistics; answered and resolved in time, reopened, resolved again; rating 3.
    run(
        "C",
        "My parcel is late",
        at(wednesday, 2),
        (c.Respond(by="agent.wang", message="Checking"), 30),
        (c.Resolve(by="agent.wang", resolution="Delivered"), 180),
        (c.Reopen(reason="Not delivered"), 240),
        (c.Resolve(by="agent.wang", resolution="Delivered now"), 300),
        (c.RecordFeedback(rating=3), 310),
    )
    # D: tier 1, customer service; the 30-minute resolution breached, resolved at +40m.
    run(
        "D",
        "How do i change my address",
        at(wednesday, 3),
        (c.Tick(), 31),
        (c.Resolve(by="agent.zhang", resolution="Like this"), 40),
    )
    # E: next week, tier 3, quality; still open, first response met at +4m.
    run(
        "E",
        "The heater caught fire",
        next_monday,
        (c.Respond(by=agent, message="On it"), 4),
    )
    return out


def append_all(store: EventStore, streams: dict[str, list[list[Event]]]) -> None:
    # One decision per complaint in turn, so streams interleave and batches cut through them.
    for n in range(max(len(d) for d in streams.values())):
        for cid, made in streams.items():
            if n < len(made):
                new = []
                for event in made[n]:
                    data, personal = split_personal(event)
                    new.append(NewEvent(str(uuid4()), event.type, data, personal, event.at))
                store.append(cid, store.stream_version(cid), new)
