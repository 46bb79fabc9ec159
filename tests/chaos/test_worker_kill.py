"""kill -9 the worker while 200 complaints are in flight, start it again: every complaint finishes
with exactly the events it should.

"Finishes" means: its workflow completed, and its stream ends with ComplaintClosed and
ComplaintArchived with a closure record stored. Every complaint takes the same path (see
driving.PATH_POLICY), so each stream must hold exactly the event types the pure domain decides
for that path: nothing lost, nothing doubled, versions 1..n, event ids unique in the whole log.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.client import WorkflowExecutionStatus

from store import EventStore, make_engine, migrate
from tests.chaos.checks import LogCounter, assert_streams_exact, expected_types
from tests.chaos.driving import PATH_ACTIONS, PATH_POLICY, take_paths
from tests.chaos.processes import wait_until

COMPLAINTS = 200
KILL_AT_SHARE = 0.4  # of all the events the run will write: registrations, actions and timers
INTAKE_CONCURRENCY = 20


async def test_kill_9_worker_with_200_complaints_in_flight(make_engine_under_test, tmp_path):
    url = f"sqlite:///{tmp_path / 'events.sqlite3'}"
    engine = make_engine(url)
    migrate(engine)
    store = EventStore(engine)
    e = await make_engine_under_test(PATH_POLICY, url)
    service = e.service(store)
    expected = expected_types(e.policy, PATH_ACTIONS, then_wait=timedelta(seconds=8))
    assert expected[-2:] == ["ComplaintClosed", "ComplaintArchived"]
    assert expected.count("DeadlineBreached") == 1

    worker = e.worker()
    worker.start()
    await worker.wait_started()
    drivers = take_paths(service, COMPLAINTS, INTAKE_CONCURRENCY)
    stored = LogCounter(store)
    try:
        total = COMPLAINTS * len(expected)
        await wait_until(
            lambda: stored() >= total * KILL_AT_SHARE,
            f"{KILL_AT_SHARE:.0%} of {total} events are stored",
            timeout=180,
            interval=0.05,
            also=worker.check_alive,
        )
        worker.kill()
        at_kill = stored()
        worker.start()
        await worker.wait_started()
        async with asyncio.timeout(300):
            ids = await asyncio.gather(*drivers)
    finally:
        for task in drivers:
            task.cancel()
    assert len(set(ids)) == COMPLAINTS

    await wait_until(
        lambda: all(store.closure_record(cid) is not None for cid in ids),
        f"all {COMPLAINTS} complaints are archived with a closure record",
        timeout=120,
        interval=0.5,
        also=worker.check_alive,
    )
    for cid in ids:
        description = await e.client.get_workflow_handle(cid).describe()
        assert description.status is WorkflowExecutionStatus.COMPLETED, (cid, description.status)
    events = assert_streams_exact(store, {cid: expected for cid in ids})

    # What the kill cut short, as the restarted worker saw it: figures, not assertions, since
    # whether an append is under way at the instant of a kill is chance.
    retried = worker.logged(
        lambda line: line.get("event") == "events appended" and line.get("attempt", 1) > 1,
        run=2,
    )
    committed_before_kill = [line for line in retried if line.get("written") == 0]
    print(
        f"\n{COMPLAINTS} complaints, {events} events; killed at {at_kill} events; "
        f"{len(retried)} appends retried after the kill, "
        f"{len(committed_before_kill)} of them had committed before it"
    )
    engine.dispose()
