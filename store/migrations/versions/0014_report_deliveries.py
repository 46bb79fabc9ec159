"""Each report's delivery to each recipient, append-only: what a resend goes by.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# As the access log (0012): on PostgreSQL the database itself refuses to change what was
# recorded; a resend adds rows of its own.
_REFUSE_CHANGES = """
CREATE FUNCTION report_deliveries_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'report_deliveries is append-only: % refused', TG_OP;
END $$;
CREATE TRIGGER report_deliveries_append_only BEFORE UPDATE OR DELETE ON report_deliveries
    FOR EACH ROW EXECUTE FUNCTION report_deliveries_are_append_only();
"""


def upgrade() -> None:
    op.create_table(
        "report_deliveries",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("report_key", sa.String(200), nullable=False),
        sa.Column("run_id", sa.String(100), nullable=False),
        sa.Column("recipient", sa.String(254), nullable=False),
        sa.Column("delivered", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(200), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_report_deliveries"),
        sa.UniqueConstraint(
            "report_key",
            "run_id",
            "recipient",
            name="uq_report_deliveries_report_key_run_id_recipient",
        ),
    )
    op.create_index("ix_report_deliveries_report_key", "report_deliveries", ["report_key"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_REFUSE_CHANGES)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER report_deliveries_append_only ON report_deliveries")
        op.execute("DROP FUNCTION report_deliveries_are_append_only()")
    op.drop_index("ix_report_deliveries_report_key", table_name="report_deliveries")
    op.drop_table("report_deliveries")
