"""A complaint belongs to one contract: intake pins the contract and its terms' version in the
registration, the workflow decides by that contract's policy, and the search attribute and the
read models name it."""

from datetime import timedelta
from pathlib import Path

import pytest

from domain import commands as c
from domain.contracts import UnknownContract
from domain.vocabulary import DeadlineKind
from engine.contracts import load_contracts
from engine.service import ActionRefused, ComplaintService
from store.complaint_list import ComplaintList, ComplaintListProjection
from store.projections import ProjectionRunner
from store.report_model import ReportFacts, ReportProjection
from tests.unit.helpers import CUSTOMER
from workflows.search import CONTRACT

EXAMPLE = Path(__file__).resolve().parents[2] / "contracts" / "example" / "contracts.toml"
BOOK = load_contracts(EXAMPLE)


def outage(contract: str | None) -> c.Submission:
    return c.Submission(
        channel="web",
        subject="No power",
        description="A blackout since this morning",
        customer=CUSTOMER,
        contract=contract,
    )


@pytest.fixture
def service(harness):
    return ComplaintService(harness.client, harness.task_queue, BOOK, harness.store)


async def test_each_complaint_keeps_its_contracts_terms(service, harness):
    globex = (await service.submit(outage("globex"), scope="cli")).state
    acme = (await service.submit(outage(None), scope="cli")).state  # the default contract
    for state in (globex, acme):
        harness.started.append(harness.client.get_workflow_handle(state.complaint_id))

    # Globex's rules know an outage (tier 3, 15 minutes to a first response); ACME's do not.
    assert (globex.contract, globex.policy_version) == ("globex", BOOK.of("globex").version)
    assert (globex.category, globex.tier, globex.team) == ("outage", 3, "field")
    first = globex.deadline(DeadlineKind.FIRST_RESPONSE)
    assert first.due_at - globex.received_at == timedelta(minutes=15)
    assert (acme.contract, acme.policy_version) == ("acme", BOOK.of("acme").version)
    assert acme.category == "other" and acme.tier == 1

    registered = harness.store.read_stream(globex.complaint_id)[0]
    assert (registered.data["contract"], registered.data["policy_version"]) == (
        "globex",
        BOOK.of("globex").version,
    )
    described = await harness.client.get_workflow_handle(globex.complaint_id).describe()
    assert described.typed_search_attributes.get(CONTRACT) == "globex"

    ProjectionRunner(
        harness.store.engine, [ComplaintListProjection(), ReportProjection()]
    ).run_once()
    listed = {i.complaint_id: i.contract for i in ComplaintList(harness.store.engine).page().items}
    assert listed == {globex.complaint_id: "globex", acme.complaint_id: "acme"}
    start, end = globex.received_at - timedelta(hours=1), globex.received_at + timedelta(hours=1)
    facts = ReportFacts(harness.store.engine).received_between(start, end)
    assert {f.complaint_id: f.contract for f in facts} == listed


async def test_reclassifying_takes_only_the_contracts_own_categories(service, harness):
    state = (await service.submit(outage("globex"), scope="cli")).state
    harness.started.append(harness.client.get_workflow_handle(state.complaint_id))
    with pytest.raises(ActionRefused, match="'delivery' is not one of this contract's") as no:
        await service.act(
            state.complaint_id,
            c.Reclassify(by="sup", tier=2, category="delivery", reason="a parcel, not power"),
        )
    assert no.value.field == "category"
    moved = await service.act(
        state.complaint_id, c.Reclassify(by="sup", tier=2, category="meter", reason="a meter")
    )
    assert (moved.category, moved.tier) == ("meter", 2)


async def test_a_complaint_for_a_contract_not_served_is_refused_before_anything_is_written(
    service, harness
):
    with pytest.raises(UnknownContract, match="contract 'initech' is not served here"):
        await service.submit(outage("initech"), idempotency_key="k1", scope="cli")
    with harness.store.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM intake_keys").scalar() == 0
        assert connection.exec_driver_sql("SELECT count(*) FROM events").scalar() == 0
