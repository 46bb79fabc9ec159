"""Five recorded complaints whose every report figure is worked out by hand in the tests
(tests/store/test_report_model.py, tests/unit/test_simulate.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

from domain import commands as c
from domain.contracts import Contract
from domain.events import Event, split_personal
from store import EventStore, NewEvent
from tests.unit.helpers import POLICY, T0, Story, minutes, registration

WEDNESDAY = T0  # 2026-11-25 10:00 Shanghai, in week 2026-W48


def at(start: datetime, offset_minutes: float) -> datetime:
    return start + minutes(offset_minutes)


Steps = tuple[c.Command, float]


def _runner(out: dict[str, list[list[Event]]], prefix: str, contract: Contract | None):
    """Runs one complaint's story into `out`: registered at `start` (under `contract`, pinning
    its terms, if given), each step at minutes after."""
    policy = contract.policy if contract else POLICY
    pinned = {"contract": contract.id, "policy_version": contract.version} if contract else {}

    def run(cid: str, text: str, start: datetime, *steps: Steps) -> None:
        story = Story(policy)
        cid = prefix + cid
        register = registration(text, cid=cid, received_at=start).model_copy(update=pinned)
        made = [story.when(register, start)]
        made += [story.when(command, at(start, when)) for command, when in steps]
        out[cid] = [d for d in made if d]

    return run


def decisions(
    wednesday: datetime = WEDNESDAY, prefix: str = "C-", contract: Contract | None = None
) -> dict[str, list[list[Event]]]:
    """Five complaints received from `wednesday` (10:00 on a working Wednesday) on, each step
    at minutes after its own receipt; comments say what each contributes to the figures.
    `contract`: registered under that contract (on the default policy's terms, like the
    example's acme) instead of none."""
    next_monday = wednesday + timedelta(days=5)
    out: dict[str, list[list[Event]]] = {}
    run = _runner(out, prefix, contract)

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


BERLIN = ZoneInfo("Europe/Berlin")


def globex_decisions(globex: Contract, prefix: str = "G-") -> dict[str, list[list[Event]]]:
    """Three complaints of the example's Globex (Berlin, 08:00-17:00; tier 2 answers within
    4 working hours, tier 3 within 15 minutes), worked out by hand in the contract report tests
    (tests/store/test_report_contracts.py)."""
    out: dict[str, list[list[Event]]] = {}
    run = _runner(out, prefix, globex)
    agent = "globex.anna"
    # 1: tier 3 outage (team field), received Sunday 23:30 in Berlin: week 2026-W48 there, but
    # Monday 06:30 in Shanghai, week 2026-W49. Everything in time; rating 5.
    run(
        "1",
        "No power since the evening",
        datetime(2026, 11, 29, 23, 30, tzinfo=BERLIN),
        (c.Respond(by=agent, message="A crew is on its way"), 10),
        (c.Resolve(by=agent, resolution="Power restored"), 50),
        (c.RecordFeedback(rating=5), 60),
    )
    # 2: tier 2 billing (team accounts), Wednesday 10:00: the first response due at 14:00 is
    # breached (escalated), answered at 15:00, resolved in time at 16:00; rating 3.
    run(
        "2",
        "My bill is wrong",
        datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN),
        (c.Tick(), 241),
        (c.Respond(by=agent, message="Checking the invoice"), 300),
        (c.Resolve(by=agent, resolution="Corrected"), 360),
        (c.RecordFeedback(rating=3), 370),
    )
    # 3: tier 2 meter, the next Wednesday; nothing done yet, nothing settled.
    run("3", "The meter reading is wrong", datetime(2026, 12, 2, 10, 0, tzinfo=BERLIN))
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
