"""How many complaints each person holds open: what a new complaint's assignment weighs.

Read from the complaint list, plus the complaints registered since its projector last ran: the
list trails the log by the projector's interval, and a burst of complaints arriving within it
would otherwise all see the same counts and all go to the same person.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection

from sqlalchemy import Engine, bindparam, func, select

from domain.contracts import contract_of
from domain.vocabulary import Status
from store.complaint_list import PROJECTION_NAME
from store.db import for_reading
from store.tables import ComplaintListRow, EventRow, ProjectionCheckpointRow

# Open work: a resolved complaint waits on the customer's confirmation, not on its holder.
_HELD = (Status.OPEN.value, Status.WAITING_ON_CUSTOMER.value)
# New complaints the list may not show yet: at most this many are read from the log (a projector
# stopped for long is a bigger problem than an uneven assignment, and shows on /readyz's lag).
_UNPROJECTED_MAX = 5000


# Built once: a registration reads them every time, and building them cost more than running them.
_CHECKPOINT = select(ProjectionCheckpointRow.position).where(
    ProjectionCheckpointRow.name == PROJECTION_NAME
)
_row = ComplaintListRow
# (person, complaints held) as the list has them; counted in the list's workload index
# (contract, assignee, status) alone, never in its rows.
HELD_IN_THE_LIST = (
    select(_row.assignee, func.count())
    .where(
        _row.contract == bindparam("contract"),
        _row.assignee.in_(bindparam("people", expanding=True)),
        _row.status.in_(_HELD),
    )
    .group_by(_row.assignee)
)
# Only the two fields the count needs: a registration's data (subject, description) is not
# decoded to read its contract.
_REGISTERED_SINCE = (
    select(
        EventRow.stream_id,
        EventRow.type,
        EventRow.data["contract"].as_string().label("contract"),
        EventRow.data["assignee"].as_string().label("assignee"),
    )
    .where(
        EventRow.position > bindparam("checkpoint"),
        EventRow.type.in_(("ComplaintRegistered", "ComplaintAssigned")),
    )
    .order_by(EventRow.position)
    .limit(_UNPROJECTED_MAX)
)


class Workload:
    def __init__(self, engine: Engine) -> None:
        self._reader = for_reading(engine)

    def open_counts(self, contract: str | None, people: Collection[str]) -> dict[str, int]:
        """person -> complaints of `contract` they hold open or waiting on the customer."""
        contract = contract_of(contract)
        with self._reader.connect() as connection:
            checkpoint = connection.scalar(_CHECKPOINT) or 0
            listed = connection.execute(
                HELD_IN_THE_LIST, {"contract": contract, "people": list(people)}
            ).all()
            newer = connection.execute(_REGISTERED_SINCE, {"checkpoint": checkpoint}).all()
        counts = Counter({assignee: n for assignee, n in listed})
        counts.update(_registered_since(newer, contract, people))
        return dict(counts)


def _registered_since(rows, contract: str, people: Collection[str]) -> Counter[str]:
    """Assignees of complaints of `contract` registered after the list's checkpoint (a new
    complaint is open: registration and assignment are one decision, one append)."""
    of_contract = {
        r.stream_id for r in rows
        if r.type == "ComplaintRegistered" and contract_of(r.contract) == contract
    }  # fmt: skip
    return Counter(
        r.assignee
        for r in rows
        if r.type == "ComplaintAssigned" and r.stream_id in of_contract and r.assignee in people
    )
