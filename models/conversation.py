"""The conversation between a reporter and a lead, relayed through Jerry.

Every message Jerry relays is a `RelayedMessage`: where it was written (source channel and
ts, unique, so a retried Slack event never relays twice) and where Jerry's copy is (so an
edit updates the copy and a deletion marks it). Items are found from a thread with the
indexes below (the lead's DM, the reply thread, the reporter's DM thread).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow
from models.items import Item

# Finding an item from (channel, thread_ts), whichever side of the conversation it is.
Index("ix_items_lead_dm_thread", Item.lead_dm_channel, Item.lead_dm_ts)
Index("ix_items_reply_thread", Item.reply_channel, Item.reply_thread_ts)
Index("ix_items_reporter_dm_thread", Item.reporter_dm_channel, Item.reporter_dm_ts)
Index("ix_items_awaiting_reporter", Item.awaiting_reporter_since)

TO_REPORTER, TO_LEAD = "to_reporter", "to_lead"


class RelayedMessage(Base):
    __tablename__ = "relayed_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    direction: Mapped[str] = mapped_column(String(20))  # to_reporter | to_lead
    author: Mapped[str] = mapped_column(String(64))  # Slack user id of who wrote it
    source_channel: Mapped[str] = mapped_column(String(64))
    source_ts: Mapped[str] = mapped_column(String(32))
    # Slack-formatted text as last written (emptied when the author deletes the message).
    text: Mapped[str] = mapped_column(Text, default="")
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # relayed|edited|deleted, or held: written under a resolved item, not relayed
    status: Mapped[str] = mapped_column(String(20), default="relayed")
    # The item whose lead got the copy, when not `item_id`'s: a follower writing under their
    # merged item reaches the kept item's lead (bot/similar/followers.py).
    to_item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    copy_channel: Mapped[str | None] = mapped_column(String(64))
    copy_ts: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("source_channel", "source_ts", name="uq_relayed_messages_source"),
    )
