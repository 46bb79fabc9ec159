"""Who the roles of the escalation chains are, and how to reach them (parties.toml).

The customer is not in the directory: their address is the personal part of the complaint's
ComplaintRegistered event, which the dispatcher passes in as `customer`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

import structlog
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from domain.policy import Policy
from domain.presence import AwayPeriod, BadPeriod, check_period, local_day
from domain.vocabulary import CUSTOMER

log = structlog.get_logger(__name__)

PARTY_ROLES = ("assignee", "team_lead", "supervisor", "duty_manager")
ROLES = (*PARTY_ROLES, CUSTOMER)

Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$", max_length=254)]
Url = Annotated[str, StringConstraints(pattern=r"^https?://\S+$")]
PersonId = Annotated[str, StringConstraints(min_length=1)]


@dataclass(frozen=True)
class Recipient:
    id: str  # a people id, or "customer"
    name: str
    email: str | None
    webhook: str | None
    locale: str  # "en" or "zh"


class DirectoryError(ValueError):
    """A parties file that cannot be used; the message names the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Person(_Strict):
    name: str = Field(min_length=1)
    email: Email | None = None
    webhook: Url | None = None
    locale: Literal["en", "zh"] = "en"


class TeamParties(_Strict):
    team_lead: PersonId | list[PersonId]
    supervisor: PersonId | list[PersonId]
    department: str = ""  # a label for messages


class AwayEntry(_Strict):
    """`[[away]]`: a person out of new assignments from one day to another, both included, in
    the contract's time zone (domain.presence)."""

    person: PersonId
    from_: date = Field(alias="from")
    until: date


class _Parties(_Strict):
    duty_manager: PersonId | list[PersonId]
    people: dict[str, Person] = Field(min_length=1)
    teams: dict[str, TeamParties] = {}
    away: list[AwayEntry] = []


