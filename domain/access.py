"""Who may act on which complaint: one rule for every door.

The workflow's `act` validator applies it to the very state the action will meet, so there is no
window between a read and the update in which a reassignment could slip through; the API's reads
(api.auth.complaint_for) apply the same rule to the state they are about to show.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.contracts import contract_of
from domain.state import ComplaintState
from domain.vocabulary import CUSTOMER

# operator: whoever runs the CLI on the engine's host; it holds the engine's keys already.
# auditor: the client's, scoped to its contracts: reads their complaints and spot-checks them.
Role = Literal["intake", "agent", "supervisor", "admin", "operator", "customer", "auditor"]
# Roles that supervise: every team's complaints, and the supervisor's actions.
_SUPERVISING = frozenset({"supervisor", "admin", "operator"})
# Reclassifying changes the tier and the deadlines: the supervisor's call (DOMAIN.md).
SUPERVISOR_ACTIONS = frozenset({"reclassify"})
# What the holder of a complaint's private link may do (their page, their e-mail).
CUSTOMER_ACTIONS = frozenset({"customer-reply", "feedback", "reopen", "attach"})


class Author(BaseModel):
    """Who takes an action, as the door authenticated them: an API key's holder (its name and
    key id), the CLI's operator, or the customer through their private link. Never typed in."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    role: Role
    key_id: str | None = None  # the API key that acted; None: the CLI's operator, the customer
    team: str = ""  # an agent's team: the only complaints it may act on
    contracts: frozenset[str] | None = None  # the contracts it serves; None: every one

    @classmethod
    def customer(cls) -> Author:
        return cls(name=CUSTOMER, role="customer")


class Forbidden(Exception):
    """The author may not take this action on this complaint (403); `field` and `rule` say why.
    Each reason is its own class: Temporal carries a validator's refusal by its class name."""

    field = "role"
    rule = "role_forbidden"


class TeamForbidden(Forbidden):
    field = "team"
    rule = "team_forbidden"


class RoleForbidden(Forbidden):
    pass


class NotServed(Exception):
    """The complaint belongs to a contract the author does not serve: to them it is as unknown
    as a made-up id (not 403, which would tell them the id exists under another client)."""


FORBIDDEN = {kind.__name__: kind for kind in (TeamForbidden, RoleForbidden)}


def check_access(author: Author, state: ComplaintState, action: str | None = None) -> None:
    """Refuse unless `author` may read the complaint (action None) or take `action` on it."""
    unknown = state.status is None  # not registered yet: nobody's to act on
    if unknown or (
        author.contracts is not None and contract_of(state.contract) not in author.contracts
    ):
        raise NotServed(f"no complaint {state.complaint_id!r}")
    if author.role == "customer":
        if action is not None and action not in CUSTOMER_ACTIONS:
            raise RoleForbidden(f"{action} is not for the customer")
        return
    if author.role == "auditor":
        # The client's auditor checks the handling and never takes part in it; a spot-check
        # review is not an action on the complaint (domain.qa).
        if action is not None:
            raise RoleForbidden(
                f"an auditor reads and spot-checks; key {author.name!r} may not {action}"
            )
        return
    if action in SUPERVISOR_ACTIONS and author.role not in _SUPERVISING:
        raise RoleForbidden(
            f"{action} needs role supervisor or admin; key {author.name!r} has role {author.role}"
        )
    if author.role not in _SUPERVISING and state.team != author.team:
        raise TeamForbidden(
            f"complaint {state.complaint_id} belongs to team {state.team!r}; "
            f"key {author.name!r} acts for team {author.team!r}"
        )
