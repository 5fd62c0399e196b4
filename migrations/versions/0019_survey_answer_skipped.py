"""survey answers: a question the person chose to skip (the answer form's "Skip this question")
is recorded as skipped, not left missing: reminders do not chase it, results count no value

Revision ID: 0019
Revises: 0018
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("survey_answers") as batch:
        batch.add_column(
            sa.Column("skipped", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("survey_answers") as batch:
        batch.drop_column("skipped")
