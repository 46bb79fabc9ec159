"""Who is away, as the doors (API, CLI) see it: the supervisors' marks and the parties files'
periods together, and the supervisor's action of marking someone away or withdrawing a mark.

Who may mark is the door's check (supervising roles; the CLI's operator); the author is the
door's too, never typed in. The rule for the dates is domain.presence's.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from domain.access import Author
from domain.presence import (
    AwayCancelled,
    AwayMarked,
    AwayPeriod,
    BadPeriod,
    check_period,
    local_day,
)
from engine.contracts import ContractBook
from store.event_store import EventStore
from store.presence import PresenceLog

NO_SUCH_PERIOD = "no_such_period"


class AwayPeriods:
    def __init__(self, store: EventStore, contracts: ContractBook) -> None:
        self._log = PresenceLog(store)
        self._contracts = contracts

    def standing(self, contract: str, now: datetime | None = None) -> list[AwayPeriod]:
        """Periods not over yet, the parties file's first, then the supervisors' by start."""
        today = self._today(contract, now)
        periods = self._log.periods(contract)
        if self._contracts.directories:
            periods = self._contracts.directory_of(contract).away_periods() + periods
        return [p for p in periods if p.end >= today]

    def mark(
        self,
        author: Author,
        contract: str,
        person: str,
        start: date,
        end: date,
        now: datetime | None = None,
    ) -> AwayPeriod:
        """Mark `person` away from `start` to `end` (both days included); BadPeriod names the
        field and the rule broken, and nothing is written."""
        now = now or datetime.now(UTC)
        self._check_person(contract, person)
        check_period(start, end, self._today(contract, now))
        by = {"by": author.name, "by_key": author.key_id}
        self._log.record(
            contract,
            lambda _standing: AwayMarked(at=now, person=person, start=start, end=end, **by),
        )
        return AwayPeriod(person=person, start=start, end=end)

    def cancel(
        self, author: Author, contract: str, person: str, start: date, now: datetime | None = None
    ) -> None:
        """Withdraw the supervisors' mark of `person` beginning on `start`."""
        now = now or datetime.now(UTC)

        def withdraw(standing: list[AwayPeriod]) -> AwayCancelled:
            if not any((p.person, p.start) == (person, start) for p in standing):
                raise BadPeriod(
                    "from",
                    NO_SUCH_PERIOD,
                    f"no away mark of {person} begins on {start.isoformat()} (a parties file's "
                    "period is withdrawn by editing the file)",
                )
            return AwayCancelled(
                at=now, person=person, start=start, by=author.name, by_key=author.key_id
            )

        self._log.record(contract, withdraw)

    def _check_person(self, contract: str, person: str) -> None:
        teams = self._contracts.of(contract).policy.teams
        if not any(person in team.members for team in teams.values()):
            raise BadPeriod(
                "person",
                "unknown_person",
                f"{person!r} is no member of a team of contract {contract!r}",
            )

    def _today(self, contract: str, now: datetime | None) -> date:
        zone = self._contracts.of(contract).policy.timezone
        return local_day(now or datetime.now(UTC), zone)
