"""One report request, checked: the contracts, period, grouping and date range a caller asked
for, read from the report read model and computed. Shared by the API, the pages and the CLI.

Whose complaints a report reads (`coverage`): the contract asked for, else every contract the
caller serves (a provider-level caller: every one). Its periods are local days of one time zone:
the contract's own when the report is for one contract; across contracts, the default
contract's, the zone the deployment's reports have always used. The report names the zone and
whose it is.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from reports.metrics import GROUP_BYS, Coverage, SlaReport, sla_report
from reports.periods import PERIODS, day_bounds, default_range
from store.report_model import ReportFacts

if TYPE_CHECKING:
    from domain.contracts import Contract
    from engine.contracts import ContractBook

# A report reads every complaint of its range into memory; keep that bounded.
MAX_RANGE = timedelta(days=3 * 366)


class ContractNotFound(LookupError):
    """A report asked for a contract this deployment does not serve, or one the caller does
    not serve: the same answer for both, so a key learns nothing of other clients."""

    def __init__(self, contract_id: str) -> None:
        super().__init__(f"contract: no contract {contract_id!r}")
        self.contract_id = contract_id


def coverage(
    book: ContractBook, *, contract: str | None, serves: frozenset[str] | None
) -> Coverage:
    """Which contracts a report covers, for a caller serving `serves` (None: every contract)."""
    if contract is not None:
        if contract not in book.contracts or (serves is not None and contract not in serves):
            raise ContractNotFound(contract)
        only: frozenset[str] | None = frozenset({contract})
    else:
        # None reads every complaint, also those of a contract since gone from the files.
        only = serves
    if only is not None:
        one = next(iter(only)) if len(only) == 1 else None
    else:
        one = book.default_id if len(book.contracts) == 1 else None
    return Coverage(
        contracts={i: c for i, c in book.contracts.items() if only is None or i in only},
        one=one,
        zone_of=one if one in book.contracts else book.default_id,
        only=only,
    )


def periods_zone(book: ContractBook, scope: Coverage) -> ZoneInfo:
    return ZoneInfo(_zone_owner(book, scope).policy.timezone)


def report(
    facts: ReportFacts,
    book: ContractBook,
    *,
    contract: str | None = None,
    serves: frozenset[str] | None = None,
    period: str,
    group_by: str,
    first_day: date | None,
    last_day: date | None,
    now: datetime,
) -> SlaReport:
    """The SLA report; ValueError naming the field for a request that makes no sense,
    ContractNotFound for a contract the caller may not see."""
    if period not in PERIODS:
        raise ValueError(f"period: must be one of {', '.join(PERIODS)}, got {period!r}")
    if group_by not in GROUP_BYS:
        raise ValueError(f"group_by: must be one of {', '.join(GROUP_BYS)}, got {group_by!r}")
    scope = coverage(book, contract=contract, serves=serves)
    zone = periods_zone(book, scope)
    today = now.astimezone(zone).date()
    default_first, default_last = default_range(today, period)  # type: ignore[arg-type]
    first_day = first_day or (
        default_first if last_day is None else last_day - (today - default_first)
    )
    last_day = last_day or default_last
    if last_day - first_day > MAX_RANGE:
        raise ValueError(f"to: at most {MAX_RANGE.days} days after from")
    start, end = day_bounds(first_day, last_day, zone)  # refuses to < from
    return sla_report(
        facts.received_between(start, end, scope.only),
        period=period,  # type: ignore[arg-type]
        group_by=group_by,  # type: ignore[arg-type]
        first_day=first_day,
        last_day=last_day,
        zone=zone,
        review=_zone_owner(book, scope).policy.performance_review,
        coverage=scope,
    )


def _zone_owner(book: ContractBook, scope: Coverage) -> Contract:
    return book.of(scope.zone_of)
