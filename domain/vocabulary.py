"""The fixed words of the business: channels, categories, deadline kinds.

Deadline kinds are ordered: an action that meets one also meets every earlier one (an initial
solution is also a first response; a resolution answers everything before it).
"""

from enum import StrEnum


class Channel(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    WEB = "web"
    CHAT = "chat"
    SOCIAL = "social"
    API = "api"


class Category(StrEnum):
    PRODUCT_QUALITY = "product_quality"
    DELIVERY = "delivery"
    BILLING = "billing"
    SERVICE_ATTITUDE = "service_attitude"
    PRIVACY = "privacy"
    TECHNICAL = "technical"
    OTHER = "other"


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
