"""`complaints mail-in`: the inbound mail receiver on its own, or (--held) the messages held
for staff, listed without personal data."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal

from delivery.mail_routing import HELD
from engine.composition import opened_engine
from engine.settings import Settings

COMMAND = "mail-in"


def add_command(sub: argparse._SubParsersAction) -> None:
    mail = sub.add_parser(
        COMMAND,
        help="the inbound mail receiver (COMPLAINTS_MAIL_IN_*), for a Temporal server already "
        "running; --held lists the messages held for staff",
    )
    mail.add_argument(
        "--held", action="store_true", help="list held messages (unmatched, refused, ...)"
    )
    mail.add_argument("--limit", type=count, default=100, help="with --held: how many")
    mail.add_argument("--json", action="store_true", help="with --held: machine-readable")


def count(text: str) -> int:
    value = int(text)  # argparse turns the ValueError into a usage error (exit 2)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def run(settings: Settings, args: argparse.Namespace) -> None:
    if args.held:
        _print_held(settings, args.limit, args.json)
    else:
        asyncio.run(_serve(settings))


async def _serve(settings: Settings) -> None:
    from engine.mail_in import serve

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await serve(settings, stop)


def _print_held(settings: Settings, limit: int, as_json: bool) -> None:
    from store.inbound_mail import InboundMailStore

    with opened_engine(settings) as engine:
        held = InboundMailStore(engine, settings.key_material().master).held(HELD, limit)
    if as_json:
        rows = [
            {
                "id": m.id,
                "received_at": m.received_at.isoformat(),
                "outcome": m.outcome,
                "reason": m.reason,
                "complaint_id": m.complaint_id,
            }
            for m in held
        ]
        print(json.dumps(rows, indent=2))
        return
    if not held:
        print("no held messages")
    for m in held:
        print(
            f"{m.id}  {m.received_at:%Y-%m-%d %H:%M:%S} UTC  {m.outcome:<10} "
            f"{m.complaint_id or '-':<15} {m.reason}"
        )
