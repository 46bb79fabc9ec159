"""`complaints closure ID`, `complaints verify`, `complaints views ID`: the archive, read from
the store directly (no Temporal server needed).

`closure` prints the customer's personal data, so each run is recorded in the access log under
the operator's login name (the CLI has no key: its key id is "cli").
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from dataclasses import asdict

from engine.composition import open_store, opened_engine
from engine.settings import Settings
from store.access_log import CLOSURE_CLI, AccessLog
from store.verify import Proof, verify

COMMANDS = ("closure", "verify", "views")
CLI_KEY_ID = "cli"
BROKEN = 1  # verify's exit status when a link is broken (2 stays "you asked wrongly")


def add_commands(sub: argparse._SubParsersAction) -> None:
    closure = sub.add_parser("closure", help="a complaint's closure record (once archived)")
    closure.add_argument("complaint_id")
    sub.add_parser(
        "verify", help="prove the event log's hash chain, or report its first broken link"
    )
    views = sub.add_parser("views", help="who has seen a complaint's customer data")
    views.add_argument("complaint_id")


def run(settings: Settings, args: argparse.Namespace) -> None:
    with opened_engine(settings) as engine:
        if args.command == "verify":
            _verify(engine, args.json)
        elif args.command == "closure":
            _closure(settings, engine, args.complaint_id, args.json)
        else:
            _views(engine, args.complaint_id, args.json)


def _closure(settings: Settings, engine, complaint_id: str, as_json: bool) -> None:
    store = open_store(settings, engine)
    found = store.closure(complaint_id)
    if found is None:
        raise ValueError(
            f"complaint_id: {complaint_id!r} has no closure record (unknown, or not archived yet)"
        )
    AccessLog(engine).record(
        complaint_id, key_id=CLI_KEY_ID, viewer=getpass.getuser(), surface=CLOSURE_CLI
    )
    print(json.dumps(asdict(found), default=str, indent=2, ensure_ascii=False))


def _views(engine, complaint_id: str, as_json: bool) -> None:
    views = AccessLog(engine).views(complaint_id)
    if as_json:
        print(json.dumps([asdict(v) for v in views], default=str, indent=2))
        return
    for v in views:
        print(f"{v.viewed_at:%Y-%m-%d %H:%M:%S} UTC  {v.surface:<20} {v.viewer} ({v.key_id})")
    if not views:
        print(f"no recorded views of complaint {complaint_id}'s customer data")


def _verify(engine, as_json: bool) -> None:
    def progress(proof: Proof) -> None:
        print(
            f"... {proof.events + proof.unchained} events in {proof.streams} streams so far",
            file=sys.stderr,
        )

    proof = verify(engine, progress)
    if as_json:
        print(json.dumps(asdict(proof), default=str, indent=2))
    elif proof.broken is None:
        print(
            f"proved {proof.events} events in {proof.streams} streams and "
            f"{proof.closure_records} closure records"
            + (
                f"; {proof.unchained} events and {proof.unchained_closure_records} closure "
                "records from before the hash chain are not proved"
                if proof.unchained or proof.unchained_closure_records
                else ""
            )
        )
    else:
        print(f"broken link: {proof.broken}", file=sys.stderr)
    if proof.broken is not None:
        sys.exit(BROKEN)
