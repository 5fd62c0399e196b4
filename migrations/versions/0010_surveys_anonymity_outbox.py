"""surveys: a random key for anonymous hashes, invites' answered count, 64-bit answer ids

Revision ID: 0010
Revises: 0008

Anonymous rounds' hashes were keyed with a secret derived from SLACK_SIGNING_SECRET (or set as
JERRY_SURVEY_SECRET), which operators hold. The key is now random, made once and kept in
`survey_secrets`. Anonymous rounds open during the upgrade no longer recognise their invitees
(their hashes were made with the old key): close them before upgrading, or start a new round.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "survey_secrets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_secrets")),
    )
    with op.batch_alter_table("survey_invites") as batch:
        batch.add_column(
            sa.Column("answered", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
    with op.batch_alter_table("survey_invites") as batch:
        batch.alter_column("answered", server_default=None)
    # Rounds open during the upgrade: each invite's count of answered questions (reminders).
    op.execute(
        "UPDATE survey_invites SET answered = (SELECT count(*) FROM survey_answers a"
        " WHERE a.round_id = survey_invites.round_id"
        " AND a.respondent = survey_invites.respondent)"
    )
    if op.get_bind().dialect.name != "sqlite":  # SQLite's INTEGER is 64-bit already
        op.alter_column(
            "survey_answers",
            "id",
            existing_type=sa.Integer(),
            type_=sa.BigInteger(),
            existing_nullable=False,
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column(
            "survey_answers",
            "id",
            existing_type=sa.BigInteger(),
            type_=sa.Integer(),
            existing_nullable=False,
        )
    with op.batch_alter_table("survey_invites") as batch:
        batch.drop_column("answered")
    op.drop_table("survey_secrets")
