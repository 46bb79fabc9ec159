"""`complaints erase-customer` and `complaints rewrap-customer-keys`: erasure and master key
rotation, both on the store's customer keys only (no Temporal server needed)."""

from __future__ import annotations

import argparse
import json

from sqlalchemy import Engine

from engine.composition import open_vault, opened_engine
from engine.settings import Settings
from store import EventStore
from store.db import take_write_lock
from store.erasure import ERASURES_STREAM, erase_customer
from store.vault import PersonalVault

COMMANDS = ("erase-customer", "rewrap-customer-keys")


def add_commands(sub: argparse._SubParsersAction) -> None:
    erase = sub.add_parser(
        "erase-customer", help="make a customer's personal data unreadable for good (erasure)"
    )
    erase.add_argument("--email", help="the customer's e-mail address")
    erase.add_argument("--phone", help="the customer's phone number")
    erase.add_argument("--complaint", help="a complaint id: the customer who filed it")
    erase.add_argument("--by", required=True, help="who asked for it, for the audit record")
    sub.add_parser(
        "rewrap-customer-keys",
        help="wrap the customers' data keys with the current master key, and seal personal data "
        "written before encryption",
    )


def run(settings: Settings, args: argparse.Namespace) -> None:
    vault = open_vault(settings)  # a missing or malformed key stops us before the store
    with opened_engine(settings) as engine:
        if args.command == "rewrap-customer-keys":
            _rewrap(engine, vault, args.json)
        else:
            _erase(EventStore(engine, vault), vault, args)


def _rewrap(engine: Engine, vault: PersonalVault, as_json: bool) -> None:
    with engine.begin() as connection:
        take_write_lock(connection)  # no append makes a key meanwhile
        changed = {"rewrapped": vault.rewrap(connection)}
        changed["sealed"] = vault.seal_clear_rows(connection)
    print(
        json.dumps(changed)
        if as_json
        else f"{changed['rewrapped']} keys rewrapped, "
        f"{changed['sealed']} events written before encryption sealed"
    )


def _erase(store: EventStore, vault: PersonalVault, args: argparse.Namespace) -> None:
    erasure = erase_customer(
        store, vault, email=args.email, phone=args.phone, complaint_id=args.complaint, by=args.by
    )
    if args.json:
        print(json.dumps(vars(erasure), indent=2))
    elif erasure.already_erased:
        print("already erased: nothing to do")
    else:
        print(
            f"erased: {len(erasure.keys)} key(s) destroyed; complaints "
            f"{', '.join(erasure.complaints) or '(none)'}; recorded in stream {ERASURES_STREAM!r}"
        )
