"""`complaints schedules` (the contracts' report schedules and their next runs, from Temporal),
`complaints reports sent` (the archive of sent reports, with what became of each recipient;
--save writes one as it was sent), `complaints reports send` (a report by hand, exactly once)
and `complaints reports resend ID` (to the recipients a report did not reach)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from engine.composition import opened_engine
from engine.settings import Settings
from entrypoints.operator import operator

COMMANDS = ("schedules", "reports")


def add_commands(sub: argparse._SubParsersAction) -> None:
    sub.add_parser("schedules", help="the contracts' report schedules and their next runs")
    reports = sub.add_parser("reports", help="the archive of sent contract reports")
    verbs = reports.add_subparsers(dest="verb", required=True)
    sent = verbs.add_parser("sent", help="every report sent, newest first")
    sent.add_argument("--contract", help="only this contract's")
    sent.add_argument("--save", type=int, metavar="ID", help="write report ID's PDF, CSV, JSON")
    sent.add_argument("--to", type=Path, default=Path("."), help="where --save writes")
    sent.add_argument("--json", action="store_true", help="machine-readable output")
    add_send_commands(verbs)


def add_send_commands(verbs: argparse._SubParsersAction) -> None:
    send = verbs.add_parser("send", help="send a report now, unless it was sent (exactly once)")
    send.add_argument("--contract", required=True, help="the contract's id")
    send.add_argument("--kind", required=True, choices=("weekly", "monthly"))
    send.add_argument(
        "--period", help="2026-W48 (weekly) or 2026-11 (monthly); default: the latest due"
    )
    resend = verbs.add_parser("resend", help="send report ID to the recipients it did not reach")
    resend.add_argument("id", type=int, metavar="ID", help="as `complaints reports sent` lists")
    for verb in (send, resend):
        verb.add_argument("--as", dest="operator", metavar="NAME", help="who asks, as recorded")


def run(settings: Settings, args: argparse.Namespace) -> None:
    if args.command == "schedules":
        asyncio.run(_schedules(settings, args.json))
    elif args.verb in ("send", "resend"):
        if not asyncio.run(_send(settings, args)):
            sys.exit(1)
    else:
        _sent(settings, args)


async def _schedules(settings: Settings, as_json: bool) -> None:
    from engine.report_schedules import report_schedules
    from engine.temporal import connect

    rows = await report_schedules(await connect(settings))
    if as_json:
        print(
            json.dumps(
                [{**vars(r), "next_runs": [t.isoformat() for t in r.next_runs]} for r in rows],
                indent=2,
            )
        )
        return
    for r in rows:
        upcoming = r.next_runs[0].isoformat() if r.next_runs else "-"
        paused = "  (paused)" if r.paused else ""
        print(f"{r.id:<40} {r.when:<28} {r.timezone:<18} next {upcoming}{paused}")
    if not rows:
        print("no report schedules (a worker makes them at start-up)")


def _sent(settings: Settings, args: argparse.Namespace) -> None:
    with opened_engine(settings) as engine:  # a new data directory has an empty archive
        _print_sent(engine, args)


def _print_sent(engine, args: argparse.Namespace) -> None:
    from store.report_deliveries import ReportDeliveries, outcomes
    from store.sent_reports import SentReports

    archive = SentReports(engine)
    if args.save is not None:
        report = archive.by_id(args.save)
        if report is None:
            raise ValueError(f"--save: no sent report has the id {args.save}")
        stem = args.to / f"{report.contract}-{report.kind}-{report.period}"
        stem.with_suffix(".pdf").write_bytes(report.pdf)
        stem.with_suffix(".csv").write_text(report.csv, encoding="utf-8")
        stem.with_suffix(".json").write_text(
            json.dumps(report.figures, indent=2, ensure_ascii=False)
        )
        print(f"{stem}.pdf, .csv, .json (content hash {report.content_hash})")
        return
    rows = archive.listed(args.contract)
    if args.json:
        deliveries = ReportDeliveries(engine).of([r["key"] for r in rows])
        for r in rows:
            r["deliveries"] = [vars(d) for d in deliveries[r["key"]]]
        print(json.dumps(rows, indent=2, default=str))
        return
    delivered = ReportDeliveries(engine).of([r["key"] for r in rows])
    for r in rows:
        sent = f"{r['sent_at']:%Y-%m-%d %H:%M} UTC" if r["sent_at"] else "NOT DELIVERED"
        print(
            f"{r['id']:>5}  {r['contract']:<12} {r['kind']:<8} {r['period']:<9} {sent:<21}"
            f" {len(r['recipients'])} recipient(s)  {r['content_hash'][:16]}"
        )
        for line in outcome_lines(r["recipients"], outcomes(delivered[r["key"]])):
            print(f"       {line}")
    if not rows:
        print("no report sent yet")


def outcome_lines(recipients: list[str], latest: dict) -> list[str]:
    """Each recipient and what became of the report for them (the latest run's word)."""
    lines = []
    for address in recipients:
        d = latest.get(address)
        if d is None:
            lines.append(f"{address}: no delivery recorded")
        elif d.delivered:
            lines.append(f"{address}: delivered {d.at:%Y-%m-%d %H:%M} UTC")
        else:
            lines.append(f"{address}: NOT delivered ({d.reason})")
    return lines


async def _send(settings: Settings, args: argparse.Namespace) -> bool:
    """Send (or resend) and say what came of it; False when someone was not reached."""
    from engine.report_sending import UNDELIVERED

    by = operator(args.operator).name
    with opened_engine(settings) as engine:
        sending = await _sent_by(settings, engine, args, by)
    print(sending_text(sending))
    return sending.status != UNDELIVERED


async def _sent_by(settings: Settings, engine, args: argparse.Namespace, by: str):
    """The report asked for, sent or resent on `engine`; what came of it."""
    from engine.report_sending import ReportSender, asked_report
    from engine.temporal import connect
    from store.sent_reports import SentReports

    if args.verb == "send":
        asked = asked_report(
            settings.load_contracts(), args.contract, args.kind, args.period, datetime.now(UTC)
        )
        return await ReportSender(await connect(settings), engine, settings).send(asked, by)
    report = SentReports(engine).by_id(args.id)
    if report is None:
        raise ValueError(f"ID: no sent report has the id {args.id}")
    return await ReportSender(await connect(settings), engine, settings).resend(report, by)


def sending_text(sending) -> str:
    from engine.report_sending import ALREADY_SENT, SENT, UNDER_WAY

    report = sending.report
    head = f"{sending.key} (id {report.id})" if report else sending.key
    recipients = report.recipients if report else []
    lines = outcome_lines(recipients, sending.outcomes)
    if sending.status == ALREADY_SENT:
        when = f"{report.sent_at:%Y-%m-%d %H:%M} UTC"
        first = f"{head}: already sent {when} to {', '.join(recipients)}; nothing sent"
    elif sending.status == UNDER_WAY:
        first = f"{head}: being sent right now (workflow {sending.key}); nothing started"
    elif sending.status == SENT:
        first = f"{head}: sent (content hash {report.content_hash[:16]})"
    else:
        first = (
            f"{head}: not delivered to every recipient ({sending.error}); the supervisors were"
            f" told; resend with `complaints reports resend {report.id if report else 'ID'}`"
        )
    return "\n".join([first, *(f"  {line}" for line in lines)])
