"""Assignment that sees the team, on the time-skipping server with the real store (SQLite and
PostgreSQL): each new complaint goes to the least loaded member present, the one away gets none,
nobody present sends it to the team lead, and every ComplaintAssigned says why."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from activities.assignment import AssignmentActivities
from activities.events import EventActivities, stored_event
from activities.models import StampedEvent
from delivery.directory import load_directory
from domain import commands as c
from domain.access import Author
from domain.assignment import TeamLoad
from domain.decide import decide_with_state
from domain.policy import Team
from domain.presence import BadPeriod, local_day, presence_stream
from domain.state import ComplaintState, fold
from domain.vocabulary import Status
from engine.contracts import ContractBook
from engine.presence import AwayPeriods
from engine.worker_assembly import ACTIVITY_THREADS, build_worker
from entrypoints.cli import main
from store import (
    ComplaintList,
    ComplaintListProjection,
    EventStore,
    ProjectionRunner,
    make_engine,
    migrate,
)
from tests.keys import VAULT
from tests.unit.helpers import POLICY, registration
from tests.workflows.conftest import Harness
from workflows.complaint import decision_event_ids

# The charger on fire goes to team quality: three agents here.
THREE = POLICY.model_copy(
    update={
        "teams": {
            **POLICY.teams,
            "quality": Team(members=["agent.zhao", "agent.li", "agent.chen"]),
        }
    }
)
SUPERVISOR = Author(name="supervisor.wu", key_id="ck-0000000005a0", role="supervisor")
PARTIES = Path(__file__).resolve().parents[2] / "domain" / "default_parties.toml"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path):
    """The harness's store, on each backend: the load is read from the real read model."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'events.sqlite3'}")
    else:
        engine = make_engine(
            request.getfixturevalue("postgres_url"),
            schema=request.getfixturevalue("postgres_schema"),
        )
    migrate(engine)
    yield EventStore(engine, VAULT)
    engine.dispose()


@contextlib.asynccontextmanager
async def team_worker(env, store: EventStore, book: ContractBook):
    """A worker whose assignments read the parties files of `book`, as the ones
    engine.worker_assembly.serve runs do."""
    harness = Harness(env, env.client, f"tq-{uuid.uuid4().hex}", store, policy=book.default.policy)
    with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as pool:
        worker = build_worker(
            env.client, harness.task_queue, EventActivities(store), pool,
            assignment=AssignmentActivities(store, book),
        )  # fmt: skip
        async with worker:
            try:
                yield harness
            finally:
                await harness.stop_leftovers()


async def _register(harness) -> tuple[str, object]:
    sub = await harness.submit()
    await harness.wait_for(sub.handle, lambda s: s.status is not None)
    (assigned,) = [e for e in harness.events(sub.complaint_id) if e.type == "ComplaintAssigned"]
    return sub.handle, assigned


async def _projected(projector: ProjectionRunner, store: EventStore, resolved: int) -> None:
    """Run the projector until the list shows the resolutions: on a shared PostgreSQL another
    process's runner may hold the projection's lock for a round (it then skips, by design)."""
    listed = ComplaintList(store.engine)
    async with asyncio.timeout(20):
        while len(listed.page(status=Status.RESOLVED.value).items) < resolved:
            projector.run_to_end()
            await asyncio.sleep(0.05)


async def _today(harness) -> date:
    return local_day(await harness.env.get_current_time(), THREE.timezone)


async def test_load_balancing_across_three_agents_with_one_away(harness):
    harness.policy = THREE
    projector = ProjectionRunner(harness.store.engine, [ComplaintListProjection()])
    today = await _today(harness)
    until = today + timedelta(days=2)
    AwayPeriods(harness.store, ContractBook.serving(THREE)).mark(
        SUPERVISOR, "default", "agent.li", today, until
    )
    # Four in a row, the list not projected meanwhile (counted from the log): by load, ties by
    # name, never the one away.
    first = [await _register(harness) for _ in range(4)]
    assert [a.assignee for _, a in first] == ["agent.chen", "agent.zhao"] * 2
    assert first[2][1].reason == (
        "fewest open (1) among present agent.chen 1, agent.zhao 1; "
        f"agent.li away until {until.isoformat()}"
    )
    # Chen resolves both of theirs; the read model has it: chen holds none, zhao two.
    for handle, assigned in first:
        if assigned.assignee == "agent.chen":
            await harness.act(handle, c.Resolve(by="agent.chen", resolution="Replaced"))
    await _projected(projector, harness.store, resolved=2)
    later = [await _register(harness) for _ in range(3)]
    assert [a.assignee for _, a in later] == ["agent.chen", "agent.chen", "agent.chen"]
    assert later[0][1].reason == (
        "fewest open (0) among present agent.chen 0, agent.zhao 2; "
        f"agent.li away until {until.isoformat()}"
    )
    # The mark is a fact of its own stream, the supervisor's.
    (mark,) = harness.store.read_stream(presence_stream(None))
    assert (mark.type, mark.data["by"], mark.data["by_key"]) == (
        "AwayMarked",
        "supervisor.wu",
        "ck-0000000005a0",
    )


