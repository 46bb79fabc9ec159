"""Outbox: when a message's outcome was reported to its complaint (messages to the customer).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelt out here rather than imported from store.tables (see 0001).
UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("outbox", sa.Column("reported_at", UTC_DATETIME, nullable=True))
    # Outcomes settled before this revision were handled the old way (the dispatcher told the
    # next party itself): reporting them now would tell the assignee twice.
    op.execute("UPDATE outbox SET reported_at = CURRENT_TIMESTAMP WHERE status <> 'pending'")


def downgrade() -> None:
    op.drop_column("outbox", "reported_at")
