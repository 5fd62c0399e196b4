"""when the reminders tick must next look at an item, and when its wait is due (the tick
reads only what is due; the admin Home counts late items in SQL)

Revision ID: 0013
Revises: 0008
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import models.base

# models.items.CHECK_NOW, written out: a migration does not follow later model changes.
CHECK_NOW = datetime(1970, 1, 1, tzinfo=UTC)

revision: str = "0013"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(
            sa.Column("next_reminder_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("sla_due_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch.create_index("ix_items_next_reminder_at", ["next_reminder_at"], unique=False)
        batch.create_index("ix_items_sla_due_at", ["sla_due_at"], unique=False)
        batch.create_index("ix_items_assignee_status", ["assignee_id", "status"], unique=False)
    # Every open item is looked at by the first tick, which stores its next instant.
    op.get_bind().execute(
        sa.text(
            "UPDATE items SET next_reminder_at = :now"
            " WHERE status NOT IN ('resolved', 'closed') AND resolved_at IS NULL"
        ).bindparams(sa.bindparam("now", CHECK_NOW, type_=models.base.UTCDateTime()))
    )


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.drop_index("ix_items_assignee_status")
        batch.drop_index("ix_items_sla_due_at")
        batch.drop_index("ix_items_next_reminder_at")
        batch.drop_column("sla_due_at")
        batch.drop_column("next_reminder_at")
