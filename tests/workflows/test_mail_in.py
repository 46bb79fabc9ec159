"""Inbound e-mail end to end: a real SMTP conversation (smtplib) with the receiver on loopback,
the time-skipping server and a real worker; the complaints it makes and the replies it records
are read back from the workflow and the event store."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import smtplib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest

from delivery.directory import Recipient
from delivery.mail_receiver import ReceiverUnavailable, start_receiver
from delivery.messages import Message
from delivery.senders import Outgoing, SmtpSender
from domain import commands as c
from domain.vocabulary import Status
from engine.composition import open_parts
from engine.contracts import load_contracts
from engine.mail_in import MailIntake, start
from engine.service import ComplaintService
from engine.settings import Settings
from store import EventStore, make_engine
from store.inbound_mail import InboundMailStore
from tests.delivery.conftest import SmtpServer
from tests.keys import KEYS, VAULT

ADDRESS = "zhang.weiming@example.org"
SENDER = f"Zhang Weiming <{ADDRESS}>"
OUR_ADDRESS = "complaints@example.com"
EXAMPLE_CONTRACTS = Path(__file__).resolve().parents[2] / "contracts" / "example" / "contracts.toml"


@dataclass
class Inbox:
    """Our receiver, as the operator's mail server reaches it."""

    port: int
    kept: InboundMailStore
    service: ComplaintService | None
    lmtp: bool = False

    def _send(self, raw: bytes, mail_from: str, rcpt_to: str) -> int:
        client = smtplib.LMTP if self.lmtp else smtplib.SMTP
        with client("127.0.0.1", self.port, timeout=30) as smtp:
            smtp.ehlo("mx.example.org")  # LHLO for LMTP
            smtp.mail(mail_from)
            smtp.rcpt(rcpt_to)
            code, _ = smtp.data(raw)
        return code

    async def send(
        self, raw: bytes | EmailMessage, mail_from: str = ADDRESS, rcpt_to: str = OUR_ADDRESS
    ) -> int:
        """The SMTP answer to the message's DATA."""
        data = raw.as_bytes() if isinstance(raw, EmailMessage) else raw
        return await asyncio.to_thread(self._send, data, mail_from, rcpt_to)

    def the(self, message_id: str):
        kept = self.kept.find(message_id)
        assert kept is not None, "the message was not kept"
        return kept


@contextlib.asynccontextmanager
async def receiving(
    service: ComplaintService, kept: InboundMailStore, protocol: str = "smtp"
) -> AsyncIterator[Inbox]:
    intake = MailIntake(service, kept, VAULT, KEYS.reply_key)
    server = await start_receiver(
        intake.receive, "127.0.0.1", 0, max_bytes=1024 * 1024, protocol=protocol
    )
    try:
        yield Inbox(server.sockets[0].getsockname()[1], kept, service, lmtp=protocol == "lmtp")
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def inbox(harness) -> AsyncIterator[Inbox]:
    service = ComplaintService(harness.client, harness.task_queue, harness.policy, harness.store)
    async with receiving(service, InboundMailStore(harness.store.engine, KEYS.master)) as inbox:
        yield inbox


def mail(body: str, subject: str = "Broken parcel", **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = SENDER
    msg["To"] = OUR_ADDRESS
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="mail.example.org")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


def our_request(cid: str, smtp: SmtpServer) -> str:
    """The Message-ID of our information request as SmtpSender sends it to the customer."""
    sender = SmtpSender(
        "127.0.0.1", smtp.port, False, None, None, OUR_ADDRESS, reply_key=KEYS.reply_key
    )
    outgoing = Outgoing(
        f"{cid}:information_request:1:customer",
        "information_request",
        cid,
        {},
        Message("We need the serial number", "Please reply.\n"),
    )
    sender.send(Recipient("customer", "Zhang Weiming", ADDRESS, None, "en"), outgoing)
    return smtp.mails[-1].message["Message-ID"]


@pytest.fixture
def smtp():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


