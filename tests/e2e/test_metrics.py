"""Metrics and traces of the real processes: a dev server, `complaints worker` and `complaints api`
as subprocesses configured only through COMPLAINTS_* variables (metrics, SDK metrics and OTLP
addresses on loopback), an SQLite store, a loopback SMTP receiver and a loopback OTLP/HTTP
receiver. A known set of complaints goes in through the API; the scrapes must count exactly
what the event log and the outbox hold, and the shipped dashboard and alert rules may only name
metrics the processes expose."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError
from sqlalchemy import func, select

from api.keys import append_entry, new_key
from engine.metrics import MetricsServer
from engine.settings import Settings
from security.keys import ensure_key_file
from store import EventStore, make_engine
from store.tables import OutboxRow
from tests.chaos.conftest import policy_toml
from tests.chaos.processes import REPO, DevServer, WorkerProcess
from tests.chaos.receivers import SmtpReceiver
from tests.e2e.metric_names import metric_names, names_in_dashboard, names_in_rules
from tests.e2e.otlp_receiver import OtlpReceiver
from tests.ports import free_port

# Tier 3's initial solution is due 2 s after reception: each fire complaint breaches it on the
# worker's timer and escalates once; the other deadlines are out of reach during the test.
POLICY = policy_toml(
    tier3={
        "acknowledge": "1h",
        "first_response": "1h",
        "initial_solution": "2s",
        "resolution": "2h",
    }
)
FIRE = {"channel": "web", "subject": "Kettle", "description": "The kettle caught fire"}
PARCEL = {"channel": "api", "subject": "Parcel", "description": "My parcel is late"}
CUSTOMER = {"name": "Test Customer", "email": "customer@example.com"}
DEADLINE = 90.0  # seconds for the stack to settle: generous, the machine is shared
DASHBOARD = REPO / "deploy" / "grafana" / "dashboards" / "complaints.json"
ALERTS = REPO / "deploy" / "prometheus" / "alerts.yml"
YOUNG_THRESHOLD = 12_345  # the worker's young garbage collections: not the default
PROMETHEUS_OWN = {"up"}  # series Prometheus makes itself for every target


@dataclass
class Scrapes:
    worker: dict[str, list]  # sample name -> [(labels, value)]
    api: dict[str, list]
    sdk: dict[str, list]
    store: EventStore
    complaints: dict[str, int]  # id -> tier
    otlp: OtlpReceiver
    worker_started: dict  # the worker's "worker started" log line


def value(where: dict[str, list], name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels`."""
    return sum(v for found, v in where.get(name, []) if labels.items() <= found.items())


def scrape(address: str) -> dict[str, list]:
    text = httpx.get(f"http://{address}/metrics", timeout=10).text
    samples: dict[str, list] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


class ApiProcess(WorkerProcess):
    """`complaints api` on a loopback port, configured like the worker."""

    def __init__(self, directory: Path, settings: dict[str, str], port: int) -> None:
        super().__init__(directory, settings, name="api")
        self.port = port

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMPLAINTS_")}
        with (self.directory / "api.log").open("ab") as log:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).parent / "complaints"), "api", "--port", str(self.port)],
                cwd=REPO, env=env | self.settings, stdout=log, stderr=log,
                start_new_session=True,
            )  # fmt: skip


