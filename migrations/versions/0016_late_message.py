"""a late item has one message in product ops' triage channel, updated in place as the item
moves: the item remembers where that message is

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("late_message_channel", sa.String(64), nullable=True))
        batch.add_column(sa.Column("late_message_ts", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.drop_column("late_message_ts")
        batch.drop_column("late_message_channel")
