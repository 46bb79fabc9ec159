"""Report read models: one row per complaint for the metrics, and the deadline ledger.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelt out here rather than imported from store.tables (see 0001).
UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "report_complaints",
        sa.Column("complaint_id", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("team", sa.String(100), nullable=False),
        sa.Column("received_at", UTC_DATETIME, nullable=False),
        sa.Column("registered_at", UTC_DATETIME, nullable=False),
        sa.Column("first_response_at", UTC_DATETIME, nullable=True),
        sa.Column("initial_solution_at", UTC_DATETIME, nullable=True),
        sa.Column("resolved_at", UTC_DATETIME, nullable=True),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("reopen_count", sa.Integer(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("deadlines_met", sa.Integer(), nullable=False),
        sa.Column("deadlines_breached", sa.Integer(), nullable=False),
        sa.Column("resolved_in_time", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("complaint_id", name="pk_report_complaints"),
    )
    op.create_index("ix_report_complaints_received_at", "report_complaints", ["received_at"])
    op.create_table(
        "deadline_ledger",
        sa.Column("complaint_id", sa.String(100), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("due_at", UTC_DATETIME, nullable=False),
        sa.Column("warned_at", UTC_DATETIME, nullable=True),
        sa.Column("met_at", UTC_DATETIME, nullable=True),
        sa.Column("breached_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("complaint_id", "round", "kind", name="pk_deadline_ledger"),
    )
    op.create_index("ix_deadline_ledger_due_at", "deadline_ledger", ["due_at"])


def downgrade() -> None:
    op.drop_table("deadline_ledger")
    op.drop_table("report_complaints")
