"""The fixed words of the business: channels, deadline kinds, statuses (categories are data).

Deadline kinds are ordered: an action that meets one also meets every earlier one (an initial
solution is also a first response; a resolution answers everything before it).
"""

from enum import StrEnum
from typing import Annotated

from pydantic import StringConstraints


class Channel(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    WEB = "web"
    CHAT = "chat"
    SOCIAL = "social"
    API = "api"


# Categories are each contract's own (its policy's `categories`); these are the default policy's,
# and every policy pinned by a complaint from before contracts had exactly these.
DEFAULT_CATEGORIES: tuple[str, ...] = (
    "product_quality",
    "delivery",
    "billing",
    "service_attitude",
    "privacy",
    "technical",
    "other",
)
# A client contract's id (contracts.toml); complaints from before contracts belong to "default".
ContractId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")]
DEFAULT_CONTRACT = "default"

# A category's name as a policy, a reclassification or a filter writes it.
CategoryName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]


class DeadlineKind(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    FIRST_RESPONSE = "first_response"
    INITIAL_SOLUTION = "initial_solution"
    RESOLUTION = "resolution"


DEADLINE_ORDER: tuple[DeadlineKind, ...] = tuple(DeadlineKind)


def kinds_met_by(kind: DeadlineKind) -> tuple[DeadlineKind, ...]:
    """The deadline kinds an action meeting `kind` also meets."""
    return DEADLINE_ORDER[: DEADLINE_ORDER.index(kind) + 1]


# The recipient role of every message to the customer (the other roles are the parties').
CUSTOMER = "customer"


class Status(StrEnum):
    OPEN = "open"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"
    ARCHIVED = "archived"
