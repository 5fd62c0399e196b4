"""the App Home's Insights tab: which tab and period each person last chose, and the charts
already uploaded to Slack (by content), so a Home re-published uploads nothing again

Revision ID: 0028
Revises: 0027
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("home_preferences") as batch:
        batch.add_column(
            sa.Column("home_tab", sa.String(length=20), nullable=False, server_default="items")
        )
        batch.add_column(sa.Column("insights_period", sa.String(length=20), nullable=True))
    op.create_table(
        "insight_charts",
        sa.Column("content_key", sa.String(length=64), primary_key=True),
        sa.Column("file_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("insight_charts")
    with op.batch_alter_table("home_preferences") as batch:
        batch.drop_column("insights_period")
        batch.drop_column("home_tab")
