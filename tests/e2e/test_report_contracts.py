"""Reports per contract over real HTTP: a deployment serving the example's two clients (ACME in
Shanghai, Globex in Berlin), its API under uvicorn with a real key file, the report read models
built from the hand-made stories. A key of some contracts reads only theirs; asking for another
contract is answered like asking for one that does not exist (404), in every report surface."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.keys import KeyRing, append_entry, new_key
from engine.contracts import load_contracts
from engine.service import ComplaintService
from store import ComplaintList, EventStore, ProjectionRunner, make_engine, migrate
from store.report_model import ReportProjection
from tests.e2e.conftest import bearer, customer_links, serving
from tests.keys import VAULT
from tests.unit.report_stories import WEDNESDAY, append_all, decisions, globex_decisions

EXAMPLE = Path(__file__).resolve().parents[2] / "contracts" / "example" / "contracts.toml"
BOOK = load_contracts(EXAMPLE)
RANGE = {"from": "2026-11-23", "to": "2026-12-06"}
SLA, LEDGER, PAGE = "/api/reports/sla", "/api/reports/deadlines", "/reports"
# name -> (role, team, contracts); None: every contract (provider level)
HOLDERS = {
    "provider": ("supervisor", "", None),
    "acme.supervisor": ("supervisor", "", ["acme"]),
    "globex.admin": ("admin", "", ["globex"]),
    "acme.agent": ("agent", "quality", ["acme"]),
}


@pytest.fixture(scope="module")
async def deployment(temporal, tmp_path_factory) -> AsyncIterator[tuple[str, dict[str, str]]]:
    """(base URL, key by holder) of an API serving both contracts."""
    where = tmp_path_factory.mktemp("contracts")
    engine = make_engine(f"sqlite:///{where / 'events.sqlite3'}")
    migrate(engine)
    store = EventStore(engine, VAULT)
    append_all(
        store, decisions(WEDNESDAY, "A-", BOOK.of("acme")) | globex_decisions(BOOK.of("globex"))
    )
    ProjectionRunner(engine, [ReportProjection()]).run_to_end()
    keys = {}
    for name, (role, team, contracts) in HOLDERS.items():
        keys[name], entry = new_key(name, role, team, contracts)
        append_entry(where / "api_keys.toml", entry)
    # The reports read only the store; the service's client and queue are never called here.
    service = ComplaintService(temporal.client, "reports-only", BOOK, store)
    app = create_app(
        service,
        complaint_list=ComplaintList(engine),
        api_keys=KeyRing(where / "api_keys.toml"),
        links=customer_links(store),
    )
    try:
        async with serving(app) as url:
            yield url, keys
    finally:
        engine.dispose()


async def get(deployment, holder: str, path: str, **params) -> httpx.Response:
    url, keys = deployment
    async with httpx.AsyncClient(base_url=url, timeout=20, headers=bearer(keys[holder])) as http:
        return await http.get(path, params=RANGE | params)


async def test_a_provider_level_key_groups_by_contract(deployment) -> None:
    got = (await get(deployment, "provider", SLA, group_by="contract")).json()
    assert (got["timezone"], got["timezone_of"], got["contract"]) == ("Asia/Shanghai", "acme", None)
    assert [(r["period"], r["group"], r["contract_name"], r["volume"]) for r in got["rows"]] == [
        ("2026-W48", "acme", "ACME Retail (China)", 4),
        ("2026-W48", "globex", "Globex Energy (Germany)", 1),
        ("2026-W49", "acme", "ACME Retail (China)", 1),
        ("2026-W49", "globex", "Globex Energy (Germany)", 2),
    ]
    acme_w48 = got["rows"][0]["targets"]
    assert [(t["target"], t["promised"], t["status"]) for t in acme_w48] == [
        ("first_contact_resolution", 0.7, "missed"),
        ("csat", 4.2, "missed"),
        ("resolution_rate", 0.9, "missed"),
        ("first_response_in_time", 0.95, "missed"),
    ]
    one = (await get(deployment, "provider", SLA, contract="globex", group_by="all")).json()
    assert (one["timezone"], [r["volume"] for r in one["rows"]]) == ("Europe/Berlin", [2, 1])


async def test_a_key_of_one_contract_reads_only_its_own(deployment) -> None:
    got = (await get(deployment, "acme.supervisor", SLA, group_by="contract")).json()
    assert {r["group"] for r in got["rows"]} == {"acme"}
    assert (got["contract"], got["timezone"]) == ("acme", "Asia/Shanghai")
    ledger = (await get(deployment, "acme.supervisor", LEDGER)).json()
    assert ledger["items"] and {i["contract"] for i in ledger["items"]} == {"acme"}
    globex = (await get(deployment, "globex.admin", SLA, group_by="tier")).json()
    assert (globex["timezone"], sum(r["volume"] for r in globex["rows"])) == ("Europe/Berlin", 3)
    page = await get(deployment, "acme.supervisor", PAGE, group_by="contract")
    assert page.status_code == 200 and "Globex" not in page.text
    assert 'data-contract="acme"' in page.text


@pytest.mark.parametrize(
    ("holder", "asked"),
    [
        ("acme.supervisor", "globex"),  # another client's
        ("acme.supervisor", "initech"),  # one that does not exist: the same answer
        ("globex.admin", "acme"),
        ("provider", "initech"),
    ],
)
@pytest.mark.parametrize(
    ("path", "params"),
    [(SLA, {}), (SLA, {"format": "csv"}), (LEDGER, {}), (PAGE, {})],
)
async def test_another_or_an_unknown_contract_is_not_found(
    deployment, holder, asked, path, params
) -> None:
    response = await get(deployment, holder, path, contract=asked, **params)
    assert response.status_code == 404, response.text
    if path == PAGE:
        assert f"no contract &#39;{asked}&#39;" in response.text
        assert 'id="figures"' not in response.text
        return
    assert response.json() == {
        "error": f"contract: no contract '{asked}'",
        "detail": [
            {
                "field": "contract",
                "rule": "not_found",
                "message": f"contract: no contract '{asked}'",
            }
        ],
    }


async def test_an_agent_reads_no_report_of_its_own_contract_either(deployment) -> None:
    for path in (SLA, LEDGER):
        response = await get(deployment, "acme.agent", path, contract="acme")
        assert response.status_code == 403
        assert response.json()["detail"][0]["field"] == "role"


async def test_the_page_shows_each_rows_targets(deployment) -> None:
    page = await get(deployment, "provider", PAGE, contract="globex", group_by="all")
    assert page.status_code == 200
    assert "Europe/Berlin, contract globex&#39;s time zone" in page.text
    assert '<select name="contract">' in page.text  # a provider chooses among the contracts
    assert (
        '<span class="badge target missed" data-target="first_response_in_time">'
        "first_response_in_time 50% vs 90% MISSED</span>"
    ) in page.text
    assert page.text.count('class="badge target no_data"') == 3  # week 49: G-3, nothing settled
    mine = await get(deployment, "acme.supervisor", PAGE)
    assert '<select name="contract">' not in mine.text  # one contract: nothing to choose
