"""Inbound e-mail: every message received and what became of it, the raw message sealed.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
# 0006 and 0007 are being written beside this one; the chain is joined when they meet.
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelt out here rather than imported from store.tables (see 0001).
UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "inbound_mail",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("message_id", sa.String(998), nullable=True),
        sa.Column("received_at", UTC_DATETIME, nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("complaint_id", sa.String(100), nullable=True),
        sa.Column("raw_key_id", sa.String(32), nullable=False),
        sa.Column("raw_sealed", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_inbound_mail"),
        sa.UniqueConstraint("message_id", name="uq_inbound_mail_message_id"),
    )
    op.create_index("ix_inbound_mail_received_at", "inbound_mail", ["received_at"])
    op.create_index("ix_inbound_mail_outcome", "inbound_mail", ["outcome"])


def downgrade() -> None:
    op.drop_table("inbound_mail")
