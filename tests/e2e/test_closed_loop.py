"""The closed loop with the customer, all real parts: the dev server and a worker (the e2e stack),
the outbox dispatcher sending to the customer's mailbox (aiosmtpd on loopback), the delivery
reporter telling each complaint what became of its messages, our inbound receiver taking the
customer's e-mail reply over SMTP, and the customer's page in Debian's chromium.

A tier-2 complaint about a late parcel: the customer is told it was received, and writes to us
on their own page, from the link in that e-mail (whoever holds it is told); the agent asks a
question, which reaches the customer in the agent's words; the customer answers by e-mail and the
clock resumes; the agent's answer and resolution reach them word for word; the customer rates
the result on their own page, from the link in the resolution e-mail."""

from __future__ import annotations

import asyncio
import contextlib
import re
import smtplib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from urllib.parse import urlsplit

import pytest

from delivery.directory import load_directory
from delivery.dispatcher import OutboxDispatcher
from delivery.mail_receiver import start_receiver
from delivery.reporting import DeliveryReporter
from delivery.senders import SmtpSender
from engine.mail_in import MailIntake
from engine.service import ComplaintService
from engine.settings import DEFAULT_PARTIES
from store.inbound_mail import InboundMailStore
from tests.delivery.conftest import Mail, SmtpServer
from tests.e2e.conftest import Stack, bearer
from tests.e2e.test_pages import anonymous_page, browser  # noqa: F401  (fixtures)
from tests.keys import KEYS, VAULT
from tests.unit.helpers import POLICY
from workflows.complaint import ComplaintWorkflow

CUSTOMER = "li.na@example.org"
OURS = "complaints@example.com"
QUESTION = "Which delivery address did you give us? The courier reports it as incomplete."
ANSWER = "Flat 12, 5 Garden Road, Shanghai. Please ring twice."
WROTE = "Is there any news? I need it before the weekend."
RESPONSE = "The courier has your full address now and will deliver tomorrow before noon."
RESOLUTION = "Your parcel was delivered on 2 December, and we refunded the shipping fee of 12 yuan."


@contextlib.asynccontextmanager
async def delivering(stack: Stack, mailbox: SmtpServer) -> AsyncIterator[None]:
    """The worker's delivery side as engine.worker_assembly.serve runs it: the dispatcher and
    the delivery reporter, each in its loop, until the block ends."""
    directory = load_directory(DEFAULT_PARTIES.read_text(), POLICY)
    sender = SmtpSender(
        "127.0.0.1", mailbox.port, False, None, None, OURS, reply_key=KEYS.reply_key
    )
    dispatcher = OutboxDispatcher(
        stack.store.engine,
        directory,
        [sender],
        stack.url,
        vault=VAULT,
        customer_link=lambda cid: stack.links.url_for(cid, datetime.now(UTC)),
    )

    async def signal(complaint_id, report):
        handle = stack.client.get_workflow_handle(complaint_id)
        await handle.signal(ComplaintWorkflow.delivery_reported, report)

    reporter = DeliveryReporter(stack.store.engine, signal)
    stop = asyncio.Event()
    loops = [
        asyncio.create_task(dispatcher.run_forever(stop, interval=0.05)),
        asyncio.create_task(reporter.run_forever(stop, interval=0.05)),
    ]
    try:
        yield
    finally:
        stop.set()
        await asyncio.gather(*loops)


async def mails_to(mailbox: SmtpServer, count: int) -> list[Mail]:
    async with asyncio.timeout(30):
        while len(mailbox.to(CUSTOMER)) < count:
            await asyncio.sleep(0.05)
    return mailbox.to(CUSTOMER)


async def until(check, timeout: float = 30):
    async with asyncio.timeout(timeout):
        while not (result := await check()):
            await asyncio.sleep(0.1)
    return result


def reply_by_email(port: int, answering: Mail, text: str) -> int:
    """The customer's mail client answering our message (its quote below their words)."""
    reply = EmailMessage()
    reply["From"] = f"Li Na <{CUSTOMER}>"
    reply["To"] = OURS
    reply["Subject"] = "Re: " + answering.message["Subject"]
    reply["Message-ID"] = "<reply-1@mail.example.org>"
    reply["In-Reply-To"] = answering.message["Message-ID"]
    reply["References"] = answering.message["Message-ID"]
    quoted = "\n".join("> " + line for line in answering.body.splitlines())
    reply.set_content(f"{text}\n\nOn Monday you wrote:\n{quoted}\n")
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.ehlo("mx.example.org")
        smtp.mail(CUSTOMER)
        smtp.rcpt(OURS)
        code, _ = smtp.data(reply.as_bytes(policy=SMTP_POLICY))  # CRLF line ends, as on the wire
    return code


