"""one problem, one item (issue 12): an item merged into another (its reporter follows the
kept item), and the similar items found for it at intake

Revision ID: 0023
Revises: 0022
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("merged_into", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("similar_suggestions", sa.JSON(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_items_merged_into_items"), "items", ["merged_into"], ["id"]
        )
        batch.create_index("ix_items_merged_into", ["merged_into"])


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.drop_index("ix_items_merged_into")
        batch.drop_constraint(op.f("fk_items_merged_into_items"), type_="foreignkey")
        batch.drop_column("similar_suggestions")
        batch.drop_column("merged_into")
