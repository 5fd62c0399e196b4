"""first contact: who has seen the App Home welcome, and Jerry's one answer to a direct
message it did not file as it is (help, thanks, or the "send this to product?" prompt)

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "home_welcomes",
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("first_opened_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_home_welcomes")),
    )
    op.create_table(
        "message_replies",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("reply", sa.String(20), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("decision", sa.String(20), nullable=True),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_message_replies_item_id_items")
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_message_replies")),
    )


def downgrade() -> None:
    op.drop_table("message_replies")
    op.drop_table("home_welcomes")
