"""Product updates: what shipped and what is coming, from Slack (/shipped, /upcoming) or feeds.

Weekly summaries read these; an update from a feed keeps the entry's id so a feed fetched
again never adds it twice.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

FEED_KINDS = ("github", "rss", "json")


class Feed(Base):
    """A changelog Jerry fetches on a schedule; configured by `jerry summaries import`.

    `url` is the feed's address; for `github` it is the repository, "owner/name", read through
    the GitHub API at JERRY_GITHUB_API_URL.
    """

    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # github | rss | json ("rss" covers Atom)
    url: Mapped[str] = mapped_column(String(2000))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    archived: Mapped[bool] = mapped_column(default=False)  # no longer in the summaries file
    # Conditional requests: what the server said last time.
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    checked_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    failures: Mapped[int] = mapped_column(default=0)  # in a row; reset by a good fetch


class ProductUpdate(Base):
    __tablename__ = "product_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # shipped | upcoming
    title: Mapped[str] = mapped_column(String(300))
    customer_impact: Mapped[str | None] = mapped_column(Text)  # what it means for customers
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    link: Mapped[str | None] = mapped_column(String(2000))
    shipped_on: Mapped[date | None]  # shipped: the day it shipped
    target_date: Mapped[date | None]  # upcoming: when it is expected
    confidence: Mapped[str | None] = mapped_column(
        String(20)
    )  # upcoming: committed|likely|exploring
    audience: Mapped[str] = mapped_column(String(20), default="internal")  # internal | customer
    author_id: Mapped[str | None] = mapped_column(String(64))  # Slack user; None from a feed
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("feeds.id"))
    external_id: Mapped[str | None] = mapped_column(String(500))  # the feed entry's id
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | withdrawn
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    withdrawn_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("feed_id", "external_id"),
        Index("ix_product_updates_kind_shipped_on", "kind", "shipped_on"),
        Index("ix_product_updates_kind_target_date", "kind", "target_date"),
    )
