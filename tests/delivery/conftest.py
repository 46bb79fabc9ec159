"""Real servers on loopback: an SMTP server (aiosmtpd) and an HTTP webhook receiver, plus a store
on SQLite and PostgreSQL with outbox rows made by the real domain."""

from __future__ import annotations

import email
import email.policy
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine
from temporalio.testing import ActivityEnvironment

from activities.events import EventActivities
from activities.models import AppendRequest, StampedEvent
from delivery.directory import Directory, load_directory
from delivery.dispatcher import OutboxDispatcher
from delivery.senders import SmtpSender, WebhookSender
from store import EventStore, make_engine, migrate
from tests.keys import VAULT
from tests.ports import free_port
from tests.unit.helpers import POLICY, T0, Story

SECRET = "test-webhook-secret"
BASE_URL = "http://127.0.0.1:8000"


# --- SMTP ------------------------------------------------------------------------------------


@dataclass
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    message: email.message.EmailMessage

    @property
    def body(self) -> str:
        return self.message.get_content()


class _Recorder:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.server.refuse:
            return self.server.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.server.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"


class SmtpServer:
    """Not listening until start(); can be started again on the same port after stop()."""

    def __init__(self) -> None:
        self.port = free_port()
        self.mails: list[Mail] = []
        self.refuse: dict[str, str] = {}  # address -> the reply to RCPT TO, e.g. "550 no such user"
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(_Recorder(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.mails if address in m.rcpt_tos]


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


# --- webhooks --------------------------------------------------------------------------------


@dataclass
class Hook:
    path: str
    headers: dict[str, str]
    raw: bytes
    status: int

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.raw)


@dataclass
class HookReceiver:
    port: int
    calls: list[Hook] = field(default_factory=list)
    # path -> the statuses to answer, in turn; 200 once they run out
    script: dict[str, list[int]] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/{name}"

    def to(self, name: str, status: int | None = 200) -> list[Hook]:
        return [
            c
            for c in self.calls
            if c.path == f"/hooks/{name}" and (status is None or c.status == status)
        ]


@pytest.fixture
def hooks() -> Iterator[HookReceiver]:
    receiver = HookReceiver(port=0)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                statuses = receiver.script.get(self.path) or []
                status = statuses.pop(0) if statuses else 200
                receiver.calls.append(Hook(self.path, dict(self.headers.items()), raw, status))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


# --- the parties -----------------------------------------------------------------------------


def parties_toml(hooks: HookReceiver) -> str:
    return f"""
duty_manager = "duty"

[teams.quality]
department = "Quality"
team_lead = "lead.quality"
supervisor = "sup.quality"

[teams.customer_service]
team_lead = "lead.other"
supervisor = "sup.other"
[teams.logistics]
team_lead = "lead.other"
supervisor = "sup.other"
[teams.billing]
team_lead = "lead.other"
supervisor = "sup.other"

[people."agent.chen"]
name = "Chen Jing"
email = "agent.chen@example.com"
[people."agent.zhao"]
name = "Zhao Lei"
email = "agent.zhao@example.com"
[people."agent.zhang"]
name = "Zhang Wei"
email = "agent.zhang@example.com"
[people."agent.liu"]
name = "Liu Yang"
email = "agent.liu@example.com"
[people."agent.wang"]
name = "Wang Fang"
email = "agent.wang@example.com"
[people."agent.li"]
name = "Li Na"
email = "agent.li@example.com"

[people."lead.quality"]    # a webhook only
name = "Quality Lead"
webhook = "{hooks.url("lead.quality")}"
[people."sup.quality"]     # a webhook only, in Chinese
name = "质量主管"
webhook = "{hooks.url("sup.quality")}"
locale = "zh"
[people.duty]              # both channels
name = "Duty Manager"
email = "duty@example.com"
webhook = "{hooks.url("duty")}"
[people."lead.other"]
name = "Other Lead"
email = "lead.other@example.com"
[people."sup.other"]
name = "Other Supervisor"
email = "sup.other@example.com"
"""


@pytest.fixture
def directory(hooks: HookReceiver) -> Directory:
    return load_directory(parties_toml(hooks), POLICY)


# --- the store -------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'events.sqlite3'}")
    else:
        engine = make_engine(
            request.getfixturevalue("postgres_url"),
            schema=request.getfixturevalue("postgres_schema"),
        )
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine: Engine) -> EventStore:
    return EventStore(engine, VAULT)


def record(store: EventStore, story: Story, cid: str, already: int = 0) -> int:
    """Append the story's events after the first `already`, as the workflow does; returns how
    many events the stream now holds."""
    new = story.events[already:]
    # In an activity context, as on the worker (append_events logs the attempt).
    ActivityEnvironment().run(
        EventActivities(store).append_events,
        AppendRequest(
            stream_id=cid,
            expected_version=already,
            events=[StampedEvent(event_id=str(uuid4()), event=e) for e in new],
        ),
    )
    return len(story.events)


class FakeClock:
    """The dispatcher's clock: backoff waits pass without sleeping."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    # A fixed start (a day after the stories begin) keeps rendered times deterministic.
    return FakeClock(T0 + timedelta(days=1))


@pytest.fixture
def make_dispatcher(engine: Engine, directory: Directory, smtp: SmtpServer, clock: FakeClock):
    senders: list[WebhookSender] = []

    def make(**options: Any) -> OutboxDispatcher:
        webhook = WebhookSender(SECRET, timeout=2.0)
        senders.append(webhook)
        mail = SmtpSender("127.0.0.1", smtp.port, False, None, None, "complaints@example.com")
        mail.timeout = 2.0
        options = {"retry_base": 10.0, "retry_cap": 60.0, "clock": clock} | options
        options = {"vault": VAULT} | options
        return OutboxDispatcher(engine, directory, [mail, webhook], BASE_URL, **options)

    yield make
    for sender in senders:
        sender.close()