@pytest.fixture
def mailbox():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


async def test_the_customer_is_told_answers_by_email_and_rates_on_their_page(
    stack: Stack,
    mailbox: SmtpServer,
    anonymous_page,  # noqa: F811
) -> None:
    from playwright.async_api import expect

    agent = bearer(stack.keys["agent.wang"])  # logistics: late parcels are theirs

    async def act(cid: str, action: str, **body) -> None:
        answer = await stack.http.post(
            f"/api/complaints/{cid}/actions/{action}", json=body, headers=agent
        )
        assert answer.status_code == 200, answer.text

    async def complaint(cid: str) -> dict:
        return (await stack.http.get(f"/api/complaints/{cid}")).json()

    service = ComplaintService(stack.client, stack.task_queue, POLICY, stack.store)
    intake = MailIntake(
        service, InboundMailStore(stack.store.engine, KEYS.master), VAULT, KEYS.reply_key
    )
    receiver = await start_receiver(intake.receive, "127.0.0.1", 0, max_bytes=1 << 20)
    inbound_port = receiver.sockets[0].getsockname()[1]
    try:
        async with delivering(stack, mailbox):
            body = {
                "channel": "web",
                "subject": "Parcel",
                "description": "My parcel is late: ordered a week ago, still not delivered.",
                "customer": {"name": "Li Na", "email": CUSTOMER},
            }
            made = await stack.submit(body)
            cid = made.json()["id"]
            assert made.json()["tier"] == 2
            (receipt,) = await mails_to(mailbox, 1)
            assert f"reference number {cid}" in receipt.body

            page = anonymous_page
            await page.goto(urlsplit(_link_in(receipt)).path)
            await page.fill("#message", WROTE)
            await page.click("#send-reply")
            await expect(page.locator("#replies")).to_contain_text(WROTE)
            events = stack.store.read_stream(cid)
            assert [r.data["message"] for r in events if r.type == "CustomerWrote"] == [WROTE]
            told = [r.data for r in events if r.type == "NotificationRequested"]
            assert ("customer_wrote", "assignee") in [(t["kind"], t["recipient"]) for t in told]

            await act(cid, "request-info", question=QUESTION)
            asking = (await mails_to(mailbox, 2))[1]
            assert QUESTION in asking.body  # the agent's own words

            assert await asyncio.to_thread(reply_by_email, inbound_port, asking, ANSWER) == 250
            resumed = await until(lambda: _open_again(complaint, cid))
            assert resumed["pauses"][0]["ended_at"] is not None  # the clock runs again
            replies = [
                r.data["message"]
                for r in stack.store.read_stream(cid)
                if r.type == "CustomerReplied"
            ]
            assert replies == [ANSWER]  # their words, without the quoted message

            await act(cid, "respond", message=RESPONSE)
            await act(cid, "resolve", resolution=RESOLUTION)
            _, _, response, resolution = await mails_to(mailbox, 4)
            assert RESPONSE in response.body and RESOLUTION in resolution.body
            # Every message to the customer is a fact of the complaint, with how it went.
            delivered = await until(lambda: _delivered(stack, cid, 4))
            assert {tuple(e.data["channels"]) for e in delivered} == {("email",)}

        await page.goto(urlsplit(_link_in(resolution)).path)
        await expect(page.locator("#reference")).to_have_text(cid)
        await expect(page.locator("#messages")).to_contain_text(RESOLUTION)
        await page.check("#rating-5")
        await page.fill("#comment", "Delivered, and the fee refunded")
        await page.click("#send-feedback")
        await expect(page.locator("#status")).to_have_text("Closed")
        final = await complaint(cid)
        assert (final["status"], final["rating"]) == ("closed", 5)
    finally:
        receiver.close()
        await receiver.wait_closed()


def _link_in(mail: Mail) -> str:
    """The customer's own page, as a message to them links it."""
    return re.search(r"https?://\S+/my/\S+", mail.body).group(0)


async def _open_again(complaint, cid: str) -> dict | None:
    state = await complaint(cid)
    return state if state["status"] == "open" and state["pauses"] else None


async def _delivered(stack: Stack, cid: str, count: int) -> list | None:
    events = [r for r in stack.store.read_stream(cid) if r.type == "CustomerMessageDelivered"]
    return events if len(events) >= count else None
