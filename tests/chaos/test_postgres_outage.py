"""PostgreSQL away for 20 s while complaints are being appended: the append activities fail,
Temporal retries them, and once the database is back every complaint finishes with exactly the
events it should, nothing lost, nothing doubled.

The machine's PostgreSQL is shared with other test runs, so it is not stopped: the worker
reaches it through a TCP proxy that the test cuts (new connections refused, open ones reset)
and restores. The worker gets a schema of its own through the search_path option of its URL.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import make_url

from store import EventStore, make_engine, migrate
from tests.chaos.checks import LogCounter, assert_streams_exact, expected_types
from tests.chaos.driving import PATH_ACTIONS, PATH_POLICY, take_paths
from tests.chaos.processes import wait_until
from tests.chaos.proxy import TcpProxy

COMPLAINTS = 60
CUT_AT_SHARE = 0.3  # of all the events the run will write
OUTAGE = 20.0  # seconds


def through(proxy: TcpProxy, url: str, schema: str) -> str:
    """The URL of the test database, but via the proxy and in `schema` (psycopg2 takes the
    server's `options` from the URL's query, as COMPLAINTS_DATABASE_URL can carry it)."""
    return (
        make_url(url)
        .set(host="127.0.0.1", port=proxy.port, query={"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )


def failed_attempts(line: dict) -> bool:
    return str(line.get("event", "")).startswith("Completing activity as failed")


async def test_postgres_away_for_20_s_during_appends(
    postgres_url, postgres_schema, make_engine_under_test
):
    # (In this order, the workers are gone before the schema is dropped.)
    upstream = make_url(postgres_url)
    proxy = TcpProxy((upstream.host or "127.0.0.1", upstream.port or 5432))
    proxy.start()
    engine = make_engine(postgres_url, schema=postgres_schema)  # the test's own way in: direct
    try:
        migrate(engine)
        store = EventStore(engine)
        e = await make_engine_under_test(PATH_POLICY, through(proxy, postgres_url, postgres_schema))
        service = e.service(store)
        expected = expected_types(e.policy, PATH_ACTIONS, then_wait=timedelta(seconds=8))
        worker = e.worker()
        worker.start()
        await worker.wait_started()

        drivers = take_paths(service, COMPLAINTS, concurrency=20)
        stored = LogCounter(store)
        try:
            total = COMPLAINTS * len(expected)
            await wait_until(
                lambda: stored() >= total * CUT_AT_SHARE,
                f"{CUT_AT_SHARE:.0%} of {total} events are stored",
                timeout=120,
                interval=0.05,
                also=worker.check_alive,
            )
            proxy.cut()
            # A COMMIT already on the wire when the cut came may still land; after that, nothing.
            await asyncio.sleep(1)
            at_cut = stored()
            await asyncio.sleep(OUTAGE - 1)
            during = stored() - at_cut
            proxy.restore()
            async with asyncio.timeout(300):
                ids = await asyncio.gather(*drivers)
        finally:
            for task in drivers:
                task.cancel()
        assert during == 0, f"{during} events were stored while the worker's database was cut"

        await wait_until(
            lambda: all(store.closure_record(cid) is not None for cid in ids),
            f"all {COMPLAINTS} complaints are archived with a closure record",
            timeout=120,
            interval=0.5,
            also=worker.check_alive,
        )
        events = assert_streams_exact(store, {cid: expected for cid in ids})

        failed = worker.logged(failed_attempts)
        retried = worker.logged(
            lambda line: line.get("event") == "events appended" and line.get("attempt", 1) > 1
        )
        assert failed, "no append failed during the outage: the cut missed the appends"
        assert retried, "no append succeeded on a retry"
        print(
            f"\n{COMPLAINTS} complaints, {events} events; cut at {at_cut} events for "
            f"{OUTAGE:.0f} s; {len(failed)} failed activity attempts; {len(retried)} appends "
            f"succeeded on a retry ({sum(1 for r in retried if r.get('written') == 0)} of them "
            f"found their events already committed); proxy connections: {proxy.accepted}"
        )
    finally:
        proxy.stop()
        engine.dispose()
