"""The hash chain (events and closure records) and the access log of personal data.

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-01

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
# 0011 is being written in parallel; the two are chained when they meet.
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelt out here rather than imported from store.tables (see 0001).
UTC_DATETIME = sa.DateTime(timezone=True)
AUTOINCREMENT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Append-only in the database too, not only by the code's manners: on PostgreSQL an UPDATE or
# DELETE on the access log raises. (SQLite is the embedded single-user store; the code has no
# path that updates or deletes there either.) TRUNCATE is not a row trigger's business: revoke
# it from the application's role as the README says.
_REFUSE_CHANGES = """
CREATE FUNCTION access_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'access_log is append-only: % refused', TG_OP;
END $$;
CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log
    FOR EACH ROW EXECUTE FUNCTION access_log_is_append_only();
"""


def upgrade() -> None:
    op.add_column("events", sa.Column("hash", sa.String(64), nullable=True))
    for column in (
        sa.Column("last_event_version", sa.Integer(), nullable=True),
        sa.Column("last_event_hash", sa.String(64), nullable=True),
        sa.Column("hash", sa.String(64), nullable=True),
    ):
        op.add_column("closure_records", column)
    op.create_table(
        "access_log",
        sa.Column("id", AUTOINCREMENT_ID, autoincrement=True, nullable=False),
        sa.Column("complaint_id", sa.String(100), nullable=False),
        sa.Column("viewed_at", UTC_DATETIME, nullable=False),
        sa.Column("key_id", sa.String(100), nullable=False),
        sa.Column("viewer", sa.String(200), nullable=False),
        sa.Column("surface", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_access_log"),
    )
    op.create_index("ix_access_log_complaint_id", "access_log", ["complaint_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_REFUSE_CHANGES)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER access_log_append_only ON access_log")
        op.execute("DROP FUNCTION access_log_is_append_only()")
    op.drop_index("ix_access_log_complaint_id", table_name="access_log")
    op.drop_table("access_log")
    for column in ("hash", "last_event_hash", "last_event_version"):
        op.drop_column("closure_records", column)
    op.drop_column("events", "hash")