async def test_nobody_present_goes_to_the_team_lead_saying_so(env, store):
    today = local_day(await env.get_current_time(), POLICY.timezone)
    until = today + timedelta(days=30)
    away = "".join(
        f'[[away]]\nperson = "{m}"\nfrom = {today}\nuntil = {until}\n'
        for m in POLICY.teams["quality"].members
    )
    directory = load_directory(PARTIES.read_text(encoding="utf-8") + "\n" + away, POLICY)
    serving = ContractBook.serving(POLICY)
    book = ContractBook(serving.contracts, {"default": directory}, "default")
    async with team_worker(env, store, book) as harness:
        handle, assigned = await _register(harness)
        assert assigned.assignee == "lead.quality"
        assert assigned.reason == (
            f"nobody present (agent.chen away until {until}; agent.zhao away until {until}): "
            "to the team lead"
        )
        # The rest of its life as before: answered, resolved, rated, archived.
        await harness.act(handle, c.Respond(by="lead.quality", message="On it"))
        await harness.act(handle, c.Resolve(by="lead.quality", resolution="Replaced"))
        await harness.act(handle, c.RecordFeedback(rating=5))
        final = await handle.result()
        assert final.status is Status.ARCHIVED and final.assignee == "lead.quality"
        await harness.keep_history(handle, "assigned_to_lead_by_load")


async def test_bad_away_periods_are_refused_and_nothing_written(harness, tmp_path, monkeypatch):
    periods = AwayPeriods(harness.store, ContractBook.serving(POLICY))
    today = await _today(harness)
    with pytest.raises(BadPeriod, match="until: .* is before from") as refused:
        periods.mark(SUPERVISOR, "default", "agent.chen", today, today - timedelta(days=1))
    assert refused.value.rule == "ends_before_start"
    with pytest.raises(BadPeriod) as refused:
        periods.mark(SUPERVISOR, "default", "nobody", today, today)
    assert (refused.value.field, refused.value.rule) == ("person", "unknown_person")
    with pytest.raises(BadPeriod) as refused:
        periods.cancel(SUPERVISOR, "default", "agent.chen", today)
    assert refused.value.rule == "no_such_period"
    assert harness.store.read_stream(presence_stream(None)) == []


def test_the_cli_marks_lists_withdraws_and_refuses(tmp_path, monkeypatch, capsys):
    database = f"sqlite:///{tmp_path / 'events.sqlite3'}"
    monkeypatch.setenv("COMPLAINTS_DATABASE_URL", database)
    monkeypatch.setenv("COMPLAINTS_DATA_DIR", str(tmp_path))
    today = local_day(datetime.now(UTC), POLICY.timezone)  # the engine's clock, not the server's
    yesterday = today - timedelta(days=1)
    main(["away", "mark", "agent.chen", "--from", str(today), "--until", str(today), "--as", "sup"])
    main(["away", "list"])
    assert f"agent.chen               {today} .. {today}  (supervisor)" in capsys.readouterr().out
    for start, end, problem in [
        (yesterday, today - timedelta(days=3), "until: "),
        (yesterday - timedelta(days=1), yesterday, f"until: {yesterday} is in the past"),
    ]:
        with pytest.raises(SystemExit) as exit_:
            main(["away", "mark", "agent.zhao", "--from", str(start), "--until", str(end)])
        assert exit_.value.code == 2
        assert problem in capsys.readouterr().err
    main(["away", "withdraw", "agent.chen", "--from", str(today), "--as", "sup"])
    main(["away", "list", "--json"])
    assert capsys.readouterr().out.strip().endswith("[]")
    engine = make_engine(database)
    marks = EventStore(engine).read_stream(presence_stream(None))
    engine.dispose()
    assert [(m.type, m.data["by"]) for m in marks] == [
        ("AwayMarked", "sup"),
        ("AwayCancelled", "sup"),
    ]


async def test_a_lost_registration_is_adopted_with_the_assignment_it_committed(harness):
    """Its workflow task lost after the append, a registration reads the load again (now counting
    the complaint itself) and may choose someone else; its lost attempt's events are the record,
    recognised as its own (the load is no part of what names the decision) and adopted."""
    register = registration(cid=f"C-{uuid.uuid4().hex[:10]}")
    lost = register.model_copy(update={"team_load": TeamLoad(open={"agent.chen": 9})})
    events, _ = decide_with_state(
        ComplaintState(), lost, await harness.env.get_current_time(), POLICY
    )
    ids = decision_event_ids(register.complaint_id, 0, register.model_dump_json(), len(events))
    harness.store.append(
        register.complaint_id,
        0,
        [stored_event(StampedEvent(event_id=i, event=e)) for i, e in zip(ids, events, strict=True)],
    )

    sub = await harness.submit(register)
    state = await harness.wait_for(sub.handle, lambda s: s.status is not None)

    stored = harness.events(sub.complaint_id)
    assert [e.type for e in stored].count("ComplaintRegistered") == 1
    assert state.assignee == "agent.zhao"  # as committed; chen 9 was the lost attempt's view
    assert state.model_dump() == fold(stored).model_dump()
    # And it lives on (deciding the registration again on top of it would have failed the run).
    after = await harness.act(sub.handle, c.Respond(by="agent.zhao", message="On it"))
    assert after.version == len(harness.events(sub.complaint_id))
