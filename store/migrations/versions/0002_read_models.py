"""Read models: projection checkpoints and the complaint list.

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-26

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelt out here rather than imported from store.tables (see 0001).
UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "projection_checkpoints",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_projection_checkpoints"),
    )
    op.create_table(
        "complaint_list",
        sa.Column("complaint_id", sa.String(100), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("team", sa.String(100), nullable=False),
        sa.Column("assignee", sa.String(100), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("breached", sa.Boolean(), nullable=False),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("next_due_at", UTC_DATETIME, nullable=True),
        sa.Column("next_due_kind", sa.String(30), nullable=True),
        sa.Column("received_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("complaint_id", name="pk_complaint_list"),
    )
    op.create_index(
        "ix_complaint_list_next_due_at_complaint_id",
        "complaint_list",
        ["next_due_at", "complaint_id"],
    )
    op.create_index("ix_complaint_list_status", "complaint_list", ["status"])
    op.create_index("ix_complaint_list_tier", "complaint_list", ["tier"])
    op.create_index("ix_complaint_list_team", "complaint_list", ["team"])


def downgrade() -> None:
    op.drop_table("complaint_list")
    op.drop_table("projection_checkpoints")
