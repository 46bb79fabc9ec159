"""Given / when / then for the pure domain: no server, no clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from domain import commands as c
from domain.decide import decide_with_state
from domain.events import CustomerDetails, Event
from domain.policy import Policy, parse_policy
from domain.state import ComplaintState, fold

POLICY_FILE = Path(__file__).resolve().parents[2] / "domain" / "default_policy.toml"
POLICY = parse_policy(POLICY_FILE.read_text())
SHANGHAI = ZoneInfo("Asia/Shanghai")
# A Wednesday, mid-morning in Shanghai: inside business hours.
T0 = datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)
CUSTOMER = CustomerDetails(name="Li Lei", phone="+86 138 0000 0000", email="li@example.com")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def registration(
    text: str = "The charger caught fire",
    *,
    subject: str = "Charger",
    channel: str = "web",
    urgent: bool = False,
    received_at: datetime | None = None,
    cid: str = "C-TEST",
) -> c.Register:
    return c.Register(
        complaint_id=cid,
        channel=channel,
        subject=subject,
        description=text,
        urgent=urgent,
        received_at=received_at,
        customer=CUSTOMER,
    )


class Story:
    """Runs commands through `decide` and keeps every event, like the workflow does."""

    def __init__(self, policy: Policy = POLICY) -> None:
        self.policy = policy
        self.state = ComplaintState()
        self.events: list[Event] = []

    def when(self, command: c.Command, at: datetime) -> list[Event]:
        new, self.state = decide_with_state(self.state, command, at, self.policy)
        self.events += new
        if isinstance(command, c.AmendPolicy):
            self.policy = command.policy  # as the workflow does: the new terms decide from now
        return new

    def tick(self, at: datetime) -> list[Event]:
        return self.when(c.Tick(), at)


def story(register: c.Register | None = None, at: datetime = T0) -> Story:
    s = Story()
    s.when(register or registration(), at)
    return s


def types(events: list[Event]) -> list[str]:
    return [e.type for e in events]


def refold(s: Story) -> ComplaintState:
    return fold(s.events)
