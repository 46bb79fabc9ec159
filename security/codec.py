"""The Temporal payload codec: every payload (workflow and activity inputs and results, queries,
updates, failures' details) is AES-GCM ciphertext on the server, so the customer's personal data
never appears in clear in Temporal's history or its Web UI.

Each payload carries the id of the key that encrypted it, so keys rotate: new payloads use the
current key, older ones open with any key still configured.

A payload that is not encrypted is refused: anyone who reaches the Temporal frontend could
otherwise signal or update a complaint with a plaintext payload the workers would act on. It
decodes to an empty payload of the encoding REFUSED, which no converter reads, rather than
raising: an exception here would fail the whole workflow task, again on every retry, so one
injected update would stop the complaint (its deadlines included). Unreadable, the SDK rejects
that update (its sender gets the error), drops that signal and fails that query, and the
complaint runs on. Histories recorded before encryption (some checked-in replay histories) need
the migration setting COMPLAINTS_ACCEPT_PLAINTEXT_PAYLOADS, which lets such payloads through.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import structlog
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

from security.keys import KeyRing, seal, unseal

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
# What an unencrypted payload decodes to: the converter's "Unknown payload encoding ..." error
# then names the setting.
REFUSED = b"refused/unencrypted (COMPLAINTS_ACCEPT_PLAINTEXT_PAYLOADS)"

log = structlog.get_logger(__name__)


def _aad(key_id: str) -> bytes:
    # Binds the ciphertext to the key id in its metadata: relabelling a payload breaks it.
    return b"complaints-payload:" + key_id.encode()


class EncryptionCodec(PayloadCodec):
    def __init__(self, ring: KeyRing, *, accept_plaintext: bool = False) -> None:
        self._ring = ring
        self._accept_plaintext = accept_plaintext

    def for_display(self) -> EncryptionCodec:
        """The same keys, for the codec endpoint (api.codec_routes): it shows people what the
        history holds and nothing acts on what it decodes, so a plaintext payload (a search
        attribute, a patch marker, or one injected) is shown as it is, not as REFUSED."""
        return EncryptionCodec(self._ring, accept_plaintext=True)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        key_id, key = self._ring.current_key()
        return [
            Payload(
                metadata={"encoding": ENCODING, KEY_ID: key_id.encode()},
                data=seal(key, p.SerializeToString(), _aad(key_id)),
            )
            for p in payloads
        ]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._decode_one(p) for p in payloads]

    def _decode_one(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            if self._accept_plaintext:
                return payload  # written before encryption: the migration setting is on
            # The encoding names the kind of payload, never its content.
            encoding = payload.metadata.get("encoding", b"").decode(errors="replace")[:40]
            log.warning("codec.unencrypted_payload_refused", encoding=encoding)
            return Payload(metadata={"encoding": REFUSED})
        key_id = payload.metadata.get(KEY_ID, b"").decode()
        return Payload.FromString(unseal(self._ring.key(key_id), payload.data, _aad(key_id)))


def data_converter(ring: KeyRing, *, accept_plaintext: bool = False) -> DataConverter:
    """The one converter of every client, worker, test environment and replayer: pydantic for
    values, the codec for bytes. Failure messages and stack traces are encoded too (they can
    quote an input)."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(ring, accept_plaintext=accept_plaintext),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
