"""The test suite's encryption keys: every Temporal client, worker and replayer in the tests uses
CONVERTER (pydantic plus the payload codec, as in production), every store that writes personal
data uses VAULT. Fixed keys, made for the tests only."""

import base64

from security.codec import data_converter
from security.keys import KeyMaterial, load_key_material
from store.vault import PersonalVault


def _key(byte: int) -> str:
    return base64.b64encode(bytes([byte]) * 32).decode()


KEYS: KeyMaterial = load_key_material(
    {
        "codec_keys": f"test-codec:{_key(1)}",
        "master_keys": f"test-master:{_key(2)}",
        "identity_key": _key(3),
    },
    key_file=None,
)
CONVERTER = data_converter(KEYS.codec)
# With COMPLAINTS_ACCEPT_PLAINTEXT_PAYLOADS: only for the histories recorded before encryption.
MIGRATION_CONVERTER = data_converter(KEYS.codec, accept_plaintext=True)
VAULT = PersonalVault.of(KEYS)
