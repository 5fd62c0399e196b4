"""What reminders and escalations were sent, and when scheduled jobs last ran.

Both live in the database so a restart forgets nothing and several replicas share one
truth (the claims: bot/sla/reminder_store.py and bot/scheduler_store.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

KEY_LIMIT = 200


class SentReminder(Base):
    """One reminder, escalation or alert Jerry owed once; `key` makes it once only."""

    __tablename__ = "sent_reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    # item:kind:level:cycle, or lead_gone:<user id> for alerts about a person.
    key: Mapped[str] = mapped_column(String(KEY_LIMIT), unique=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # ack | answer | details | lead_gone
    level: Mapped[int] = mapped_column(Integer, default=1)  # 1 reminder, 2 escalation
    recipient: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScheduledJob(Base):
    """A periodic job's last run, so schedules survive restarts and replicas run it once."""

    __tablename__ = "scheduled_jobs"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    # The schedule slot last run (or, for a job never run, when it was first registered).
    last_run_at: Mapped[datetime]
    last_finished_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    # When a run last ended without error (GET /metrics: how stale each job is).
    last_success_at: Mapped[datetime | None]
    runs: Mapped[int] = mapped_column(Integer, default=0)


# --- reminders ------------------------------------------------------------------------------


# --- scheduled jobs -------------------------------------------------------------------------
