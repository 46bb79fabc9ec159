"""`complaints away`: who is away from new assignments, read and marked in the store directly
(no Temporal server needed). A mark is recorded as the CLI's operator's (--as, else the login
name), like every other CLI action."""

from __future__ import annotations

import argparse
import json
from datetime import date

from engine.composition import opened_engine
from engine.presence import AwayPeriods
from engine.settings import Settings
from entrypoints.operator import operator
from store import EventStore

COMMAND = "away"


def add_command(sub: argparse._SubParsersAction) -> None:
    away = sub.add_parser("away", help="who is away from new assignments; mark or withdraw")
    verbs = away.add_subparsers(dest="away_command", required=True)
    listing = verbs.add_parser("list", help="periods not over yet (parties files and marks)")
    mark = verbs.add_parser("mark", help="mark a team member away, both days included")
    withdraw = verbs.add_parser("withdraw", help="withdraw a mark, named by person and first day")
    for cmd in (listing, mark, withdraw):
        cmd.add_argument("--contract", help="the contract (default: the deployment's default)")
        cmd.add_argument("--json", action="store_true", help="machine-readable output")
    for cmd in (mark, withdraw):
        cmd.add_argument("person", help="a people id of a team, e.g. agent.chen")
        cmd.add_argument("--from", dest="start", required=True, type=_day, metavar="YYYY-MM-DD")
        cmd.add_argument("--as", dest="operator", metavar="NAME", help="who marks (default: you)")
    mark.add_argument("--until", dest="end", required=True, type=_day, metavar="YYYY-MM-DD")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-12-04") from None


def run(settings: Settings, args: argparse.Namespace) -> None:
    contracts = settings.load_contracts()
    contract = args.contract or contracts.default_id
    if contract not in contracts.contracts:
        raise ValueError(f"--contract: {contract!r} is not a contract served here")
    with opened_engine(settings) as engine:
        periods = AwayPeriods(EventStore(engine), contracts)
        if args.away_command == "list":
            _print(periods.standing(contract), args.json)
        elif args.away_command == "mark":
            author = operator(args.operator)
            _print([periods.mark(author, contract, args.person, args.start, args.end)], args.json)
        else:
            periods.cancel(operator(args.operator), contract, args.person, args.start)
            print(f"withdrawn: {args.person} away from {args.start.isoformat()}")


def _print(periods, as_json: bool) -> None:
    if as_json:
        print(json.dumps([p.model_dump(mode="json") for p in periods], indent=2))
        return
    for p in periods:
        print(f"{p.person:<24} {p.start.isoformat()} .. {p.end.isoformat()}  ({p.source})")
    if not periods:
        print("nobody is away")
