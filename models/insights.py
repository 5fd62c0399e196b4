"""Insights (issue 13): the product-ops report's posts and the settings read from files.

The numbers themselves are computed from `items` (bot/insights/); these tables keep only
what cannot be recomputed: which report was posted, and settings imported from files.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class FileSetting(Base):
    """A settings section imported from a file (the routing file's `insights:` minutes
    saved, the summaries file's `report:`): one row per section, replaced on import."""

    __tablename__ = "file_settings"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class InsightReport(Base):
    """One product-ops report for one period ("month:2026-11", "quarter:2026-Q4").

    The unique (period, sequence) row is claimed before posting, so two processes or a
    restart cannot post a period twice (as summary_posts do); `--again` adds a sequence.
    """

    __tablename__ = "insight_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(20))  # "month:2026-11", "quarter:2026-Q4"
    sequence: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(20), default="claimed")  # claimed|posted|failed
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    posted_at: Mapped[datetime | None]
    channel: Mapped[str | None] = mapped_column(String(64))
    ts: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("period", "sequence"),)


class InsightChart(Base):
    """A chart already uploaded to Slack (files.uploadV2 without a channel), by what it shows:
    a Home published again with the same numbers shows the same file, uploaded once."""

    __tablename__ = "insight_charts"

    content_key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the spec
    file_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InsightTheme(Base):
    """A theme of one product area in one period: similar items grouped (bot/insights/
    themes.py), recomputed in the background; leads' edits (InsightThemeEdit) are applied to
    every recomputation."""

    __tablename__ = "insight_themes"

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    period: Mapped[str] = mapped_column(String(20))  # "quarter:2026-Q4"
    position: Mapped[int] = mapped_column(default=0)  # largest first
    label: Mapped[str] = mapped_column(String(200))  # its most characteristic words
    custom_label: Mapped[str | None] = mapped_column(String(200))  # a lead's name for it
    items: Mapped[int] = mapped_column(default=0)
    previous_items: Mapped[int] = mapped_column(default=0)  # the previous period's, like it
    members: Mapped[list[int]] = mapped_column(JSON, default=list)  # item ids, this period
    examples: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [[id, text], …]
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_insight_themes_period_area", "period", "area_id"),)


class InsightThemeEdit(Base):
    """A lead's or admin's choice about a theme, kept across recomputations: the theme is
    named by the items it held (`members`); on each recomputation the theme holding most of
    them takes the edit."""

    __tablename__ = "insight_theme_edits"

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    kind: Mapped[str] = mapped_column(String(20))  # rename | merge | move_out
    members: Mapped[list[int]] = mapped_column(JSON, default=list)
    other: Mapped[list[int] | None] = mapped_column(JSON)  # merge: the theme merged into it
    item_id: Mapped[int | None]  # move_out: the item taken out
    label: Mapped[str | None] = mapped_column(String(200))  # rename
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)
