"""The routing model: teams, their product areas and keywords, ordered rules, and triage.

Triage is a team row with `is_triage` set, so every item always has a team to point at.
Teams and areas are never deleted by an import (items point at them); a team or area that
a new routing file no longer names is archived instead.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    lead: Mapped[str] = mapped_column(String(64))  # Slack user id, resolved at import
    lead_email: Mapped[str | None] = mapped_column(String(320))  # as written in the file
    backup: Mapped[str | None] = mapped_column(String(64))
    backup_email: Mapped[str | None] = mapped_column(String(320))
    channel: Mapped[str | None] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(default=0)
    is_triage: Mapped[bool] = mapped_column(default=False)
    archived: Mapped[bool] = mapped_column(default=False)
    # Service-level targets in business time ("1d", "4h") and business hours, as written in
    # the routing file; None means the default (1 business day, Mon-Fri 09:00-18:00).
    ack_target: Mapped[str | None] = mapped_column(String(16))
    answer_target: Mapped[str | None] = mapped_column(String(16))
    business_days: Mapped[str | None] = mapped_column(String(40))  # "mon,tue,wed,thu,fri"
    business_start: Mapped[str | None] = mapped_column(String(5))  # "09:00"
    business_end: Mapped[str | None] = mapped_column(String(5))  # "18:00"
    # Where the team's work is tracked (bot/trackers), as written in the routing file: a Jira
    # project key or a Linear team key, and the Jira issue type proposed first.
    jira_project: Mapped[str | None] = mapped_column(String(30))
    linear_team: Mapped[str | None] = mapped_column(String(30))
    issue_type: Mapped[str | None] = mapped_column(String(60))

    areas: Mapped[list[Area]] = relationship(
        back_populates="team", order_by="Area.position", lazy="selectin"
    )


class Area(Base):
    __tablename__ = "areas"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    keywords: Mapped[list[str]] = mapped_column(default=list)
    position: Mapped[int] = mapped_column(default=0)
    archived: Mapped[bool] = mapped_column(default=False)

    team: Mapped[Team] = relationship(back_populates="areas", lazy="selectin")


class RoutingRule(Base):
    __tablename__ = "routing_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str | None] = mapped_column(String(64))
    pattern: Mapped[str | None] = mapped_column(String(1000))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))


class LeadWelcome(Base):
    """A lead or backup who was owed the welcome DM for a team (once per person and team:
    a re-import owes nothing, a new team owes a short "you now also own …")."""

    __tablename__ = "lead_welcomes"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(10))  # "lead" or "backup", when first owed
    owed_at: Mapped[datetime] = mapped_column(default=utcnow)
