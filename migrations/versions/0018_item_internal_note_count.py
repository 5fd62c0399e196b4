"""how many internal notes an item has (a card reads its notes only when there are some)

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(
            sa.Column("internal_note_count", sa.Integer(), nullable=False, server_default="0")
        )
    # Notes kept before this column existed (item events of kind "note").
    op.execute(
        "UPDATE items SET internal_note_count = (SELECT COUNT(*) FROM item_events "
        "WHERE item_events.item_id = items.id AND item_events.kind = 'note')"
    )


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.drop_column("internal_note_count")
