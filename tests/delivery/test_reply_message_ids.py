"""Our Message-IDs to customers name their complaint and carry a MAC (security.message_ids);
SmtpSender puts them on the customer's mails only."""

from delivery.directory import Recipient
from delivery.messages import Message
from delivery.senders import Outgoing, SmtpSender, message_id
from security.message_ids import complaint_of, looks_like_ours, reply_message_id
from tests.delivery.conftest import SmtpServer
from tests.keys import KEYS

KEY = KEYS.reply_key
OUT = Outgoing(
    "C-ABCDEFGHJKLM:information_request:r1:customer",
    "information_request",
    "C-ABCDEFGHJKLM",
    {},
    Message("We need a photo", "Please send a photo.\n"),
)
CUSTOMER = Recipient("customer", "Li Lei", "li@example.org", None, "en")
AGENT = Recipient("agent.chen", "Chen Jing", "chen@example.com", None, "en")


def test_a_message_id_names_its_complaint_only_with_the_right_key():
    mid = reply_message_id(KEY, "C-ABCDEFGHJKLM", "n1", "customer", "example.com")
    assert mid.startswith("<C-ABCDEFGHJKLM.") and mid.endswith("@example.com>")
    assert complaint_of(KEY, mid) == "C-ABCDEFGHJKLM"
    assert complaint_of(b"\x07" * 32, mid) is None  # another server's key
    assert complaint_of(KEY, mid.replace("C-ABCDEFGHJKLM", "C-ABCDEFGHJKLN")) is None
    assert complaint_of(KEY, "<something@example.org>") is None
    assert looks_like_ours(mid) and not looks_like_ours("<something@example.org>")


def test_each_notification_has_its_own_id_and_every_attempt_the_same():
    one = reply_message_id(KEY, "C-ABCDEFGHJKLM", "n1", "customer", "example.com")
    assert one == reply_message_id(KEY, "C-ABCDEFGHJKLM", "n1", "customer", "example.com")
    assert one != reply_message_id(KEY, "C-ABCDEFGHJKLM", "n2", "customer", "example.com")


def test_the_reply_key_is_derived_and_is_none_of_the_others():
    assert len(KEY) == 32 and KEY == KEYS.derived("complaints/reply-message-id/v1")
    assert KEY not in (KEYS.identity, *KEYS.master.keys.values(), *KEYS.codec.keys.values())


def test_smtp_signs_the_customers_mail_and_not_the_staffs(smtp: SmtpServer):
    sender = SmtpSender(
        "127.0.0.1", smtp.port, False, None, None, "complaints@example.com", reply_key=KEY
    )
    sender.send(CUSTOMER, OUT)
    sender.send(AGENT, OUT)
    to_customer, to_agent = (smtp.to(r.email)[0].message["Message-ID"] for r in (CUSTOMER, AGENT))
    assert complaint_of(KEY, to_customer) == "C-ABCDEFGHJKLM"
    assert to_customer.endswith("@example.com>")  # the domain of the From address
    # Staff answering their notification are not the customer: their id carries no MAC.
    assert to_agent == message_id(OUT.key, "agent.chen", "example.com")
    assert complaint_of(KEY, to_agent) is None
