"""API keys: who may call the engine, in which role, for which team. Only hashes are stored.

A key reads `ck-<id>.<secret>`: the id (not secret) finds the entry, the secret is 32 random
bytes. The file (COMPLAINTS_API_KEYS, TOML) holds one `[[keys]]` table per key:

    [[keys]]
    id = "ck-0123456789ab"
    name = "agent.chen"
    role = "agent"          # intake | agent | supervisor | admin | auditor
    team = "quality"        # agents only: the team whose complaints they may act on
    contracts = ["acme"]    # the client contracts it serves; absent: every one (provider level)
    hash = "sha256$<salt hex>$<hex of sha256(salt + secret)>"

Why salted SHA-256 and not a slow password hash: the secret is 256 random bits, so nobody can
guess it from a leaked hash however fast the hash; a slow hash protects only low-entropy
passwords, and would cost every request. The salt keeps equal secrets from having equal hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import tomllib
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import structlog

from domain.access import Author
from security.private_files import private_dir

log = structlog.get_logger(__name__)

_KEY = re.compile(r"^(ck-[0-9a-f]{12})\.([A-Za-z0-9_-]{43})$")
_CONTRACT_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
_HASH = re.compile(r"^sha256\$([0-9a-f]{32})\$([0-9a-f]{64})$")
_FIELDS = {"id", "name", "role", "team", "contracts", "hash"}
FILE_HEADER = (
    "# API keys of the complaint engine (made by `complaints keys new`). Only salted hashes\n"
    "# are stored; delete a key's [[keys]] table to revoke it (the API rereads this file).\n"
)


class Role(StrEnum):
    INTAKE = "intake"  # submits complaints (a channel: chat bot, e-mail gateway)
    AGENT = "agent"  # reads and acts on the complaints of one team
    SUPERVISOR = "supervisor"  # every complaint, the list and the reports
    ADMIN = "admin"  # everything a supervisor may, and whatever is added for operators
    # The client's auditor: reads its contracts' complaints, draws spot-check samples and
    # records reviews; takes no action on a complaint.
    AUDITOR = "auditor"


class KeyFileError(ValueError):
    """A malformed key file; the message names the entry and the rule."""


@dataclass(frozen=True)
class Principal:
    """Who a request speaks for. `key_id` and `name` may be logged; the secret never."""

    key_id: str
    name: str
    role: Role
    team: str = ""
    # The client contracts whose complaints it may see and act on; None: every contract (a
    # provider-level key). Another contract's complaint is as unknown to it as a made-up id.
    contracts: frozenset[str] | None = None

    def serves(self, contract: str) -> bool:
        return self.contracts is None or contract in self.contracts

    @property
    def author(self) -> Author:
        """The key's holder as the author of what it does: its name and key id are recorded."""
        return Author(
            name=self.name,
            key_id=self.key_id,
            role=self.role.value,
            team=self.team,
            contracts=self.contracts,
        )


@dataclass(frozen=True)
class KeyEntry:
    principal: Principal
    salt: bytes
    digest: bytes

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(_digest(self.salt, secret), self.digest)


def _digest(salt: bytes, secret: str) -> bytes:
    return hashlib.sha256(salt + secret.encode()).digest()


def new_key(
    name: str, role: Role | str, team: str = "", contracts: list[str] | None = None
) -> tuple[str, str]:
    """A fresh key and the TOML entry that admits it: (key, entry). Show the key once.
    `contracts`: the contracts it serves; None or empty: every one."""
    fields = {"id": f"ck-{secrets.token_hex(6)}", "name": name, "role": role, "team": team}
    principal = _principal(fields | ({"contracts": contracts} if contracts else {}), "--")
    secret, salt = secrets.token_urlsafe(32), secrets.token_bytes(16)
    entry = (
        "[[keys]]\n"
        f'id = "{principal.key_id}"\n'
        f"name = {_toml_string(principal.name)}\n"
        f'role = "{principal.role}"\n'
        + (f"team = {_toml_string(principal.team)}\n" if principal.team else "")
        + (
            f"contracts = [{', '.join(_toml_string(c) for c in sorted(principal.contracts))}]\n"
            if principal.contracts is not None
            else ""
        )
        + f'hash = "sha256${salt.hex()}${_digest(salt, secret).hex()}"\n'
    )
    return f"{principal.key_id}.{secret}", entry


