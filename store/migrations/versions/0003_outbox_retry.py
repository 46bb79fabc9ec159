"""Outbox retries: when a pending message may next be attempted.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelt out here rather than imported from store.tables (see 0001).
UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    # NULL: due at once. Also set while a dispatcher holds the message (its lease), so a second
    # dispatcher does not take it.
    op.add_column("outbox", sa.Column("next_attempt_at", UTC_DATETIME, nullable=True))


def downgrade() -> None:
    op.drop_column("outbox", "next_attempt_at")
