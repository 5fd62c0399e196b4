"""a lead with many items waiting gets them in one digest DM: each item remembers the digest
that carried it, and which delivery posts its card once it is needed

Revision ID: 0014
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("lead_digest_channel", sa.String(64), nullable=True))
        batch.add_column(sa.Column("lead_digest_ts", sa.String(32), nullable=True))
        batch.add_column(sa.Column("lead_card_by", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.drop_column("lead_card_by")
        batch.drop_column("lead_digest_ts")
        batch.drop_column("lead_digest_channel")
