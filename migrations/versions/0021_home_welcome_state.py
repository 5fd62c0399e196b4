"""the App Home welcome's state (in full or collapsed) is kept per person in the database, so
every replica publishes the Home the way the person last left it

Revision ID: 0021
Revises: 0020
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Whoever opened their Home before sees the welcome collapsed, as they did.
    with op.batch_alter_table("home_welcomes") as batch:
        batch.add_column(
            sa.Column("expanded", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("home_welcomes") as batch:
        batch.drop_column("expanded")
