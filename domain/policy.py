"""The SLA policy: tiers, deadlines, business calendar, escalation, classification, routing.

Operators edit it as a TOML file; `parse_policy` validates it and names the key and the rule of
every mistake. A complaint keeps the policy it was registered under (it travels in the workflow's
input), so editing the file never changes the deadlines of a complaint already running.
"""

from __future__ import annotations

import re
import tomllib
from datetime import date, time, timedelta
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from domain.calendar import BusinessCalendar, Clock, RoundTheClock
from domain.icalendar import ICalendarError, read_day_events, split_days
from domain.qa import QaChecklist
from domain.vocabulary import DEFAULT_CATEGORIES, CategoryName, Channel, DeadlineKind

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TIERS = (1, 2, 3)


def _check_duration(text: str) -> str:
    if not text or not _DURATION.match(text):
        raise ValueError("must be a duration like 30m, 2h, 3d or 1h30m (units d, h, m, s)")
    return text


Duration = Annotated[str, AfterValidator(_check_duration)]


def _check_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name like Asia/Shanghai)"
        ) from None
    return name


def duration_parts(text: str) -> tuple[int, timedelta]:
    """(whole days, the rest): days are kept apart because their length depends on the clock."""
    days, hours, minutes, seconds = (int(g or 0) for g in _DURATION.match(text).groups())
    return days, timedelta(hours=hours, minutes=minutes, seconds=seconds)


def round_the_clock_span(text: str) -> timedelta:
    days, rest = duration_parts(text)
    return timedelta(days=days) + rest


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BusinessHours(_Strict):
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(min_length=1)
    open: time
    close: time
    after_hours_first_reply_by: time = time(9, 30)
    # Which deadlines the after-hours rule caps: "a message received outside business hours gets
    # a first reply by 09:30 on the next working day".
    after_hours_applies_to: list[DeadlineKind] = [
        DeadlineKind.ACKNOWLEDGE,
        DeadlineKind.FIRST_RESPONSE,
    ]
    holidays: list[date] = []
    # Working days although their weekday is not in `days` (China's 调休: a Saturday worked to
    # bridge a holiday).
    make_up_days: list[date] = []
    # An iCalendar file of holidays and make-up days, relative to the policy file; parse_policy
    # reads it and merges its dates into the two lists above, so the policy a complaint keeps
    # carries the dates themselves. An event whose SUMMARY holds one of the words is a make-up
    # working day, any other a holiday.
    calendar_file: str | None = None
    make_up_day_words: list[Annotated[str, Field(min_length=1)]] = [
        "班",
        "补班",
        "调休上班",
        "working day",
    ]

    @model_validator(mode="after")
    def _consistent(self) -> BusinessHours:
        if self.open >= self.close:
            raise ValueError("open must be earlier than close")
        both = sorted(set(self.holidays) & set(self.make_up_days))
        if both:
            raise ValueError(
                f"make_up_days: {_dates(both)} also listed under holidays; "
                "a day is either a holiday or a make-up working day"
            )
        working = [d for d in sorted(self.make_up_days) if _WEEKDAYS[d.weekday()] in self.days]
        if working:
            raise ValueError(
                f"make_up_days: {_dates(working)} already a working day by its weekday (days); "
                "a make-up day is a day off by its weekday"
            )
        return self


def _dates(days: list[date]) -> str:
    return ", ".join(f"{d.isoformat()} ({_WEEKDAYS[d.weekday()]})" for d in days)


class TierPolicy(_Strict):
    clock: Literal["24x7", "business"]
    deadlines: dict[DeadlineKind, Duration] = Field(min_length=1)
    escalation_chain: list[Annotated[str, Field(min_length=1)]] = Field(min_length=2)
    re_escalate_every: Duration
    # The closed loop with the customer, each on the tier's clock; absent: not owed.
    # While the complaint is open, the customer hears from us at least this often ("progress
    # synced to the customer within 2 hours"); a gap is a breach and escalates.
    keep_customer_informed_every: Duration | None = None
    # The customer wrote (or answered our question): answered in staff's own words within this
    # long (respond, initial-solution, request-info or resolve); else a breach, escalated.
    answer_customer_within: Duration | None = None
    # While we wait on the customer's information: remind them once after this long, and close
    # the complaint as "no reply" after this long.
    remind_customer_after: Duration | None = None
    close_without_reply_after: Duration | None = None

    @field_validator(
        "re_escalate_every",
        "keep_customer_informed_every",
        "answer_customer_within",
        "remind_customer_after",
        "close_without_reply_after",
    )
    @classmethod
    def _positive(cls, text: str | None) -> str | None:
        if text is not None and round_the_clock_span(text) <= timedelta(0):
            raise ValueError("must be longer than zero")
        return text

    @model_validator(mode="after")
    def _remind_before_closing(self) -> TierPolicy:
        remind, close = self.remind_customer_after, self.close_without_reply_after
        if remind and close and round_the_clock_span(remind) >= round_the_clock_span(close):
            raise ValueError("remind_customer_after must be shorter than close_without_reply_after")
        return self


