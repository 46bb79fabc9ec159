# ruff: noqa: F811  (pytest fixtures imported from other suites are used as arguments)
"""A complaint's whole life on a real (time-skipping) Temporal server, real activities, a real
store and real SMTP: the customer's name, phone and e-mail appear nowhere in clear, neither in
the raw bytes of the workflow's history, nor in that history opened with the payload codec
(intake sealed the customer with their own key before Temporal saw it, so erasure reaches that
copy too), nor in the database's raw rows, nor in any log line."""

import asyncio
import logging
import uuid
from datetime import timedelta

import pytest
import structlog
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload

from activities.events import EventActivities
from delivery.dispatcher import OutboxDispatcher
from delivery.senders import SmtpSender, WebhookSender
from domain import commands as c
from domain.events import ERASED
from domain.vocabulary import Status
from engine.logs import configure_logging
from engine.service import ComplaintService
from store.erasure import erase_customer
from tests.delivery.conftest import BASE_URL, directory, hooks, smtp  # noqa: F401
from tests.delivery.conftest import SECRET as HOOK_SECRET
from tests.keys import CONVERTER, VAULT
from tests.security.conftest import SECRET, leaks, raw_rows
from tests.workflows.conftest import env, worker_for  # noqa: F401
from workflows.complaint import ComplaintInput


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


def payloads_in(message: Message) -> list[Payload]:
    """Every payload anywhere in a history event: inputs, results, headers, memos, failures."""
    found: list[Payload] = []
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            values = list(value.values())
        elif field.is_repeated:
            values = list(value)
        else:
            values = [value]
        for item in values:
            if isinstance(item, Payload):
                found.append(item)
            elif isinstance(item, Message):
                found += payloads_in(item)
    return found


async def test_no_personal_data_in_history_rows_or_logs(
    env,
    store,
    engine,
    directory,
    smtp,
    capfd,
    production_logging,
):
    mail = SmtpSender("127.0.0.1", smtp.port, False, None, None, "complaints@example.com")
    dispatcher = OutboxDispatcher(
        engine, directory, [mail, WebhookSender(HOOK_SECRET)], BASE_URL, vault=VAULT
    )
    form = c.Submission(
        channel="web",
        subject="Charger",
        description=f"It caught fire {uuid.uuid4().hex}",
        customer=SECRET,
    )
    async with worker_for(env, store, EventActivities(store)) as harness:
        service = ComplaintService(harness.client, harness.task_queue, harness.policy, store)
        cid = (await service.submit(form, scope="test")).state.complaint_id  # as every door does
        handle = harness.client.get_workflow_handle(cid)
        harness.started.append(handle)
        await harness.act(handle, c.Respond(by="agent.chen", message="Calling you"))
        await harness.act(handle, c.Resolve(by="agent.chen", resolution="Refunded"))
        await harness.act(handle, c.RecordFeedback(rating=5))
        await harness.env.sleep(timedelta(days=8))  # past the reopen window: archived
        await harness.wait_for(handle, lambda s: s.status is Status.ARCHIVED)
        async with asyncio.timeout(20):
            while not smtp.to(SECRET.email):  # the customer's address was read back to mail them
                await asyncio.to_thread(dispatcher.run_once)
        history = await handle.fetch_history()

    raw_history = b"".join(event.SerializeToString() for event in history.events)
    assert leaks(raw_history) == [] and leaks(history.to_json()) == []
    # Opened with the codec, every payload of every event still holds no personal data: intake
    # sealed the customer with their own key before the workflow started.
    payloads = [p for event in history.events for p in payloads_in(event)]
    opened = b"".join(p.data for p in await CONVERTER.payload_codec.decode(payloads))
    assert leaks(opened) == []
    # The controls: the decoded payloads are readable (the complaint's text is there in clear),
    # and the start input carries the customer sealed, which the vault opens.
    assert form.description.encode() in opened
    start = history.events[0].workflow_execution_started_event_attributes.input.payloads
    [start_input] = await CONVERTER.decode(start, [ComplaintInput])
    envelope = start_input.registration.customer.model_dump()
    with engine.connect() as connection:
        assert VAULT.open(connection, cid, envelope) == SECRET.model_dump(mode="json")

    assert leaks(raw_rows(engine)) == []
    assert store.closure_record(cid)["customer"]["name"] == SECRET.name

    logged = "".join(capfd.readouterr())
    assert '"event": "events appended"' in logged and cid in logged  # the capture captured
    assert [line for line in logged.splitlines() if leaks(line)] == []

    # Erasing the customer reaches Temporal's copy too: the envelope in the history is shredded.
    erased = erase_customer(store, VAULT, email=SECRET.email, by="dpo")
    assert erased.complaints == [cid]
    with engine.connect() as connection:
        assert VAULT.open(connection, cid, envelope) == ERASED.model_dump()
