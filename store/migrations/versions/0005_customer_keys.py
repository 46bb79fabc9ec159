"""Per-customer data keys (envelope encryption of the events' personal part; erasure).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelt out here rather than imported from store.tables (see 0001).
UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "customer_keys",
        sa.Column("key_id", sa.String(36), nullable=False),
        sa.Column("customer_ref", sa.String(64), nullable=False),
        sa.Column("phone_ref", sa.String(64), nullable=True),
        sa.Column("wrapped_key", sa.Text(), nullable=True),
        sa.Column("master_key_id", sa.String(32), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("erased_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("key_id", name="pk_customer_keys"),
    )
    op.create_index("ix_customer_keys_customer_ref", "customer_keys", ["customer_ref"])
    op.create_index("ix_customer_keys_phone_ref", "customer_keys", ["phone_ref"])


def downgrade() -> None:
    op.drop_table("customer_keys")
