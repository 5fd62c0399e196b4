"""Did this help? (issue 15): the question asked after an item is resolved, and the answers.

An ask remembers whom it went to (the cooldown between two asks to one person needs it); an
answer never does for an anonymous item, like an anonymous survey's: only its item (for its
team and period), its score and comment.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class CsatAsk(Base):
    __tablename__ = "csat_asks"

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True)
    reporter_id: Mapped[str] = mapped_column(String(64))
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_csat_asks_reporter", "reporter_id", "asked_at"),)


class CsatAnswer(Base):
    __tablename__ = "csat_answers"

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    score: Mapped[int]  # 1 (did not help), 2 (somewhat), 3 (helped)
    comment: Mapped[str | None] = mapped_column(Text)
    # Who answered; None for an anonymous item (never stored, never shown).
    reporter_id: Mapped[str | None] = mapped_column(String(64))
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_csat_answers_answered_at", "answered_at", "team_id"),)