@pytest.fixture(scope="module")
async def scrapes(tmp_path_factory) -> AsyncIterator[Scrapes]:
    directory = tmp_path_factory.mktemp("metrics")
    (directory / "policy.toml").write_text(POLICY)
    admin, entry = new_key("ops.test", "admin")
    append_entry(directory / "api_keys.toml", entry)
    smtp, otlp = SmtpReceiver(), OtlpReceiver()
    smtp.start()
    otlp.start()
    server = DevServer(directory)
    base = {
        "COMPLAINTS_TEMPORAL_ADDRESS": server.address,
        "COMPLAINTS_TASK_QUEUE": "metrics",
        "COMPLAINTS_DATABASE_URL": f"sqlite:///{directory / 'events.sqlite3'}",
        "COMPLAINTS_POLICY": str(directory / "policy.toml"),
        "COMPLAINTS_DATA_DIR": str(directory),
        "COMPLAINTS_API_KEYS": str(directory / "api_keys.toml"),
        "COMPLAINTS_SMTP_HOST": "127.0.0.1",
        "COMPLAINTS_SMTP_PORT": str(smtp.port),
        "COMPLAINTS_OTLP_ENDPOINT": otlp.url,
        "OTEL_BSP_SCHEDULE_DELAY": "200",  # export spans within the test, not every 5 s
        "COMPLAINTS_LOG_FORMAT": "json",
    }
    settings = Settings(
        **{k.removeprefix("COMPLAINTS_").lower(): v for k, v in base.items() if "COMPLAINTS_" in k}
    )
    ensure_key_file(settings.encryption_key_file_path())
    addresses = {name: f"127.0.0.1:{free_port()}" for name in ("worker", "api", "sdk")}
    await server.start(settings)
    worker = WorkerProcess(
        directory,
        base | {
            "COMPLAINTS_METRICS_ADDRESS": addresses["worker"],
            "COMPLAINTS_SDK_METRICS_ADDRESS": addresses["sdk"],
            "COMPLAINTS_WORKER_GC_YOUNG_THRESHOLD": str(YOUNG_THRESHOLD),
            "OTEL_SERVICE_NAME": "complaints-worker",
        },
    )  # fmt: skip
    api = ApiProcess(
        directory,
        base | {"COMPLAINTS_METRICS_ADDRESS": addresses["api"], "OTEL_SERVICE_NAME": "api"},
        free_port(),
    )
    engine = make_engine(base["COMPLAINTS_DATABASE_URL"])
    try:
        worker.start()
        await worker.wait_started()
        api.start()
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{api.port}",
            timeout=30,
            headers={"Authorization": f"Bearer {admin}"},
        ) as http:
            await poll(lambda: _ready(http), "the API answers /readyz", api.check_alive)
            complaints = await submit_known_set(http)
            store = EventStore(engine)
            settled = await poll(
                lambda: _settled(addresses, store, otlp),
                "breaches counted, notifications sent and reported, read models caught up, "
                "spans exported",
                worker.check_alive,
            )
            started = worker.logged(lambda line: line.get("event") == "worker started")[-1]
            yield Scrapes(
                **settled, store=store, complaints=complaints, otlp=otlp, worker_started=started
            )
    finally:
        api.stop()
        worker.stop()
        server.stop()
        smtp.stop()
        otlp.stop()
        engine.dispose()


async def poll(condition, what: str, alive):
    """The first truthy result of the coroutine `condition()`; fail naming `what` after
    DEADLINE seconds."""
    async with asyncio.timeout(DEADLINE):
        while True:
            alive()
            try:
                if result := await condition():
                    return result
            except httpx.TransportError:
                pass  # not listening yet
            await asyncio.sleep(0.25)


async def _ready(http: httpx.AsyncClient) -> bool:
    return (await http.get("/readyz")).status_code == 200


async def _settled(addresses, store: EventStore, otlp: OtlpReceiver) -> dict | None:
    """The processes' scrapes, once the engine has nothing left to do (no timer is due for an
    hour): every breach recorded, every notification sent and, for the customer's, recorded
    back in its complaint, both read models caught up in both processes' eyes. None before."""
    scraped = {
        name: await asyncio.to_thread(scrape, address) for name, address in addresses.items()
    }
    with store.engine.connect() as connection:
        rows = connection.execute(select(OutboxRow.status, func.count()).group_by(OutboxRow.status))
        statuses = {status: count for status, count in rows}
        to_customer = connection.scalar(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.recipient == "customer")
        )
    delivered = sum(e.type == "CustomerMessageDelivered" for e in store.read_all(limit=100_000))
    worker = scraped["worker"]
    settled = (
        value(worker, "complaints_deadlines_total", outcome="breached") == 3
        and statuses.get("pending", 0) == 0
        # The dispatcher counts a message just after its row's commit: wait for the count too.
        and value(worker, "complaints_notifications_total", outcome="sent")
        == statuses.get("sent", 0)
        and delivered == to_customer
        and all(_caught_up(scraped[process]) for process in ("worker", "api"))
        and _traced(otlp) >= 5
    )
    return scraped if settled else None


def _caught_up(process: dict[str, list]) -> bool:
    lags = process.get("complaints_projection_lag_events", [])
    return bool(lags) and not any(v for _, v in lags)


