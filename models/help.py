"""First contact: who has seen the App Home welcome, and what Jerry answered to a direct
message that it did not file (a greeting, a thanks, a few words it asked about first)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class HomeWelcome(Base):
    """A person opened Jerry's Home at least once, and how its welcome is shown to them now:
    in full from the first open until the next open or "hide", then collapsed unless they
    click "How Jerry works". Kept here, not in a process, so every replica agrees."""

    __tablename__ = "home_welcomes"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    expanded: Mapped[bool] = mapped_column(default=False, server_default=false())


class HomePreference(Base):
    """How a person wants their App Home: the order of their queue (oldest first, newest
    first, or most asked for first). Kept here, not in a process, so every replica agrees."""

    __tablename__ = "home_preferences"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    queue_sort: Mapped[str] = mapped_column(String(20), default="oldest")
    # "items" (the Home as it always was) or "insights" (admins, leads and backups), and the
    # period the Insights tab shows (bot/insights/home.py PERIOD_CHOICES; None: this quarter).
    home_tab: Mapped[str] = mapped_column(String(20), default="items", server_default="items")
    insights_period: Mapped[str | None] = mapped_column(String(20))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class MessageReply(Base):
    """Jerry's answer to one direct message that is not filed as it is: one per message, so a
    retried Slack event is answered once. For a few words ("pricing page"), what the person
    chose on the "Send this to product?" prompt, and the item that made."""

    __tablename__ = "message_replies"

    # The DM intake key, "message:<channel>:<ts>": the item a click files takes it too.
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64))
    reply: Mapped[str] = mapped_column(String(20))  # help | thanks | prompt
    text: Mapped[str | None] = mapped_column(Text)  # the words asked about (prompt only)
    # question | painpoint | declined; None while the prompt waits for a click.
    decision: Mapped[str | None] = mapped_column(String(20))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
