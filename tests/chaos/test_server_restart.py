"""Stop the Temporal dev server (state in its SQLite file) with open complaints, let their
deadlines pass while it is down, start it again: every missed deadline fires once.

Half the complaints are left alone, so both their first-response (30 s) and initial-solution
(40 s) deadlines pass during the outage; the other half are answered before it, so only their
initial-solution deadline does. On restart each missed deadline must be recorded exactly once, as
a DeadlineBreached carrying its original due time (so the record shows how late it was), each
escalating one level up the chain with one notification; the 80 % warnings, which also fell in
the outage, are recorded late and sent to nobody. The worker keeps running throughout, as it would
in production while its server is away.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from store import EventStore, make_engine, migrate
from tests.chaos.checks import assert_streams_exact, expected_types
from tests.chaos.conftest import policy_toml
from tests.chaos.driving import RESPOND, submit
from tests.chaos.processes import wait_until

PER_GROUP = 15
FIRST_RESPONSE, INITIAL_SOLUTION = timedelta(seconds=30), timedelta(seconds=40)
POLICY = policy_toml(
    tier3={
        "acknowledge": "0m",
        "first_response": "30s",
        "initial_solution": "40s",
        "resolution": "1h",
    },
)


def scheduled(store: EventStore, cid: str) -> dict[str, dict]:
    """The complaint's deadlines as registration scheduled them, by kind."""
    first = next(e for e in store.read_stream(cid) if e.type == "DeadlinesScheduled")
    return {d["kind"]: d for d in first.data["deadlines"]}


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


async def test_deadlines_missed_while_the_server_is_down_fire_once(
    make_engine_under_test, tmp_path
):
    url = f"sqlite:///{tmp_path / 'events.sqlite3'}"
    engine = make_engine(url)
    migrate(engine)
    store = EventStore(engine)
    e = await make_engine_under_test(POLICY, url)
    service = e.service(store)
    worker = e.worker()
    worker.start()
    await worker.wait_started()

    run = uuid.uuid4().hex[:8]
    ids = await asyncio.gather(*(submit(service, f"{run}-{i}") for i in range(2 * PER_GROUP)))
    alone, answered = ids[:PER_GROUP], ids[PER_GROUP:]
    await asyncio.gather(*(service.act(cid, RESPOND) for cid in answered))

    e.server.stop()
    stopped_at = datetime.now(UTC)
    deadlines = {cid: scheduled(store, cid) for cid in ids}
    earliest_warning = min(
        instant(d["warn_at"]) for ds in deadlines.values() for d in ds.values() if d["warn_at"]
    )
    assert earliest_warning > stopped_at, (
        f"setup too slow: a deadline warning was due at {earliest_warning} but the server only "
        f"stopped at {stopped_at}; nothing would have been missed during the outage"
    )
    last_due = max(instant(ds["initial_solution"]["due_at"]) for ds in deadlines.values())
    await asyncio.sleep((last_due - datetime.now(UTC)).total_seconds() + 2)

    restarted_at = datetime.now(UTC)
    e.client = await e.server.start(e.client_settings)
    service = e.service(store)
    expected_alone = expected_types(
        e.policy, [], then_wait=timedelta(seconds=10), nothing_runs_until=INITIAL_SOLUTION * 2
    )
    expected_answered = expected_types(
        e.policy,
        [RESPOND],
        then_wait=timedelta(seconds=10),
        nothing_runs_until=INITIAL_SOLUTION * 2,
    )
    assert expected_alone.count("DeadlineBreached") == 2
    assert expected_answered.count("DeadlineBreached") == 1
    # The warnings the outage made late are still recorded (late, telling nobody).
    assert expected_alone.count("DeadlineWarningIssued") == 2
    assert expected_answered.count("DeadlineWarningIssued") == 1
    expected = {cid: expected_alone for cid in alone} | {cid: expected_answered for cid in answered}

    def breaches_recorded() -> bool:
        return all(len(store.read_stream(cid)) >= len(types) for cid, types in expected.items())

    await wait_until(
        breaches_recorded,
        f"every missed deadline of {len(ids)} complaints is recorded after the restart",
        timeout=120,
        interval=0.5,
        also=worker.check_alive,
    )
    # A deadline firing twice would show up as more events; give a repeat the time to appear.
    await asyncio.sleep(3)
    assert_streams_exact(store, expected)

    for cid in ids:
        events = store.read_stream(cid)
        breaches = [ev for ev in events if ev.type == "DeadlineBreached"]
        for breach in breaches:
            due = instant(breach.data["due_at"])
            assert due == instant(deadlines[cid][breach.data["kind"]]["due_at"]), breach.data
            assert stopped_at < due < restarted_at, (cid, breach.data, stopped_at, restarted_at)
            assert breach.occurred_at >= restarted_at, (cid, breach.data, breach.occurred_at)
        levels = [ev.data["level"] for ev in events if ev.type == "ComplaintEscalated"]
        assert levels == ([1, 2] if cid in alone else [1]), (cid, levels)
        state = await service.state(cid)
        assert state.escalation_level == len(levels) and state.status.value == "open"
    print(
        f"\n{len(ids)} complaints; server down {(restarted_at - stopped_at).total_seconds():.0f} s;"
        f" {sum(len(store.read_stream(cid)) for cid in ids)} events; "
        f"{len(alone) * 2 + len(answered)} missed deadlines, each fired once"
    )
    engine.dispose()
