"""who was welcomed as the lead or backup of which team (one welcome DM each, owed at import)

The leads and backups of the teams that exist when this runs count as welcomed: they have
been using Jerry already, and upgrading must not DM them all at the next import.

Revision ID: 0020
Revises: 0019
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    welcomes = op.create_table(
        "lead_welcomes",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("owed_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_lead_welcomes_team_id_teams")
        ),
        sa.PrimaryKeyConstraint("user_id", "team_id", name=op.f("pk_lead_welcomes")),
    )
    teams = sa.table(
        "teams",
        sa.column("id", sa.Integer()),
        sa.column("lead", sa.String()),
        sa.column("backup", sa.String()),
        sa.column("is_triage", sa.Boolean()),
        sa.column("archived", sa.Boolean()),
    )
    current = op.get_bind().execute(
        sa.select(teams.c.id, teams.c.lead, teams.c.backup).where(
            teams.c.is_triage.is_(False), teams.c.archived.is_(False)
        )
    )
    now = datetime.now(UTC)
    rows = []
    for team_id, lead, backup in current:
        rows.append({"user_id": lead, "team_id": team_id, "role": "lead", "owed_at": now})
        if backup and backup != lead:
            rows.append({"user_id": backup, "team_id": team_id, "role": "backup", "owed_at": now})
    if rows:
        op.bulk_insert(welcomes, rows)


def downgrade() -> None:
    op.drop_table("lead_welcomes")
