"""product updates, feeds, summary subscriptions and posts

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "summary_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("areas", sa.JSON(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("time", sa.String(length=5), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_summary_subscriptions")),
        sa.UniqueConstraint("name", name=op.f("uq_summary_subscriptions_name")),
    )
    op.create_table(
        "summary_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("week", sa.String(length=10), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("claimed_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("posted_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("period_start", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("period_end", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("ts", sa.String(length=32), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["summary_subscriptions.id"],
            name=op.f("fk_summary_posts_subscription_id_summary_subscriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_summary_posts")),
        sa.UniqueConstraint(
            "subscription_id", "week", "sequence", name=op.f("uq_summary_posts_subscription_id")
        ),
    )
    op.create_table(
        "feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=True),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("etag", sa.String(length=500), nullable=True),
        sa.Column("last_modified", sa.String(length=100), nullable=True),
        sa.Column("checked_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["area_id"], ["areas.id"], name=op.f("fk_feeds_area_id_areas")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feeds")),
        sa.UniqueConstraint("name", name=op.f("uq_feeds_name")),
    )
    op.create_table(
        "product_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("customer_impact", sa.Text(), nullable=True),
        sa.Column("area_id", sa.Integer(), nullable=True),
        sa.Column("link", sa.String(length=2000), nullable=True),
        sa.Column("shipped_on", sa.Date(), nullable=True),
        sa.Column("target_date", sa.Date(), nullable=True),
        sa.Column("confidence", sa.String(length=20), nullable=True),
        sa.Column("audience", sa.String(length=20), nullable=False),
        sa.Column("author_id", sa.String(length=64), nullable=True),
        sa.Column("feed_id", sa.Integer(), nullable=True),
        sa.Column("external_id", sa.String(length=500), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["area_id"], ["areas.id"], name=op.f("fk_product_updates_area_id_areas")
        ),
        sa.ForeignKeyConstraint(
            ["feed_id"], ["feeds.id"], name=op.f("fk_product_updates_feed_id_feeds")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_updates")),
        sa.UniqueConstraint("feed_id", "external_id", name=op.f("uq_product_updates_feed_id")),
    )
    with op.batch_alter_table("product_updates", schema=None) as batch_op:
        batch_op.create_index(
            "ix_product_updates_kind_shipped_on", ["kind", "shipped_on"], unique=False
        )
        batch_op.create_index(
            "ix_product_updates_kind_target_date", ["kind", "target_date"], unique=False
        )

    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("share_in_summary", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_index("ix_items_resolved_at", ["resolved_at"], unique=False)
        batch_op.create_index(
            "ix_items_share_in_summary_answered_at",
            ["share_in_summary", "answered_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index("ix_items_share_in_summary_answered_at")
        batch_op.drop_index("ix_items_resolved_at")
        batch_op.drop_column("share_in_summary")

    with op.batch_alter_table("product_updates", schema=None) as batch_op:
        batch_op.drop_index("ix_product_updates_kind_target_date")
        batch_op.drop_index("ix_product_updates_kind_shipped_on")

    op.drop_table("product_updates")
    op.drop_table("feeds")
    op.drop_table("summary_posts")
    op.drop_table("summary_subscriptions")
