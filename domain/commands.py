"""Commands: what people (and the passing of time) ask of a complaint.

Field rules (lengths, ranges) live here, so intake, the API and the workflow's update validators
all refuse the same malformed input with the same message naming the field.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from domain.access import Author
from domain.assignment import TeamLoad
from domain.events import CustomerDetails, SealedPersonal
from domain.policy import Policy
from domain.vocabulary import CategoryName, Channel, ContractId

SUBJECT_MAX = 200
TEXT_MAX = 10_000  # far below Temporal's 2 MB payload limit, even with a long history
NAME_MAX = 200

_CONTROL_CHARACTERS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
_CONTROL = re.compile(f"[{_CONTROL_CHARACTERS}]")


def _no_control_characters(text: object) -> object:
    # Checked before whitespace is stripped, so a control character at either end (a form feed
    # is whitespace to str.strip) is refused as the schema's pattern says, not quietly dropped.
    # NUL above all: PostgreSQL refuses it in text columns, so one would stop a read model's
    # projector for good. Tabs and line breaks are text.
    if isinstance(text, str) and _CONTROL.search(text):
        raise ValueError("must not contain control characters (such as NUL)")
    return text


def _text(max_length: int, min_length: int = 1) -> object:
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
        # Last, so it runs first: on the text as sent, before stripping (and the length rules
        # keep their own names, string_too_short / string_too_long).
        BeforeValidator(_no_control_characters),
        # The same rule in the OpenAPI schema, for clients and the API's fuzz test.
        Field(json_schema_extra={"pattern": f"^[^{_CONTROL_CHARACTERS}]*$"}),
    ]


Text = _text(TEXT_MAX)
Actor = _text(NAME_MAX)
KeyId = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    verb: ClassVar[str]  # how error messages name the command


# Customer details are single lines: they go into message headers (a CR or LF in a name would
# start a header of its own, or stop the message being sent) and onto pages. So every C0 control
# but TAB is refused in them, and DEL; free text keeps its line breaks (_CONTROL_CHARACTERS).
_LINE_CONTROL_CHARACTERS = _CONTROL_CHARACTERS + r"\n\r"


# Spaces, spelt out: `\s` is Unicode's White_Space to pydantic (NEL, U+0085, included) and
# ECMAScript's to the schema's readers (NEL excluded), so the fuzz test sent a NEL in an e-mail
# address the schema allows and had 422 (make fuzz, seed 2243397643). Listed, both agree.
_SPACE = r"\x20\x09-\x0d\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


def _one_line(text: object) -> object:
    if isinstance(text, str) and ("\n" in text or "\r" in text):
        raise ValueError("must be one line: no line breaks (CR, LF)")
    return _no_control_characters(text)


def _line(max_length: int, min_length: int = 0) -> object:
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
        # Last, so it runs first: on the text as sent, before stripping (and the length rules
        # keep their own names, string_too_short / string_too_long).
        BeforeValidator(_one_line),
        Field(json_schema_extra={"pattern": f"^[^{_LINE_CONTROL_CHARACTERS}]*$"}),
    ]


class CustomerContact(CustomerDetails):
    """The customer's details as submitted: CustomerDetails' rules, and each one line. Only
    intake is this strict; CustomerDetails stays loose, so every stored registration loads."""

    # from_attributes: a CustomerDetails object given here is checked again by these rules.
    model_config = ConfigDict(frozen=True, extra="forbid", from_attributes=True)
    name: _line(200, min_length=1)  # type: ignore[valid-type]
    # CustomerDetails' own patterns; the phone's admits no control character already.
    email: (
        Annotated[
            str,
            StringConstraints(
                max_length=254,
                pattern=f"^[^@{_SPACE}{_LINE_CONTROL_CHARACTERS}]+@[^@{_SPACE}{_LINE_CONTROL_CHARACTERS}]+$",
            ),
        ]
        | None
    ) = None
    address: _line(500) | None = None  # type: ignore[valid-type]
    locale: _line(20) = "en"  # type: ignore[valid-type]


class Submission(_Command):
    """What a customer (or a channel on their behalf) submits; intake turns it into Register."""

    verb = "register"
    channel: Channel
    subject: _text(SUBJECT_MAX)  # type: ignore[valid-type]
    description: Text
    # Strict: true or false, as the schema says; lax pydantic also took 1 and "yes" (make fuzz,
    # seed 1587883929). Every door passes a real bool (the form's checkbox, the CLI's flag).
    urgent: StrictBool = False
    external_ref: _text(200, min_length=0) | None = None  # type: ignore[valid-type]
    customer: CustomerContact
    # The client contract it comes under; None: the door's own (the API key's only contract,
    # the form's address, the deployment's default).
    contract: ContractId | None = None


class Register(Submission):
    complaint_id: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    # Intake seals the customer before starting the workflow (engine.service); clear details
    # remain valid for the registrations of complaints started before that.
    customer: CustomerDetails | SealedPersonal  # type: ignore[assignment]
    received_at: datetime | None = None  # when the message reached us, if before registration
    policy_version: str | None = None  # the contract's version intake pinned (None before)
    # The team as the workflow found it just before registering (domain.assignment); None:
    # complaints from before, assigned by a hash of their id. Read by the workflow, never sent
    # or serialised: not part of what names the decision (a registration lost with its workflow
    # task reads the load again, and must still know the events its lost attempt committed).
    team_load: TeamLoad | None = Field(default=None, exclude=True)


class Respond(_Command):
    verb = "respond"
    action: Literal["respond"] = "respond"
    by: Actor
    by_key: KeyId | None = None  # the API key of `by`; None: the CLI's operator
    message: Text


class GiveInitialSolution(_Command):
    verb = "give an initial solution"
    action: Literal["initial-solution"] = "initial-solution"
    by: Actor
    by_key: KeyId | None = None  # the API key of `by`; None: the CLI's operator
    solution: Text


class RequestInfo(_Command):
    verb = "request information"
    action: Literal["request-info"] = "request-info"
    by: Actor
    by_key: KeyId | None = None  # the API key of `by`; None: the CLI's operator
    question: Text


class RecordCustomerReply(_Command):
    verb = "record the customer's reply"
    action: Literal["customer-reply"] = "customer-reply"
    message: Text
    # Optional, as the customer's answers were recorded without one before: the customer, or
    # the member of staff who recorded what the customer said.
    by: Actor | None = None
    by_key: KeyId | None = None


class Resolve(_Command):
    verb = "resolve"
    action: Literal["resolve"] = "resolve"
    by: Actor
    by_key: KeyId | None = None  # the API key of `by`; None: the CLI's operator
    resolution: Text


class RecordFeedback(_Command):
    verb = "record feedback"
    action: Literal["feedback"] = "feedback"
    rating: int = Field(ge=1, le=5)
    comment: _text(TEXT_MAX, min_length=0) = ""  # type: ignore[valid-type]
    by: Actor | None = None  # as RecordCustomerReply's
    by_key: KeyId | None = None


class Reopen(_Command):
    verb = "reopen"
    action: Literal["reopen"] = "reopen"
    reason: Text
    by: Actor | None = None  # as RecordCustomerReply's
    by_key: KeyId | None = None


class Reassign(_Command):
    verb = "reassign"
    action: Literal["reassign"] = "reassign"
    by: Actor
    by_key: KeyId | None = None  # the API key of `by`; None: the CLI's operator
    assignee: Actor
    team: str | None = None  # None: stay with the current team


class Reclassify(_Command):
    verb = "reclassify"
    action: Literal["reclassify"] = "reclassify"
    by: Actor
    by_key: KeyId | None = None  # the API key of `by`; None: the CLI's operator
    tier: int = Field(ge=1, le=3)
    category: CategoryName | None = None  # None: keep the current category
    reason: Text


class AddNote(_Command):
    verb = "add a note"
    action: Literal["note"] = "note"
    by: Actor
    by_key: KeyId | None = None  # the API key of `by`; None: the CLI's operator
    text: Text


class AddAttachment(_Command):
    """Join a stored attachment (store.attachments put it there first) to the complaint."""

    verb = "add an attachment"
    action: Literal["attach"] = "attach"
    attachment_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    content_type: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    size: int = Field(ge=1)
    source: Literal["page", "email", "staff"]


class RecordDelivery(_Command):
    """What became of a message to the customer, as the dispatcher reports it (not an action a
    person takes: it reaches the workflow by a signal)."""

    verb = "record a delivery"
    key: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    kind: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    delivered: bool
    channels: list[str] = []
    reason: Annotated[str, StringConstraints(max_length=1000)] = ""


class AmendPolicy(_Command):
    """New terms of the complaint's contract, applied on purpose (`complaints contracts apply`);
    not an agent's action, so not in `Action`: it reaches the workflow by its `amend` update."""

    verb = "amend the terms"
    contract: ContractId  # whose terms: a complaint of another contract refuses them
    version: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    policy: Policy
    by: Actor


