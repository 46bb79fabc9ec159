"""Message-IDs of our mails to customers that name their complaint and prove we made them.

A customer's mail client quotes our Message-ID in the In-Reply-To and References of their
answer; the inbound receiver (delivery.mail_routing) takes such an answer as the customer's reply
to that complaint. So the id must be unguessable: anyone who could make one could answer in the
customer's name. Form: `<{complaint_id}.{tag}.{mac}@{domain}>`
- tag: the notification (outbox key and recipient), so each message has its own id, and every
  attempt at one message the same (a receiver can drop a repeated send);
- mac: HMAC-SHA256(reply key, "{complaint_id}.{tag}"), 96 bits in hex; the reply key is derived
  from the identity key (security.keys.KeyMaterial.reply_key).
Both sides call this module: the sender to make an id, the receiver to check one.
"""

from __future__ import annotations

import hashlib
import hmac
import re

TAG_CHARS = 10
MAC_CHARS = 24  # 96 bits: far beyond guessing, short enough for a header line
_OURS = re.compile(
    rf"^<?(?P<cid>[A-Za-z0-9-]{{1,100}})\.(?P<tag>[0-9a-f]{{{TAG_CHARS}}})"
    rf"\.(?P<mac>[0-9a-f]{{{MAC_CHARS}}})@[^>\s]+>?$"
)


def _mac(key: bytes, complaint_id: str, tag: str) -> str:
    return hmac.new(key, f"{complaint_id}.{tag}".encode(), hashlib.sha256).hexdigest()[:MAC_CHARS]


def reply_message_id(
    key: bytes, complaint_id: str, notification: str, recipient_id: str, domain: str
) -> str:
    """Our Message-ID for one notification of `complaint_id` to one recipient."""
    tag = hashlib.sha256(f"{notification}\n{recipient_id}".encode()).hexdigest()[:TAG_CHARS]
    return f"<{complaint_id}.{tag}.{_mac(key, complaint_id, tag)}@{domain}>"


def looks_like_ours(message_id: str) -> bool:
    """In our form, whether or not its MAC holds (a forged or altered id looks like ours)."""
    return _OURS.match(message_id.strip()) is not None


def complaint_of(key: bytes, message_id: str) -> str | None:
    """The complaint a Message-ID of ours names, or None if it is not ours or its MAC fails."""
    match = _OURS.match(message_id.strip())
    if match is None:
        return None
    cid, tag, mac = match["cid"], match["tag"], match["mac"]
    return cid if hmac.compare_digest(_mac(key, cid, tag), mac) else None
