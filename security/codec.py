"""The Temporal payload codec: every payload (workflow and activity inputs and results, queries,
updates, failures' details) is AES-GCM ciphertext on the server, so the customer's personal data
never appears in clear in Temporal's history or its Web UI.

Each payload carries the id of the key that encrypted it, so keys rotate: new payloads use the
current key, older ones open with any key still configured. Payloads that are not encrypted
(history recorded before encryption, like the checked-in replay histories) pass through.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

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


def _aad(key_id: str) -> bytes:
    # Binds the ciphertext to the key id in its metadata: relabelling a payload breaks it.
    return b"complaints-payload:" + key_id.encode()


class EncryptionCodec(PayloadCodec):
    def __init__(self, ring: KeyRing) -> None:
        self._ring = ring

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
            return payload  # written before encryption
        key_id = payload.metadata.get(KEY_ID, b"").decode()
        return Payload.FromString(unseal(self._ring.key(key_id), payload.data, _aad(key_id)))


def data_converter(ring: KeyRing) -> DataConverter:
    """The one converter of every client, worker, test environment and replayer: pydantic for
    values, the codec for bytes. Failure messages and stack traces are encoded too (they can
    quote an input)."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(ring),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