def _traced(otlp: OtlpReceiver) -> int:
    """Traces that run from an API request into the worker's activities."""
    spans = otlp.received()
    requests = {
        s.trace_id for s in spans if s.service == "api" and s.name == "POST /api/complaints"
    }
    activities = {
        s.trace_id for s in spans
        if s.service == "complaints-worker" and s.name == "RunActivity:append_events"
    }  # fmt: skip
    return len(requests & activities)


async def submit_known_set(http: httpx.AsyncClient) -> dict[str, int]:
    """Three fire complaints (tier 3), two late parcels (tier 1), one repeated submission, one
    idempotency key reused with another body; one agent answer. Returns id -> tier."""
    complaints: dict[str, int] = {}
    for n, body in enumerate([FIRE, FIRE, FIRE, PARCEL, PARCEL]):
        made = await http.post(
            "/api/complaints",
            json=body | {"customer": CUSTOMER},
            headers={"Idempotency-Key": f"k{n}"},
        )
        assert made.status_code == 201, made.text
        complaints[made.json()["id"]] = made.json()["tier"]
    again = await http.post(
        "/api/complaints", json=FIRE | {"customer": CUSTOMER}, headers={"Idempotency-Key": "k0"}
    )
    assert again.status_code == 200, again.text
    reused = await http.post(
        "/api/complaints", json=PARCEL | {"customer": CUSTOMER}, headers={"Idempotency-Key": "k0"}
    )
    assert reused.status_code == 409, reused.text
    first = next(iter(complaints))
    answered = await http.post(
        f"/api/complaints/{first}/actions/respond", json={"message": "Calling you now"}
    )
    assert answered.status_code == 200, answered.text
    assert sorted(complaints.values()) == [1, 1, 3, 3, 3]
    return complaints


def expected_from_the_log(scrapes: Scrapes) -> tuple[Counter, int]:
    """What the worker should have counted, from the event log: deadlines met in time and
    breached by (tier, kind, outcome), and escalations."""
    deadlines: Counter = Counter()
    escalations = 0
    for event in scrapes.store.read_all(limit=100_000):
        tier = scrapes.complaints.get(event.stream_id)
        if tier is None:
            continue  # a companion stream (deliveries)
        if event.type == "DeadlineMet" and event.occurred_at.isoformat() <= event.data["due_at"]:
            deadlines[str(tier), event.data["kind"], "met"] += 1
        elif event.type == "DeadlineBreached":
            deadlines[str(tier), event.data["kind"], "breached"] += 1
        escalations += event.type == "ComplaintEscalated"
    return deadlines, escalations


def test_intake_is_counted_by_channel_and_result(scrapes: Scrapes):
    api = scrapes.api
    assert value(api, "complaints_intake_total", channel="web", result="created") == 3
    assert value(api, "complaints_intake_total", channel="api", result="created") == 2
    assert value(api, "complaints_intake_total", channel="web", result="repeated") == 1
    assert value(api, "complaints_intake_total", channel="api", result="conflict") == 1
    assert value(api, "complaints_intake_total", result="error") == 0
    assert value(api, "complaints_intake_duration_seconds_count") == 7
    assert "complaints_intake_total" not in scrapes.worker  # the API took them, not the worker


def test_deadlines_and_escalations_match_the_event_log(scrapes: Scrapes):
    worker = scrapes.worker
    deadlines, escalations = expected_from_the_log(scrapes)
    scraped = Counter(
        {
            (labels["tier"], labels["kind"], labels["outcome"]): v
            for labels, v in worker["complaints_deadlines_total"]
        }
    )
    assert +scraped == +deadlines
    # The known set: three tier-3 initial solutions breached on the timer, one answer in time.
    assert deadlines["3", "initial_solution", "breached"] == 3
    assert deadlines["3", "first_response", "met"] == 1
    assert value(worker, "complaints_breach_lateness_seconds_count", tier="3") == 3
    assert value(worker, "complaints_escalations_total", tier="3") == escalations == 3


