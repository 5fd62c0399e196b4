"""two-way conversation relayed through Jerry

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.base import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "relayed_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=20), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("source_channel", sa.String(length=64), nullable=False),
        sa.Column("source_ts", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("copy_channel", sa.String(length=64), nullable=True),
        sa.Column("copy_ts", sa.String(length=32), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_relayed_messages_item_id_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relayed_messages")),
        sa.UniqueConstraint("source_channel", "source_ts", name="uq_relayed_messages_source"),
    )
    with op.batch_alter_table("relayed_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_relayed_messages_item_id"), ["item_id"], unique=False)
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("awaiting_reporter_since", UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            "ix_items_lead_dm_thread", ["lead_dm_channel", "lead_dm_ts"], unique=False
        )
        batch_op.create_index(
            "ix_items_reply_thread", ["reply_channel", "reply_thread_ts"], unique=False
        )
        batch_op.create_index(
            "ix_items_reporter_dm_thread", ["reporter_dm_channel", "reporter_dm_ts"], unique=False
        )
        batch_op.create_index(
            "ix_items_awaiting_reporter", ["awaiting_reporter_since"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index("ix_items_awaiting_reporter")
        batch_op.drop_index("ix_items_reporter_dm_thread")
        batch_op.drop_index("ix_items_reply_thread")
        batch_op.drop_index("ix_items_lead_dm_thread")
        batch_op.drop_column("awaiting_reporter_since")
    with op.batch_alter_table("relayed_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_relayed_messages_item_id"))
    op.drop_table("relayed_messages")
