"""Jira and Linear (issue 14): the issues items are linked to, the webhook deliveries kept
until processed, the poller's state, and the "it shipped" notices owed once per item.

What an issue says (its status, its release) is the tracker's; Jerry keeps the latest it
heard, from a webhook or the poller, so cards and the Home tab render without a request.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class TrackerIssue(Base):
    __tablename__ = "tracker_issues"

    id: Mapped[int] = mapped_column(primary_key=True)
    tracker: Mapped[str] = mapped_column(String(10))  # jira | linear
    key: Mapped[str] = mapped_column(String(40))  # PAY-123, as the tracker spells it
    # What the tracker said last; all None while a link waits to be checked.
    external_id: Mapped[str | None] = mapped_column(String(100))
    url: Mapped[str | None] = mapped_column(String(2000))
    title: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str | None] = mapped_column(String(100))
    stage: Mapped[str | None] = mapped_column(String(20))  # bot/trackers/domain.py STAGES
    release: Mapped[str | None] = mapped_column(String(300))
    release_note: Mapped[str | None] = mapped_column(Text)
    updated: Mapped[str | None] = mapped_column(String(40))  # the tracker's own timestamp
    checked_at: Mapped[datetime | None]
    # When Jerry learned that it shipped: the notices were owed then, once.
    shipped_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("tracker", "key"),)


class ItemIssueLink(Base):
    """An item and an issue its work is tracked in: several items (merged duplicates) may
    share an issue, an item may have several."""

    __tablename__ = "item_issue_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    issue_id: Mapped[int] = mapped_column(ForeignKey("tracker_issues.id"))
    linked_by: Mapped[str] = mapped_column(String(64))
    created: Mapped[bool] = mapped_column(default=False)  # Jerry created the issue for it
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("item_id", "issue_id"),
        Index("ix_item_issue_links_issue", "issue_id"),
    )


class TrackerWebhook(Base):
    """A webhook delivery, stored before Jerry answers it and processed after: a process
    stopped in between leaves it here, and the next pass processes it. The unique delivery
    id (Linear-Delivery, Jira's X-Atlassian-Webhook-Identifier) makes a replay a no-op."""

    __tablename__ = "tracker_webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    tracker: Mapped[str] = mapped_column(String(10))
    delivery_id: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("tracker", "delivery_id"),
        Index("ix_tracker_webhooks_processed", "processed_at"),
    )


class TrackerPoll(Base):
    """The poller's state, one row per tracker: the latest change it has seen, and its
    backoff after failures."""

    __tablename__ = "tracker_polls"

    tracker: Mapped[str] = mapped_column(String(10), primary_key=True)
    last_updated: Mapped[str | None] = mapped_column(String(40))
    polled_at: Mapped[datetime | None]
    failures: Mapped[int] = mapped_column(default=0)
    next_poll_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class ShippedNotice(Base):
    """ "You asked, it shipped" owed for one item (its reporter's own, the kept one or one
    merged into it): the primary key makes it once per item, whatever path said it shipped
    and however often."""

    __tablename__ = "shipped_notices"

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True)
    root_item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    # The reporter told for it (one message per reporter, even with several of their items).
    reporter_id: Mapped[str] = mapped_column(String(64))
    issue_id: Mapped[int | None] = mapped_column(ForeignKey("tracker_issues.id"))
    update_id: Mapped[int | None] = mapped_column(ForeignKey("product_updates.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UpdateItem(Base):
    """A shipped product update (/shipped) and an item it answers (`#12` in its text, or
    picked in the form)."""

    __tablename__ = "product_update_items"

    update_id: Mapped[int] = mapped_column(ForeignKey("product_updates.id"), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True)
