"""Read models: the contract each complaint belongs to.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("complaint_list", "report_complaints")


def upgrade() -> None:
    # Complaints registered before contracts belong to the "default" contract (domain.contracts).
    for table in TABLES:
        op.add_column(
            table,
            sa.Column("contract", sa.String(40), nullable=False, server_default="default"),
        )
        op.create_index(f"ix_{table}_contract", table, ["contract"])


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_contract", table_name=table)
        op.drop_column(table, "contract")
