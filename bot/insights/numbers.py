"""The success indicators for a period, per team and per area, with the change from the
previous period: what every insight view renders (bot/insights/domain.py).

How each number is computed (the README's "Insights" section and the views' "how" lines say
the same; tests check each against a hand computation):

- **Items in**: items created in the period (in the report's timezone, midnight to
  midnight), by kind; pain points by category (bug, feature request, process, other, or not
  set). Imported items and anonymous items count; an item merged into another counts (it
  came in). Team and area are the item's now.
- **Time to acknowledge, first answer, resolve** (bot/sla/timings.py's definitions), for
  the items created in the period: from creation to the first time a person took the item
  up; to its first answer; to its final resolution (items resolved now). Median (the mean of
  the two middle values for an even count) and 90th percentile (nearest rank). Not timed:
  imported items, items answered by a past answer, items merged into another.
- **Within target**: the share of the acknowledged (answered) items whose lead was never
  reminded that the target had passed; **SLA breaches**: items of the period whose lead
  was reminded (or the item escalated) because a target passed, in business hours.
- **Resolved, deals, at-risk customers**: items resolved in the period (whenever they came
  in; items merged into another left out: their flags moved to the kept item): how many,
  how many "helped a deal", and the at-risk customers by outcome (kept, lost, unknown: not
  said). Customer names are shown to admins only.
- **Bug trend**: per ISO week since the first item, bug items opened (created) and bug
  items resolved as fixed (the last week stops at the end of the period, or now).
- **Time saved**: occurrences in the period's items of a past answer reused, a duplicate
  absorbed (merged) and an item routed straight to its owning team (a chosen area, a rule
  or keywords, not triage), each times the minutes one occurrence saves (the routing
  file's `insights: minutes_saved:`, defaults in bot/insights/domain.py), in hours.
- **Demand**: the items asked for by the most people in the period (an item and the items
  merged into it, each person once), then by customers named.
- **Survey trends**: each survey's scale questions, the mean of the latest round closed
  by the end of the period and of the round before.
- **Themes**: the period's largest themes, as last computed in the background
  (bot/insights/themes.py says how).
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.insights import store
from bot.insights.domain import (
    AT_RISK_OUTCOMES,
    CATEGORY_KEYS,
    ITEM_KINDS,
    SAVING_KINDS,
    Audience,
    Compared,
    CsatRow,
    CustomerOutcome,
    DemandRow,
    Insights,
    Numbers,
    SurveyTrend,
    TimeSaved,
    Timing,
    WeekPoint,
)
from bot.insights.file_settings import minutes_saved
from bot.insights.periods import Period, weeks_between
from bot.insights.themes_service import themes_of
from models.routing import Team

DEMAND_TOP = 10
THEMES_TOP = 10
SCALE_KINDS = {"scale5": 5, "scale10": 10}
ALL = "all"


def timing_of(values: Iterable[tuple[float, bool]]) -> Timing:
    """(seconds, breached) pairs → count, median, p90 (nearest rank), share within target."""
    stage = _Stage()
    for seconds, breached in values:
        stage.add(seconds, breached)
    return stage.timing()


class _Stage:
    """One stage's durations (seconds) and how many of them breached a target."""

    __slots__ = ("breached", "seconds")

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.breached = 0

    def add(self, seconds: float, breached: bool) -> None:
        self.seconds.append(seconds)
        self.breached += breached

    def extend(self, other: _Stage) -> None:
        self.seconds += other.seconds
        self.breached += other.breached

    def timing(self) -> Timing:
        if not self.seconds:
            return Timing()
        ordered = sorted(self.seconds)
        count = len(ordered)
        return Timing(
            count=count,
            # Rounded to the millisecond: SQLite's durations are floats of days.
            median=round(float(statistics.median(ordered)), 3),
            p90=round(ordered[max(0, math.ceil(0.9 * count) - 1)], 3),
            within_target=(count - self.breached) / count,
        )


class _Durations:
    """The durations of one team and area for one period, by stage."""

    __slots__ = ("acknowledge", "first_answer", "resolve")

    def __init__(self) -> None:
        self.acknowledge = _Stage()
        self.first_answer = _Stage()
        self.resolve = _Stage()


