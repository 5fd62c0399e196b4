"""capture: reactions that file messages, and who said a message filed by someone else

Revision ID: 0031
Revises: 0030
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = models.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("said_by", sa.String(length=64), nullable=True))
    op.create_table(
        "reaction_filings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("message_ts", sa.String(length=32), nullable=False),
        sa.Column("reaction", sa.String(length=100), nullable=False),
        sa.Column("reactor", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("items.id"), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("undo_until", WHEN, nullable=False),
        sa.UniqueConstraint("channel", "message_ts", "reaction", "reactor"),
    )
    op.create_index("ix_reaction_filings_item", "reaction_filings", ["item_id"])


def downgrade() -> None:
    op.drop_index("ix_reaction_filings_item", table_name="reaction_filings")
    op.drop_table("reaction_filings")
    with op.batch_alter_table("items") as batch:
        batch.drop_column("said_by")
