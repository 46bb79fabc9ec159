"""Key rings (id → AES-256 key), AES-GCM with the key id carried beside the ciphertext, and where
the engine's keys come from: COMPLAINTS_* settings, else a key file.

Three kinds of key, each with its own job (README, Operations):
- codec keys encrypt every Temporal payload (security.codec);
- master keys wrap the per-customer data keys kept in the database (store.vault);
- the identity key makes the customer reference, a keyed HMAC of the e-mail or phone number, so
  a customer can be found for erasure without their address being stored anywhere, and the
  keyed digests of intake keys and submissions (store.intake_keys), for the same reason; keys
  for other MACs are derived from it, each under its own label (KeyMaterial.derived), so one key
  never serves two purposes and operators have no further key to keep.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from security.private_files import FILE_MODE, private_dir

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # AES-GCM's standard nonce; random per message
_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
# The settings a key file may hold; the same names as the COMPLAINTS_* variables, lower case.
KEY_SETTINGS = ("codec_keys", "codec_key_id", "master_keys", "master_key_id", "identity_key")


class KeyConfigError(ValueError):
    """Key settings that cannot be used; the message names the setting and the rule (and never
    contains key material)."""


class DecryptionError(ValueError):
    """Ciphertext that does not open: an unknown key id, or it was altered."""


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """nonce ‖ ciphertext ‖ tag. `aad` binds the ciphertext to its context (key id, stream)."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def unseal(key: bytes, blob: bytes, aad: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except InvalidTag:
        raise DecryptionError(
            "ciphertext failed authentication (altered, or another key)"
        ) from None


@dataclass(frozen=True)
class KeyRing:
    """Encrypts with the current key; decrypts with any key it holds (so keys can rotate)."""

    keys: Mapping[str, bytes]
    current: str
    setting: str  # the variable the ring came from, for error messages

    def current_key(self) -> tuple[str, bytes]:
        return self.current, self.keys[self.current]

    def key(self, key_id: str) -> bytes:
        try:
            return self.keys[key_id]
        except KeyError:
            raise DecryptionError(
                f"encrypted with key {key_id!r}, which {self.setting} does not hold"
            ) from None


# The labels of the keys derived from the identity key: one per purpose, never reused.
REPLY_MESSAGE_ID_LABEL = "complaints/reply-message-id/v1"


@dataclass(frozen=True)
class KeyMaterial:
    codec: KeyRing
    master: KeyRing
    identity: bytes

    def derived(self, label: str) -> bytes:
        """A key of its own for `label`: HMAC-SHA256(identity key, label), as HKDF-Expand does
        for one block. Rotating the identity key changes every derived key too."""
        return hmac.new(self.identity, label.encode(), hashlib.sha256).digest()

    @property
    def reply_key(self) -> bytes:
        """Signs the Message-IDs of our mails to customers (security.message_ids)."""
        return self.derived(REPLY_MESSAGE_ID_LABEL)


def parse_key(text: str, setting: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyConfigError(f"{setting}: not valid base64") from None
    if len(key) != KEY_BYTES:
        raise KeyConfigError(
            f"{setting}: a key must be {KEY_BYTES} bytes in base64 (e.g. `openssl rand -base64 "
            f"32`), got {len(key)} bytes"
        )
    return key


def parse_key_ring(text: str, current: str, setting: str, current_setting: str) -> KeyRing:
    """`text` is `id:base64` pairs separated by commas or white space."""
    keys: dict[str, bytes] = {}
    for n, entry in enumerate(re.split(r"[,\s]+", text.strip()), start=1):
        key_id, sep, value = entry.partition(":")
        where = f"{setting} entry {n}"
        if not sep or not _KEY_ID.match(key_id):
            raise KeyConfigError(
                f"{where}: must be id:base64-key, the id 1-32 letters, digits, '.', '_' or '-'"
            )
        if key_id in keys:
            raise KeyConfigError(f"{where}: key id {key_id!r} appears twice")
        keys[key_id] = parse_key(value, f"{where} ({key_id})")
    if not current:
        if len(keys) > 1:
            raise KeyConfigError(f"{current_setting}: must name the current key of {setting}")
        current = next(iter(keys))
    if current not in keys:
        raise KeyConfigError(f"{current_setting}: {current!r} is not a key id of {setting}")
    return KeyRing(keys, current, setting)


def load_key_material(values: Mapping[str, str], key_file: Path | None) -> KeyMaterial:
    """The keys from `values` (the settings), else from `key_file` if it exists. A ring and its
    current id come from the same place, so keys set in the environment never meet a stale id."""
    needed = ("codec_keys", "master_keys", "identity_key")
    from_file = (
        {} if all(values.get(n) for n in needed) or not key_file else _read_key_file(key_file)
    )

    def pick(name: str) -> Mapping[str, str]:
        if values.get(name):
            return values
        if not from_file.get(name):
            raise KeyConfigError(
                f"COMPLAINTS_{name.upper()}: not set, and no key file at {key_file} "
                "(COMPLAINTS_ENCRYPTION_KEY_FILE) provides it; `complaints run` makes one on "
                "first start"
            )
        return from_file

    codec, master = pick("codec_keys"), pick("master_keys")
    return KeyMaterial(
        codec=parse_key_ring(
            codec["codec_keys"], codec.get("codec_key_id", ""),
            "COMPLAINTS_CODEC_KEYS", "COMPLAINTS_CODEC_KEY_ID",
        ),
        master=parse_key_ring(
            master["master_keys"], master.get("master_key_id", ""),
            "COMPLAINTS_MASTER_KEYS", "COMPLAINTS_MASTER_KEY_ID",
        ),
        identity=parse_key(pick("identity_key")["identity_key"], "COMPLAINTS_IDENTITY_KEY"),
    )  # fmt: skip


def _read_key_file(path: Path) -> dict[str, str]:
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise KeyConfigError(f"COMPLAINTS_ENCRYPTION_KEY_FILE: cannot read {path}: {exc}") from None
    if not isinstance(content, dict) or not all(isinstance(v, str) for v in content.values()):
        raise KeyConfigError(
            f"COMPLAINTS_ENCRYPTION_KEY_FILE: {path} must be a JSON object of strings"
        )
    unknown = sorted(set(content) - set(KEY_SETTINGS))
    if unknown:
        raise KeyConfigError(f"COMPLAINTS_ENCRYPTION_KEY_FILE: {path}: unknown keys {unknown}")
    return content


def new_key() -> str:
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def ensure_key_file(path: Path) -> bool:
    """Create a key file with fresh keys unless one exists; True if it was created. Readable by
    the owner only. (Used by `complaints run`; production supplies its keys itself.)"""
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    content = {
        "codec_keys": f"codec-{stamp}:{new_key()}",
        "codec_key_id": f"codec-{stamp}",
        "master_keys": f"master-{stamp}:{new_key()}",
        "master_key_id": f"master-{stamp}",
        "identity_key": new_key(),
    }
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(content, out, indent=2)
    return True
