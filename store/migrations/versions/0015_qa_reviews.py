"""The spot-check read model.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MOMENT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "qa_reviews",
        sa.Column("complaint_id", sa.String(100), nullable=False),
        sa.Column("contract", sa.String(40), nullable=False),
        sa.Column("team", sa.String(100), nullable=False),
        sa.Column("agent", sa.String(200), nullable=False),
        sa.Column("received_at", MOMENT, nullable=False),
        sa.Column("reviewed_at", MOMENT, nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("reviews", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("complaint_id", name="pk_qa_reviews"),
    )
    op.create_index("ix_qa_reviews_contract_received_at", "qa_reviews", ["contract", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_qa_reviews_contract_received_at", table_name="qa_reviews")
    op.drop_table("qa_reviews")
