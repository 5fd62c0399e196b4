"""when a shared answer was given (the summary quotes the latest answer, in its own week)

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(
            sa.Column("shared_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch.drop_index("ix_items_share_in_summary_answered_at")
        batch.create_index("ix_items_shared_at", ["shared_at"], unique=False)
    # Answers shared before this migration: their time was the first answer's.
    op.execute("UPDATE items SET shared_at = answered_at WHERE share_in_summary")


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.drop_index("ix_items_shared_at")
        batch.create_index(
            "ix_items_share_in_summary_answered_at",
            ["share_in_summary", "answered_at"],
            unique=False,
        )
        batch.drop_column("shared_at")
