"""The outbox: every message Jerry owes, stored with the change that caused it.

A delivery is written in the same transaction as the item change, then sent after Slack has
its ack. It is either sent, or retried, or marked failed and reported: never silently lost.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class Delivery(Base):
    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"), index=True)
    # What to say: lead_dm, lead_dm_update, receipt, answer, reporter_notice, triage_alert …
    purpose: Mapped[str] = mapped_column(String(40))
    # Where to say it: a user id (sent as a DM) or a channel id; None means "the item's reporter".
    recipient: Mapped[str | None] = mapped_column(String(64))
    # Whom it reaches (the recipient, else the item's reporter): deliveries of one lane go out
    # in the order they were owed, and a rate limit on one lane holds back only that lane.
    lane: Mapped[str | None] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # pending|sending|sent|failed, or withdrawn: no longer owed, never sent (a lead DM held
    # while its reporter chose a suggested item, and they found theirs: bot/similar/intake.py)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None]
    # When the current (or last) attempt started; `unsure_since`: an earlier attempt may have
    # reached Slack (a lost answer, a process gone mid-send), so Slack is searched from then
    # for the message before it is posted again.
    attempt_started_at: Mapped[datetime | None]
    unsure_since: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # When it became owed (the backlog's age counts from here): for a held lead DM, when its
    # hold ends, or when it was released.
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    result_channel: Mapped[str | None] = mapped_column(String(64))
    result_ts: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        Index("ix_deliveries_status_next", "status", "next_attempt_at"),
        Index("ix_deliveries_lane_status", "lane", "status"),
    )


class OutboxAlert(Base):
    """An alert about the outbox itself that product ops was told of and is still true (the
    backlog is old): one row per kind, so two processes tell it once, and once more (the row
    deleted) when it is over."""

    __tablename__ = "outbox_alerts"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
