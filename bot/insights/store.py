"""The queries behind the insights (bot/insights/numbers.py): a fixed number of them for any
amount of data, each reading an index range or an aggregate, never one query per item.

Durations are computed by the database (seconds, as floats), so no timestamp is parsed in
Python: a quarter of 100 000 items is read as small tuples of numbers.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    case,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.items.demand import NOBODY, root_column, split_customers
from bot.items.domain import IMPORT_SOURCE
from models.base import UTCDateTime
from models.csat import CsatAnswer
from models.items import CLOSED_STATUSES, Item
from models.routing import Area, Team
from models.surveys import Survey, SurveyAnswer, SurveyRound

# Routing steps that sent an item straight to its owning team (not through triage).
DIRECT_STEPS = ("chosen_area", "rule", "keywords")
WEEKS_PER_QUERY = 400  # SQLite allows 500 terms in one compound SELECT


def dialect_of(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def seconds_between(session: AsyncSession, later: Any, earlier: Any) -> ColumnElement[Any]:
    """`later - earlier` in seconds, computed by the database."""
    if dialect_of(session) == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    # date_part (double precision), not extract (numeric since PostgreSQL 14: slow decoding).
    return func.date_part("epoch", later - earlier)


def not_merged() -> ColumnElement[bool]:
    """`merged_into IS NULL`, written so that no planner reads the items by
    ix_items_merged_into (almost every item has none: SQLite would scan them all that way)
    instead of by the period's range."""
    return func.coalesce(Item.merged_into, 0) == 0


def _teams_filter(team_ids: Collection[int] | None) -> list[ColumnElement[bool]]:
    return [] if team_ids is None else [Item.team_id.in_(list(team_ids))]


@dataclass(frozen=True)
class ItemCount:
    """How many items that came in during the period (or the previous one) share a team, an
    area, a kind, a category and the time-saved flags."""

    current: bool  # in the period (else the previous one)
    team_id: int | None
    area_id: int | None
    kind: str
    category: str | None
    breached: bool
    answer_reused: bool
    duplicate_absorbed: bool
    routed_directly: bool
    count: int


async def item_counts(
    session: AsyncSession,
    start: datetime,
    middle: datetime,
    end: datetime,
    team_ids: Collection[int] | None,
) -> list[ItemCount]:
    """Items created in [start, end), grouped; `current` when created at or after `middle`.
    Read from the insights index alone (ix_items_insights, migration 0026)."""
    current = (Item.created_at >= middle).label("current")
    reused = (Item.similar_choice == "answered").label("reused")
    merged = Item.merged_into.is_not(None).label("merged")
    direct = Item.route_step.in_(DIRECT_STEPS).label("direct")
    keys = (
        current,
        Item.team_id,
        Item.area_id,
        Item.kind,
        Item.category,
        Item.sla_breached,
        reused,
        merged,
        direct,
    )
    statement = (
        select(*keys, func.count())
        .where(Item.created_at >= start, Item.created_at < end, *_teams_filter(team_ids))
        .group_by(*keys)
    )
    return [
        ItemCount(
            bool(r[0]),
            r[1],
            r[2],
            r[3],
            r[4],
            bool(r[5]),
            bool(r[6]),
            bool(r[7]),
            bool(r[8]),
            int(r[9]),
        )
        for r in (await session.execute(statement)).all()
    ]


async def item_durations(
    session: AsyncSession,
    start: datetime,
    middle: datetime,
    end: datetime,
    team_ids: Collection[int] | None,
) -> list[tuple[bool, int | None, int | None, float | None, float | None, float | None, bool]]:
    """(current, team, area, to acknowledge, to first answer, to resolve, breached) of the
    timed items created in [start, end) that a person took up, in seconds (floats; SQLite's
    julianday() makes them a few microseconds off, which the callers round away).

    Not timed: imported items (their lead was never asked at the time), items answered by a
    past answer (no lead involved) and items merged into another (the kept item's times
    count)."""

    def since_created(column: Any) -> ColumnElement[Any]:
        return case(
            (column >= Item.created_at, seconds_between(session, column, Item.created_at)),
            else_=null(),
        )

    resolved_now = and_(Item.status == "resolved", Item.resolved_at.is_not(None))
    statement = select(
        Item.created_at >= middle,
        Item.team_id,
        Item.area_id,
        since_created(Item.first_acknowledged_at),
        since_created(Item.first_answered_at),
        case((resolved_now, since_created(Item.resolved_at)), else_=null()),
        Item.sla_breached,
    ).where(
        Item.created_at >= start,
        Item.created_at < end,
        Item.first_acknowledged_at.is_not(None) | Item.first_answered_at.is_not(None),
        Item.source != IMPORT_SOURCE,
        or_(Item.similar_choice.is_(None), Item.similar_choice != "answered"),
        not_merged(),
        *_teams_filter(team_ids),
    )
    # Core rows (the session's connection): no ORM processing of 100 000 tuples.
    connection = await session.connection()
    return [tuple(row) for row in (await connection.execute(statement)).all()]


