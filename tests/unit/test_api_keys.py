"""The API key file: keys made, hashed, checked, refused; malformed files named precisely; the
file reread when it changes; `complaints keys new`. No server."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from api.keys import (
    KeyFileError,
    KeyRing,
    Role,
    append_entry,
    first_admin_key,
    new_key,
    parse_keys,
)
from entrypoints.cli import main

HASH = "sha256$" + "0" * 32 + "$" + "0" * 64


def ring_with(tmp_path, *holders: tuple[str, str, str]) -> tuple[KeyRing, list[str]]:
    path = tmp_path / "api_keys.toml"
    keys = []
    for name, role, team in holders:
        key, entry = new_key(name, role, team)
        append_entry(path, entry)
        keys.append(key)
    return KeyRing(path), keys


def test_a_new_key_admits_its_holder_and_only_its_hash_is_stored(tmp_path):
    ring, (chen, boss) = ring_with(
        tmp_path, ("agent.chen", "agent", "quality"), ("boss", "admin", "")
    )
    found = ring.authenticate(chen)
    assert (found.name, found.role, found.team) == ("agent.chen", Role.AGENT, "quality")
    assert ring.authenticate(boss).role is Role.ADMIN
    text = ring.path.read_text()
    for key in (chen, boss):
        assert key.partition(".")[2] not in text
    assert stat.S_IMODE(os.stat(ring.path).st_mode) == 0o600


def test_keys_that_are_not_in_the_file_are_refused(tmp_path):
    ring, (key,) = ring_with(tmp_path, ("s", "supervisor", ""))
    key_id, _, secret = key.partition(".")
    for wrong in (
        f"{key_id}.{secret[:-1]}A" if secret[-1] != "A" else f"{key_id}.{secret[:-1]}B",
        f"ck-000000000000.{secret}",  # another id, the right secret
        secret,
        "",
        key + "x",
    ):
        assert ring.authenticate(wrong) is None, wrong


def test_two_keys_made_alike_differ_in_key_and_hash():
    (one, entry_one), (two, entry_two) = new_key("a", "admin"), new_key("a", "admin")
    assert one != two and entry_one.splitlines()[-1] != entry_two.splitlines()[-1]


def entry(**fields) -> str:
    base = {"id": "ck-0123456789ab", "name": "n", "role": "supervisor", "hash": HASH} | fields
    lines = [f"{k} = {v!r}".replace("'", '"') for k, v in base.items() if v is not None]
    return "[[keys]]\n" + "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[keys]\n", "f: not valid TOML"),
        ("colour = 1\n" + entry(), "f: colour: unknown key (only [[keys]] tables)"),
        ("keys = 3\n", "f: keys: must be [[keys]] tables"),
        (
            entry(colour="red"),
            "f: keys[0].colour: unknown field (allowed: contracts, hash, id, name, role",
        ),
        (entry(id="key-1"), "f: keys[0].id: must read ck- and 12 hex digits"),
        (entry(name=None), "f: keys[0].name: required, 1 to 100 characters"),
        (entry(role="root"), "f: keys[0].role: must be one of intake, agent, supervisor, admin"),
        (entry(role="agent"), "f: keys[0].team: an agent's key names the team it acts for"),
        (entry(team="quality"), "f: keys[0].team: only an agent's key has a team"),
        (entry(hash="0" * 64), "f: keys[0].hash: must read sha256$<32 hex salt>$<64 hex digest>"),
        (entry() + entry(), "f: keys[1].id: ck-0123456789ab appears twice"),
        (
            entry(role="auditor"),
            "f: keys[0].contracts: an auditor's key names the client contracts it audits",
        ),
    ],
    ids=[
        "toml",
        "top-level",
        "not-tables",
        "field",
        "id",
        "name",
        "role",
        "agent-team",
        "team",
        "hash",
        "twice",
        "auditor-contracts",
    ],
)
def test_a_malformed_key_file_names_the_entry_and_the_rule(text, message):
    with pytest.raises(KeyFileError) as raised:
        parse_keys(text, source="f")
    assert message in str(raised.value)


def test_every_bad_entry_is_named_at_once():
    with pytest.raises(KeyFileError) as raised:
        parse_keys(entry(role="root") + entry(id="x", name=None), source="f")
    assert str(raised.value).splitlines() == [
        "f: keys[0].role: must be one of intake, agent, supervisor, admin, auditor",
        "f: keys[1].id: must read ck- and 12 hex digits",
    ]


def test_the_ring_fails_closed(tmp_path):
    missing = KeyRing(tmp_path / "nowhere.toml")
    assert missing.principals() == []
    bad = tmp_path / "bad.toml"
    bad.write_text(entry(role="root"))
    with pytest.raises(KeyFileError, match="role: must be one of"):
        KeyRing(bad)  # at start-up a malformed file stops the API


def test_the_ring_rereads_its_file(tmp_path):
    ring, (first,) = ring_with(tmp_path, ("one", "intake", ""))
    second, added = new_key("two", "supervisor")
    assert ring.authenticate(second) is None
    append_entry(ring.path, added)
    assert ring.authenticate(second).name == "two"  # no restart needed
    ring.path.write_text(ring.path.read_text().replace(added, ""))
    assert ring.authenticate(second) is None  # revoked by removing its entry
    assert ring.authenticate(first).name == "one"
    ring.path.write_text(ring.path.read_text() + entry(role="root"))
    assert ring.authenticate(first) is None  # broken while running: no key at all


def test_first_start_makes_one_admin_key(tmp_path):
    path = tmp_path / "data" / "api_keys.toml"
    key = first_admin_key(path)
    assert key and KeyRing(path).authenticate(key).role is Role.ADMIN
    text = path.read_text()
    assert first_admin_key(path) is None and path.read_text() == text


@pytest.fixture
def cli(capsys, monkeypatch, tmp_path):
    """`complaints keys ...` on a key file in tmp_path: (exit code, stdout, stderr)."""
    monkeypatch.setenv("COMPLAINTS_API_KEYS", str(tmp_path / "keys.toml"))

    def run(*args: str) -> tuple[int, str, str]:
        try:
            main(["keys", *args])
            code = 0
        except SystemExit as exit_:
            code = exit_.code
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_keys_new_writes_the_entry_and_prints_the_key_once(cli, tmp_path):
    code, out, _ = cli("new", "--role", "agent", "--team", "quality", "--name", "c")
    assert code == 0
    key = out.split("keep it secret):")[1].split()[0]
    found = KeyRing(tmp_path / "keys.toml").authenticate(key)
    assert (found.name, found.role, found.team) == ("c", Role.AGENT, "quality")
    code, out, _ = cli("list")
    assert f"{found.key_id}  agent      quality" in out and key.partition(".")[2] not in out


def test_keys_new_print_only_leaves_the_file_alone(cli, tmp_path):
    code, out, _ = cli("new", "--role", "admin", "--name", "b", "--print-only")
    assert code == 0 and "[[keys]]" in out and 'role = "admin"' in out
    assert not (tmp_path / "keys.toml").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "agent", "--name", "x"], "--team: an agent's key names the team"),
        (["--role", "agent", "--team", "nope", "--name", "x"], "--team: unknown team 'nope'"),
        (["--role", "admin", "--team", "quality", "--name", "x"], "--team: only an agent's key"),
    ],
)
def test_keys_new_refuses_with_exit_2(cli, tmp_path, args, message):
    code, _, err = cli("new", *args)
    assert code == 2 and message in err
    assert not (tmp_path / "keys.toml").exists()


EXAMPLE_CONTRACTS = Path(__file__).resolve().parents[2] / "contracts" / "example" / "contracts.toml"


def test_keys_new_scopes_a_key_to_contracts_and_list_shows_them(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("COMPLAINTS_CONTRACTS", str(EXAMPLE_CONTRACTS))
    code, out, err = cli(
        "new", "--role", "supervisor", "--name", "s", "--contract", "acme", "--contract", "globex"
    )
    assert code == 0, err
    key = out.split("keep it secret):")[1].split()[0]
    found = KeyRing(tmp_path / "keys.toml").authenticate(key)
    assert found.contracts == frozenset({"acme", "globex"})
    assert cli("new", "--role", "admin", "--name", "ops")[0] == 0
    _, listed, _ = cli("list")
    lines = listed.splitlines()
    assert any("supervisor" in line and "acme,globex" in line for line in lines)
    assert any("admin" in line and "(all)" in line for line in lines)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--role", "intake", "--name", "x", "--contract", "initech"],
            "--contract: 'initech' is not a contract served here (acme, globex)",
        ),
        # Globex has no team quality: an agent of Globex cannot act for it.
        (
            ["--role", "agent", "--team", "quality", "--name", "x", "--contract", "globex"],
            "--team: unknown team 'quality'; the contracts' teams: ['accounts', 'field']",
        ),
    ],
)
def test_keys_new_refuses_a_contract_not_served(cli, tmp_path, monkeypatch, args, message):
    monkeypatch.setenv("COMPLAINTS_CONTRACTS", str(EXAMPLE_CONTRACTS))
    code, _, err = cli("new", *args)
    assert code == 2 and message in err, err
    assert not (tmp_path / "keys.toml").exists()
