"""`complaints contracts list|apply`: which terms govern the running complaints, and amendments
that bring them to the files' version on purpose (README, Amendments).

Each process reads the contract files at start, so new complaints take a new version once the
engine's processes have restarted; a running complaint keeps the version it pinned until
`apply --yes` records a PolicyAmended on it. The dry run asks each complaint's workflow what
the amendment would do (the same decision, not recorded), so it shows what --yes then records.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from domain import commands as c
from domain.amendment import AmendmentEffect
from domain.contracts import Contract
from domain.vocabulary import Status
from engine.composition import open_parts, opened_engine, service_of
from engine.contracts import ContractBook
from engine.service import ActionRefused, ComplaintNotFound, ComplaintService
from engine.settings import Settings
from store.complaint_list import ComplaintList, PinnedTerms

COMMAND = "contracts"
PROGRESS_EVERY = 50  # complaints between progress lines of a long run (on stderr)
NEW_COMPLAINTS = (
    "New complaints take the files' version once the engine's processes (worker, API, inbound "
    "mail) have loaded the files: they read them at start."
)


def add_command(sub: argparse._SubParsersAction) -> None:
    contracts = sub.add_parser(
        COMMAND, help="client contracts: the versions in use, and amending running complaints"
    )
    verbs = contracts.add_subparsers(dest="contracts_command", required=True)
    verbs.add_parser(
        "list", help="each contract's version in the files, and its running complaints by version"
    )
    apply = verbs.add_parser(
        "apply",
        help="what the files' version of a contract changes for its running complaints; "
        "with --yes, record it on each",
    )
    apply.add_argument("contract_id")
    apply.add_argument("--yes", action="store_true", help="amend them (without it: a dry run)")
    apply.add_argument(
        "--new-complaints-only",
        action="store_true",
        help="amend no running complaint: they keep their versions",
    )
    apply.add_argument("--by", help="who amends, for the record (default: your login name)")


def run(settings: Settings, args: argparse.Namespace) -> None:
    book = settings.load_contracts()
    with opened_engine(settings) as engine:
        listed = ComplaintList(engine)
        if args.contracts_command == "list":
            print_versions(book, listed.not_closed())
            return
        contract = book.contracts.get(args.contract_id)
        if contract is None:
            raise ValueError(
                f"contract_id: no contract {args.contract_id!r} in the files "
                f"({', '.join(book.contracts)})"
            )
        running = listed.not_closed(contract.id)
        asyncio.run(apply(settings, engine, contract, running, args))


def print_versions(book: ContractBook, running: list[PinnedTerms]) -> None:
    by_version = Counter((p.contract, p.policy_version) for p in running)
    gone = sorted({p.contract for p in running} - set(book.contracts))
    for contract_id in [*book.contracts, *gone]:
        contract = book.contracts.get(contract_id)
        if contract is None:
            print(f"{contract_id}  (no longer in the files)")
        else:
            retired = "  (retired)" if contract.retired else ""
            print(f"{contract.id}  {contract.name}  version {contract.version}{retired}")
        counts = sorted(
            ((v, n) for (cid, v), n in by_version.items() if cid == contract_id),
            key=lambda vn: (vn[0] is None, vn[0] or ""),
        )
        for version, n in counts:
            files = "  (the files')" if contract and version == contract.version else ""
            print(f"    {n:>6} running on {version or '(none: from before versions)'}{files}")
        if not counts:
            print("    no running complaints")


async def apply(
    settings: Settings,
    engine: Engine,
    contract: Contract,
    running: list[PinnedTerms],
    args: argparse.Namespace,
) -> None:
    behind = [p for p in running if p.policy_version != contract.version]
    print(
        f"Contract {contract.id} ({contract.name}): the files' version {contract.version}; "
        f"times in {contract.policy.timezone}."
    )
    if args.new_complaints_only:
        print(
            f"--new-complaints-only: no running complaint amended; {len(behind)} keep their "
            f"versions until they close.\n{NEW_COMPLAINTS}"
        )
        return
    amendment = c.AmendPolicy(
        contract=contract.id,
        version=contract.version,
        policy=contract.policy,
        by=args.by or getpass.getuser(),
    )
    service = service_of(settings, await open_parts(settings, engine=engine))
    zone = ZoneInfo(contract.policy.timezone)
    outcomes: Counter[str] = Counter()
    for n, pinned in enumerate(behind, 1):
        effect = await _one(service, pinned, amendment, args.yes)
        outcomes["refused" if effect.refused else "amended"] += 1
        print(describe(effect, pinned, zone))
        if n % PROGRESS_EVERY == 0 and n < len(behind):
            print(f"... {n} of {len(behind)} complaints done", file=sys.stderr, flush=True)
    current = len(running) - len(behind)
    if args.yes:
        summary = f"{outcomes['amended']} amended, {outcomes['refused']} refused"
    else:
        summary = (
            f"Dry run, nothing recorded: {outcomes['amended']} would be amended, "
            f"{outcomes['refused']} would refuse"
        )
    print(f"{summary}, {current} already on {contract.version}.")
    if not args.yes and behind:
        print("Run again with --yes to amend them.")
    print(NEW_COMPLAINTS)


async def _one(
    service: ComplaintService, pinned: PinnedTerms, amendment: c.AmendPolicy, record: bool
) -> AmendmentEffect:
    """One complaint's amendment, recorded or previewed; a refusal is its answer, not an end."""
    try:
        if record:
            return await service.amend(pinned.complaint_id, amendment)
        now = datetime.now(UTC)
        return await service.preview_amendment(pinned.complaint_id, amendment, now)
    except (ActionRefused, ComplaintNotFound) as refused:
        return AmendmentEffect(complaint_id=pinned.complaint_id, status=None, refused=str(refused))


def describe(effect: AmendmentEffect, pinned: PinnedTerms, zone: ZoneInfo) -> str:
    """One complaint: its version and status, then each deadline that moves, in the contract's
    time zone (the complaint's subject and customer stay out: this may be logged)."""
    head = f"{effect.complaint_id}  {pinned.status}, on {pinned.policy_version or '(none)'}"
    if effect.refused:
        return f"{head}\n    refused: {effect.refused}"
    lines = [head]
    for m in effect.moved:
        old, new = m.old_due_at.astimezone(zone), m.new_due_at.astimezone(zone)
        at_once = "  breached at once" if m.kind in effect.breached_at_once else ""
        lines.append(
            f"    {m.kind.value:<17} {old:%Y-%m-%d %H:%M} -> {new:%Y-%m-%d %H:%M}  "
            f"{_shift(new - old)}{at_once}"
        )
    if effect.status is Status.WAITING_ON_CUSTOMER:
        lines.append("    waiting on the customer: deadlines move when the customer replies")
    elif not effect.moved:
        lines.append("    no deadline moves")
    if effect.status is Status.CLOSED:
        lines.append("    closed at once: the new terms' window has passed")
    return "\n".join(lines)


def _shift(delta: timedelta) -> str:
    """+1d 2h 30m, -15m: how far a deadline moves."""
    sign, left = ("-", -delta) if delta < timedelta(0) else ("+", delta)
    minutes = int(left.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    parts = [f"{days}d"] if days else []
    parts += [f"{rest // 60}h"] if rest // 60 else []
    parts += [f"{rest % 60}m"] if rest % 60 or not parts else []
    return sign + " ".join(parts)
