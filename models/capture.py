"""Capture where people already talk (issue 15): a reaction that files a message.

One row per reactor, message and emoji: the reaction is filed once, whatever Slack sends
again, and its row says what it became (the item it made, or the item its reactor was added
to as a reporter), so removing the reaction within the undo window undoes exactly that.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class ReactionFiling(Base):
    __tablename__ = "reaction_filings"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(64))
    message_ts: Mapped[str] = mapped_column(String(32))
    reaction: Mapped[str] = mapped_column(String(100))
    reactor: Mapped[str] = mapped_column(String(64))
    # The workspace the reaction came from (Jerry's): a message whose author's team differs
    # is from another organisation (Slack Connect).
    workspace: Mapped[str | None] = mapped_column(String(64))
    # pending (the message is being read) | filed (made the item) | added (its reactor was
    # added to the item as a reporter) | undone | unreadable (the message could not be read)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    undo_until: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("channel", "message_ts", "reaction", "reactor"),
        Index("ix_reaction_filings_item", "item_id"),
    )


class DmGroup(Base):
    """DMs to Jerry from one person within the grouping window, on their way to one item
    (bot/capture/grouping.py): filed when the window closes after the latest of them."""

    __tablename__ = "dm_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64))
    # The person's id while the group takes messages, None once filed: one open group each.
    open_for: Mapped[str | None] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(64))
    first_ts: Mapped[str] = mapped_column(String(32))
    # [{"ts": …, "text": …}], in the order Slack sent them.
    messages: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    closes_at: Mapped[datetime] = mapped_column(default=utcnow)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
