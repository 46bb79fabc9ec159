"""Event log, outbox and closure records.

Revision ID: 0001
Revises:
Create Date: 2025-11-25

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelt out here rather than imported from store.tables: a migration must keep describing the
# schema as it was when written, whatever the models become later.
AUTOINCREMENT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("position", AUTOINCREMENT_ID, autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("stream_id", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("personal", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("occurred_at", UTC_DATETIME, nullable=False),
        sa.Column("recorded_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("position", name="pk_events"),
        sa.UniqueConstraint("event_id", name="uq_events_event_id"),
        sa.UniqueConstraint("stream_id", "version", name="uq_events_stream_id_version"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", AUTOINCREMENT_ID, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("stream_id", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(100), nullable=False),
        sa.Column("recipient", sa.String(100), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("status", sa.String(20), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("key", name="uq_outbox_key"),
    )
    op.create_index("ix_outbox_stream_id", "outbox", ["stream_id"])
    op.create_index("ix_outbox_status", "outbox", ["status"])
    op.create_table(
        "closure_records",
        sa.Column("stream_id", sa.String(100), nullable=False),
        sa.Column("archived_at", UTC_DATETIME, nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("stream_id", name="pk_closure_records"),
    )


def downgrade() -> None:
    op.drop_table("closure_records")
    op.drop_table("outbox")
    op.drop_table("events")
