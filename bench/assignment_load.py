"""What reading a team's load costs a new complaint as the complaints held grow.

Every registration first reads its team as it stands (activities.assignment.team_load: the
complaints each member holds, who is away). This registers N complaints under the default
policy in a throw-away store (the domain's own decisions, appended and projected as the engine
does), then times team_load on the store as migrated, and again with the complaint list's
workload index dropped: the reference, as the count was read before the index. Both on the same
store in the same run; CPU per call of this thread. The last U complaints (--unprojected) are
registered after the projector's last run, as a burst of intake finds the list: those the
count reads from the log.

    .venv/bin/python bench/assignment_load.py [-n 10000] [--unprojected 40] [--calls 300]
        [--database-url URL]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from activities.assignment import AssignmentActivities  # noqa: E402
from activities.events import stored_event  # noqa: E402
from activities.models import StampedEvent, TeamLoadRequest  # noqa: E402
from domain import commands as c  # noqa: E402
from domain.decide import decide  # noqa: E402
from domain.events import ComplaintAssigned, SealedPersonal  # noqa: E402
from domain.policy import parse_policy  # noqa: E402
from domain.state import ComplaintState  # noqa: E402
from engine.composition import build_projector  # noqa: E402
from engine.settings import DEFAULT_POLICY  # noqa: E402
from store import EventStore, make_engine, migrate  # noqa: E402

INDEX = "ix_complaint_list_workload"
# As intake hands the workflow its customer: sealed (never opened here, so any envelope does).
SEALED = SealedPersonal(key="bench-key", sealed="AAAA")


def register(store: EventStore, policy, numbers: range) -> str:
    """Complaints `numbers`, each registered and assigned as the workflow would; returns their
    team."""
    now, team = datetime.now(UTC), ""
    for i in numbers:
        registration = c.Register(
            complaint_id=f"bench-{i}", channel="web", subject="Kettle",
            description="The kettle caught fire", customer=SEALED,
        )  # fmt: skip
        events = decide(ComplaintState(), registration, now, policy)
        team = next(e.team for e in events if isinstance(e, ComplaintAssigned))
        stamped = [StampedEvent(event_id=str(uuid.uuid4()), event=e) for e in events]
        store.append(registration.complaint_id, 0, [stored_event(s) for s in stamped])
        if (i + 1) % 2000 == 0:
            print(f"  {i + 1} of {numbers.stop} registered", flush=True)
    return team


def per_call(activities: AssignmentActivities, request: TeamLoadRequest, calls: int) -> float:
    activities.team_load(request)  # the statements compiled, the pages read once
    start = time.thread_time()
    for _ in range(calls):
        activities.team_load(request)
    return (time.thread_time() - start) / calls * 1000


def main(n: int, unprojected: int, calls: int, database_url: str | None) -> None:
    if database_url is not None:
        measure(n, unprojected, calls, database_url)
        return
    data = Path(tempfile.mkdtemp(prefix="bench-load-"))
    try:
        measure(n, unprojected, calls, f"sqlite:///{data / 'events.sqlite3'}")
    finally:
        shutil.rmtree(data, ignore_errors=True)


def measure(n: int, unprojected: int, calls: int, url: str) -> None:
    engine = make_engine(url)
    migrate(engine)
    store = EventStore(engine)
    policy = parse_policy(DEFAULT_POLICY.read_text())
    team = register(store, policy, range(n - unprojected))
    build_projector(engine).run_to_end()
    register(store, policy, range(n - unprojected, n))
    request = TeamLoadRequest(contract=None, team=team, members=policy.teams[team].members)
    activities = AssignmentActivities(store)
    held = sum(activities.team_load(request).open.values())
    with_index = per_call(activities, request, calls)
    with engine.begin() as connection:
        connection.execute(text(f"DROP INDEX {INDEX}"))
    without = per_call(activities, request, calls)
    print(
        f"team_load, {held} complaints held by team {team!r}, {unprojected} of them not yet"
        f" in the list ({engine.dialect.name}):"
    )
    print(f"  with the workload index    {with_index:6.2f} ms CPU per call")
    ratio = without / with_index
    print(f"  without it (the reference) {without:6.2f} ms CPU per call: {ratio:.1f}x")
    engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000, help="complaints registered first")
    parser.add_argument(
        "--unprojected",
        type=int,
        default=40,
        help="of them, registered after the projector's last run (default: a second's burst)",
    )
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument(
        "--database-url", help="an empty database to use (default: a throw-away SQLite file)"
    )
    args = parser.parse_args()
    if not 0 <= args.unprojected <= args.n:
        parser.error("--unprojected: between 0 and -n")
    main(args.n, args.unprojected, args.calls, args.database_url)
