"""`complaints schedules` (the contracts' report schedules and their next runs, from Temporal)
and `complaints reports sent` (the archive of sent reports; --save writes one as it was sent)."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from engine.settings import Settings

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


def run(settings: Settings, args: argparse.Namespace) -> None:
    if args.command == "schedules":
        asyncio.run(_schedules(settings, args.json))
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
    from store import make_engine, migrate
    from store.sent_reports import SentReports

    engine = make_engine(settings.store_url())
    migrate(engine)  # a new data directory has an empty archive, not an error
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
        print(json.dumps(rows, indent=2, default=str))
        return
    for r in rows:
        sent = f"{r['sent_at']:%Y-%m-%d %H:%M} UTC" if r["sent_at"] else "NOT DELIVERED"
        print(
            f"{r['id']:>5}  {r['contract']:<12} {r['kind']:<8} {r['period']:<9} {sent:<21}"
            f" {len(r['recipients'])} recipient(s)  {r['content_hash'][:16]}"
        )
    if not rows:
        print("no report sent yet")