def append_entry(path: Path, entry: str) -> None:
    """Add an entry to the key file, making it (readable by its owner only) when missing."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as out:
        out.write((FILE_HEADER if out.tell() == 0 else "") + "\n" + entry)


def first_admin_key(path: Path) -> str | None:
    """`complaints run` on a fresh data dir: an admin key, so the dashboard can be reached at
    all; None when the key file exists (the key was shown once, at that first start)."""
    if path.exists():
        return None
    key, entry = new_key("admin (first start)", Role.ADMIN)
    append_entry(path, entry)
    return key


def parse_keys(text: str, source: str = "COMPLAINTS_API_KEYS") -> dict[str, KeyEntry]:
    """{key id: entry}, or KeyFileError naming every bad entry and the rule it broke."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise KeyFileError(f"{source}: not valid TOML: {error}") from None
    tables = document.get("keys", [])
    unknown = sorted(set(document) - {"keys"})
    problems = [f"{source}: {k}: unknown key (only [[keys]] tables)" for k in unknown]
    if not isinstance(tables, list):
        raise KeyFileError(f"{source}: keys: must be [[keys]] tables")
    entries: dict[str, KeyEntry] = {}
    for i, table in enumerate(tables):
        where = f"{source}: keys[{i}]."
        try:
            entry = _entry(table, where)
        except KeyFileError as error:
            problems.append(str(error))
            continue
        if entry.principal.key_id in entries:
            problems.append(f"{where}id: {entry.principal.key_id} appears twice")
        entries[entry.principal.key_id] = entry
    if problems:
        raise KeyFileError("\n".join(problems))
    return entries


def _entry(table: object, where: str) -> KeyEntry:
    if not isinstance(table, dict):
        raise KeyFileError(f"{where.rstrip('.')}: must be a table")
    extra = sorted(set(table) - _FIELDS)
    if extra:
        allowed = ", ".join(sorted(_FIELDS))
        raise KeyFileError(f"{where}{extra[0]}: unknown field (allowed: {allowed})")
    principal = _principal(table, where)
    found = _HASH.match(str(table.get("hash", "")))
    if not found:
        raise KeyFileError(f"{where}hash: must read sha256$<32 hex salt>$<64 hex digest>")
    return KeyEntry(principal, bytes.fromhex(found[1]), bytes.fromhex(found[2]))


def _principal(table: dict, where: str) -> Principal:
    """`where` prefixes each field's name in errors: `<file>: keys[2].` or `--` (the CLI)."""
    key_id, name = table.get("id"), table.get("name")
    if not isinstance(key_id, str) or not re.fullmatch(r"ck-[0-9a-f]{12}", key_id):
        raise KeyFileError(f"{where}id: must read ck- and 12 hex digits")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
        raise KeyFileError(f"{where}name: required, 1 to 100 characters")
    # A newline in a name once broke the file's TOML and so locked every key out.
    if any(unicodedata.category(c) == "Cc" for c in name):
        raise KeyFileError(f"{where}name: must not contain control characters")
    try:
        role = Role(table.get("role"))
    except ValueError:
        raise KeyFileError(f"{where}role: must be one of {', '.join(Role)}") from None
    team = table.get("team", "")
    if not isinstance(team, str):
        raise KeyFileError(f"{where}team: must be a string")
    if role is Role.AGENT and not team.strip():
        raise KeyFileError(f"{where}team: an agent's key names the team it acts for")
    if role is not Role.AGENT and team:
        raise KeyFileError(f"{where}team: only an agent's key has a team")
    contracts = _contracts(table, where)
    if role is Role.AUDITOR and contracts is None:
        raise KeyFileError(
            f"{where}contracts: an auditor's key names the client contracts it audits"
        )
    return Principal(key_id, name.strip(), role, team.strip(), contracts)


def _contracts(table: dict, where: str) -> frozenset[str] | None:
    if "contracts" not in table:
        return None
    listed = table["contracts"]
    if (
        not isinstance(listed, list)
        or not listed
        or not all(isinstance(c, str) and _CONTRACT_ID.fullmatch(c) for c in listed)
    ):
        raise KeyFileError(
            f"{where}contracts: a list of one or more contract ids (lower case letters, digits "
            "and dashes); leave it out for a key that serves every contract"
        )
    return frozenset(listed)


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class KeyRing:
    """The key file, reread when it changes, so `complaints keys new` (or removing an entry)
    takes effect without a restart. Fails closed: a missing or malformed file admits no key."""

    def __init__(self, path: Path | None) -> None:
        """Raises KeyFileError for a malformed file: start-up stops with its message."""
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._entries: dict[str, KeyEntry] = {}
        self._reload(strict=True)

    def authenticate(self, key: str) -> Principal | None:
        found = _KEY.match(key)
        if not found:
            return None
        self._reload()
        entry = self._entries.get(found[1])
        return entry.principal if entry and entry.matches(found[2]) else None

    def principal_of(self, key_id: str) -> Principal | None:
        """The holder of a key the file still admits (a session speaks for its key only while
        the key stands): None once its entry is deleted."""
        self._reload()
        entry = self._entries.get(key_id)
        return entry.principal if entry else None

    def principals(self) -> list[Principal]:
        self._reload()
        return [e.principal for e in self._entries.values()]

    def _reload(self, strict: bool = False) -> None:
        if self.path is None:
            return
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            if self._stamp != (0, 0):
                log.warning("api_keys.missing", path=str(self.path), hint="complaints keys new")
            self._stamp, self._entries = (0, 0), {}
            return
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            self._entries = parse_keys(self.path.read_text(encoding="utf-8"), str(self.path))
        except (KeyFileError, OSError) as error:
            self._entries = {}
            if strict:
                raise KeyFileError(str(error)) from None
            log.error("api_keys.unusable", path=str(self.path), problem=str(error))
