"""acknowledgement targets, business hours, reminders and escalation

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ack_target", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("answer_target", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("business_days", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("business_start", sa.String(length=5), nullable=True))
        batch_op.add_column(sa.Column("business_end", sa.String(length=5), nullable=True))
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("escalated_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "sent_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=True),
        sa.Column("sent_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_sent_reminders_item_id_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sent_reminders")),
        sa.UniqueConstraint("key", name=op.f("uq_sent_reminders_key")),
    )
    with op.batch_alter_table("sent_reminders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sent_reminders_item_id"), ["item_id"], unique=False)
    op.create_table(
        "scheduled_jobs",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("last_run_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_finished_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduled_jobs")),
    )


def downgrade() -> None:
    op.drop_table("scheduled_jobs")
    with op.batch_alter_table("sent_reminders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sent_reminders_item_id"))
    op.drop_table("sent_reminders")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("escalated_at")
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.drop_column("business_end")
        batch_op.drop_column("business_start")
        batch_op.drop_column("business_days")
        batch_op.drop_column("answer_target")
        batch_op.drop_column("ack_target")
