# ruff: noqa: F811  (pytest fixtures imported from other suites are used as arguments)
"""A complaint's whole life on a real (time-skipping) Temporal server, real activities, a real
store and real SMTP: the customer's name, phone and e-mail appear nowhere in clear, neither in
the raw bytes of the workflow's history, nor in the database's raw rows, nor in any log line."""

import asyncio
import logging
import uuid

import pytest
import structlog

from activities.events import EventActivities
from delivery.dispatcher import OutboxDispatcher
from delivery.senders import SmtpSender, WebhookSender
from domain import commands as c
from domain.vocabulary import Status
from engine.logs import configure_logging
from tests.delivery.conftest import BASE_URL, directory, hooks, smtp  # noqa: F401
from tests.delivery.conftest import SECRET as HOOK_SECRET
from tests.keys import CONVERTER, VAULT
from tests.security.conftest import SECRET, leaks, raw_rows
from tests.unit.helpers import registration
from tests.workflows.conftest import env, worker_for  # noqa: F401


@pytest.fixture
def production_logging(monkeypatch):
    """The worker's logging, JSON as in production, for one test; then as it was before."""
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(root, "level", root.level)
    config = structlog.get_config()
    configure_logging("json", "INFO")
    # The test's SMTP server stands in for the outside mail server, which logs every recipient.
    monkeypatch.setattr(logging.getLogger("mail.log"), "level", logging.WARNING)
    yield
    structlog.configure(**config)


async def test_no_personal_data_in_history_rows_or_logs(
    env,
    store,
    engine,
    directory,
    smtp,
    capfd,
    production_logging,
):
    cid = f"C-{uuid.uuid4().hex[:10]}"
    mail = SmtpSender("127.0.0.1", smtp.port, False, None, None, "complaints@example.com")
    dispatcher = OutboxDispatcher(
        engine, directory, [mail, WebhookSender(HOOK_SECRET)], BASE_URL, vault=VAULT
    )
    async with worker_for(env, store, EventActivities(store)) as harness:
        sub = await harness.submit(registration(cid=cid).model_copy(update={"customer": SECRET}))
        await harness.wait_for(sub.handle, lambda s: s.status is Status.OPEN)
        await harness.act(sub.handle, c.Respond(by="agent.chen", message="Calling you"))
        await harness.act(sub.handle, c.Resolve(by="agent.chen", resolution="Refunded"))
        await harness.act(sub.handle, c.RecordFeedback(rating=5))
        assert (await sub.handle.result()).status is Status.ARCHIVED
        async with asyncio.timeout(20):
            while not smtp.to(SECRET.email):  # the customer's address was read back to mail them
                await asyncio.to_thread(dispatcher.run_once)
        history = await sub.handle.fetch_history()

    raw_history = b"".join(event.SerializeToString() for event in history.events)
    assert leaks(raw_history) == [] and leaks(history.to_json()) == []
    # The control: the start input, opened with the codec, holds the customer. The search works.
    start = history.events[0].workflow_execution_started_event_attributes.input.payloads
    opened = await CONVERTER.payload_codec.decode(start)
    assert SECRET.name in leaks(b"".join(p.data for p in opened))

    assert leaks(raw_rows(engine)) == []
    assert store.closure_record(cid)["customer"]["name"] == SECRET.name

    logged = "".join(capfd.readouterr())
    assert '"event": "events appended"' in logged and cid in logged  # the capture captured
    assert [line for line in logged.splitlines() if leaks(line)] == []
