"""outbox: lanes (order and pacing per recipient), unsure sends, the backlog alert's state

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("lane", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column("attempt_started_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("unsure_since", models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch.create_index("ix_deliveries_lane_status", ["lane", "status"], unique=False)
    # Rows owed before: their lane is their recipient, else the item's reporter.
    op.execute(
        "UPDATE deliveries SET lane = COALESCE(recipient, "
        "(SELECT items.reporter_id FROM items WHERE items.id = deliveries.item_id)) "
        "WHERE status IN ('pending', 'sending')"
    )
    op.create_table(
        "outbox_alerts",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("raised_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_outbox_alerts")),
    )


def downgrade() -> None:
    op.drop_table("outbox_alerts")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_index("ix_deliveries_lane_status")
        batch.drop_column("unsure_since")
        batch.drop_column("attempt_started_at")
        batch.drop_column("lane")
