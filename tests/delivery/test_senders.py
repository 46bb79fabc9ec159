"""The senders' failures, against real servers on loopback."""

import pytest

from delivery.directory import Recipient
from delivery.messages import Message
from delivery.senders import (
    Outgoing,
    PermanentFailure,
    SmtpSender,
    TemporaryFailure,
    WebhookSender,
    message_id,
    sign,
    verify_signature,
)
from tests.delivery.conftest import SECRET, HookReceiver, SmtpServer
from tests.ports import free_port

OUT = Outgoing("C-1:assignment:r1:assignee", "assignment", "C-1", {"tier": 3},
               Message("主题 subject", "正文 body\n"))  # fmt: skip


def person(email=None, webhook=None):
    return Recipient("agent.chen", "陈静", email, webhook, "zh")


def test_signatures():
    body = b'{"key": "k"}'
    assert verify_signature(SECRET, body, sign(SECRET, body))
    assert not verify_signature(SECRET, body + b" ", sign(SECRET, body))
    assert not verify_signature(SECRET, body, None)
    assert not verify_signature(SECRET, body, "sha256=00")


def test_smtp_sends_utf8_with_a_message_id_from_the_key(smtp: SmtpServer):
    sender = SmtpSender("127.0.0.1", smtp.port, False, None, None, "complaints@example.com")
    sender.send(person(email="chen@example.com"), OUT)
    sender.send(person(email="chen@example.com"), OUT)
    first, second = smtp.mails
    assert (
        first.message["Subject"] == "主题 subject"
        and first.body.replace("\r\n", "\n") == "正文 body\n"
    )
    assert first.message["Message-ID"] == second.message["Message-ID"]
    assert first.message["Message-ID"] == message_id(OUT.key, "agent.chen", "example.com")
    assert first.mail_from == "complaints@example.com"


def test_smtp_failures(smtp: SmtpServer):
    sender = SmtpSender("127.0.0.1", smtp.port, False, None, None, "complaints@example.com")
    smtp.refuse["gone@example.com"] = "550 no such user"
    smtp.refuse["busy@example.com"] = "452 mailbox full"
    with pytest.raises(PermanentFailure, match="SMTP 550"):
        sender.send(person(email="gone@example.com"), OUT)
    with pytest.raises(TemporaryFailure, match="SMTP 452"):
        sender.send(person(email="busy@example.com"), OUT)
    down = SmtpSender("127.0.0.1", free_port(), False, None, None, "complaints@example.com")
    with pytest.raises(TemporaryFailure, match="ConnectionRefused"):
        down.send(person(email="chen@example.com"), OUT)


@pytest.mark.parametrize(
    ("status", "failure"),
    [(500, TemporaryFailure), (503, TemporaryFailure), (429, TemporaryFailure),
     (404, PermanentFailure), (410, PermanentFailure)],
)  # fmt: skip
def test_webhook_failures(hooks: HookReceiver, status, failure):
    sender = WebhookSender(SECRET)
    hooks.script["/hooks/chen"] = [status]
    with pytest.raises(failure, match=f"HTTP {status}"):
        sender.send(person(webhook=hooks.url("chen")), OUT)
    sender.send(person(webhook=hooks.url("chen")), OUT)  # then 200
    sender.close()
    (ok,) = hooks.to("chen")
    assert ok.json["subject"] == "主题 subject"
    assert ok.headers["Content-Type"] == "application/json; charset=utf-8"


def test_webhook_unreachable_is_temporary():
    sender = WebhookSender(SECRET, timeout=1.0)
    with pytest.raises(TemporaryFailure, match="ConnectError"):
        sender.send(person(webhook=f"http://127.0.0.1:{free_port()}/hook"), OUT)
    sender.close()


@pytest.mark.parametrize("header", ["sha256=é", "sha256=" + "ü" * 64, "\udcff", "中文"])
def test_a_non_ascii_signature_is_false_not_an_error(header: str) -> None:
    assert verify_signature(SECRET, b"{}", header) is False
