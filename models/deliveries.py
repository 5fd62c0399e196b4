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
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(
        String(20), default="pending"
    )  # pending|sending|sent|failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    result_channel: Mapped[str | None] = mapped_column(String(64))
    result_ts: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (Index("ix_deliveries_status_next", "status", "next_attempt_at"),)