@dataclass(frozen=True)
class ResolvedGroup:
    """Items resolved in a period, grouped: how many, with a deal helped, at risk by outcome."""

    current: bool
    team_id: int | None
    area_id: int | None
    at_risk: bool
    customer_outcome: str | None
    helped_deal: bool
    count: int


def _resolved_in(start: datetime, end: datetime) -> list[ColumnElement[bool]]:
    # Merged items are closed as duplicates: their flags moved to the kept item.
    return [
        Item.resolved_at >= start,
        Item.resolved_at < end,
        Item.status.in_(CLOSED_STATUSES),
        not_merged(),
    ]


async def resolved_groups(
    session: AsyncSession,
    start: datetime,
    middle: datetime,
    end: datetime,
    team_ids: Collection[int] | None,
) -> list[ResolvedGroup]:
    current = (Item.resolved_at >= middle).label("current")
    at_risk = Item.customer_at_risk.label("at_risk")
    statement = (
        select(
            current,
            Item.team_id,
            Item.area_id,
            at_risk,
            Item.customer_outcome,
            Item.helped_deal,
            func.count(),
        )
        .where(*_resolved_in(start, end), *_teams_filter(team_ids))
        .group_by(
            current, Item.team_id, Item.area_id, at_risk, Item.customer_outcome, Item.helped_deal
        )
    )
    return [
        ResolvedGroup(bool(r[0]), r[1], r[2], bool(r[3]), r[4], bool(r[5]), int(r[6]))
        for r in (await session.execute(statement)).all()
    ]


@dataclass(frozen=True)
class CustomerRow:
    item_id: int
    customer: str
    at_risk: bool
    outcome: str | None
    helped_deal: bool
    team_id: int | None
    resolved_at: datetime | None


async def customer_rows(
    session: AsyncSession, start: datetime, end: datetime, team_ids: Collection[int] | None
) -> list[CustomerRow]:
    """At-risk customers and deals resolved in the period (admins see these names)."""
    statement = (
        select(
            Item.id,
            Item.customer,
            Item.customer_at_risk,
            Item.customer_outcome,
            Item.helped_deal,
            Item.team_id,
            Item.resolved_at,
        )
        .where(
            *_resolved_in(start, end),
            *_teams_filter(team_ids),
            Item.customer.is_not(None),
            or_(Item.customer_at_risk, Item.helped_deal),
        )
        .order_by(Item.resolved_at, Item.id)
    )
    return [
        CustomerRow(r[0], r[1] or "", r[2], r[3], r[4], r[5], r[6])
        for r in (await session.execute(statement)).all()
    ]


async def first_item_at(session: AsyncSession, team_ids: Collection[int] | None) -> datetime | None:
    statement = select(func.min(Item.created_at)).where(*_teams_filter(team_ids))
    return (await session.execute(statement)).scalar()


