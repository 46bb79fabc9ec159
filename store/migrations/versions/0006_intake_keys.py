"""Intake keys: a caller's idempotency key -> the complaint it made (complaint ids are random).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelt out here rather than imported from store.tables (see 0001).
UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "intake_keys",
        sa.Column("scope", sa.String(100), nullable=False),
        sa.Column("key_digest", sa.String(64), nullable=False),
        sa.Column("complaint_id", sa.String(100), nullable=False),
        sa.Column("body_digest", sa.String(64), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("scope", "key_digest", name="pk_intake_keys"),
    )


def downgrade() -> None:
    op.drop_table("intake_keys")