class ClassificationRule(_Strict):
    name: str = Field(min_length=1)
    any_words: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)
    channels: list[Channel] = []  # empty: any channel
    category: CategoryName
    tier: Literal[1, 2, 3]


class Classification(_Strict):
    default_category: CategoryName = "other"
    default_tier: Literal[1, 2, 3] = 1
    # The customer's urgent flag raises the tier by this many steps (capped at 3).
    urgent_raises_tier_by: int = Field(default=1, ge=0, le=2)
    rules: list[ClassificationRule] = []

    @field_validator("rules")
    @classmethod
    def _unique_names(cls, rules: list[ClassificationRule]) -> list[ClassificationRule]:
        names = [r.name for r in rules]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"rule names must be unique; repeated: {', '.join(dupes)}")
        return rules


class Team(_Strict):
    members: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)


class Routing(_Strict):
    # None: every category must be routed by name (a category no route reaches is an error).
    default_team: str | None = None
    categories: dict[CategoryName, str] = {}


class PerformanceReview(_Strict):
    """When a team is flagged for review: its resolution rate (resolution deadlines met in time
    among those settled) below `resolution_rate_below` for `consecutive_weeks` weeks running."""

    resolution_rate_below: float = Field(default=0.85, gt=0, le=1)
    consecutive_weeks: int = Field(default=2, ge=1, le=52)


