"""Slack Connect: items from people of another organisation, and the workspace a reaction
was made in

Revision ID: 0033
Revises: 0032
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("external_org", sa.String(length=200), nullable=True))
        batch.add_column(
            sa.Column("reporter_external", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("reaction_filings") as batch:
        batch.add_column(sa.Column("workspace", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reaction_filings") as batch:
        batch.drop_column("workspace")
    with op.batch_alter_table("items") as batch:
        batch.drop_column("reporter_external")
        batch.drop_column("external_org")
