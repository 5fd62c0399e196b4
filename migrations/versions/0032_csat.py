"""csat: "did this help?" asked after resolution, and its answers; DMs grouped into one item

Revision ID: 0032
Revises: 0031
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = models.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "csat_asks",
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("items.id"), primary_key=True),
        sa.Column("reporter_id", sa.String(length=64), nullable=False),
        sa.Column("asked_at", WHEN, nullable=False),
    )
    op.create_index("ix_csat_asks_reporter", "csat_asks", ["reporter_id", "asked_at"])
    op.create_table(
        "csat_answers",
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("items.id"), primary_key=True),
        sa.Column("team_id", sa.Integer(), sa.ForeignKey("teams.id"), nullable=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("reporter_id", sa.String(length=64), nullable=True),
        sa.Column("answered_at", WHEN, nullable=False),
    )
    op.create_index("ix_csat_answers_answered_at", "csat_answers", ["answered_at", "team_id"])
    op.create_table(
        "dm_groups",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("open_for", sa.String(length=64), nullable=True, unique=True),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("first_ts", sa.String(length=32), nullable=False),
        sa.Column("messages", sa.JSON(), nullable=False),
        sa.Column("closes_at", WHEN, nullable=False),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("items.id"), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("dm_groups")
    op.drop_index("ix_csat_answers_answered_at", table_name="csat_answers")
    op.drop_table("csat_answers")
    op.drop_index("ix_csat_asks_reporter", table_name="csat_asks")
    op.drop_table("csat_asks")
