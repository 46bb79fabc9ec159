"""`complaints`: run the engine, or talk to a running one.

Mistakes a user can make (a malformed policy, bad input, an unknown complaint, an action the
complaint's state forbids) print one clear line and exit with status 2, never a stack trace.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from pydantic import ValidationError

from delivery.mail_receiver import ReceiverUnavailable
from domain import commands as c
from domain.access import Author
from domain.contracts import UnknownContract
from engine.composition import build_service, load_settings, opened_engine
from engine.contracts import ContractError
from engine.service import (
    CLI_SCOPE,
    ActionRefused,
    ComplaintNotFound,
    ComplaintService,
    IdempotencyConflict,
)
from engine.settings import Settings
from engine.temporal import TemporalUnreachable
from entrypoints import (
    archive_commands,
    contract_commands,
    customer_key_commands,
    key_commands,
    mail_commands,
    presence_commands,
    qa_commands,
    report_commands,
    sent_report_commands,
)
from entrypoints.operator import operator
from entrypoints.process_exit import run_then_exit

USAGE_ERROR = 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="complaints", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run",
        help="the whole engine on embedded defaults (dev server, worker, API, inbound mail)",
    )
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000, help="HTTP API port")
    run.add_argument("--temporal-port", type=int, default=7233)
    run.add_argument("--data-dir", help="where the SQLite files live (default ./data)")
    sub.add_parser("worker", help="a worker for a Temporal server already running")
    api = sub.add_parser("api", help="the HTTP API for a Temporal server already running")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8000)
    submit = sub.add_parser("submit", help="submit a complaint")
    submit.add_argument("--name", required=True, help="the customer's name")
    submit.add_argument("--email")
    submit.add_argument("--phone")
    submit.add_argument("--channel", default="phone")
    submit.add_argument("--subject", required=True)
    submit.add_argument("--description", required=True)
    submit.add_argument("--urgent", action="store_true")
    submit.add_argument("--idempotency-key")
    submit.add_argument(
        "--contract", help="the client contract's id (default: the deployment's default)"
    )
    report_commands.add_commands(sub)
    archive_commands.add_commands(sub)
    sent_report_commands.add_commands(sub)
    qa_commands.add_commands(sub)
    mail_commands.add_command(sub)
    contract_commands.add_command(sub)
    presence_commands.add_command(sub)
    listing = sub.add_parser("list", help="open complaints by next deadline (the read model)")
    listing.add_argument("--status", default="open", help="open (default), all, or a status")
    listing.add_argument("--tier", type=int, choices=(1, 2, 3))
    listing.add_argument("--team")
    listing.add_argument("--breached", action="store_true", help="only breached ones")
    listing.add_argument("--limit", type=int, default=50)
    for name, text in (("show", "a complaint's live state"), ("events", "a complaint's events")):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("complaint_id")
    act = sub.add_parser("act", help="act on a complaint, e.g. act C-X respond message=hi")
    act.add_argument(
        "--as",
        dest="operator",
        metavar="NAME",
        help="who is acting, as recorded (default: your login name); never a FIELD by=...",
    )
    act.add_argument("complaint_id")
    act.add_argument(
        "action",
        help="respond, initial-solution, request-info, customer-reply, "
        "resolve, feedback, reopen, reassign, reclassify, note",
    )
    act.add_argument("fields", nargs="*", metavar="FIELD=VALUE")
    customer_key_commands.add_commands(sub)
    key_commands.add_command(sub)
    for cmd in sub.choices.values():
        if cmd.prog.split()[-1] not in (
            "run",
            "worker",
            "api",
            key_commands.COMMAND,
            mail_commands.COMMAND,
            contract_commands.COMMAND,
            presence_commands.COMMAND,
            qa_commands.COMMAND,
            *report_commands.COMMANDS,
        ):
            cmd.add_argument("--json", action="store_true", help="machine-readable output")
    return p


def console() -> None:
    """The `complaints` command (pyproject's script): main(), and the process ends as
    entrypoints.process_exit says why. Tests call main() in their own process instead."""
    run_then_exit(main)


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    overrides = {"data_dir": args.data_dir} if getattr(args, "data_dir", None) else {}
    settings = load_settings(**overrides)
    try:
        if args.command == "run":
            from entrypoints.local import run_local

            failure = asyncio.run(run_local(settings, args.host, args.port, args.temporal_port))
            if failure:
                sys.exit(f"complaints: {failure}")
        elif args.command == "worker":
            import worker

            asyncio.run(worker.main())
        elif args.command == key_commands.COMMAND:
            key_commands.run(settings, args)
        elif args.command == mail_commands.COMMAND:
            mail_commands.run(settings, args)
        elif args.command == contract_commands.COMMAND:
            contract_commands.run(settings, args)
        elif args.command == presence_commands.COMMAND:
            presence_commands.run(settings, args)
        elif args.command in report_commands.COMMANDS:
            report_commands.run(settings, args)
        elif args.command in archive_commands.COMMANDS:
            archive_commands.run(settings, args)
        elif args.command in sent_report_commands.COMMANDS:
            sent_report_commands.run(settings, args)
        elif args.command == qa_commands.COMMAND:
            qa_commands.run(settings, args)
        elif args.command in customer_key_commands.COMMANDS:
            customer_key_commands.run(settings, args)
        elif args.command == "api":
            from api.app import serve

            asyncio.run(serve(settings, args.host, args.port))
        else:
            asyncio.run(_client_command(settings, args))
    except (
        ContractError,
        ValidationError,
        ComplaintNotFound,
        ActionRefused,
        IdempotencyConflict,
        UnknownContract,
        ValueError,
    ) as err:
        print(f"complaints: {_describe(err)}", file=sys.stderr)
        sys.exit(USAGE_ERROR)
    except (TemporalUnreachable, ReceiverUnavailable) as err:
        print(f"complaints: {err}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        pass


def _describe(err: Exception) -> str:
    if isinstance(err, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg']}" for e in err.errors()
        )
    return str(err)


async def _client_command(settings: Settings, args: argparse.Namespace) -> None:
    if args.command == "list":  # the read model needs no Temporal, and no keys
        with opened_engine(settings) as engine:
            _print_list(engine, args)
        return
    acting = None
    if args.command == "act":  # refuse a malformed action before reaching for the server
        author = operator(args.operator)
        acting = c.parse_action(args.action, dict(_field(f) for f in args.fields), author), author
    # The service's store seals a submission's customer before it reaches Temporal.
    service = await build_service(settings)
    try:
        await _ask(service, args, acting)
    finally:
        service.store.engine.dispose()


async def _ask(
    service: ComplaintService,
    args: argparse.Namespace,
    acting: tuple[c.Action, Author] | None,
) -> None:
    if args.command == "submit":
        submission = c.Submission(
            channel=args.channel,
            subject=args.subject,
            description=args.description,
            urgent=args.urgent,
            customer={"name": args.name, "email": args.email, "phone": args.phone},
            contract=args.contract,
        )
        # The CLI's keys are its own: an API client's identical key is another complaint.
        intake = await service.submit(submission, args.idempotency_key, scope=CLI_SCOPE)
        _print_state(intake.state, args.json)
    elif args.command == "show":
        _print_state(await service.state(args.complaint_id), args.json)
    elif args.command == "events":
        records = service.events(args.complaint_id)
        if not records:
            raise ComplaintNotFound(args.complaint_id)
        if args.json:
            print(
                json.dumps(
                    [
                        {
                            "version": r.version,
                            "type": r.type,
                            "at": r.occurred_at.isoformat(),
                            "data": r.data,
                        }
                        for r in records
                    ],
                    indent=2,
                )
            )
        for r in [] if args.json else records:
            print(f"{r.version:>4}  {r.occurred_at:%Y-%m-%d %H:%M:%S}  {r.type}")
    elif args.command == "act":
        _print_state(await service.act(args.complaint_id, *acting), args.json)


def _field(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep:
        raise ValueError(f"{text!r}: fields are given as name=value")
    return name, value


def _print_state(state, as_json: bool) -> None:
    if as_json:
        print(state.model_dump_json(indent=2))
        return
    print(
        f"{state.complaint_id}  {state.status.value}  tier {state.tier}  "
        f"{state.category}  {state.team}/{state.assignee}  "
        f"escalation level {state.escalation_level}"
    )
    for d in state.current_deadlines():
        outcome = ("BREACHED " if d.breached_at else "") + (
            f"met {d.met_at:%Y-%m-%d %H:%M}" if d.met_at else ""
        )
        print(f"  {d.kind.value:<17} due {d.due_at:%Y-%m-%d %H:%M} UTC  {outcome or 'pending'}")


def _print_list(engine, args: argparse.Namespace) -> None:
    from store.complaint_list import ComplaintList

    page = ComplaintList(engine).page(
        status=None if args.status == "all" else args.status,
        tier=args.tier,
        team=args.team,
        breached=True if args.breached else None,
        limit=args.limit,
    )
    if args.json:
        print(json.dumps([vars(item) for item in page.items], default=str, indent=2))
        return
    print(f"{'id':<15} {'status':<20} tier {'team':<17} {'next due (UTC)':<17} esc  breached")
    for i in page.items:
        due = f"{i.next_due_at:%Y-%m-%d %H:%M}" if i.next_due_at else "-"
        print(
            f"{i.complaint_id:<15} {i.status:<20} {i.tier:>4} {i.team:<17} {due:<17} "
            f"{i.escalation_level:>3}  {'yes' if i.breached else ''}"
        )