async def bug_weeks(
    session: AsyncSession,
    weeks: Sequence[tuple[datetime, datetime]],
    team_ids: Collection[int] | None,
) -> tuple[dict[int, int], dict[int, int]]:
    """Per week (its index in `weeks`): bug items opened, and bug items resolved as fixed.
    Each week is an index range on (category, created_at) / (category, resolved_at)."""
    opened: dict[int, int] = {}
    fixed: dict[int, int] = {}
    for offset in range(0, len(weeks), WEEKS_PER_QUERY):
        chunk = weeks[offset : offset + WEEKS_PER_QUERY]
        table = union_all(
            *(
                select(
                    literal(offset + i, Integer).label("n"),
                    literal(start, UTCDateTime()).label("ws"),
                    literal(end, UTCDateTime()).label("we"),
                )
                for i, (start, end) in enumerate(chunk)
            )
        ).subquery("weeks")
        for column, into, extra in (
            (Item.created_at, opened, []),
            # A merged item's outcome is "duplicate": never counted as fixed.
            (Item.resolved_at, fixed, [Item.outcome == "fixed"]),
        ):
            # One index range count per week (a correlated count): the planner cannot turn
            # it into a scan of every bug item against every week.
            counted = (
                select(func.count())
                .where(
                    Item.category == "bug",
                    column >= table.c.ws,
                    column < table.c.we,
                    *extra,
                    *_teams_filter(team_ids),
                )
                .correlate(table)
                .scalar_subquery()
            )
            statement = select(table.c.n, counted).select_from(table)
            for n, count in (await session.execute(statement)).all():
                if count:
                    into[int(n)] = int(count)
    return opened, fixed


@dataclass(frozen=True)
class DemandTop:
    item_id: int
    kind: str
    status: str
    text: str
    team_id: int | None
    people: int  # distinct reporters of the item and its merged duplicates, all time
    people_in_period: int
    customers: tuple[str, ...]


async def most_asked(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    team_ids: Collection[int] | None,
    limit: int,
) -> list[DemandTop]:
    """The items asked for by the most people in the period (an item and the items merged
    into it, each person once; nobody-reporters of imports not counted), then by customers."""
    root = root_column().label("root")
    asked = (
        select(root, func.count(func.distinct(Item.reporter_id)).label("people"))
        .where(
            Item.created_at >= start,
            Item.created_at < end,
            Item.reporter_id.not_in(tuple(NOBODY)),
        )
        .group_by(root)
        .subquery("asked")
    )
    kept = select(Item.id, Item.kind, Item.status, Item.text, Item.team_id, asked.c.people).join(
        asked, asked.c.root == Item.id
    )
    kept = kept.where(*_teams_filter(team_ids))
    kept = kept.where(asked.c.people > 1).order_by(asked.c.people.desc(), Item.id).limit(limit)
    tops = (await session.execute(kept)).all()
    if not tops:
        return []
    ids = [row.id for row in tops]
    everyone = (
        select(root, Item.reporter_id, Item.customer)
        .where(or_(Item.id.in_(ids), Item.merged_into.in_(ids)))
        .order_by(Item.id)
    )
    people: dict[int, set[str]] = {i: set() for i in ids}
    customers: dict[int, dict[str, str]] = {i: {} for i in ids}
    for row in (await session.execute(everyone)).all():
        if row.root in people:
            people[row.root].add(row.reporter_id)
            for name in split_customers(row.customer):
                customers[row.root].setdefault(name.casefold(), name)
    found = [
        DemandTop(
            item_id=row.id,
            kind=row.kind,
            status=row.status,
            text=row.text,
            team_id=row.team_id,
            people=len(people[row.id] - NOBODY),
            people_in_period=int(row.people),
            customers=tuple(sorted(customers[row.id].values(), key=str.casefold)),
        )
        for row in tops
    ]
    return sorted(found, key=lambda d: (-d.people_in_period, -len(d.customers), d.item_id))


async def late_now(
    session: AsyncSession, now: datetime, team_ids: Collection[int] | None
) -> dict[int | None, int]:
    """Open items past their target now, by team (as the admin Home counts them)."""
    statement = (
        select(Item.team_id, func.count())
        .where(
            # (Not `resolved_at IS NULL`: SQLite would read every open item by that index.)
            Item.status.not_in(CLOSED_STATUSES),
            Item.sla_due_at.is_not(None),
            Item.sla_due_at <= now,
            *_teams_filter(team_ids),
        )
        .group_by(Item.team_id)
    )
    return {row[0]: int(row[1]) for row in (await session.execute(statement)).all()}