class _Tally:
    """Accumulates one scope's rows for one period."""

    def __init__(self) -> None:
        self.items = 0
        self.by_kind: dict[str, int] = dict.fromkeys(ITEM_KINDS, 0)
        self.by_category: dict[str, int] = dict.fromkeys(CATEGORY_KEYS, 0)
        self.durations = _Durations()
        self.breaches = 0
        self.resolved = 0
        self.deals = 0
        self.at_risk: dict[str, int] = dict.fromkeys(AT_RISK_OUTCOMES, 0)
        self.saved: dict[str, int] = dict.fromkeys(SAVING_KINDS, 0)

    def add_count(self, row: store.ItemCount) -> None:
        self.items += row.count
        self.by_kind[row.kind] = self.by_kind.get(row.kind, 0) + row.count
        if row.kind == "painpoint":
            key = row.category if row.category in CATEGORY_KEYS else "none"
            self.by_category[key] += row.count
        if row.breached:
            self.breaches += row.count
        self.saved["answer_reused"] += row.count * row.answer_reused
        self.saved["duplicate_absorbed"] += row.count * row.duplicate_absorbed
        self.saved["routed_directly"] += row.count * row.routed_directly

    def add_durations(self, durations: _Durations) -> None:
        self.durations.acknowledge.extend(durations.acknowledge)
        self.durations.first_answer.extend(durations.first_answer)
        self.durations.resolve.extend(durations.resolve)

    def add_resolved(self, group: store.ResolvedGroup) -> None:
        self.resolved += group.count
        if group.helped_deal:
            self.deals += group.count
        if group.at_risk:
            outcome = (
                group.customer_outcome if group.customer_outcome in AT_RISK_OUTCOMES else "unknown"
            )
            self.at_risk[outcome] += group.count

    def numbers(self) -> Numbers:
        resolve = self.durations.resolve.timing()
        return Numbers(
            items=self.items,
            by_kind=dict(self.by_kind),
            by_category=dict(self.by_category),
            acknowledge=self.durations.acknowledge.timing(),
            first_answer=self.durations.first_answer.timing(),
            # No target runs to a resolution: its share is not a target's.
            resolve=Timing(resolve.count, resolve.median, resolve.p90, None),
            sla_breaches=self.breaches,
            resolved=self.resolved,
            deals_helped=self.deals,
            at_risk=dict(self.at_risk),
        )


async def audience_of(session: AsyncSession, user_id: str, admins: Collection[str]) -> Audience:
    """What a person may read: admins everything; leads and backups their teams; others none
    (an audience with no team and not admin)."""
    if user_id in admins:
        return Audience(user_id=user_id, is_admin=True)
    return Audience(
        user_id=user_id, is_admin=False, team_ids=tuple(await store.lead_teams(session, user_id))
    )


def may_read(audience: Audience) -> bool:
    return audience.is_admin or bool(audience.team_ids)


ADMIN = Audience(user_id=None, is_admin=True)


