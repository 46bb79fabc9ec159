"""The intake key table: which complaint a caller's idempotency key made.

Complaint ids are random, so a retried submission is recognised here rather than by its id.
A key belongs to whoever sent it: the row is found by (scope, key), and the scope is the caller
(an API key's id, "web-form", "email", "cli"), so another caller's identical key is another
row and another complaint, never this one.

The claim is atomic on SQLite and PostgreSQL alike: when no row is found it inserts, and the
primary key decides a race. The loser's insert fails (on PostgreSQL it first waits for the
winner's transaction), and it then reads the winner's row in a fresh transaction, which sees
that commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from store.db import for_reading
from store.tables import IntakeKeyRow


@dataclass(frozen=True)
class IntakeClaim:
    complaint_id: str  # the candidate if this claim made the row, else the row's complaint
    made: bool  # True: first use of the key in its scope
    same_body: bool  # False: the key was first used for a different submission


def claim(
    engine: Engine, scope: str, key_digest: str, body_digest: str, complaint_id: str
) -> IntakeClaim:
    """Map (scope, key_digest) to `complaint_id`, unless it maps to a complaint already."""
    if not scope:
        raise ValueError("an intake key needs the scope of the caller that sent it")
    # A retry, the usual reason to see a key again, is answered by a read alone.
    earlier = _claimed(engine, scope, key_digest, body_digest)
    if earlier is not None:
        return earlier
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(IntakeKeyRow).values(
                    scope=scope,
                    key_digest=key_digest,
                    complaint_id=complaint_id,
                    body_digest=body_digest,
                    created_at=datetime.now(UTC),
                )
            )
        return IntakeClaim(complaint_id, made=True, same_body=True)
    except IntegrityError:
        earlier = _claimed(engine, scope, key_digest, body_digest)
        if earlier is None:
            raise  # not the key's constraint: a real fault
        return earlier


def _claimed(engine: Engine, scope: str, key_digest: str, body_digest: str) -> IntakeClaim | None:
    with for_reading(engine).connect() as connection:
        row = connection.execute(
            select(IntakeKeyRow.complaint_id, IntakeKeyRow.body_digest).where(
                IntakeKeyRow.scope == scope, IntakeKeyRow.key_digest == key_digest
            )
        ).one_or_none()
    if row is None:
        return None
    return IntakeClaim(row.complaint_id, made=False, same_body=row.body_digest == body_digest)
