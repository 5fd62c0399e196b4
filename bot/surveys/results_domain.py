"""A survey round's results as plain data: what bot/surveys/results.py computes and what the
views (bot/views/survey_results.py) and the trend chart (bot/surveys/chart.py) show.

No I/O and nothing of Jerry's imported here, so the views and the chart import it without
importing the service that loads and posts results.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

SCALE_RANGES = {"scale5": (1, 5), "scale10": (0, 10)}
ROUND_CLOSED = "closed"  # a round's status once closed, as stored (bot/surveys/results_store.py)


@dataclass(frozen=True)
class QuestionInfo:
    id: str
    kind: str  # scale5 | scale10 | choice | text
    text: str
    low: str | None = None
    high: str | None = None
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrendPoint:
    round_number: int
    mean: float
    count: int


@dataclass(frozen=True)
class ScaleResult:
    question: QuestionInfo
    count: int  # people who answered it
    mean: float | None
    distribution: tuple[tuple[int, int], ...]  # (value, how many) for every value of the scale
    previous: TrendPoint | None  # the last earlier round with answers to this question
    trend: tuple[TrendPoint, ...]  # oldest first, this round last (if it has answers)

    @property
    def change(self) -> float | None:
        if self.mean is None or self.previous is None:
            return None
        return self.mean - self.previous.mean


@dataclass(frozen=True)
class ChoiceResult:
    question: QuestionInfo
    count: int
    counts: tuple[tuple[str, int], ...]  # every option in file order, then any other answer


@dataclass(frozen=True)
class TextAnswer:
    text: str
    who: str | None  # None when anonymous


@dataclass(frozen=True)
class TextResult:
    question: QuestionInfo
    answers: tuple[TextAnswer, ...]

    @property
    def count(self) -> int:
        return len(self.answers)


QuestionResult = ScaleResult | ChoiceResult | TextResult


@dataclass(frozen=True)
class GroupResult:
    name: str  # a user group's or channel's id, "users" (people listed by id), or OTHER_GROUPS
    respondents: int  # people counted in the group who answered at least one question
    hidden: bool  # fewer than MIN_GROUP (with what else it would give away): no figure shown
    # (question id, mean) for scale questions; None where fewer than MIN_GROUP answered it
    means: tuple[tuple[str, float | None], ...]
    merged: tuple[str, ...] = ()  # OTHER_GROUPS: the small groups it holds, in file order


OTHER_GROUPS = ""  # the name of the line that merges the groups too small to show alone
MIN_GROUP = 3  # a breakdown shows no figure over fewer people (README: small groups hidden)
# The group, in breakdowns, of the people an audience lists by user id.
LISTED_PEOPLE = "users"


@dataclass(frozen=True)
class RoundResults:
    survey: str
    title: str
    language: str
    anonymous: bool
    round_number: int
    status: str  # open | closed
    opened_at: datetime
    closes_at: datetime
    closed_at: datetime | None
    invited: int
    finished: int
    partial: int
    questions: tuple[QuestionResult, ...]
    groups: tuple[GroupResult, ...] = ()
    owner_channel: str = ""
    round_id: int = 0
    timezone: str = "UTC"  # the survey's, for the dates shown
    # (round number, opened, closed or due to close) of the rounds in the trend, oldest first
    round_dates: tuple[tuple[int, datetime, datetime], ...] = ()

    @property
    def so_far(self) -> bool:
        """Figures of a round still open: they may change."""
        return self.status != ROUND_CLOSED

    @property
    def response_rate(self) -> float | None:
        return self.finished / self.invited if self.invited else None

    @property
    def respondents(self) -> int:
        return self.finished + self.partial

    def scale_results(self) -> list[ScaleResult]:
        return [q for q in self.questions if isinstance(q, ScaleResult)]

    @property
    def has_trend(self) -> bool:
        """Whether a scale question has means in two rounds or more: a trend to chart (a
        single point is no trend; the message says so instead)."""
        return any(len(q.trend) > 1 for q in self.scale_results())

    def question_number(self, question_id: str) -> int:
        """The question's number as the round and results messages show it (1, 2, …)."""
        for number, result in enumerate(self.questions, 1):
            if result.question.id == question_id:
                return number
        return 0
