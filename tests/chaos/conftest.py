"""Fault tests: real processes on loopback, broken for real.

Each test gets its own Temporal dev server (a SQLite file in its temporary directory), workers
started as `complaints worker` subprocesses, and a policy whose deadlines and windows are seconds
long, so breaches, escalations, closing and archiving happen within the test. Every process
started here is stopped in the fixtures' teardown, whatever the test did to it.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from temporalio.client import Client

from domain.policy import Policy, parse_policy
from engine.service import ComplaintService
from engine.settings import Settings
from security.keys import ensure_key_file
from store import EventStore
from store.vault import PersonalVault
from tests.chaos.processes import DevServer, WorkerProcess


def policy_toml(
    *,
    tier3: dict[str, str],
    re_escalate_every: str = "1h",
    confirmation_window: str = "1h",
    reopen_window: str = "2h",
) -> str:
    """The default policy's shape with a second-scale tier 3 (every tier round the clock, so no
    business-hours rule depends on when the test runs). Teams and roles are the default ones, so
    the default parties directory resolves them."""
    deadlines = ", ".join(f'{kind} = "{span}"' for kind, span in tier3.items())
    return f"""
timezone = "Asia/Shanghai"
confirmation_window = "{confirmation_window}"
reopen_window = "{reopen_window}"
deadline_warning_share = 0.8

[business_hours]
days = ["mon", "tue", "wed", "thu", "fri"]
open = "09:00"
close = "18:00"

[tiers.1]
clock = "24x7"
deadlines = {{ acknowledge = "1h", resolution = "2h" }}
escalation_chain = ["assignee", "team_lead", "supervisor"]
re_escalate_every = "2h"

[tiers.2]
clock = "24x7"
deadlines = {{ acknowledge = "1h", resolution = "2h" }}
escalation_chain = ["assignee", "team_lead", "supervisor", "duty_manager"]
re_escalate_every = "2h"

[tiers.3]
clock = "24x7"
deadlines = {{ {deadlines} }}
escalation_chain = ["assignee", "team_lead", "supervisor", "duty_manager"]
re_escalate_every = "{re_escalate_every}"

[classification]
default_category = "other"
default_tier = 1

[[classification.rules]]
name = "safety"
any_words = ["fire"]
category = "product_quality"
tier = 3

[routing]
default_team = "customer_service"
[routing.categories]
product_quality = "quality"

[teams.customer_service]
members = ["agent.zhang", "agent.liu"]
[teams.quality]
members = ["agent.chen", "agent.zhao"]
[teams.logistics]
members = ["agent.wang"]
[teams.billing]
members = ["agent.li"]
"""


@dataclass
class Engine:
    """One test's engine: dev server, the settings its workers get, and the test's doors."""

    server: DevServer
    client: Client
    client_settings: Settings
    directory: Path
    policy: Policy
    settings: dict[str, str]
    workers: list[WorkerProcess]

    @property
    def task_queue(self) -> str:
        return self.settings["COMPLAINTS_TASK_QUEUE"]

    def worker(self, name: str = "worker", **extra: str) -> WorkerProcess:
        process = WorkerProcess(self.directory, self.settings | extra, name=name)
        self.workers.append(process)
        return process

    def service(self, store: EventStore) -> ComplaintService:
        """The doors, on `store`'s database with the workers' keys (intake seals the customer)."""
        vault = PersonalVault.of(self.client_settings.key_material())
        return ComplaintService(
            self.client, self.task_queue, self.policy, EventStore(store.engine, vault)
        )


@pytest.fixture
def make_engine_under_test(
    tmp_path: Path,
) -> Iterator[Callable[..., Awaitable[Engine]]]:
    """make(policy_text, database_url, **settings) starts a dev server and returns an Engine
    whose workers (started by the test) use that policy and store."""
    servers: list[DevServer] = []
    workers: list[WorkerProcess] = []

    async def make(policy_text: str, database_url: str, **extra: str) -> Engine:
        policy_file = tmp_path / "policy.toml"
        policy_file.write_text(policy_text)
        server = DevServer(tmp_path)
        servers.append(server)
        settings = {
            "COMPLAINTS_TEMPORAL_ADDRESS": server.address,
            "COMPLAINTS_TASK_QUEUE": f"chaos-{uuid.uuid4().hex[:12]}",
            "COMPLAINTS_DATABASE_URL": database_url,
            "COMPLAINTS_POLICY": str(policy_file),
            "COMPLAINTS_DATA_DIR": str(tmp_path),
            **extra,
        }
        # The test's own client and the workers read the same settings, hence the same keys.
        as_settings = Settings(
            **{name.removeprefix("COMPLAINTS_").lower(): value for name, value in settings.items()}
        )
        ensure_key_file(as_settings.encryption_key_file_path())  # as `complaints run` does
        client = await server.start(as_settings)
        return Engine(
            server, client, as_settings, tmp_path, parse_policy(policy_text), settings, workers
        )

    try:
        yield make
    finally:
        for process in workers:
            process.kill()  # the test is over: nothing of theirs needs to finish
        for server in servers:
            server.stop()