async def csat_scores(
    session: AsyncSession,
    current: tuple[datetime, datetime],
    previous: tuple[datetime, datetime],
    team_ids: Collection[int] | None,
) -> list[tuple[bool, int | None, int, int, int]]:
    """ "Did this help?" answers of the period and the one before, by team: (current, team,
    answers, helped (score 3), sum of scores)."""
    # Rendered inline, so PostgreSQL sees the GROUP BY's expression as the SELECT's.
    in_current = case(
        (CsatAnswer.answered_at >= current[0], literal_column("1")), else_=literal_column("0")
    )
    statement = (
        select(
            in_current.label("current"),
            CsatAnswer.team_id,
            func.count(),
            func.sum(case((CsatAnswer.score == 3, 1), else_=0)),
            func.sum(CsatAnswer.score),
        )
        .where(CsatAnswer.answered_at >= previous[0], CsatAnswer.answered_at < current[1])
        .group_by(in_current, CsatAnswer.team_id)
    )
    if team_ids is not None:
        statement = statement.where(CsatAnswer.team_id.in_(list(team_ids)))
    return [
        (bool(row[0]), row[1], int(row[2]), int(row[3] or 0), int(row[4] or 0))
        for row in (await session.execute(statement)).all()
    ]


async def names(session: AsyncSession) -> tuple[dict[int, Team], dict[int, Area]]:
    teams = {t.id: t for t in (await session.execute(select(Team))).scalars()}
    areas = {a.id: a for a in (await session.execute(select(Area))).scalars()}
    return teams, areas


@dataclass(frozen=True)
class RoundMeans:
    survey: str
    round_number: int
    closes_at: datetime
    questions: list[dict[str, Any]]
    means: dict[str, tuple[float, int]]  # question id -> (mean, count)


async def survey_rounds(session: AsyncSession, until: datetime) -> list[RoundMeans]:
    """Each survey's two latest rounds closed by `until`, with their scale questions' means
    (answers counted as the survey results count them: before the round's cutoff)."""
    ranked = (
        select(
            SurveyRound.id,
            func.row_number()
            .over(partition_by=SurveyRound.survey_id, order_by=SurveyRound.number.desc())
            .label("rank"),
        )
        .where(SurveyRound.status == "closed", SurveyRound.closes_at <= until)
        .subquery("ranked")
    )
    rounds = (
        await session.execute(
            select(SurveyRound, Survey.name)
            .join(ranked, ranked.c.id == SurveyRound.id)
            .join(Survey, Survey.id == SurveyRound.survey_id)
            .where(ranked.c.rank <= 2, Survey.archived.is_(False))
            .order_by(Survey.name, SurveyRound.number)
        )
    ).all()
    if not rounds:
        return []
    cutoff = func.coalesce(SurveyRound.closed_at, SurveyRound.closes_at)
    statement = (
        select(
            SurveyAnswer.round_id,
            SurveyAnswer.question_id,
            func.avg(SurveyAnswer.number),
            func.count(SurveyAnswer.number),
        )
        .join(SurveyRound, SurveyRound.id == SurveyAnswer.round_id)
        .where(
            SurveyAnswer.round_id.in_([r[0].id for r in rounds]),
            SurveyAnswer.number.is_not(None),
            SurveyAnswer.answered_at <= func.min(cutoff, SurveyRound.closes_at)
            if dialect_of(session) == "sqlite"
            else SurveyAnswer.answered_at <= func.least(cutoff, SurveyRound.closes_at),
        )
        .group_by(SurveyAnswer.round_id, SurveyAnswer.question_id)
    )
    means: dict[int, dict[str, tuple[float, int]]] = {}
    for round_id, question_id, mean, count in (await session.execute(statement)).all():
        means.setdefault(round_id, {})[question_id] = (float(mean), int(count))
    return [
        RoundMeans(name, r.number, r.closes_at, list(r.questions or []), means.get(r.id, {}))
        for r, name in rounds
    ]


async def lead_teams(session: AsyncSession, user_id: str) -> list[int]:
    """The teams a person leads or backs up (archived ones left out)."""
    statement = (
        select(Team.id)
        .where(or_(Team.lead == user_id, Team.backup == user_id), Team.archived.is_(False))
        .order_by(Team.position, Team.id)
    )
    return list((await session.execute(statement)).scalars())


async def lead_ids(session: AsyncSession) -> list[str]:
    """Everyone who leads or backs up a team (archived teams left out), each once."""
    rows = await session.execute(
        select(Team.lead, Team.backup).where(Team.archived.is_(False)).order_by(Team.position)
    )
    found: dict[str, None] = {}
    for lead, backup in rows:
        for person in (lead, backup):
            if person:
                found[person] = None
    return list(found)
