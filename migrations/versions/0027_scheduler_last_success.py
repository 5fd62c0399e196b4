"""scheduler jobs: when each last succeeded (GET /metrics reports it)

Revision ID: 0027
Revises: 0026
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("scheduled_jobs") as batch:
        batch.add_column(
            sa.Column("last_success_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )
    op.execute(
        "UPDATE scheduled_jobs SET last_success_at = last_finished_at "
        "WHERE last_error IS NULL AND last_finished_at IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("scheduled_jobs") as batch:
        batch.drop_column("last_success_at")
