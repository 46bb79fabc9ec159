"""The customer's private link: `<base_url>/my/<complaint id>/<token>`, the only way to their page.

A token is `<expiry>.<nonce>.<mac>`: the expiry in Unix seconds, 12 random bytes (so two links
never look alike), and an HMAC-SHA256 over the complaint id, the customer and both of those. It
names the customer without showing them: the claim is the id of the data key that seals the
complaint's personal part (store.vault), which only the server can look up, and which is bound
into the MAC, not written in the token. So:
- a token for complaint A never opens B (another id, and another customer, in the MAC);
- an erased customer's tokens open nothing (their key is gone, so the claim cannot be looked up);
- the token carries no personal data and nothing that links two complaints of one customer.

The MAC key is derived from the identity key (HKDF with a label of its own) rather than being a
new setting: the identity key is already the server's HMAC secret and is never rotated (customer
references depend on it), the label keeps the two uses apart (a link's MAC can never equal a
customer reference), and operators have one secret fewer to provision. Rotating the identity key
would end every outstanding link, which is what rotating a compromised key should do.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_LABEL = b"complaints/customer-link/v1"
_NONCE_BYTES = 12
_EXPIRY = re.compile(r"[1-9][0-9]{0,11}")  # Unix seconds, as ASCII digits only
LINK_PATH = "/my"  # the customer's page: LINK_PATH/<complaint id>/<token>


def link_key(identity_key: bytes) -> bytes:
    """The links' own MAC key, derived from the identity key (the module docstring says why)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_LABEL).derive(identity_key)


@dataclass(frozen=True)
class CustomerLinks:
    """Makes and checks customer links.

    `customer_of(complaint_id)` is the complaint's customer claim: the id of its live data key,
    None for an unknown complaint or an erased customer (EventStore.customer_key does this).
    """

    key: bytes  # link_key(identity key)
    base_url: str
    lifetime: timedelta
    customer_of: Callable[[str], str | None]

    def token_for(self, complaint_id: str, now: datetime) -> str:
        customer = self.customer_of(complaint_id)
        if customer is None:
            raise LookupError(f"complaint {complaint_id!r} has no customer to link to")
        expiry = str(int((now + self.lifetime).timestamp()))
        nonce = _b64(secrets.token_bytes(_NONCE_BYTES))
        return f"{expiry}.{nonce}.{self._mac(complaint_id, customer, expiry, nonce)}"

    def url_for(self, complaint_id: str, now: datetime) -> str:
        """The full URL of the customer's page, valid for `lifetime` from `now`."""
        return self.url_of(complaint_id, self.token_for(complaint_id, now))

    def url_of(self, complaint_id: str, token: str) -> str:
        return f"{self.base_url.rstrip('/')}{LINK_PATH}/{complaint_id}/{token}"

    def verify(self, complaint_id: str, token: str, now: datetime) -> bool:
        """True only for an unexpired token made for this complaint and its (unerased) customer."""
        expiry, _, rest = token.partition(".")
        nonce, _, mac = rest.partition(".")
        if not (_EXPIRY.fullmatch(expiry) and nonce and mac):
            return False
        customer = self.customer_of(complaint_id)
        # An unknown complaint still costs one MAC, so it answers like a wrong token does.
        expected = self._mac(complaint_id, customer or "", expiry, nonce)
        # As bytes, and any character encodable: a token is whatever reached the URL.
        valid = hmac.compare_digest(expected.encode(), mac.encode("utf-8", "replace"))
        return valid and customer is not None and now.timestamp() < int(expiry)

    def _mac(self, complaint_id: str, customer: str, expiry: str, nonce: str) -> str:
        # The expiry as written in the token, so "0123" is not another spelling of "123".
        # JSON keeps the fields apart: no two different tuples give the same message.
        message = json.dumps([complaint_id, customer, expiry, nonce]).encode()
        return _b64(hmac.new(self.key, message, hashlib.sha256).digest())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
