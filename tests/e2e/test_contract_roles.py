"""Keys scoped to client contracts, over real HTTP on the example's two contracts (ACME and
Globex; tests/e2e/conftest.py, contracts_stack): every denial. Another contract's complaint
answers exactly as an id that does not exist, on every door; intake goes only where the key
may; nothing refused writes anything."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from base64 import b64encode
from dataclasses import replace
from pathlib import Path

import pytest

from api.app import create_app
from api.keys import KeyRing
from api.pages import form_path
from api.rate_limit import RateLimiter
from engine.contracts import load_contracts
from engine.service import ComplaintService
from store import EventStore, make_engine, migrate
from tests.e2e.conftest import EXAMPLE_CONTRACTS, Stack, bearer, form, page_client, serving
from tests.keys import KEYS, VAULT

FIRE = form()  # ACME: product safety, tier 3, team quality
OUTAGE = form(subject="Stromausfall", description="No power in the whole street since noon")
COMPLAINTS = Path(sys.executable).parent / "complaints"
NOBODY = "C-AAAAAAAAAAAA"  # an id nothing has
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def call(stack: Stack, holder: str, method: str, path: str, **request):
    """A request as `holder` (from the site's own page, for the pages' form posts), and how many
    events the store gained meanwhile."""
    async with page_client(stack.url, headers=bearer(stack.keys[holder])) as http:
        before = stack.event_count()
        response = await http.request(method, path, **request)
        return response, stack.event_count() - before


async def submitted(stack: Stack, holder: str, body: dict) -> dict:
    response, _ = await call(stack, holder, "POST", "/api/complaints", json=body)
    assert response.status_code == 201, response.text
    stack.complaint_ids.add(response.json()["id"])
    return response.json()


@pytest.fixture(scope="module")
async def acme(contracts_stack: Stack) -> str:
    made = await submitted(contracts_stack, "intake.acme", FIRE)
    assert made["contract"] == "acme" and made["team"] == "quality"
    return made["id"]


@pytest.fixture(scope="module")
async def globex(contracts_stack: Stack) -> str:
    """Globex's outage, with a photo the customer added on their page."""
    stack = contracts_stack
    made = await submitted(stack, "intake.globex", OUTAGE)
    assert made["contract"] == "globex"
    async with page_client(stack.url) as customer:
        added = await customer.post(
            stack.customer_path(made["id"]) + "/attach",
            files={"file": ("street.png", PNG, "image/png")},
        )
    assert added.status_code == 303, added.text
    return made["id"]


def doors(cid: str) -> list[tuple[str, str, dict]]:
    """Every API door to one complaint, with a body that would be valid."""
    return [
        ("GET", f"/api/complaints/{cid}", {}),
        ("GET", f"/api/complaints/{cid}/events", {}),
        ("POST", f"/api/complaints/{cid}/actions/note", {"json": {"text": "hi"}}),
        ("POST", f"/api/complaints/{cid}/actions/respond", {"json": {"message": "m"}}),
    ]


def as_unknown(text: str, cid: str) -> str:
    """The answer with the complaint's id written as the unknown one's."""
    return text.replace(cid, NOBODY)


@pytest.mark.parametrize("holder", ["supervisor.acme", "agent.acme"])
async def test_another_contracts_complaint_is_an_unknown_id_in_the_api(
    contracts_stack: Stack, globex: str, holder: str
):
    for (method, path, request), (_, unknown_path, _) in zip(
        doors(globex), doors(NOBODY), strict=True
    ):
        response, written = await call(contracts_stack, holder, method, path, **request)
        unknown, _ = await call(contracts_stack, holder, method, unknown_path, **request)
        assert response.status_code == unknown.status_code == 404, (path, response.text)
        assert as_unknown(response.text, globex) == unknown.text, path
        assert response.json()["detail"][0]["rule"] == "not_found"
        assert "globex" not in response.text.lower()
        assert written == 0, path


async def test_the_same_doors_open_for_its_own_contract_and_a_provider_key(
    contracts_stack: Stack, acme: str, globex: str
):
    for holder, cid in (("supervisor.acme", acme), ("agent.acme", acme), ("provider", globex)):
        for path in (f"/api/complaints/{cid}", f"/api/complaints/{cid}/events"):
            response, _ = await call(contracts_stack, holder, "GET", path)
            assert response.status_code == 200, (holder, path, response.text)
    note = {"text": "Called the customer"}
    response, written = await call(
        contracts_stack,
        "supervisor.acme",
        "POST",
        f"/api/complaints/{acme}/actions/note",
        json=note,
    )
    assert response.status_code == 200 and written == 1