async def compute_insights(
    sessions: async_sessionmaker[AsyncSession],
    period: Period,
    audience: Audience,
    *,
    now: datetime,
    teams: Sequence[str] | None = None,
) -> Insights:
    """Everything `audience` may read for `period` (and the previous one), optionally only
    for the teams named (case-insensitive). A fixed number of queries, whatever the data."""
    previous = period.previous()
    async with sessions() as session:
        all_teams, all_areas = await store.names(session)
        team_ids = _visible_teams(all_teams, audience, teams)
        counts = await store.item_counts(
            session, previous.start, period.start, period.end, team_ids
        )
        durations = await store.item_durations(
            session, previous.start, period.start, period.end, team_ids
        )
        resolved = await store.resolved_groups(
            session, previous.start, period.start, period.end, team_ids
        )
        customers = (
            await store.customer_rows(session, period.start, period.end, team_ids)
            if audience.sees_customers
            else []
        )
        first = await store.first_item_at(session, team_ids)
        week_periods = (
            weeks_between(first, min(now, period.end - timedelta(microseconds=1)), period.timezone)
            if first is not None
            else []
        )
        # The last week stops where the period does (or now): nothing after it counts.
        until = min(now, period.end)
        opened, fixed = await store.bug_weeks(
            session, [(w.start, min(w.end, until)) for w in week_periods], team_ids
        )
        demand = await store.most_asked(session, period.start, period.end, team_ids, DEMAND_TOP)
        rounds = await store.survey_rounds(session, min(now, period.end))
        minutes = await minutes_saved(session)
        late = await store.late_now(session, now, team_ids)
        csat = await store.csat_scores(
            session, (period.start, period.end), (previous.start, previous.end), team_ids
        )
        area_ids = (
            None
            if team_ids is None
            else [area.id for area in all_areas.values() if area.team_id in team_ids]
        )
        themes = await themes_of(session, period, area_ids, THEMES_TOP)

    tallies: dict[tuple[str, int | None, bool], _Tally] = defaultdict(_Tally)
    for row in counts:
        for key in ((ALL, None), ("team", row.team_id), ("area", row.area_id)):
            tallies[(*key, row.current)].add_count(row)
    # One pass over the timed items, into a list per team and area; then each list joins its
    # team's, its area's and the total's (a 100 000-item quarter is read in one go).
    buckets: dict[tuple[bool, int | None, int | None], _Durations] = defaultdict(_Durations)
    for current, team_id, area_id, ack, answer, resolve, breached in durations:
        bucket = buckets[(current, team_id, area_id)]
        if ack is not None:
            bucket.acknowledge.add(ack, breached)
        if answer is not None:
            bucket.first_answer.add(answer, breached)
        if resolve is not None:
            bucket.resolve.add(resolve, breached)
    for (current, team_id, area_id), bucket in buckets.items():
        for key in ((ALL, None), ("team", team_id), ("area", area_id)):
            tallies[(*key, current)].add_durations(bucket)
    for group in resolved:
        for key in ((ALL, None), ("team", group.team_id), ("area", group.area_id)):
            tallies[(*key, group.current)].add_resolved(group)

    def compared(scope: str, id_: int | None, name: str, team_id: int | None = None) -> Compared:
        return Compared(
            scope=scope,
            id=id_,
            name=name,
            current=tallies[(scope, id_, True)].numbers()
            if (scope, id_, True) in tallies
            else Numbers(),
            previous=tallies[(scope, id_, False)].numbers()
            if (scope, id_, False) in tallies
            else Numbers(),
            team_id=team_id,
        )

    seen_teams = {key[1] for key in tallies if key[0] == "team"}
    team_rows = [
        compared("team", team.id, team.name)
        for team in sorted(all_teams.values(), key=lambda t: (t.position, t.id))
        if (team_ids is None or team.id in team_ids)
        and (not team.archived or team.id in seen_teams)
    ]
    if None in seen_teams and team_ids is None:
        team_rows.append(compared("team", None, ""))
    seen_areas = {key[1] for key in tallies if key[0] == "area"}
    area_rows = [
        compared("area", area.id, area.name, area.team_id)
        for area in sorted(all_areas.values(), key=lambda a: (a.team_id, a.position, a.id))
        if (team_ids is None or area.team_id in team_ids)
        and (not area.archived or area.id in seen_areas)
    ]
    current_saved = tallies[(ALL, None, True)].saved if (ALL, None, True) in tallies else {}
    previous_saved = tallies[(ALL, None, False)].saved if (ALL, None, False) in tallies else {}
    team_names = {team.id: team.name for team in all_teams.values()}
    return Insights(
        period=period,
        previous=previous,
        generated_at=now,
        audience=audience,
        total=compared(ALL, None, ""),
        teams=tuple(team_rows),
        areas=tuple(area_rows),
        bug_trend=tuple(
            WeekPoint(w.key, w.first_day, opened.get(i, 0), fixed.get(i, 0), w.end <= until)
            for i, w in enumerate(week_periods)
        ),
        time_saved=TimeSaved(
            counts={k: current_saved.get(k, 0) for k in SAVING_KINDS}, minutes=minutes
        ),
        time_saved_previous=TimeSaved(
            counts={k: previous_saved.get(k, 0) for k in SAVING_KINDS}, minutes=minutes
        ),
        demand=tuple(
            DemandRow(
                item_id=d.item_id,
                kind=d.kind,
                status=d.status,
                text=d.text,
                team=team_names.get(d.team_id, "") if d.team_id is not None else "",
                people=d.people_in_period,
                customers=d.customers if audience.sees_customers else (),
            )
            for d in demand
        ),
        surveys=tuple(_survey_trends(rounds)),
        themes=tuple(themes),
        at_risk_customers=tuple(
            CustomerOutcome(
                c.item_id,
                c.customer,
                c.outcome if c.outcome in AT_RISK_OUTCOMES else "unknown",
                team_names.get(c.team_id, "") if c.team_id is not None else "",
                c.resolved_at,
            )
            for c in customers
            if c.at_risk
        ),
        deals=tuple(
            CustomerOutcome(
                c.item_id,
                c.customer,
                "deal",
                team_names.get(c.team_id, "") if c.team_id is not None else "",
                c.resolved_at,
            )
            for c in customers
            if c.helped_deal
        ),
        late_now={
            (team_names.get(team_id, "") if team_id is not None else ""): count
            for team_id, count in late.items()
        },
        csat=_csat_rows(csat, team_names),
    )