class Policy(_Strict):
    timezone: Annotated[str, AfterValidator(_check_zone)]
    # Warn whoever holds a complaint once this share of a deadline's time has passed; None: never.
    deadline_warning_share: float | None = Field(default=0.8, gt=0, lt=1)
    confirmation_window: Duration = "3d"
    reopen_window: Duration = "7d"
    business_hours: BusinessHours
    # The contract's own categories: classification, routing and reclassification use only these.
    categories: list[CategoryName] = Field(default=list(DEFAULT_CATEGORIES), min_length=1)
    tiers: dict[Literal["1", "2", "3"], TierPolicy]
    classification: Classification = Classification()
    routing: Routing
    teams: dict[str, Team] = Field(min_length=1)
    performance_review: PerformanceReview = PerformanceReview()
    # The spot-check checklist (domain.qa). A review is scored against the contract's policy as
    # it reads now, not the one a complaint was registered under: the checklist is the client's
    # audit instrument, and each review records the items and the scale it was scored on.
    qa: QaChecklist = QaChecklist()
    # Not an operator's setting: False only for complaints registered before the engine carried
    # the conversation with the customer and recorded late warnings (the workflow sets it when
    # replaying them), so they decide exactly as they did when they ran.
    closed_loop: bool = True
    # Not an operator's setting either: False only for complaints registered before business-hours
    # tiers re-escalated in business time and held staff notifications until the opening (quiet
    # hours); the workflow sets it when replaying them.
    business_time_rules: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        missing = [t for t in ("1", "2", "3") if t not in self.tiers]
        if missing:
            raise ValueError(f"tiers: every tier 1, 2 and 3 must be defined; missing {missing}")
        self._check_categories()
        routed = {"routing.default_team": self.routing.default_team} | {
            f"routing.categories.{c}": team for c, team in self.routing.categories.items()
        }
        for key, team in routed.items():
            if team is not None and team not in self.teams:
                raise ValueError(f"{key}: team {team!r} is not defined under [teams]")
        if self.reopen_window_span() < self.confirmation_window_span():
            raise ValueError("reopen_window must not be shorter than confirmation_window")
        return self

    def _check_categories(self) -> None:
        known = set(self.categories)
        if len(known) != len(self.categories):
            raise ValueError("categories: each category may be listed once")
        used = (
            {"classification.default_category": self.classification.default_category}
            | {
                f"classification.rules.{r.name}.category": r.category
                for r in self.classification.rules
            }
            | {f"routing.categories.{c}": c for c in self.routing.categories}
        )
        for key, category in used.items():
            if category not in known:
                raise ValueError(f"{key}: {category!r} is not one of the policy's categories")
        if self.routing.default_team is None:
            unrouted = [c for c in self.categories if c not in self.routing.categories]
            if unrouted:
                raise ValueError(
                    f"routing: no route reaches categor{'y' if len(unrouted) == 1 else 'ies'} "
                    f"{', '.join(unrouted)} (route each in [routing.categories] or set "
                    "routing.default_team)"
                )

    # --- derived views, so every rule about units lives here ---

    def tier(self, tier: int) -> TierPolicy:
        return self.tiers[str(tier)]  # type: ignore[index]

    def calendar(self) -> BusinessCalendar:
        hours = self.business_hours
        return BusinessCalendar(
            timezone=self.timezone,
            working_days=frozenset(_WEEKDAYS.index(d) for d in hours.days),
            opens=hours.open,
            closes=hours.close,
            holidays=frozenset(hours.holidays),
            make_up_days=frozenset(hours.make_up_days),
        )

    def clock(self, tier: int) -> Clock:
        return self.calendar() if self.tier(tier).clock == "business" else RoundTheClock()

    def budget(self, tier: int, kind: DeadlineKind) -> timedelta:
        """A deadline's budget in its tier's clock (on business hours a day is a working day)."""
        return self.tier_span(tier, self.tier(tier).deadlines[kind])

    def tier_span(self, tier: int, text: str) -> timedelta:
        """A duration written for `tier`, in that tier's clock's time."""
        days, rest = duration_parts(text)
        day = (
            self.calendar().working_day_length()
            if self.tier(tier).clock == "business"
            else timedelta(days=1)
        )
        return days * day + rest

    def re_escalate_every(self, tier: int) -> timedelta:
        """In the tier's clock's time (round the clock for complaints from before that rule)."""
        text = self.tier(tier).re_escalate_every
        if not self.business_time_rules:
            return round_the_clock_span(text)
        return self.tier_span(tier, text)

    def confirmation_window_span(self) -> timedelta:
        return round_the_clock_span(self.confirmation_window)

    def reopen_window_span(self) -> timedelta:
        return round_the_clock_span(self.reopen_window)

    def team_for(self, category: str) -> str:
        team = self.routing.categories.get(category, self.routing.default_team)
        assert team is not None, "every category is routed (checked when the policy is read)"
        return team


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names every bad key and its rule."""


def parse_policy(text: str, source: str = "policy", base_dir: Path | None = None) -> Policy:
    """The policy in `text` (read from `source`); `base_dir` is where a relative
    business_hours.calendar_file is found (the policy file's directory; None: the current one)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML: {exc}") from None
    policy = _validated(raw, source)
    hours = policy.business_hours
    if hours.calendar_file is None:
        return policy
    holidays, make_up = _imported_days(hours, source, base_dir)
    # Validated again with the file's dates merged in, so a clash between the file and the
    # lists is named like any other mistake.
    raw["business_hours"] = raw["business_hours"] | {
        "holidays": sorted(holidays | set(hours.holidays)),
        "make_up_days": sorted(make_up | set(hours.make_up_days)),
    }
    return _validated(raw, f"{source} (with {hours.calendar_file})")


def _imported_days(
    hours: BusinessHours, source: str, base_dir: Path | None
) -> tuple[set[date], set[date]]:
    path = (base_dir or Path()) / hours.calendar_file
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise PolicyError(
            f"{source}: business_hours.calendar_file: cannot read {path}: {why}"
        ) from None
    try:
        events = read_day_events(text, str(path))
    except ICalendarError as exc:
        raise PolicyError(f"{source}: business_hours.calendar_file: {exc}") from None
    return split_days(events, hours.make_up_day_words)


def _validated(raw: dict, source: str) -> Policy:
    try:
        return Policy.model_validate(raw)
    except ValidationError as exc:
        problems = [
            f"  {'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}"
            for err in exc.errors()
        ]
        raise PolicyError(f"{source} is not a valid policy:\n" + "\n".join(problems)) from None
