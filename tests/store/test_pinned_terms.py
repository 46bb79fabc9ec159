"""The complaint list says which terms' version each running complaint is on (what
`complaints contracts` counts and amends), on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Engine

from domain import commands as c
from store import ComplaintList, ComplaintListProjection, EventStore, ProjectionRunner
from store.complaint_list import PinnedTerms
from tests.store.test_projections import at, decisions, write_interleaved
from tests.unit.helpers import POLICY, Story, registration


def test_the_running_complaints_and_their_versions(engine: Engine, store: EventStore) -> None:
    streams = decisions()  # C-4 is closed; the others run, registered before versions
    story = Story()
    pinned = registration("My parcel is late", cid="C-7").model_copy(
        update={"contract": "acme", "policy_version": "v1"}
    )
    made = [story.when(pinned, at(0))]
    made.append(
        story.when(c.AmendPolicy(contract="acme", version="v2", policy=POLICY, by="ops"), at(9))
    )
    streams["C-7"] = made
    write_interleaved(store, streams)
    ProjectionRunner(engine, [ComplaintListProjection()]).run_to_end(batch=4)

    listed = ComplaintList(engine)
    assert listed.not_closed("acme") == [PinnedTerms("C-7", "acme", "open", "v2")]
    running = listed.not_closed()
    assert [p.complaint_id for p in running] == ["C-1", "C-2", "C-3", "C-5", "C-6", "C-7"]
    assert {p.contract for p in running[:-1]} == {"default"}
    assert {p.policy_version for p in running[:-1]} == {None}
    assert listed.not_closed("globex") == []
