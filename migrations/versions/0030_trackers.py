"""Jira and Linear: teams' projects, issues linked to items, webhook deliveries, the poller,
"it shipped" notices and the items a product update answers

Revision ID: 0030
Revises: 0029
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = models.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("teams") as batch:
        batch.add_column(sa.Column("jira_project", sa.String(length=30), nullable=True))
        batch.add_column(sa.Column("linear_team", sa.String(length=30), nullable=True))
        batch.add_column(sa.Column("issue_type", sa.String(length=60), nullable=True))
    with op.batch_alter_table("items") as batch:
        batch.add_column(
            sa.Column("issue_link_count", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_table(
        "tracker_issues",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tracker", sa.String(length=10), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=True),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=True),
        sa.Column("status", sa.String(length=100), nullable=True),
        sa.Column("stage", sa.String(length=20), nullable=True),
        sa.Column("release", sa.String(length=300), nullable=True),
        sa.Column("release_note", sa.Text(), nullable=True),
        sa.Column("updated", sa.String(length=40), nullable=True),
        sa.Column("checked_at", WHEN, nullable=True),
        sa.Column("shipped_at", WHEN, nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.UniqueConstraint("tracker", "key"),
    )
    op.create_table(
        "item_issue_links",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("items.id"), nullable=False),
        sa.Column("issue_id", sa.Integer(), sa.ForeignKey("tracker_issues.id"), nullable=False),
        sa.Column("linked_by", sa.String(length=64), nullable=False),
        sa.Column("created", sa.Boolean(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.UniqueConstraint("item_id", "issue_id"),
    )
    op.create_index("ix_item_issue_links_issue", "item_issue_links", ["issue_id"])
    op.create_table(
        "tracker_webhooks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tracker", sa.String(length=10), nullable=False),
        sa.Column("delivery_id", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at", WHEN, nullable=False),
        sa.Column("processed_at", WHEN, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.UniqueConstraint("tracker", "delivery_id"),
    )
    op.create_index("ix_tracker_webhooks_processed", "tracker_webhooks", ["processed_at"])
    op.create_table(
        "tracker_polls",
        sa.Column("tracker", sa.String(length=10), primary_key=True),
        sa.Column("last_updated", sa.String(length=40), nullable=True),
        sa.Column("polled_at", WHEN, nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("next_poll_at", WHEN, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    op.create_table(
        "shipped_notices",
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("items.id"), primary_key=True),
        sa.Column("root_item_id", sa.Integer(), sa.ForeignKey("items.id"), nullable=False),
        sa.Column("reporter_id", sa.String(length=64), nullable=False),
        sa.Column("issue_id", sa.Integer(), sa.ForeignKey("tracker_issues.id"), nullable=True),
        sa.Column("update_id", sa.Integer(), sa.ForeignKey("product_updates.id"), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
    )
    op.create_table(
        "product_update_items",
        sa.Column("update_id", sa.Integer(), sa.ForeignKey("product_updates.id"), primary_key=True),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("items.id"), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("product_update_items")
    op.drop_table("shipped_notices")
    op.drop_table("tracker_polls")
    op.drop_index("ix_tracker_webhooks_processed", table_name="tracker_webhooks")
    op.drop_table("tracker_webhooks")
    op.drop_index("ix_item_issue_links_issue", table_name="item_issue_links")
    op.drop_table("item_issue_links")
    op.drop_table("tracker_issues")
    with op.batch_alter_table("items") as batch:
        batch.drop_column("issue_link_count")
    with op.batch_alter_table("teams") as batch:
        batch.drop_column("issue_type")
        batch.drop_column("linear_team")
        batch.drop_column("jira_project")
