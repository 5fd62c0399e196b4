"""insights (issue 13): item category, first acknowledgement and answer, SLA breach; the
product-ops report's posts and file settings

The new item columns are filled from the item events, as bot/sla/timings.py defines them,
so the insights of earlier quarters are right from the first run.

Revision ID: 0026
Revises: 0025
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("category", sa.String(length=20), nullable=True))
        batch.add_column(
            sa.Column(
                "first_acknowledged_at", models.base.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch.add_column(
            sa.Column("first_answered_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("sla_breached", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.create_index("ix_items_category_created_at", ["category", "created_at"])
        batch.create_index("ix_items_category_resolved_at", ["category", "resolved_at", "outcome"])
        # Covering indexes: a period's numbers are read from them alone (bot/insights/store.py).
        batch.create_index(
            "ix_items_insights",
            [
                "created_at",
                "team_id",
                "area_id",
                "kind",
                "category",
                "sla_breached",
                "similar_choice",
                "merged_into",
                "route_step",
                "source",
                "status",
                "first_acknowledged_at",
                "first_answered_at",
                "resolved_at",
            ],
        )
        batch.create_index(
            "ix_items_insights_resolved",
            [
                "resolved_at",
                "status",
                "merged_into",
                "team_id",
                "area_id",
                "customer_at_risk",
                "customer_outcome",
                "helped_deal",
            ],
        )
    op.execute(
        """
        UPDATE items SET first_acknowledged_at = (
            SELECT MIN(e.at) FROM item_events e
            WHERE e.item_id = items.id AND e.at >= items.created_at AND e.actor <> 'jerry'
              AND e.kind IN ('acknowledged', 'answered', 'resolved')
        )
        """
    )
    op.execute(
        """
        UPDATE items SET first_answered_at = (
            SELECT MIN(e.at) FROM item_events e
            WHERE e.item_id = items.id AND e.at >= items.created_at AND e.kind = 'answered'
        )
        """
    )
    # The reminder's kind is in the event's JSON detail; read portably, in Python.
    events = sa.table(
        "item_events",
        sa.column("item_id", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("detail", sa.JSON),
    )
    items = sa.table("items", sa.column("id", sa.Integer), sa.column("sla_breached", sa.Boolean))
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(events.c.item_id, events.c.kind, events.c.detail).where(
            events.c.kind.in_(("reminder_sent", "escalated"))
        )
    )
    breached = sorted(
        {
            row.item_id
            for row in rows
            if row.kind == "escalated" or (row.detail or {}).get("reminder") in ("ack", "answer")
        }
    )
    for start in range(0, len(breached), 500):
        connection.execute(
            sa.update(items)
            .where(items.c.id.in_(breached[start : start + 500]))
            .values(sla_breached=True)
        )

    op.create_table(
        "file_settings",
        sa.Column("name", sa.String(length=64), primary_key=True),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "insight_reports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("claimed_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("posted_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("ts", sa.String(length=32), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.UniqueConstraint("period", "sequence"),
    )


def downgrade() -> None:
    op.drop_table("insight_reports")
    op.drop_table("file_settings")
    with op.batch_alter_table("items") as batch:
        batch.drop_index("ix_items_insights_resolved")
        batch.drop_index("ix_items_insights")
        batch.drop_index("ix_items_category_resolved_at")
        batch.drop_index("ix_items_category_created_at")
        batch.drop_column("sla_breached")
        batch.drop_column("first_answered_at")
        batch.drop_column("first_acknowledged_at")
        batch.drop_column("category")