def test_notifications_and_the_stores_states_as_the_database_has_them(scrapes: Scrapes):
    with scrapes.store.engine.connect() as connection:
        rows = connection.execute(select(OutboxRow.status, func.count()).group_by(OutboxRow.status))
        statuses = {status: count for status, count in rows}
    worker = scrapes.worker
    assert statuses.get("sent", 0) > 0 and set(statuses) == {"sent"}
    assert value(worker, "complaints_notifications_total", outcome="sent") == statuses["sent"]
    assert value(worker, "complaints_notifications_total", outcome="failed") == 0
    # Both processes read the same states from the database.
    for process in (worker, scrapes.api):
        assert value(process, "complaints_store_up") == 1
        assert value(process, "complaints_open", tier="3", status="open") == 3
        assert value(process, "complaints_open", tier="1", status="open") == 2
        assert value(process, "complaints_open_breached", tier="3") == 3
        assert value(process, "complaints_notifications_pending") == 0
        assert value(process, "complaints_notifications_oldest_pending_seconds") == 0
        assert value(process, "complaints_projection_lag_events") == 0
    assert any(name.startswith("temporal_") for name in scrapes.sdk)


def test_the_dashboard_and_the_alert_rules_read_only_metrics_the_processes_expose(
    scrapes: Scrapes,
):
    exposed = set(scrapes.worker) | set(scrapes.api) | set(scrapes.sdk) | PROMETHEUS_OWN
    in_dashboard, in_rules = names_in_dashboard(DASHBOARD), names_in_rules(ALERTS)
    assert in_dashboard and in_rules
    assert in_dashboard - exposed == set()
    assert in_rules - exposed == set()


def test_the_worker_collects_young_garbage_as_configured_and_times_every_pause(
    scrapes: Scrapes,
):
    assert scrapes.worker_started["gc_young_threshold"] == YOUNG_THRESHOLD
    for process in (scrapes.worker, scrapes.api):
        counts = {
            labels["generation"]: n for labels, n in process["complaints_gc_pause_seconds_count"]
        }
        assert set(counts) == {"0", "1", "2"}
        assert counts["0"] > 0  # a process that ran a while has collected its young objects


def test_every_turn_at_the_sqlite_write_lock_is_timed_in_the_process_that_wrote(
    scrapes: Scrapes,
):
    # The worker appended every complaint's events; the API sealed each new customer at intake.
    for process in (scrapes.worker, scrapes.api):
        held = value(process, "complaints_store_write_lock_held_seconds_count")
        waited = value(process, "complaints_store_write_lock_wait_seconds_count")
        assert held >= len(scrapes.complaints)
        assert value(process, "complaints_store_write_lock_held_seconds_sum") > 0
        assert waited >= held  # a turn is timed waiting when taken, holding when given back
        # Five complaints on an idle machine: no writer waited anywhere near the 30 s timeout.
        within_five_seconds = value(
            process, "complaints_store_write_lock_wait_seconds_bucket", le="5.0"
        )
        assert within_five_seconds == waited


def test_one_trace_runs_from_the_api_process_into_the_worker_process(scrapes: Scrapes):
    requests = [s for s in scrapes.otlp.received() if s.name == "POST /api/complaints"]
    assert {s.service for s in requests} == {"api"}
    assert len(requests) == 7  # every submission, the repeated and the refused one too
    assert _traced(scrapes.otlp) == 5  # each complaint made: its activities in its trace
    sent = b"".join(scrapes.otlp.raw)
    for personal in (CUSTOMER["name"], CUSTOMER["email"], FIRE["description"]):
        assert personal.encode() not in sent


def test_metric_names_are_read_from_promql():
    expression = (
        'histogram_quantile(0.9, sum by (le, tier) (rate(a_bucket{le="1", job=~"x.+"}[5m]))) '
        "> on(tier) group_left max without (instance) (b) or vector(0) and c offset 1h"
    )
    assert metric_names(expression) == {"a_bucket", "b", "c"}


def test_a_metrics_address_that_cannot_be_used_stops_start_up_naming_the_setting():
    with pytest.raises(ValidationError, match="(?s)metrics_address.*must be host:port"):
        Settings(metrics_address="9100")
    with pytest.raises(ValidationError, match="(?s)otlp_endpoint.*http:// or https:// URL"):
        Settings(otlp_endpoint="collector:4318")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        engine = make_engine("sqlite://")
        with pytest.raises(ValueError, match=f"METRICS_ADDRESS: cannot listen on {address}"):
            MetricsServer(address, engine)
    server = MetricsServer("127.0.0.1:0", engine)  # the refused one left nothing registered
    try:
        assert "complaints_store_up" in scrape(server.address)
    finally:
        server.stop()
        engine.dispose()