async def test_mail_becomes_complaints_and_replies(inbox, harness, smtp, capsys, caplog):
    caplog.set_level(logging.INFO)
    first = mail("My parcel arrived broken.\nOrder 881.")
    assert await inbox.send(first) == 250
    kept = inbox.the(first["Message-ID"])
    cid = kept.complaint_id
    assert kept.outcome == "complaint" and cid
    handle = harness.client.get_workflow_handle(cid)
    harness.started.append(handle)
    registered = inbox.service.events(cid)[0]
    assert registered.type == "ComplaintRegistered" and registered.data["channel"] == "email"
    assert registered.personal["email"] == ADDRESS

    # The MTA delivers the same message again: nothing new.
    assert await inbox.send(first) == 250
    assert [r.type for r in inbox.service.events(cid)].count("ComplaintRegistered") == 1
    assert len(inbox.kept.held(("complaint",))) == 1

    # An agent asks; the customer answers our mail, quoting it.
    await inbox.service.act(cid, c.RequestInfo(by="agent.chen", question="Serial number?"))
    request_id = our_request(cid, smtp)
    reply = mail(
        "It is SN-2231.\n\nOn Monday, Complaints wrote:\n> Serial number?",
        subject="Re: We need the serial number",
        In_Reply_To=request_id,
        References=request_id,
    )
    assert await inbox.send(reply) == 250
    assert inbox.the(reply["Message-ID"]).outcome == "reply"
    state = await harness.wait_for(handle, lambda s: s.status is Status.OPEN)
    replied = [e for e in harness.events(cid) if e.type == "CustomerReplied"]
    assert len(replied) == 1 and replied[0].message == "It is SN-2231."
    assert state.complaint_id == cid

    # An out-of-office answer to the same mail makes nothing.
    before = len(inbox.service.events(cid))
    away = mail(
        "I am away.",
        subject="Auto: Re: We need the serial number",
        Auto_Submitted="auto-replied",
        In_Reply_To=request_id,
    )
    assert await inbox.send(away) == 250
    assert inbox.the(away["Message-ID"]).outcome == "ignored"

    # Another message when nothing is asked: the customer wrote, and is owed an answer.
    more = mail("One more thing.", In_Reply_To=request_id)
    assert await inbox.send(more) == 250
    assert inbox.the(more["Message-ID"]).outcome == "reply"
    wrote = [e for e in harness.events(cid) if e.type == "CustomerWrote"]
    assert [e.message for e in wrote] == ["One more thing."]
    told = [e for e in harness.events(cid) if getattr(e, "kind", "") == "customer_wrote"]
    assert [e.recipient for e in told] == ["assignee", "assignee"]  # their answer, then this

    # The reference in the subject opens the complaint only from the customer's address.
    await inbox.service.act(cid, c.RequestInfo(by="agent.chen", question="A photo?"))
    forged = mail("Close it.", subject=f"Re: [{cid}]")
    forged.replace_header("From", "Mallory <mallory@example.net>")
    assert await inbox.send(forged, mail_from="mallory@example.net") == 250
    assert inbox.the(forged["Message-ID"]).outcome == "unmatched"
    photo = mail("Photo follows by post.", subject=f"Re: [{cid}] A photo?")
    assert await inbox.send(photo) == 250
    assert inbox.the(photo["Message-ID"]).outcome == "reply"
    await harness.wait_for(handle, lambda s: s.status is Status.OPEN)
    types = [r.type for r in inbox.service.events(cid)]
    assert types.count("CustomerReplied") == 2 and len(types) > before

    # Garbage is kept, never lost, and listed for staff.
    assert await inbox.send(b"\x00\xff\xfe not an e-mail \x01") == 250
    held = inbox.kept.held(("unmatched", "refused", "unparsable", "failed"))
    assert [m.outcome for m in held].count("unparsable") == 1
    assert inbox.kept.raw(held[0].id).startswith(b"\x00\xff\xfe")

    # Nothing personal in any log line: not the address, not the name, not the words.
    logged = "".join(capsys.readouterr()) + caplog.text
    assert "inbound mail" in logged  # the receiver did log
    for needle in (ADDRESS, "Zhang", "mallory", "SN-2231", "arrived broken"):
        assert needle not in logged


async def test_a_database_outage_answers_451_so_the_mta_tries_again(harness):
    # PostgreSQL on a port nothing listens on: every statement fails to connect.
    down = make_engine("postgresql+psycopg2://postgres@127.0.0.1:1/none")
    service = ComplaintService(
        harness.client, harness.task_queue, harness.policy, EventStore(down, VAULT)
    )
    async with receiving(service, InboundMailStore(down, KEYS.master)) as inbox:
        assert await inbox.send(mail("Is anyone there?")) == 451
    down.dispose()


async def test_the_receiver_as_the_engine_starts_it(harness, tmp_path):
    """engine.mail_in.start, as `complaints run` and `complaints mail-in` call it: on the parts
    the composition root opens from its settings (store, Temporal client, contracts)."""
    keys = {
        "codec_keys": f"test-codec:{_b64(KEYS.codec.key('test-codec'))}",
        "master_keys": f"test-master:{_b64(KEYS.master.key('test-master'))}",
        "identity_key": _b64(KEYS.identity),
    }
    settings = Settings(
        temporal_address=harness.client.service_client.config.target_host,
        task_queue=harness.task_queue,
        database_url=f"sqlite:///{tmp_path / 'events.sqlite3'}",  # the harness's store
        mail_in_port=0,
        **keys,
    )
    parts = await open_parts(settings)
    try:
        receiving = await start(settings, parts)
        try:
            assert receiving.address.startswith("smtp://127.0.0.1:")
            port = int(receiving.address.rpartition(":")[2])
            inbox = Inbox(port, InboundMailStore(harness.store.engine, KEYS.master), None)
            message = mail("Broken again.")
            assert await inbox.send(message) == 250
            cid = inbox.the(message["Message-ID"]).complaint_id
            harness.started.append(harness.client.get_workflow_handle(cid))
            assert harness.events(cid)[0].channel == "email"
        finally:
            await receiving.close()
    finally:
        parts.close()


