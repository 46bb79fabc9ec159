"""What an inbound e-mail becomes, decided by delivery.mail_routing.route on real RFC 5322
messages built with the email package."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from delivery.inbound_mail import html_text, locale_of, new_text
from delivery.mail_routing import route
from security.message_ids import reply_message_id
from tests.keys import KEYS

KEY = KEYS.reply_key
CID = "C-ABCDEFGHJKLM"
CUSTOMER_ADDRESS = "li.lei@example.org"
CUSTOMERS = {CID: CUSTOMER_ADDRESS}  # the complaints' customers, as the store would answer


def sent_by_customer(complaint_id: str, address: str) -> bool:
    return CUSTOMERS.get(complaint_id, "").casefold() == address.casefold()


def mail(
    body: str = "My parcel arrived broken.",
    *,
    subject: str = "Broken parcel",
    sender: str = f"Li Lei <{CUSTOMER_ADDRESS}>",
    **headers: str,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "complaints@example.com"
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="mail.example.org")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


def decide(msg: EmailMessage | bytes, envelope_from: str = CUSTOMER_ADDRESS):
    raw = msg if isinstance(msg, bytes) else msg.as_bytes()
    return route(raw, envelope_from, KEY, sent_by_customer)


def ours(cid: str = CID, key: bytes = KEY) -> str:
    return reply_message_id(
        key, cid, f"{cid}:information_request:r1:customer", "customer", "example.com"
    )


# --- automatic mail is ignored ---------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto_Submitted": "auto-replied"},
        {"Auto_Submitted": "auto-generated; type=vacation"},
        {"Precedence": "bulk"},
        {"Precedence": "junk"},
        {"Precedence": "list"},
        {"Precedence": "auto_reply"},
        {"X_Autoreply": "yes"},
        {"X_Autorespond": "Out of office"},
        {"Return_Path": "<>"},
    ],
)
def test_auto_replies_are_ignored_even_when_they_answer_us(headers):
    # An out-of-office answer to our own mail would otherwise pass for the customer's reply.
    decided = decide(mail("I am away until Monday.", In_Reply_To=ours(), **headers))
    assert decided.outcome == "ignored" and decided.reply is None and decided.submission is None


def test_auto_submitted_no_is_a_person():
    assert decide(mail(Auto_Submitted="no")).outcome == "complaint"


def test_a_bounce_has_an_empty_return_path():
    decided = decide(mail("Delivery failed"), envelope_from="")
    assert (decided.outcome, decided.reason) == ("ignored", "empty return path (a bounce)")


def test_a_delivery_report_is_ignored():
    report = (
        b"From: Mail Delivery System <MAILER-DAEMON@example.org>\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n'
        b"\r\n--b1\r\nContent-Type: text/plain\r\n\r\nThe mail system could not deliver it.\r\n"
        b"--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; example.org"
        b"\r\n\r\nFinal-Recipient: rfc822; x@example.org\r\nAction: failed\r\n--b1--\r\n"
    )
    decided = decide(report, envelope_from="postmaster@example.org")
    assert decided.outcome == "ignored" and "multipart/report" in decided.reason


# --- replies ---------------------------------------------------------------------------------


def test_an_answer_to_our_signed_message_id_is_the_customers_reply():
    decided = decide(
        mail(
            "The order number is 4471.",
            subject="Re: your complaint",
            sender="someone.else@example.net",
            In_Reply_To=ours(),
        )
    )
    assert decided.outcome == "reply" and decided.complaint_id == CID
    assert decided.reply.message == "The order number is 4471."


def test_our_id_may_be_anywhere_in_references():
    refs = f"<a@example.org> {ours()} <b@example.org>"
    decided = decide(mail("Here it is.", References=refs))
    assert (decided.outcome, decided.complaint_id) == ("reply", CID)


def test_a_forged_message_id_with_a_bad_mac_is_unmatched():
    forged = ours(key=b"\x00" * 32)  # the right form, the complaint's id, a MAC of another key
    decided = decide(mail("Close my complaint.", sender="mallory@example.net", In_Reply_To=forged))
    assert decided.outcome == "unmatched" and decided.reply is None
    assert "MAC" in decided.reason


def test_a_message_id_for_one_complaint_does_not_open_another():
    other = ours().replace(CID, "C-ZZZZZZZZZZZZ")
    assert decide(mail("x", In_Reply_To=other)).outcome == "unmatched"


def test_a_reference_from_the_customers_address_is_a_reply():
    decided = decide(
        mail(
            "Still waiting.",
            subject=f"Re: [{CID}] Broken parcel",
            sender=f"LI LEI <{CUSTOMER_ADDRESS.upper()}>",
        )
    )
    assert (decided.outcome, decided.complaint_id) == ("reply", CID)


def test_a_bare_reference_counts_too():
    decided = decide(mail("Any news?", subject=f"about {CID.lower()} please"))
    assert (decided.outcome, decided.complaint_id) == ("reply", CID)


def test_a_reference_from_another_address_is_unmatched_not_a_new_complaint():
    decided = decide(mail("Cancel it.", subject=f"Re: [{CID}]", sender="mallory@example.net"))
    assert decided.outcome == "unmatched" and decided.complaint_id == CID
    assert decided.reply is None and decided.submission is None
    assert "mallory" not in decided.reason  # reasons are listed and logged: no addresses


def test_quoted_history_is_stripped_from_a_reply():
    body = (
        "The serial number is SN-2231.\n\nThanks\n\n"
        "On Mon, 30 Nov 2026 at 10:00, Complaints <complaints@example.com> wrote:\n"
        "> Please tell us the serial number.\n> Reference C-ABCDEFGHJKLM\n"
    )
    decided = decide(mail(body, In_Reply_To=ours()))
    assert decided.reply.message == "The serial number is SN-2231.\n\nThanks"


def test_a_reply_with_nothing_new_is_refused_naming_the_field():
    decided = decide(mail("> Please tell us the serial number.\n", In_Reply_To=ours()))
    assert decided.outcome == "refused" and decided.complaint_id == CID
    assert decided.reason.startswith("message:")


@pytest.mark.parametrize(
    "text",
    [
        "Keep this.\n-----Original Message-----\nFrom: us\nOld text",
        "Keep this.\n在 2026年11月30日 10:00，客服 <complaints@example.com> 写道：\n> 旧的",
        "Keep this.\n> quoted\n> more",
    ],
)
def test_quote_markers(text):
    assert new_text(text) == "Keep this."


# --- new complaints --------------------------------------------------------------------------


def test_anything_else_is_a_new_email_complaint():
    decided = decide(
        mail("My parcel arrived broken.\nOrder 881.", sender="Li Lei <li@example.org>")
    )
    assert decided.outcome == "complaint" and decided.complaint_id is None
    s = decided.submission
    assert (s.channel, s.subject, s.description) == (
        "email",
        "Broken parcel",
        "My parcel arrived broken.\nOrder 881.",
    )
    assert (s.customer.name, s.customer.email, s.customer.locale) == (
        "Li Lei",
        "li@example.org",
        "en",
    )
    assert decided.message_id.startswith("<") and decided.message_id.endswith("@mail.example.org>")


def test_an_answer_to_someone_elses_message_is_a_new_complaint():
    decided = decide(mail("New problem", In_Reply_To="<thread-1@mail.example.org>"))
    assert decided.outcome == "complaint"


def test_no_display_name_uses_the_local_part():
    assert decide(mail(sender="wang.fang@example.org")).submission.customer.name == "wang.fang"


def test_mostly_chinese_text_is_a_chinese_complaint():
    decided = decide(mail("我的快递到的时候已经坏了，请尽快处理。Order 881", subject="快递损坏"))
    assert decided.submission.customer.locale == "zh"
    assert locale_of("Hello 你好 world") == "en" and locale_of("") == "en"


def test_html_only_mail_gives_its_text():
    msg = mail()
    msg.set_content(
        "<html><head><style>p{}</style></head><body><p>Broken <b>again</b></p>"
        "<p>Order&nbsp;881</p><script>x()</script></body></html>",
        subtype="html",
    )
    assert decide(msg).submission.description == "Broken again\n\nOrder 881"  # nbsp: a space
    assert html_text("<div>a</div><div>b</div>") == "a\n\nb"


def test_plain_text_is_preferred_and_attachments_are_left_out():
    msg = mail("The plain words.")
    msg.add_alternative("<p>The HTML words.</p>", subtype="html")
    msg.add_attachment(b"\x89PNG...", maintype="image", subtype="png", filename="photo.png")
    assert decide(msg).submission.description == "The plain words."


def test_an_empty_body_is_refused_naming_the_field_and_rule():
    decided = decide(mail("   \n"))
    assert decided.outcome == "refused" and decided.submission is None
    assert decided.reason.startswith("description:") and "at least 1" in decided.reason


def test_a_long_subject_is_shortened_and_a_missing_one_named():
    assert len(decide(mail(subject="x" * 500)).submission.subject) == 200
    no_subject = mail()
    del no_subject["Subject"]
    assert decide(no_subject).submission.subject == "(no subject)"


def test_control_characters_are_refused():
    decided = decide(mail("bad \x00 byte"))
    assert decided.outcome == "refused" and "control characters" in decided.reason


# --- what is not e-mail ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"\x00\xff\xfe garbage \x01\x02",
        b"",
        b"Subject: no sender\r\n\r\nhello\r\n",
        b"From: not an address\r\n\r\nhello\r\n",
    ],
)
def test_what_cannot_be_read_is_unparsable(raw):
    decided = decide(raw)
    assert decided.outcome == "unparsable" and decided.message_id is None and decided.reason


def test_a_message_id_that_cannot_be_kept_is_dropped():
    msg = mail()
    msg.replace_header("Message-ID", "<" + "x" * 1200 + "@example.org>")
    assert decide(msg).message_id is None
