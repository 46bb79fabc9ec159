"""The CLI's analytics commands: `report`, `simulate` and `projections run|rebuild`.

They read the store directly and need no Temporal server.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from domain.events import join_personal
from domain.policy import parse_policy
from engine.composition import build_projector, opened_engine
from engine.settings import Settings
from reports.export import as_csv, as_json, as_table
from reports.metrics import GROUP_BYS
from reports.periods import PERIODS, day_bounds
from reports.qa import qa_beside, qa_table
from reports.query import ContractNotFound, coverage, report
from reports.simulate import BREACHED, MET, PENDING, Simulation, simulate
from store import EventStore, ReportFacts
from store.qa_reviews import QaFacts

COMMANDS = ("projections", "report", "simulate")


def add_commands(sub: argparse._SubParsersAction) -> None:
    projections = sub.add_parser("projections", help="catch up or rebuild the read models")
    projections.add_argument("verb", choices=("run", "rebuild"))
    projections.add_argument("name", nargs="?", help="one read model (default: all)")
    rep = sub.add_parser("report", help="SLA figures per week or month (the report read model)")
    rep.add_argument("--period", choices=PERIODS, default="week")
    rep.add_argument("--group-by", choices=GROUP_BYS, default="team")
    rep.add_argument("--from", dest="first_day", type=date.fromisoformat, metavar="YYYY-MM-DD")
    rep.add_argument("--to", dest="last_day", type=date.fromisoformat, metavar="YYYY-MM-DD")
    rep.add_argument("--format", choices=("table", "csv", "json"), default="table")
    rep.add_argument(
        "--contract", help="one contract's complaints, in its time zone (default: every contract)"
    )
    sim = sub.add_parser(
        "simulate", help="what a policy would have made of one contract's complaints of a period"
    )
    sim.add_argument(
        "--contract", help="whose complaints are replayed (default: the default contract)"
    )
    sim.add_argument(
        "--policy", type=Path, help="the policy file to replay under (default: the contract's own)"
    )
    sim.add_argument("--from", dest="first_day", type=date.fromisoformat, required=True)
    sim.add_argument("--to", dest="last_day", type=date.fromisoformat, required=True)
    sim.add_argument("--format", choices=("table", "json"), default="table")


def run(settings: Settings, args: argparse.Namespace) -> None:
    with opened_engine(settings) as engine:
        if args.command == "projections":
            _projections(engine, args.verb, args.name)
        elif args.command == "report":
            _report(settings, engine, args)
        else:
            _simulate(settings, engine, args)


def _projections(engine, verb: str, name: str | None) -> None:
    """Catch the read models up with the log, or rebuild them from the first event."""
    runner = build_projector(engine)
    if verb == "run":
        print(f"{runner.run_to_end()} events applied")
        return
    for each in [name] if name else runner.names:
        started = datetime.now(UTC)
        applied = runner.rebuild(each, progress=_progress_bar(each))
        seconds = max((datetime.now(UTC) - started).total_seconds(), 1e-6)
        print(file=sys.stderr)  # ends the progress bar's line
        print(
            f"{each}: rebuilt from {applied} events in {seconds:.1f} s "
            f"({applied / seconds:,.0f} events/s), checkpoint at {runner.checkpoint(each)}"
        )


def _progress_bar(name: str):
    def show(position: int, last: int) -> None:
        done = position / last if last else 1.0
        bar = "#" * int(done * 30)
        print(f"\r{name}: [{bar:<30}] {done:4.0%}", end="", file=sys.stderr, flush=True)

    return show


def _report(settings: Settings, engine, args: argparse.Namespace) -> None:
    try:
        got = report(
            ReportFacts(engine),
            settings.load_contracts(),
            contract=args.contract,  # the operator's CLI serves every contract
            period=args.period,
            group_by=args.group_by,
            first_day=args.first_day,
            last_day=args.last_day,
            now=datetime.now(UTC),
        )
    except ContractNotFound as error:
        raise ValueError(f"--{error}") from None
    scores = qa_beside(QaFacts(engine), got)
    if args.format == "json":
        print(json.dumps(as_json(got) | {"qa": scores.model_dump(mode="json")}, indent=2))
    elif args.format == "csv":
        print(as_csv(got), end="")
    else:
        print(as_table(got))
        print(qa_table(scores))


def _simulate(settings: Settings, engine, args: argparse.Namespace) -> None:
    """One contract's complaints (received on its local days from..to), replayed under its
    current policy or --policy: one contract's, as its tiers and categories are its own."""
    book = settings.load_contracts()
    try:
        scope = coverage(book, contract=args.contract or book.default_id, serves=None)
    except ContractNotFound as error:
        raise ValueError(f"--{error}") from None
    contract = book.contracts[scope.one]
    policy, under = contract.policy, f"contract {contract.id}'s current policy"
    if args.policy is not None:
        try:
            text = args.policy.read_text(encoding="utf-8")
        except OSError as err:
            raise ValueError(f"--policy: cannot read {args.policy}: {err.strerror}") from None
        policy = parse_policy(text, str(args.policy), base_dir=args.policy.parent)
        under = str(args.policy)
    start, end = day_bounds(args.first_day, args.last_day, ZoneInfo(contract.policy.timezone))
    received = ReportFacts(engine).received_between(start, end, {contract.id})
    streams = EventStore(engine).read_streams([f.complaint_id for f in received])
    result = simulate(
        ([join_personal(r.data, r.personal) for r in records] for records in streams.values()),
        policy,
        datetime.now(UTC),
    )
    # The actual side ran under the terms each complaint pinned at registration: say how many
    # pinned another version than today's, where the two sides may differ for that reason.
    older = sum(1 for records in streams.values() if _pinned(records) != contract.version)
    if args.format == "json":
        extra = {"contract": contract.id, "policy": under, "registered_under_other_terms": older}
        print(json.dumps(asdict(result) | extra, indent=2))
    else:
        print(_simulation_table(result, args, under))
        print(f"registered under other terms than contract {contract.id}'s current: {older}")


def _pinned(records) -> str | None:
    return records[0].data.get("policy_version") if records else None


def _simulation_table(result: Simulation, args: argparse.Namespace, under: str) -> str:
    lines = [
        f"{result.complaints} complaints received {args.first_day} to {args.last_day}; "
        f"first-round deadlines, actual vs under {under}",
        f"{'tier':>4} {'deadline':<17} {'met':>7} {'breached':>9} {'pending':>8}   "
        f"{'met':>7} {'breached':>9} {'pending':>8}",
        f"{'':>4} {'':<17} {'(actual)':>26}   {'(simulated)':>26}",
    ]
    for r in result.rows:
        a, s = r.actual, r.simulated
        lines.append(
            f"{r.tier:>4} {r.kind:<17} {a[MET]:>7} {a[BREACHED]:>9} {a[PENDING]:>8}   "
            f"{s[MET]:>7} {s[BREACHED]:>9} {s[PENDING]:>8}"
        )
    lines.append(
        f"breaches: {result.total('actual', BREACHED)} actual, "
        f"{result.total('simulated', BREACHED)} simulated; complaints with a breach: "
        f"{result.complaints_breached_actual} actual, {result.complaints_breached_simulated} "
        "simulated"
    )
    return "\n".join(lines)
