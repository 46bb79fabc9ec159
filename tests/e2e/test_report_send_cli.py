"""`complaints reports send` as its own process against the real dev server, a worker with the
report activities and a real SMTP receiver (aiosmtpd): the first call sends ACME's week 48 report,
the second says when and to whom it was sent and sends nothing; `complaints reports sent` lists
the recipient's outcome."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from base64 import b64encode
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from activities.events import EventActivities
from activities.reports import ReportActivities
from delivery.senders import SmtpSender
from engine.contracts import load_contracts
from engine.worker_assembly import ACTIVITY_THREADS, build_worker
from store import EventStore, ProjectionRunner, ReportProjection, make_engine, migrate
from tests.delivery.conftest import SmtpServer
from tests.e2e.conftest import EXAMPLE_CONTRACTS
from tests.keys import KEYS, VAULT
from tests.unit.report_stories import append_all, decisions

COMPLAINTS = Path(sys.executable).parent / "complaints"
RECIPIENT = "ops-acme@provider.example"  # ACME's report_recipients in the example


def cli_env(temporal, task_queue: str, database_url: str) -> dict[str, str]:
    settings = {
        "TEMPORAL_ADDRESS": temporal.client.service_client.config.target_host,
        "TASK_QUEUE": task_queue,
        "DATABASE_URL": database_url,
        "CONTRACTS": str(EXAMPLE_CONTRACTS),
        "CODEC_KEYS": f"test-codec:{b64encode(KEYS.codec.key('test-codec')).decode()}",
        "MASTER_KEYS": f"test-master:{b64encode(KEYS.master.key('test-master')).decode()}",
        "IDENTITY_KEY": b64encode(KEYS.identity).decode(),
        "LOG_FORMAT": "json",
    }
    return os.environ | {f"COMPLAINTS_{name}": value for name, value in settings.items()}


async def test_reports_send_twice_sends_once_and_says_when_and_to_whom(temporal, tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'events.sqlite3'}")
    migrate(engine)
    book = load_contracts(EXAMPLE_CONTRACTS)
    store = EventStore(engine, VAULT)
    append_all(store, decisions(contract=book.of("acme")))
    ProjectionRunner(engine, [ReportProjection()]).run_to_end()
    smtp = SmtpServer()
    smtp.start()
    task_queue = f"tq-{uuid.uuid4().hex}"
    mailer = SmtpSender("127.0.0.1", smtp.port, False, None, None, "reports@provider.example")
    env = cli_env(temporal, task_queue, engine.url.render_as_string(hide_password=False))

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [COMPLAINTS, "reports", *args], env=env, capture_output=True, text=True, timeout=120
        )

    send = ("send", "--contract", "acme", "--kind", "weekly", "--period", "2026-W48")
    try:
        with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as pool:
            reports = ReportActivities(engine, book, mailer)
            async with build_worker(
                temporal.client, task_queue, EventActivities(store), pool, reports=reports
            ):
                first = await asyncio.to_thread(run, *send, "--as", "ops.li")
                again = await asyncio.to_thread(run, *send)
        listed = await asyncio.to_thread(run, "sent", "--contract", "acme")
    finally:
        smtp.stop()
        engine.dispose()

    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("report:acme:weekly:2026-W48 (id 1): sent")
    assert f"{RECIPIENT}: delivered" in first.stdout
    assert again.returncode == 0, again.stderr
    assert "report:acme:weekly:2026-W48 (id 1): already sent " in again.stdout
    assert f" UTC to {RECIPIENT}; nothing sent" in again.stdout
    assert len(smtp.to(RECIPIENT)) == 1
    assert "Weekly demand summary 2026-W48" in smtp.to(RECIPIENT)[0].message["Subject"]
    assert f"{RECIPIENT}: delivered" in listed.stdout and "2026-W48" in listed.stdout
