"""The plain data of the insights: what `jerry insights`, the App Home's Insights tab, the
product-ops report and the CSV/Markdown downloads all render (bot/views/insights.py).

No I/O here. Every number says how it is computed in `bot.insights.numbers`' docstring and
the README's "Insights" section; the views quote those definitions (i18n `insights.how.*`).
Durations are in seconds (floats), shares in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from bot.insights.periods import Period

# Kinds of time saved (the routing file's `insights: minutes_saved:` sets each, in minutes
# per occurrence; these are the defaults, documented in the README).
SAVING_KINDS = ("answer_reused", "duplicate_absorbed", "routed_directly")
DEFAULT_MINUTES_SAVED = {"answer_reused": 30, "duplicate_absorbed": 20, "routed_directly": 15}
# Items in, by kind, and pain points by category ("none": nobody set one).
ITEM_KINDS = ("painpoint", "question")
CATEGORY_KEYS = ("bug", "feature", "process", "other", "none")
AT_RISK_OUTCOMES = ("kept", "lost", "unknown")


@dataclass(frozen=True)
class Timing:
    """One stage's times for the items of a period: how many reached it, the median and
    90th percentile (nearest rank) in seconds, and the share within the team's target."""

    count: int = 0
    median: float | None = None
    p90: float | None = None
    within_target: float | None = None  # share of `count` never breached; None: count 0


@dataclass(frozen=True)
class Numbers:
    """The numbers of one scope (everything, a team or an area) for one period."""

    items: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)  # ITEM_KINDS -> count
    by_category: dict[str, int] = field(default_factory=dict)  # CATEGORY_KEYS -> count
    acknowledge: Timing = field(default_factory=Timing)
    first_answer: Timing = field(default_factory=Timing)
    resolve: Timing = field(default_factory=Timing)
    sla_breaches: int = 0  # items whose lead was reminded a target had passed
    resolved: int = 0  # items resolved in the period (whenever they came in)
    deals_helped: int = 0  # items resolved in the period with "helped a deal"
    at_risk: dict[str, int] = field(default_factory=dict)  # AT_RISK_OUTCOMES -> count


@dataclass(frozen=True)
class Compared:
    """A scope's numbers for the period and the previous one."""

    scope: str  # "all" | "team" | "area"
    id: int | None  # team or area id; None for "all" (and items with no team or area)
    name: str  # the team's or area's name; "" for "all"
    current: Numbers
    previous: Numbers
    team_id: int | None = None  # for an area: its team


@dataclass(frozen=True)
class CustomerOutcome:
    """An at-risk customer or a deal: shown to admins only (the report to product ops and
    the CPO is for admins; leads see counts)."""

    item_id: int
    customer: str
    outcome: str  # kept | lost | unknown; "deal" for a deal helped
    team: str
    resolved_at: datetime | None


@dataclass(frozen=True)
class WeekPoint:
    week: str  # ISO week "2026-W48" in the report's timezone
    first_day: date
    opened: int  # bug items created that week
    fixed: int  # bug items resolved as fixed that week
    complete: bool = True  # False for a week the period's end (or now) cuts short


@dataclass(frozen=True)
class TimeSaved:
    counts: dict[str, int]  # SAVING_KINDS -> occurrences in the period
    minutes: dict[str, int]  # SAVING_KINDS -> minutes per occurrence (the file's or default)

    @property
    def hours(self) -> float:
        return sum(self.counts.get(k, 0) * self.minutes.get(k, 0) for k in SAVING_KINDS) / 60


@dataclass(frozen=True)
class DemandRow:
    """One of the most-asked items: its reporter and its merged duplicates' reporters (each
    person once; anonymous reporters count, unnamed), and the customers named."""

    item_id: int
    kind: str
    status: str
    text: str  # Slack-formatted, as the reporter wrote it (escaped for mentions when shown)
    team: str
    people: int
    customers: tuple[str, ...]


@dataclass(frozen=True)
class SurveyTrend:
    survey: str
    question_id: str
    question: str
    scale: int  # 5 or 10
    latest_round: int
    latest_mean: float | None
    latest_count: int
    previous_mean: float | None  # the round before the latest; None when there was none
    closes_at: datetime | None


@dataclass(frozen=True)
class ThemeSummary:
    """A theme of an area (bot/insights/themes.py): similar items grouped, labelled by their
    most characteristic words (or the name a lead gave it)."""

    id: int
    area_id: int | None
    area: str
    label: str
    items: int
    previous_items: int  # items of the previous period the theme holds
    examples: tuple[tuple[int, str], ...]  # (item id, text), a few
    team_id: int | None = None  # the area's team (whose lead and backup may edit it)


@dataclass(frozen=True)
class Audience:
    """Who reads the insights: admins everything; a lead or backup their teams only, with
    counts but no customer names."""

    user_id: str | None  # None: the CLI or the report (an admin's view)
    is_admin: bool
    team_ids: tuple[int, ...] = ()  # the teams a lead or backup may read (admins: all)

    @property
    def sees_customers(self) -> bool:
        return self.is_admin


@dataclass(frozen=True)
class CsatRow:
    """ "Did this help?" for one team ("" for every team) in the period and the one before:
    how many answered, how many said it helped (the top score), the mean score (1 to 3)."""

    team: str
    answers: int
    helped: int
    mean: float | None
    previous_answers: int
    previous_helped: int

    @property
    def helped_share(self) -> float | None:
        return self.helped / self.answers if self.answers else None

    @property
    def previous_share(self) -> float | None:
        return self.previous_helped / self.previous_answers if self.previous_answers else None


@dataclass(frozen=True)
class Insights:
    """Everything one reader may see for one period."""

    period: Period
    previous: Period
    generated_at: datetime
    audience: Audience
    total: Compared
    teams: tuple[Compared, ...]
    areas: tuple[Compared, ...]
    bug_trend: tuple[WeekPoint, ...]
    time_saved: TimeSaved
    time_saved_previous: TimeSaved
    demand: tuple[DemandRow, ...]
    surveys: tuple[SurveyTrend, ...]
    themes: tuple[ThemeSummary, ...] = ()
    # Admins only (empty for leads): the customers at risk of the period and their outcome,
    # and the deals helped.
    at_risk_customers: tuple[CustomerOutcome, ...] = ()
    deals: tuple[CustomerOutcome, ...] = ()
    # Open items now past their target, by team name (the SLA state; not a period number).
    late_now: dict[str, int] = field(default_factory=dict)
    # "Did this help?" (bot/csat): every team first (team ""), then each team answered for.
    csat: tuple[CsatRow, ...] = ()