async def test_another_contracts_complaint_is_an_unknown_id_on_the_pages(
    contracts_stack: Stack, globex: str
):
    stack = contracts_stack
    files = await call(stack, "provider", "GET", f"/api/complaints/{globex}/events")
    (sha256,) = [
        e["data"]["attachment_id"] for e in files[0].json() if e["type"] == "AttachmentAdded"
    ]
    pages = [
        ("GET", f"/complaints/{globex}", {}),
        ("GET", f"/complaints/{globex}/attachments/{sha256}", {}),
        ("POST", f"/complaints/{globex}/act/note", {"data": {"text": "hi"}}),
    ]
    for method, path, request in pages:
        response, written = await call(stack, "supervisor.acme", method, path, **request)
        unknown, _ = await call(
            stack, "supervisor.acme", method, path.replace(globex, NOBODY), **request
        )
        assert response.status_code == unknown.status_code == 404, path
        assert as_unknown(response.text, globex) == unknown.text, path
        assert written == 0, path
    # The provider's supervisor opens both, the photo too.
    page, _ = await call(stack, "provider", "GET", f"/complaints/{globex}")
    assert page.status_code == 200 and "Globex Energy (Germany)" in page.text
    photo, _ = await call(stack, "provider", "GET", f"/complaints/{globex}/attachments/{sha256}")
    assert photo.status_code == 200 and photo.content == PNG


async def test_the_list_and_its_counts_hold_only_the_keys_contracts(
    contracts_stack: Stack, acme: str, globex: str
):
    stack = contracts_stack
    # Once every complaint made on this stack is listed, no list below can grow meanwhile.
    everything = await listed(stack, "provider", want={acme, globex, *stack.complaint_ids})
    assert everything[acme]["contract"] == "acme" and everything[globex]["contract"] == "globex"
    for holder, contract in (("supervisor.acme", "acme"), ("supervisor.globex", "globex")):
        mine = await listed(stack, holder)
        assert mine and {i["contract"] for i in mine.values()} == {contract}
        assert set(mine) == {cid for cid, i in everything.items() if i["contract"] == contract}
        dashboard, _ = await call(stack, holder, "GET", "/supervisor", params={"status": ""})
        shown = set(re.findall(r'<tr data-id="(C-[A-Z2-7]+)"', dashboard.text))
        assert shown == set(mine)
        assert tier_counts(dashboard.text) == open_per_tier(mine.values())
    provider_dashboard, _ = await call(stack, "provider", "GET", "/supervisor")
    assert tier_counts(provider_dashboard.text) == open_per_tier(everything.values())


async def listed(stack: Stack, holder: str, want: set[str] = frozenset()) -> dict[str, dict]:
    """The list as `holder` gets it, once the projector has listed every id in `want`."""
    async with asyncio.timeout(20):
        while True:
            response, _ = await call(stack, holder, "GET", "/api/complaints", params={"limit": 200})
            assert response.status_code == 200, response.text
            assert response.json()["next_cursor"] is None
            items = {i["id"]: i for i in response.json()["items"]}
            if want <= set(items):
                return items
            await asyncio.sleep(0.05)


def tier_counts(html: str) -> dict[int, int]:
    return {int(t): int(n) for t, n in re.findall(r'data-tier="(\d)">tier \d: (\d+)<', html)}


def open_per_tier(items) -> dict[int, int]:
    counts = {1: 0, 2: 0, 3: 0}
    for item in items:
        if item["status"] not in ("closed", "archived") and item["tier"]:
            counts[item["tier"]] += 1
    return counts


async def test_a_key_submits_only_to_its_contracts(contracts_stack: Stack):
    stack = contracts_stack
    response, written = await call(
        stack, "intake.globex", "POST", "/api/complaints", json=form(contract="acme")
    )
    assert response.status_code == 403, response.text
    assert [(d["field"], d["rule"]) for d in response.json()["detail"]] == [
        ("contract", "contract_forbidden")
    ]
    assert response.json()["error"] == (
        "key 'intake.globex' submits only to contracts globex, not 'acme'"
    )
    assert written == 0
    # Naming none, a key of one contract submits to it; naming its own is the same.
    assert (await submitted(stack, "intake.globex", OUTAGE))["contract"] == "globex"
    named = await submitted(stack, "intake.globex", form(contract="globex", subject="Rechnung"))
    assert named["contract"] == "globex"


async def test_a_key_of_several_contracts_must_name_one(contracts_stack: Stack):
    stack = contracts_stack
    response, written = await call(stack, "intake.both", "POST", "/api/complaints", json=FIRE)
    assert response.status_code == 422, response.text
    (detail,) = response.json()["detail"]
    assert (detail["field"], detail["rule"]) == ("contract", "contract_required")
    assert (
        detail["message"] == "key 'intake.both' serves several contracts (acme, globex): name one"
    )
    assert written == 0
    for contract in ("acme", "globex"):
        made = await submitted(stack, "intake.both", form(contract=contract))
        assert made["contract"] == contract


