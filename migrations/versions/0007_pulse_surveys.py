"""pulse surveys

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "surveys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("owner_channel", sa.String(length=64), nullable=False),
        sa.Column("audience_kind", sa.String(length=20), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("deliver_in", sa.String(length=64), nullable=False),
        sa.Column("schedule", sa.JSON(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("open_for", sa.String(length=16), nullable=False),
        sa.Column("remind_before", sa.String(length=16), nullable=True),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surveys")),
        sa.UniqueConstraint("name", name=op.f("uq_surveys_name")),
    )
    op.create_table(
        "survey_rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("slot", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closes_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("invited", sa.Integer(), nullable=False),
        sa.Column("reminded_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("results_posted_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("ts", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["survey_id"], ["surveys.id"], name=op.f("fk_survey_rounds_survey_id_surveys")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_rounds")),
        sa.UniqueConstraint("survey_id", "number", name=op.f("uq_survey_rounds_survey_id_number")),
        sa.UniqueConstraint("survey_id", "slot", name=op.f("uq_survey_rounds_survey_id_slot")),
    )
    op.create_table(
        "survey_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("respondent", sa.String(length=128), nullable=False),
        sa.Column("question_id", sa.String(length=40), nullable=False),
        sa.Column("number", sa.Double(), nullable=True),
        sa.Column("choice", sa.String(length=300), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("answered_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source_ts", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["survey_rounds.id"],
            name=op.f("fk_survey_answers_round_id_survey_rounds"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_answers")),
        sa.UniqueConstraint(
            "round_id", "respondent", "question_id", name=op.f("uq_survey_answers_round_id")
        ),
    )
    op.create_table(
        "survey_invites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("respondent", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("ts", sa.String(length=32), nullable=True),
        sa.Column("question_ts", sa.JSON(), nullable=False),
        sa.Column("finished_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["survey_rounds.id"],
            name=op.f("fk_survey_invites_round_id_survey_rounds"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_invites")),
        sa.UniqueConstraint("round_id", "respondent", name=op.f("uq_survey_invites_round_id")),
    )
    with op.batch_alter_table("survey_invites", schema=None) as batch_op:
        batch_op.create_index("ix_survey_invites_ts", ["ts"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("survey_invites", schema=None) as batch_op:
        batch_op.drop_index("ix_survey_invites_ts")

    op.drop_table("survey_invites")
    op.drop_table("survey_answers")
    op.drop_table("survey_rounds")
    op.drop_table("surveys")