class Tick(_Command):
    """Time has passed: decide whatever the clock owes (breaches, escalations, closing)."""

    verb = "advance time"


Action = Annotated[
    Respond
    | GiveInitialSolution
    | RequestInfo
    | RecordCustomerReply
    | Resolve
    | RecordFeedback
    | Reopen
    | Reassign
    | Reclassify
    | AddNote
    | AddAttachment,
    Field(discriminator="action"),
]


_ACTION = TypeAdapter(Action)
# Who acted is the door's word (the key's holder, the CLI's operator, the customer's link), never
# the request's: an agent could otherwise record a note "by" their supervisor.
AUTHOR_FIELDS = ("by", "by_key")
AUTHOR_RULE = "author_from_key"
AUTHOR_MESSAGE = (
    "the author of an action is whoever holds the key (or runs the CLI: --as); leave out 'by'"
)


def author_given() -> PydanticCustomError:
    return PydanticCustomError(AUTHOR_RULE, AUTHOR_MESSAGE)


def parse_action(name: str, fields: dict, author: Author) -> Action:
    """The action called `name` (as in the API path) with its fields, recorded as `author`'s; a
    ValidationError names the field and the rule. Every door (API, pages, CLI) parses here."""
    given = [f for f in AUTHOR_FIELDS if f in fields]
    if given:
        raise ValidationError.from_exception_data(
            "Action",
            [InitErrorDetails(type=author_given(), loc=(f,), input=None) for f in given],
        )
    return _ACTION.validate_python(
        {**fields, "action": name, "by": author.name, "by_key": author.key_id}
    )


class ActionRequest(BaseModel):
    """One action, as the workflow's `act` update receives it. `author` (absent in histories
    from before authors were checked) is whom the update validator holds to the access rule."""

    model_config = ConfigDict(frozen=True)
    action: Action
    author: Author | None = None


Command = (
    Register
    | Respond
    | GiveInitialSolution
    | RequestInfo
    | RecordCustomerReply
    | Resolve
    | RecordFeedback
    | Reopen
    | Reassign
    | Reclassify
    | AddNote
    | AddAttachment
    | RecordDelivery
    | AmendPolicy
    | Tick
)
