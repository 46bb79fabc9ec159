"""Every check of a MAC made by us answers "no" to non-ASCII input instead of raising:
hmac.compare_digest raises TypeError on a str holding non-ASCII characters, and each of these
inputs is whatever a sender, a mail client or a browser put there (issue 14)."""

import pytest

from delivery.senders import sign, verify_signature
from security.message_ids import complaint_of, reply_message_id
from tests.keys import KEYS
from tests.security.test_customer_links import LINKS, NOW

NON_ASCII = ["é", "中文", "\udcff", "ü" * 64, "１２３"]  # fullwidth digits too


@pytest.mark.parametrize("junk", NON_ASCII)
def test_a_webhook_signature(junk: str):
    body = b'{"complaint": "C-1"}'
    assert verify_signature("secret", body, sign("secret", body))
    assert verify_signature("secret", body, "sha256=" + junk) is False
    assert verify_signature("secret", body, sign("secret", body)[:-1] + junk) is False


@pytest.mark.parametrize("junk", NON_ASCII)
def test_a_customer_link_token(junk: str):
    token = LINKS.token_for("C-AAAAAAAAAAAA", NOW)
    expiry, nonce, mac = token.split(".")
    for tampered in (f"{junk}.{nonce}.{mac}", f"{expiry}.{junk}.{mac}", f"{expiry}.{nonce}.{junk}",
                     f"{expiry}.{nonce}.{mac[:-1]}{junk}"):  # fmt: skip
        assert LINKS.verify("C-AAAAAAAAAAAA", tampered, NOW) is False
    assert LINKS.verify("C-AAAAAAAAAAAA" + junk, token, NOW) is False
    assert LINKS.verify("C-AAAAAAAAAAAA", token, NOW)


@pytest.mark.parametrize("junk", NON_ASCII)
def test_a_reply_message_id(junk: str):
    mid = reply_message_id(KEYS.reply_key, "C-ABCDEFGHJKLM", "n1", "customer", "example.com")
    assert complaint_of(KEYS.reply_key, mid) == "C-ABCDEFGHJKLM"
    cid, tag, rest = mid.strip("<>").split(".", 2)
    mac = rest.split("@")[0]
    for forged in (f"<{cid}.{tag}.{mac[:-1]}{junk}@example.com>", f"<{cid}{junk}.{tag}.{mac}@x>",
                   f"<{cid}.{tag[:-1]}{junk}.{mac}@example.com>"):  # fmt: skip
        assert complaint_of(KEYS.reply_key, forged) is None
