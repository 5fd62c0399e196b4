"""Weekly summary subscriptions and the record of each summary posted (exactly once a week)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class SummarySubscription(Base):
    """A channel that gets "This week in product"; configured by `jerry summaries import`."""

    __tablename__ = "summary_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(64))
    areas: Mapped[list[str]] = mapped_column(default=list)  # area names; empty: every area
    weekday: Mapped[int] = mapped_column(default=0)  # 0 = Monday
    time: Mapped[str] = mapped_column(String(5), default="09:00")  # local time, "HH:MM"
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    language: Mapped[str] = mapped_column(String(5), default="en")
    # active | unpostable (Jerry cannot post there: archived, not invited) | archived (no
    # longer in the file). An unpostable one is not retried until the file is imported again.
    status: Mapped[str] = mapped_column(String(20), default="active")
    status_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SummaryPost(Base):
    """One summary of one subscription for one ISO week.

    The unique (subscription, week, sequence) row is claimed before posting, so two processes
    or a restart cannot post a week twice; sequence 0 is the scheduled post, `--again` adds 1.
    """

    __tablename__ = "summary_posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("summary_subscriptions.id"))
    week: Mapped[str] = mapped_column(String(10))  # ISO week, "2026-W48"
    sequence: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(20), default="claimed")  # claimed|posted|failed
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    posted_at: Mapped[datetime | None]
    # The period the summary covered (its "shipped since the last summary" starts at the
    # previous post's period_end).
    period_start: Mapped[datetime | None]
    period_end: Mapped[datetime | None]
    channel: Mapped[str | None] = mapped_column(String(64))
    ts: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("subscription_id", "week", "sequence"),)
