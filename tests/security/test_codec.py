"""The Temporal payload codec and the key settings, without a server."""

import base64
import json
import stat

import pytest
from temporalio.api.common.v1 import Payload

from engine.settings import Settings
from security.codec import (
    ENCODING,
    KEY_ID,
    REFUSED,
    EncryptionCodec,
    data_converter,
)
from security.keys import DecryptionError, KeyConfigError, ensure_key_file, parse_key_ring
from tests.unit.helpers import CUSTOMER, registration

OLD = base64.b64encode(b"o" * 32).decode()
NEW = base64.b64encode(b"n" * 32).decode()


def ring(text: str, current: str = ""):
    return parse_key_ring(text, current, "COMPLAINTS_CODEC_KEYS", "COMPLAINTS_CODEC_KEY_ID")


def plain_payload() -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=CUSTOMER.model_dump_json().encode())


async def test_a_payload_round_trips_and_is_ciphertext_on_the_wire():
    codec = EncryptionCodec(ring(f"k1:{OLD}"))
    (encoded,) = await codec.encode([plain_payload()])
    assert encoded.metadata["encoding"] == ENCODING and encoded.metadata[KEY_ID] == b"k1"
    assert CUSTOMER.name.encode() not in encoded.SerializeToString()
    assert await codec.decode([encoded]) == [plain_payload()]


async def test_the_converter_round_trips_a_command_with_personal_data():
    converter = data_converter(ring(f"k1:{OLD}"))
    command = registration(cid="C-CODEC")
    payloads = await converter.encode([command])
    assert all(CUSTOMER.email.encode() not in p.SerializeToString() for p in payloads)
    assert await converter.decode(payloads, [type(command)]) == [command]


async def test_after_rotation_old_payloads_still_decode_and_new_ones_use_the_new_key():
    (old,) = await EncryptionCodec(ring(f"k1:{OLD}")).encode([plain_payload()])
    rotated = EncryptionCodec(ring(f"k1:{OLD},k2:{NEW}", current="k2"))
    (new,) = await rotated.encode([plain_payload()])
    assert new.metadata[KEY_ID] == b"k2"
    assert await rotated.decode([old, new]) == [plain_payload(), plain_payload()]
    # Once k1 is retired, what it encrypted no longer opens: it says which key is missing.
    with pytest.raises(DecryptionError, match="'k1'.*COMPLAINTS_CODEC_KEYS"):
        await EncryptionCodec(ring(f"k2:{NEW}")).decode([old])


async def test_tampered_ciphertext_or_a_relabelled_key_id_is_rejected():
    codec = EncryptionCodec(ring(f"k1:{OLD},k2:{OLD}", current="k1"))
    (encoded,) = await codec.encode([plain_payload()])
    flipped = bytearray(encoded.data)
    flipped[-1] ^= 1
    tampered = Payload(metadata=encoded.metadata, data=bytes(flipped))
    relabelled = Payload(metadata={**encoded.metadata, KEY_ID: b"k2"}, data=encoded.data)
    for bad in (tampered, relabelled):
        with pytest.raises(DecryptionError, match="failed authentication"):
            await codec.decode([bad])


async def test_an_unencrypted_payload_is_refused_and_nothing_of_it_is_kept():
    # Anyone reaching the Temporal port could otherwise update a complaint in plaintext.
    codec = EncryptionCodec(ring(f"k1:{OLD}"))
    (encrypted,) = await codec.encode([plain_payload()])
    refused, opened = await codec.decode([plain_payload(), encrypted])
    assert refused == Payload(metadata={"encoding": REFUSED}) and opened == plain_payload()
    # What a worker then makes of it: an error that names the setting, never the content.
    with pytest.raises(KeyError, match="COMPLAINTS_ACCEPT_PLAINTEXT_PAYLOADS") as error:
        await data_converter(ring(f"k1:{OLD}")).decode([plain_payload()], [dict])
    assert CUSTOMER.name not in str(error.value)


async def test_with_the_migration_setting_payloads_written_before_encryption_pass_through():
    codec = EncryptionCodec(ring(f"k1:{OLD}"), accept_plaintext=True)
    (encrypted,) = await codec.encode([plain_payload()])
    assert await codec.decode([plain_payload(), encrypted]) == [plain_payload(), plain_payload()]


def test_the_migration_setting_is_off_unless_set(monkeypatch):
    assert Settings().accept_plaintext_payloads is False
    monkeypatch.setenv("COMPLAINTS_ACCEPT_PLAINTEXT_PAYLOADS", "1")
    assert Settings().accept_plaintext_payloads is True


@pytest.mark.parametrize(
    ("keys", "current", "message"),
    [
        ("k1", "", "entry 1: must be id:base64-key"),
        ("k1:not base64!", "", r"entry 1 \(k1\): not valid base64"),
        (f"k1:{base64.b64encode(b'short').decode()}", "", "must be 32 bytes.*got 5 bytes"),
        (f"k1:{OLD},k1:{NEW}", "", "entry 2: key id 'k1' appears twice"),
        (f"k1:{OLD},k2:{NEW}", "", "COMPLAINTS_CODEC_KEY_ID: must name the current key"),
        (f"k1:{OLD}", "k9", "COMPLAINTS_CODEC_KEY_ID: 'k9' is not a key id"),
    ],
)
def test_a_malformed_key_setting_names_the_setting_and_the_rule(keys, current, message):
    with pytest.raises(KeyConfigError, match=message) as error:
        Settings(
            codec_keys=keys, codec_key_id=current, master_keys=f"m:{OLD}", identity_key=OLD
        ).key_material()
    assert OLD not in str(error.value) and NEW not in str(error.value)  # never the key itself


def test_missing_keys_say_where_they_are_looked_for(tmp_path):
    with pytest.raises(KeyConfigError, match="COMPLAINTS_CODEC_KEYS: not set, and no key file"):
        Settings(data_dir=tmp_path).key_material()


def test_the_key_file_is_made_once_readable_by_its_owner_only_and_env_values_win(tmp_path):
    path = tmp_path / "encryption-keys.json"
    assert ensure_key_file(path) is True
    first = path.read_text()
    assert ensure_key_file(path) is False and path.read_text() == first  # never replaced
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    from_file = Settings(data_dir=tmp_path).key_material()
    assert from_file.codec.current == json.loads(first)["codec_key_id"]
    overridden = Settings(data_dir=tmp_path, codec_keys=f"env:{NEW}").key_material()
    assert overridden.codec.current_key() == ("env", b"n" * 32)
    assert overridden.master == from_file.master


def test_the_codec_cors_origins_are_origins_and_a_bad_one_is_named():
    spaced = Settings(codec_cors_origins="http://127.0.0.1:8080, https://ui.example.com")
    assert spaced.codec_origins() == ["http://127.0.0.1:8080", "https://ui.example.com"]
    assert Settings().codec_origins() == []
    for bad in ("ui.example.com", "https://ui.example.com/path", "ftp://ui.example.com"):
        with pytest.raises(ValueError, match=f"COMPLAINTS_CODEC_CORS_ORIGINS: '{bad}'"):
            Settings(codec_cors_origins=bad).codec_origins()