def _csat_rows(
    rows: list[tuple[bool, int | None, int, int, int]], team_names: dict[int, str]
) -> tuple[CsatRow, ...]:
    """Every team's "did this help?" first, then each team's (file order of its name)."""
    sums: dict[tuple[str, bool], list[int]] = defaultdict(lambda: [0, 0, 0])
    for current, team_id, answers, helped, total in rows:
        name = team_names.get(team_id, "") if team_id is not None else "—"
        for key in (("", current), (name, current)):
            sums[key][0] += answers
            sums[key][1] += helped
            sums[key][2] += total
    if not sums:
        return ()
    teams = sorted({name for name, _ in sums if name}, key=str.casefold)

    def row(name: str) -> CsatRow:
        now, before = sums.get((name, True), [0, 0, 0]), sums.get((name, False), [0, 0, 0])
        return CsatRow(
            team=name,
            answers=now[0],
            helped=now[1],
            mean=now[2] / now[0] if now[0] else None,
            previous_answers=before[0],
            previous_helped=before[1],
        )

    return (row(""), *(row(name) for name in teams))


class UnknownTeamError(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _visible_teams(
    all_teams: dict[int, Team], audience: Audience, names: Sequence[str] | None
) -> set[int] | None:
    """The team ids the numbers are restricted to (None: no restriction)."""
    allowed: set[int] | None = None if audience.is_admin else set(audience.team_ids)
    if names:
        by_name = {team.name.casefold(): team.id for team in all_teams.values()}
        chosen = set()
        for name in names:
            if name.casefold() not in by_name:
                raise UnknownTeamError(name)
            chosen.add(by_name[name.casefold()])
        allowed = chosen if allowed is None else allowed & chosen
    return allowed


def _survey_trends(rounds: list[store.RoundMeans]) -> list[SurveyTrend]:
    by_survey: dict[str, list[store.RoundMeans]] = defaultdict(list)
    for each in rounds:
        by_survey[each.survey].append(each)
    trends = []
    for survey, its_rounds in sorted(by_survey.items()):
        its_rounds.sort(key=lambda r: r.round_number)
        latest = its_rounds[-1]
        before = its_rounds[-2] if len(its_rounds) > 1 else None
        for question in latest.questions:
            scale = SCALE_KINDS.get(str(question.get("kind")))
            if scale is None:
                continue
            qid = str(question.get("id"))
            mean, count = latest.means.get(qid, (None, 0))
            previous = before.means.get(qid, (None, 0))[0] if before else None
            trends.append(
                SurveyTrend(
                    survey=survey,
                    question_id=qid,
                    question=str(question.get("text", "")),
                    scale=scale,
                    latest_round=latest.round_number,
                    latest_mean=mean,
                    latest_count=count,
                    previous_mean=previous,
                    closes_at=latest.closes_at,
                )
            )
    return trends


# --- reused for a while -------------------------------------------------------------------------

# The insights a view computed lately, per database, period, reader's scope and teams: a
# person switching tabs or periods, or several admins opening the Home, reuse them for
# CACHE_SECONDS (a quarter of a million-item database takes about a second to compute).
CACHE_SECONDS = 300.0
_cache: dict[tuple[object, ...], tuple[float, Insights]] = {}


async def cached_insights(
    sessions: async_sessionmaker[AsyncSession],
    period: Period,
    audience: Audience,
    *,
    now: datetime,
    teams: Sequence[str] | None = None,
    max_age: float = CACHE_SECONDS,
) -> Insights:
    """`compute_insights`, reused when the same scope asked within `max_age` seconds (the
    App Home; the report and `jerry insights` compute afresh)."""
    import time

    scope = ("admin",) if audience.is_admin else tuple(sorted(audience.team_ids))
    key = (id(sessions), period.key, period.timezone, scope, tuple(teams or ()))
    stamp = time.monotonic()
    found = _cache.get(key)
    if found is not None and stamp - found[0] <= max_age:
        return replace(found[1], audience=audience)
    insights = await compute_insights(sessions, period, audience, now=now, teams=teams)
    if len(_cache) > 256:  # bounded: the oldest half goes
        for old in sorted(_cache, key=lambda k: _cache[k][0])[:128]:
            del _cache[old]
    _cache[key] = (stamp, insights)
    return insights


def forget_cached() -> None:
    _cache.clear()
