"""The archive of sent reports and the notices about them.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MOMENT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sent_reports",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("contract", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("period", sa.String(20), nullable=False),
        sa.Column("period_start", MOMENT, nullable=False),
        sa.Column("period_end", MOMENT, nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("built_at", MOMENT, nullable=False),
        sa.Column("sent_at", MOMENT, nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("csv", sa.Text(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sent_reports"),
        sa.UniqueConstraint("key", name="uq_sent_reports_key"),
    )
    op.create_index(
        "ix_sent_reports_contract_period_start", "sent_reports", ["contract", "period_start"]
    )
    op.create_table(
        "report_notices",
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("contract", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("sent_at", MOMENT, nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_report_notices"),
    )
    op.create_index("ix_report_notices_contract", "report_notices", ["contract"])


def downgrade() -> None:
    op.drop_index("ix_report_notices_contract", table_name="report_notices")
    op.drop_table("report_notices")
    op.drop_index("ix_sent_reports_contract_period_start", table_name="sent_reports")
    op.drop_table("sent_reports")