async def test_a_new_complaint_by_mail_belongs_to_the_contract_it_was_sent_to(harness):
    """The example's contracts: Globex takes beschwerden@globex.example; ACME is the default.
    A reply stays with its complaint, whichever address it was sent to."""
    book = load_contracts(EXAMPLE_CONTRACTS)
    service = ComplaintService(harness.client, harness.task_queue, book, harness.store)
    kept = InboundMailStore(harness.store.engine, KEYS.master)
    globex = "beschwerden@globex.example"

    async def contract_of(message: EmailMessage, rcpt_to: str) -> tuple[str, str]:
        assert await inbox.send(message, rcpt_to=rcpt_to) == 250
        cid = inbox.the(message["Message-ID"]).complaint_id
        harness.started.append(harness.client.get_workflow_handle(cid))
        return cid, harness.events(cid)[0].contract

    async with receiving(service, kept) as inbox:
        # The envelope names Globex's address (a Bcc: To names ours only).
        cid, contract = await contract_of(mail("Stromausfall seit Mittag."), globex)
        assert contract == "globex"
        # An MTA that rewrote the envelope: To or Cc still says where it was sent.
        cc = mail("Kein Strom.")
        cc["Cc"] = f"Globex <{globex}>"
        assert (await contract_of(cc, "inbox@provider.example"))[1] == "globex"
        # No address of a contract's: the default contract's.
        assert (await contract_of(mail("No power."), OUR_ADDRESS))[1] == "acme"
        # The customer answers through ACME's address: still Globex's complaint.
        await service.act(cid, c.RequestInfo(by="globex.carl", question="Which street?"))
        answer = mail("Hauptstrasse 1.", subject=f"Re: [{cid}] Which street?")
        assert await inbox.send(answer, rcpt_to="complaints@acme.example") == 250
        replied = inbox.the(answer["Message-ID"])
        assert (replied.outcome, replied.complaint_id) == ("reply", cid)


def _b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


async def test_a_port_in_use_is_named_not_a_traceback():
    first = await start_receiver(_never_called, "127.0.0.1", 0, max_bytes=1024)
    port = first.sockets[0].getsockname()[1]
    try:
        with pytest.raises(ReceiverUnavailable, match=f"127.0.0.1:{port}.*COMPLAINTS_MAIL_IN_PORT"):
            await start_receiver(_never_called, "127.0.0.1", port, max_bytes=1024)
    finally:
        first.close()
        await first.wait_closed()


async def _never_called(raw: bytes, envelope_from: str, envelope_to: tuple[str, ...]) -> str:
    raise AssertionError("no message was sent")


async def test_lmtp_too(harness):
    service = ComplaintService(harness.client, harness.task_queue, harness.policy, harness.store)
    kept = InboundMailStore(harness.store.engine, KEYS.master)
    async with receiving(service, kept, protocol="lmtp") as inbox:
        message = mail("Delivered by LMTP.")
        assert await inbox.send(message) == 250
        cid = inbox.the(message["Message-ID"]).complaint_id
        harness.started.append(harness.client.get_workflow_handle(cid))
        assert harness.events(cid)[0].channel == "email"


class _DefectiveService(ComplaintService):
    """A defect in handling (fault injection, as the intake fault tests do)."""

    async def submit(self, submission, idempotency_key=None, *, scope):
        raise KeyError("a bug")


async def test_a_defect_keeps_the_message_as_failed_for_staff(harness):
    service = _DefectiveService(harness.client, harness.task_queue, harness.policy, harness.store)
    kept = InboundMailStore(harness.store.engine, KEYS.master)
    async with receiving(service, kept) as inbox:
        message = mail("Please help.")
        assert await inbox.send(message) == 250
        failed = inbox.the(message["Message-ID"])
        assert (failed.outcome, failed.reason) == (
            "failed",
            "unexpected KeyError while handling it",
        )
        raw = kept.raw(failed.id)  # as the MTA sent it: staff can still handle it
        assert message["Message-ID"].encode() in raw and b"Please help." in raw


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64  # a PNG's signature: the rules read the content
PROGRAM = b"MZ\x90\x00" + b"\x00" * 64  # a Windows program, whatever its name says


async def test_photos_in_an_email_join_the_complaint_and_a_disguised_program_does_not(
    harness, inbox: Inbox
):
    message = mail("The box arrived crushed; photos attached.")
    message.add_attachment(PNG, maintype="image", subtype="png", filename="box.png")
    message.add_attachment(PROGRAM, maintype="image", subtype="jpeg", filename="photo2.jpg")
    assert await inbox.send(message) == 250
    kept = inbox.the(message["Message-ID"])
    assert kept.outcome == "complaint"
    assert "an attachment was not joined: file: the content is not one of" in kept.reason
    cid = kept.complaint_id
    harness.started.append(harness.client.get_workflow_handle(cid))
    added = [e for e in harness.events(cid) if e.type == "AttachmentAdded"]
    assert [(e.content_type, e.size, e.source) for e in added] == [("image/png", len(PNG), "email")]
    (stored,) = await inbox.service.attachments_of(cid)
    assert stored.filename == "box.png"
