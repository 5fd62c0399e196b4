"""lead actions: details, resolution outcomes, reopening

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outcome", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("resolution_note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("resolved_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("duplicate_of", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("customer_outcome", sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column("helped_deal", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_items_duplicate_of_items"), "items", ["duplicate_of"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_items_duplicate_of_items"), type_="foreignkey")
        batch_op.drop_column("helped_deal")
        batch_op.drop_column("customer_outcome")
        batch_op.drop_column("duplicate_of")
        batch_op.drop_column("resolved_by")
        batch_op.drop_column("resolution_note")
        batch_op.drop_column("outcome")
