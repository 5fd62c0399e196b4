"""what followers of a kept item receive, and demand (issue 12): a follower's message relayed
to the kept item's lead remembers that item; each person's App Home queue order is kept

Revision ID: 0024
Revises: 0023
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("relayed_messages") as batch:
        batch.add_column(sa.Column("to_item_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_relayed_messages_to_item_id_items"), "items", ["to_item_id"], ["id"]
        )
    op.create_table(
        "home_preferences",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("queue_sort", sa.String(length=20), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_home_preferences")),
    )


def downgrade() -> None:
    op.drop_table("home_preferences")
    with op.batch_alter_table("relayed_messages") as batch:
        batch.drop_constraint(op.f("fk_relayed_messages_to_item_id_items"), type_="foreignkey")
        batch.drop_column("to_item_id")
