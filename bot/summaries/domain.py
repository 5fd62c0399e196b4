"""A weekly summary as plain data: what bot/summaries/content.py computes and the views
(bot/views/summary.py) render.

No I/O and nothing of Jerry's imported here, so the views import it without importing the
service that queries the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta


@dataclass(frozen=True)
class SummaryScope:
    name: str
    areas: tuple[str, ...]  # empty: every area
    language: str
    timezone: str


@dataclass(frozen=True)
class Period:
    week: str  # ISO week, "2026-W48"
    start: datetime  # UTC; counted from `start` (where the previous post's window ended)
    end: datetime  # UTC; counted up to `end` (exclusive): the post's time
    # A preview of a post still to come: when it goes out (UTC). Its period ends now, so far.
    posts_at: datetime | None = None


@dataclass(frozen=True)
class UpdateLine:
    id: int
    title: str
    customer_impact: str | None
    area: str | None
    link: str | None
    date: date | None  # shipped_on for shipped, target_date for upcoming
    confidence: str | None  # upcoming: committed | likely | exploring
    customer_facing: bool
    overdue: bool = False
    from_feed: bool = False
    # Shipped, naming items (/shipped "#12"): how many people and customers asked for it.
    asked_people: int = 0
    asked_customers: int = 0


@dataclass(frozen=True)
class AreaVoice:
    area: str | None  # None: items not (yet) routed to an area
    painpoints: int
    questions: int
    answered: int
    resolved: int
    themes: tuple[str, ...]

    @property
    def total(self) -> int:
        return self.painpoints + self.questions


@dataclass(frozen=True)
class SharedAnswer:
    item_id: int
    question: str  # Slack-formatted, uncut (views cut it)
    answer: str
    team: str | None
    area: str | None
    answered_at: datetime


@dataclass(frozen=True)
class Numbers:
    routed: int
    median_first_answer: timedelta | None
    answered: int  # of the routed items, how many have a first answer (the median's count)
    resolved: int


@dataclass(frozen=True)
class Summary:
    scope: SummaryScope
    period: Period
    shipped: list[UpdateLine]
    coming_soon: list[UpdateLine]
    coming_later: list[UpdateLine]
    voice: list[AreaVoice]
    shared_answers: list[SharedAnswer]
    numbers: Numbers
    previous_numbers: Numbers | None
    unknown_areas: tuple[str, ...] = ()  # scope areas the routing model does not know
    # "Shipped because you asked": the shipped updates that name items, most asked first.
    because_asked: list[UpdateLine] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (
            self.shipped
            or self.coming_soon
            or self.coming_later
            or self.voice
            or self.shared_answers
        )