async def test_a_provider_key_submits_anywhere_and_by_default_to_the_default(
    contracts_stack: Stack,
):
    stack = contracts_stack
    assert (await submitted(stack, "provider", FIRE))["contract"] == "acme"  # the default
    assert (await submitted(stack, "provider", form(contract="globex")))["contract"] == "globex"
    response, written = await call(
        stack, "provider", "POST", "/api/complaints", json=form(contract="initech")
    )
    assert response.status_code == 422, response.text
    assert [(d["field"], d["rule"]) for d in response.json()["detail"]] == [
        ("contract", "unknown_contract")
    ]
    assert "initech" in response.json()["error"] and written == 0


async def test_each_contract_has_its_own_intake_form(contracts_stack: Stack):
    stack = contracts_stack
    async with page_client(stack.url) as customer:
        page = await customer.get(form_path("globex"))
        assert page.status_code == 200
        assert "Globex Energy (Germany)" in page.text
        assert f'action="{form_path("globex")}"' in page.text
        token = re.search(r'name="token" value="([^"]+)"', page.text)[1]
        posted = await customer.post(
            form_path("globex"),
            data={"token": token, "name": "Max Muster", "email": "max@example.org",
                  "channel": "web", "subject": "Stromausfall", "description": "No power"},
        )  # fmt: skip
        assert posted.status_code == 303, posted.text
        cid = re.search(r"/submitted/(C-[A-Z2-7]+)", posted.headers["location"])[1]
        stack.complaint_ids.add(cid)
        default = await customer.get("/")
        assert "ACME Retail (China)" in default.text and 'action="/"' in default.text
        for method in ("GET", "POST"):
            before = stack.event_count()
            missing = await customer.request(method, form_path("initech"), data={"name": "x"})
            assert missing.status_code == 404
            assert "No contract initech" in missing.text
            assert stack.event_count() == before
    state, _ = await call(stack, "provider", "GET", f"/api/complaints/{cid}")
    assert state.json()["contract"] == "globex" and state.json()["tier"] == 3


async def test_a_retired_contracts_form_is_a_404_naming_it(temporal, tmp_path, contracts_stack):
    """Globex retired: its form says so, and takes nothing; its complaints are still served."""
    book = load_contracts(EXAMPLE_CONTRACTS)
    retired = replace(book.contracts["globex"], retired=True)
    book = replace(book, contracts={**book.contracts, "globex": retired})
    engine = make_engine(f"sqlite:///{tmp_path / 'events.sqlite3'}")
    migrate(engine)
    try:
        service = ComplaintService(temporal.client, "no-worker", book, EventStore(engine, VAULT))
        app = create_app(service, api_keys=KeyRing(None), public_posts=RateLimiter(100, 60))
        async with serving(app) as url, page_client(url) as customer:
            for method in ("GET", "POST"):
                page = await customer.request(method, form_path("globex"), data={"name": "x"})
                assert page.status_code == 404
                assert "Contract globex takes no new complaints" in page.text
            assert (await customer.get(form_path("acme"))).status_code == 200
    finally:
        engine.dispose()


async def test_the_cli_submits_to_the_contract_it_names(contracts_stack: Stack, temporal):
    """`complaints submit --contract`, its own process on the two-contract deployment's server
    and store."""
    settings = {
        "TEMPORAL_ADDRESS": temporal.client.service_client.config.target_host,
        "TASK_QUEUE": contracts_stack.task_queue,
        "DATABASE_URL": contracts_stack.store.engine.url.render_as_string(hide_password=False),
        "CONTRACTS": str(EXAMPLE_CONTRACTS),
        "CODEC_KEYS": f"test-codec:{b64encode(KEYS.codec.key('test-codec')).decode()}",
        "MASTER_KEYS": f"test-master:{b64encode(KEYS.master.key('test-master')).decode()}",
        "IDENTITY_KEY": b64encode(KEYS.identity).decode(),
        "LOG_FORMAT": "json",
    }
    env = os.environ | {f"COMPLAINTS_{name}": value for name, value in settings.items()}
    submit = ["submit", "--name", "Max Muster", "--subject", "Outage", "--description", "No power"]

    def run(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [COMPLAINTS, *submit, *extra], env=env, capture_output=True, text=True, timeout=60
        )

    made = await asyncio.to_thread(run, "--contract", "globex", "--json")
    assert made.returncode == 0, made.stderr
    state = json.loads(made.stdout[made.stdout.index("{\n") :])
    contracts_stack.complaint_ids.add(state["complaint_id"])
    assert (state["contract"], state["tier"]) == ("globex", 3)
    refused = await asyncio.to_thread(run, "--contract", "initech")
    assert refused.returncode == 2
    assert refused.stderr.endswith("complaints: contract 'initech' is not served here\n")