def _ids(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


class Directory:
    def __init__(self, parties: _Parties, policy: Policy) -> None:
        self._parties = parties
        self.policy = policy

    def person(self, person_id: str) -> Recipient | None:
        person = self._parties.people.get(person_id)
        if person is None:
            return None
        return Recipient(person_id, person.name, person.email, person.webhook, person.locale)

    def department(self, team: str) -> str:
        parties = self._parties.teams.get(team)
        return (parties.department if parties else "") or team

    def resolve(
        self, role: str, details: dict[str, Any], customer: dict[str, Any] | None = None
    ) -> list[Recipient]:
        """Who holds `role` for the complaint the notification `details` describe. Empty when
        nobody can be found (an assignee missing from the directory, a customer without
        personal data): the dispatcher then treats the message as undeliverable."""
        if role == CUSTOMER:
            if not customer:
                return []
            return [
                Recipient(
                    CUSTOMER,
                    customer.get("name") or "",
                    customer.get("email"),
                    None,
                    customer.get("locale") if customer.get("locale") in ("en", "zh") else "en",
                )
            ]
        if role == "assignee":
            ids = [details.get("assignee") or ""]
        elif role in ("team_lead", "supervisor"):
            team = self._parties.teams.get(details.get("team") or "")
            ids = _ids(getattr(team, role)) if team else []
        elif role == "duty_manager":
            ids = _ids(self._parties.duty_manager)
        else:
            ids = []
        return [r for r in (self.person(i) for i in ids) if r is not None]

    def team_lead(self, team: str) -> str | None:
        """The team's lead, who takes new complaints when nobody of the team is present (the
        first named, if several)."""
        parties = self._parties.teams.get(team)
        return _ids(parties.team_lead)[0] if parties else None

    def away_periods(self) -> list[AwayPeriod]:
        return [
            AwayPeriod(person=a.person, start=a.from_, end=a.until, source="parties")
            for a in self._parties.away
        ]

    def supervisors(self) -> list[Recipient]:
        """Every team's supervisor, each once: who answers for the contract's reports."""
        ids = dict.fromkeys(i for t in self._parties.teams.values() for i in _ids(t.supervisor))
        return [r for r in (self.person(i) for i in ids) if r is not None]

    def locale_of(self, email: str) -> str | None:
        """The language of the person with this address, if the directory knows them."""
        wanted = email.strip().lower()
        for person in self._parties.people.values():
            if person.email and person.email.lower() == wanted:
                return person.locale
        return None

    def next_role(self, tier: int, role: str) -> str | None:
        """The role above `role` in the tier's escalation chain; the chain's first role for a
        role outside it (the customer); None at the top."""
        chain = self.policy.tier(tier).escalation_chain
        if role not in chain:
            return chain[0]
        index = chain.index(role)
        return chain[index + 1] if index + 1 < len(chain) else None


def load_directory(
    text: str, policy: Policy, source: str = "parties", today: date | None = None
) -> Directory:
    """Parse and check a parties file against the policy: every role of every tier's chain must
    resolve, for every team of the policy, to people with at least one channel; every away
    period must name a person and keep domain.presence's rule as of `today` (None: today in the
    policy's time zone)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DirectoryError(f"{source}: not valid TOML: {exc}") from None
    try:
        parties = _Parties.model_validate(raw)
    except ValidationError as exc:
        problems = [
            f"  {'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}"
            for err in exc.errors()
        ]
        raise DirectoryError(
            f"{source} is not a valid parties file:\n" + "\n".join(problems)
        ) from None

    problems: list[str] = []
    people = parties.people
    for pid, person in people.items():
        if not person.email and not person.webhook:
            problems.append(f"  people.{pid}: needs an email or a webhook")
    refs = {"duty_manager": _ids(parties.duty_manager)} | {
        f"teams.{team}.{role}": _ids(getattr(tp, role))
        for team, tp in parties.teams.items()
        for role in ("team_lead", "supervisor")
    }
    for key, ids in refs.items():
        problems += [f"  {key}: {i!r} is not under [people]" for i in ids if i not in people]

    used = {
        (role, tier)
        for tier in ("1", "2", "3")
        for role in policy.tiers[tier].escalation_chain  # type: ignore[index]
    }
    for role, tier in sorted(used):
        if role not in ROLES:
            problems.append(
                f"  tiers.{tier}.escalation_chain: role {role!r} is not one of {', '.join(ROLES)}"
            )
            continue
        for team_name, team in policy.teams.items():
            if role == "assignee":
                problems += [
                    f"  people.{m}: member of team {team_name!r} (tier {tier} chain: assignee)"
                    " is missing"
                    for m in team.members
                    if m not in people
                ]
            elif role in ("team_lead", "supervisor") and team_name not in parties.teams:
                problems.append(
                    f"  teams.{team_name}.{role}: missing (tier {tier}'s escalation chain"
                    f" needs a {role} for team {team_name!r})"
                )
    problems += _away_problems(parties, today or local_day(datetime.now(UTC), policy.timezone))
    if problems:
        unique = list(dict.fromkeys(problems))
        raise DirectoryError(f"{source} does not fit the policy:\n" + "\n".join(unique))
    return Directory(parties, policy)


def _away_problems(parties: _Parties, today: date) -> list[str]:
    problems = []
    for index, entry in enumerate(parties.away):
        if entry.person not in parties.people:
            problems.append(f"  away.{index}.person: {entry.person!r} is not under [people]")
        if entry.from_ <= entry.until < today:
            # Over: it marks nobody away. Not refused, unlike a supervisor's new mark: a restart
            # the day after a period ended must not stop the engine. Said, so it gets removed.
            log.warning("away period over; remove it from the parties file", entry=f"away.{index}")
            continue
        try:
            check_period(entry.from_, entry.until, today)
        except BadPeriod as bad:
            problems.append(f"  away.{index}.{bad} (rule {bad.rule})")
    return problems
