"""`complaints qa sample` and `complaints qa record`: spot-checks from the command line, on the
store alone (no Temporal server needed: sampled complaints are closed).

    complaints qa sample --contract acme --period 2026-11 [--per-agent 5] [--seed 4242]
    complaints qa record C-XXXXXXXXXXXX greeted=2 "identified the issue=1" ... --remarks "..."

A review is recorded as the operator's (--as NAME, else the login name), like `complaints act`.
"""

from __future__ import annotations

import argparse
import json
from datetime import date

from engine.composition import opened_engine
from engine.settings import Settings
from engine.spot_checks import DEFAULT_PER_AGENT, SpotChecks, period_days
from entrypoints.operator import operator
from store import EventStore

COMMAND = "qa"


def add_commands(sub: argparse._SubParsersAction) -> None:
    qa = sub.add_parser("qa", help="spot-checks: draw a sample, record a review")
    verbs = qa.add_subparsers(dest="qa_command", required=True)
    sample = verbs.add_parser(
        "sample", help="a random, reproducible sample of closed complaints per agent"
    )
    sample.add_argument("--contract", help="whose complaints (default: the default contract)")
    sample.add_argument("--period", help="2026-11 (a month) or 2026-W48 (a week)")
    sample.add_argument("--from", dest="first_day", type=date.fromisoformat, metavar="YYYY-MM-DD")
    sample.add_argument("--to", dest="last_day", type=date.fromisoformat, metavar="YYYY-MM-DD")
    sample.add_argument("--per-agent", type=int, default=DEFAULT_PER_AGENT)
    sample.add_argument("--seed", type=int, help="repeat a draw (default: a new seed, printed)")
    sample.add_argument("--json", action="store_true", help="machine-readable output")
    record = verbs.add_parser("record", help="record a spot-check of a closed complaint")
    record.add_argument("complaint_id")
    record.add_argument("scores", nargs="*", metavar="ITEM=SCORE", help="every checklist item")
    record.add_argument("--remarks", default="")
    record.add_argument("--as", dest="operator", help="who reviews (default: your login name)")
    record.add_argument("--json", action="store_true", help="machine-readable output")


def run(settings: Settings, args: argparse.Namespace) -> None:
    """ValueError (exit 2) for bad input, naming the field and the rule."""
    with opened_engine(settings) as engine:
        # No vault: a review reads no personal data, so the CLI needs no keys.
        checks = SpotChecks(EventStore(engine), settings.load_contracts())
        if args.qa_command == "sample":
            _sample(checks, args)
        else:
            _record(checks, args)


def _sample(checks: SpotChecks, args: argparse.Namespace) -> None:
    if args.period and (args.first_day or args.last_day):
        raise ValueError("--period: give --period, or --from and --to, not both")
    if args.period:
        first, last = period_days(args.period)
    elif args.first_day and args.last_day:
        first, last = args.first_day, args.last_day
    else:
        raise ValueError("--period: give --period (2026-11, 2026-W48), or both --from and --to")
    contract = args.contract or checks.contracts.default_id
    sample = checks.sample(contract, first, last, per_agent=args.per_agent, seed=args.seed)
    if args.json:
        print(json.dumps(sample.as_json(), indent=2))
        return
    print(
        f"contract {sample.contract}, complaints received {sample.first_day} to "
        f"{sample.last_day} ({sample.timezone}), closed: {sample.candidates}; "
        f"up to {sample.per_agent} per agent; seed {sample.seed} "
        f"(repeat: --seed {sample.seed})"
    )
    for agent, drawn in sample.agents.items():
        print(f"{agent} ({drawn[0].team}): {' '.join(c.complaint_id for c in drawn)}")
    if not sample.agents:
        print("no closed complaints in the period: nothing to draw")


def _record(checks: SpotChecks, args: argparse.Namespace) -> None:
    scores: dict[str, object] = {}
    for text in args.scores:
        item, sep, value = text.rpartition("=")
        if not sep or not item.strip():
            raise ValueError(f"scores: {text!r}: give each item as ITEM=SCORE")
        if item.strip() in ("by", "by_key"):
            raise ValueError("by: the author of a review is whoever runs the CLI (--as)")
        scores[item.strip()] = int(value) if value.strip().lstrip("-").isdigit() else value
    review = checks.record(args.complaint_id, scores, args.remarks, operator(args.operator))
    if args.json:
        print(json.dumps(review.model_dump(mode="json"), indent=2, ensure_ascii=False))
        return
    print(
        f"recorded: {review.complaint_id} (agent {review.agent}, team {review.team}) scored "
        f"{review.score:.0%} by {review.by}"
    )
