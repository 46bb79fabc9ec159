"""`complaints keys new|list|sign-out`: API keys live in a file the API rereads; only their
salted hashes are written. Sessions live in the store."""

from __future__ import annotations

import argparse
from datetime import timedelta

from api.keys import KeyRing, append_entry, new_key
from engine.composition import opened_engine
from engine.settings import Settings
from store.sessions import Sessions

COMMAND = "keys"


def add_command(sub: argparse._SubParsersAction) -> None:
    keys = sub.add_parser("keys", help="API keys: make one, or list who holds one")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    new_key = keys_sub.add_parser(
        "new", help="make a key, add it to the key file (COMPLAINTS_API_KEYS), print it once"
    )
    new_key.add_argument(
        "--role", required=True, choices=("intake", "agent", "supervisor", "admin", "auditor")
    )
    new_key.add_argument("--team", default="", help="agents only: the team it acts for")
    new_key.add_argument("--name", required=True, help="who holds it, e.g. agent.chen")
    new_key.add_argument(
        "--contract",
        action="append",
        dest="contracts",
        metavar="ID",
        help="a contract it serves (repeat for several); none: every contract (provider level)",
    )
    new_key.add_argument(
        "--print-only", action="store_true", help="print the entry instead of writing the file"
    )
    keys_sub.add_parser("list", help="the keys in the key file (never a secret)")
    sign_out = keys_sub.add_parser(
        "sign-out", help="end every browser session opened with a key (it stays valid)"
    )
    sign_out.add_argument("key_id", metavar="KEY_ID", help="ck-... as `keys list` shows it")


def run(settings: Settings, args: argparse.Namespace) -> None:
    path = settings.api_keys_file()
    if args.keys_command == "sign-out":
        _sign_out(settings, args.key_id)
        return
    if args.keys_command == "list":
        for p in KeyRing(path).principals():
            served = ",".join(sorted(p.contracts)) if p.contracts is not None else "(all)"
            print(f"{p.key_id}  {p.role:<10} {p.team or '-':<18} {served:<20} {p.name}")
        return
    book = settings.load_contracts()
    # A key for a contract not served would open nothing; a retired one still has open
    # complaints to handle, so it may be named.
    for named in args.contracts or ():
        if named not in book.contracts:
            served = ", ".join(book.contracts)
            raise ValueError(f"--contract: {named!r} is not a contract served here ({served})")
    scope = [book.contracts[n] for n in args.contracts] if args.contracts else list(book)
    teams = sorted({t for contract in scope for t in contract.policy.teams})
    if args.team and args.team not in teams:
        raise ValueError(f"--team: unknown team {args.team!r}; the contracts' teams: {teams}")
    key, entry = new_key(args.name, args.role, args.team, args.contracts)
    if args.print_only:
        print(f"Add this entry to {path}:\n\n{entry}")
    else:
        if path.exists():
            KeyRing(path)  # a malformed file stops here, before we add to it
        append_entry(path, entry)
        print(f"Added {args.role} key {args.name!r} to {path}.")
    print(f"The key (shown only now; keep it secret):\n\n    {key}\n")


def _sign_out(settings: Settings, key_id: str) -> None:
    """Sessions live in the store (store.sessions): a stolen cookie dies here at once, without
    revoking the key; deleting the key's entry ends its sessions too."""
    with opened_engine(settings) as engine:
        ended = Sessions(engine, timedelta(hours=settings.session_hours)).end_all(key_id)
    print(f"Ended {ended} session(s) of key {key_id}.")
