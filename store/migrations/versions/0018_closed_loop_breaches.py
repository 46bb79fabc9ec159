"""The report's closed-loop breaches: per complaint, how often the customer went without word from
us (ProgressUpdateMissed) or without an answer to their message (CustomerAnswerMissed), the
breaches the contracts count beside the deadlines'.

Existing rows are counted from the log up to the report projection's checkpoint, so the events
after it are counted once, when the projection reaches them.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# domain.events.CLOSED_LOOP_BREACHES as of this revision (a migration does not follow the code).
COUNTED = ("ProgressUpdateMissed", "CustomerAnswerMissed")


def upgrade() -> None:
    op.add_column(
        "report_complaints",
        sa.Column("closed_loop_breaches", sa.Integer(), nullable=False, server_default="0"),
    )
    op.execute(
        sa.text(
            "UPDATE report_complaints SET closed_loop_breaches = ("
            " SELECT count(*) FROM events"
            " WHERE events.stream_id = report_complaints.complaint_id"
            " AND events.type IN (:progress, :answer)"
            " AND events.position <= (SELECT position FROM projection_checkpoints"
            " WHERE name = 'reports'))"
        ).bindparams(progress=COUNTED[0], answer=COUNTED[1])
    )


def downgrade() -> None:
    op.drop_column("report_complaints", "closed_loop_breaches")
