"""The rows a weekly summary is built from (bot/summaries/content.py): one query per section.

A period's items come from the created_at index (ix_items_created_at) and are aggregated in
SQL per area; the shared answers and the resolutions of a period come from their own indexes
(ix_items_share_in_summary_answered_at, ix_items_resolved_at). Nothing here loads every item.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.items.domain import NO_REPORTER
from models.items import Item
from models.routing import Area, Team
from models.summaries import SummaryPost, SummarySubscription
from models.trackers import UpdateItem
from models.updates import ProductUpdate


@dataclass(frozen=True)
class AreaRow:
    id: int
    name: str
    keywords: tuple[str, ...]
    team: str
    archived: bool


@dataclass(frozen=True)
class UpdateRow:
    id: int
    kind: str
    title: str
    customer_impact: str | None
    area_id: int | None
    link: str | None
    shipped_on: date | None
    target_date: date | None
    confidence: str | None
    audience: str
    from_feed: bool
    created_at: datetime  # when Jerry recorded it (typed with /shipped, or fetched)


@dataclass(frozen=True)
class VoiceCountRow:
    area_id: int | None
    painpoints: int
    questions: int
    answered: int
    resolved: int


@dataclass(frozen=True)
class VoiceTextRow:
    area_id: int | None
    text: str
    route_detail: dict[str, Any]


@dataclass(frozen=True)
class SharedRow:
    item_id: int
    text: str
    answer: str
    area_id: int | None
    team: str | None
    answered_at: datetime


@dataclass(frozen=True)
class NumberRows:
    routed: int
    resolved: int
    item_ids: list[int]  # items created in the period (for the time to first answer)


async def areas(session: AsyncSession) -> list[AreaRow]:
    """Every area (archived ones too: old items and updates still point at them)."""
    rows = await session.execute(
        select(Area.id, Area.name, Area.keywords, Area.archived, Team.name.label("team"))
        .join(Team, Team.id == Area.team_id)
        .order_by(Team.position, Area.position, Area.id)
    )
    return [AreaRow(r.id, r.name, tuple(r.keywords or ()), r.team, bool(r.archived)) for r in rows]


def _update_scope(statement: Select[Any], area_ids: Sequence[int] | None) -> Select[Any]:
    if area_ids is None:
        return statement
    return statement.where(ProductUpdate.area_id.in_(list(area_ids)))


def _update_row(u: ProductUpdate) -> UpdateRow:
    return UpdateRow(
        id=u.id,
        kind=u.kind,
        title=u.title,
        customer_impact=u.customer_impact,
        area_id=u.area_id,
        link=u.link,
        shipped_on=u.shipped_on,
        target_date=u.target_date,
        confidence=u.confidence,
        audience=u.audience,
        from_feed=u.feed_id is not None,
        created_at=u.created_at,
    )


async def shipped_updates(
    session: AsyncSession,
    area_ids: Sequence[int] | None,
    first: date,
    last: date,
    start: datetime,
    end: datetime,
) -> list[UpdateRow]:
    """Active "shipped" updates that may count in the period (bot/summaries/content.py says
    which do): shipped from `first` to `last` (local days, both included), or shipped by
    `last` and recorded in [start, end) (index kind, shipped_on)."""
    statement = _update_scope(
        select(ProductUpdate).where(
            ProductUpdate.kind == "shipped",
            ProductUpdate.status == "active",
            ProductUpdate.shipped_on <= last,
            or_(
                ProductUpdate.shipped_on >= first,
                and_(ProductUpdate.created_at >= start, ProductUpdate.created_at < end),
            ),
        ),
        area_ids,
    ).order_by(ProductUpdate.shipped_on, ProductUpdate.id)
    return [_update_row(u) for u in (await session.scalars(statement))]


async def asked_for(session: AsyncSession, update_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """For the shipped updates that name items (/shipped's "#12"): how many people asked for
    them (the items' reporters and their followers', each once) and how many customers
    they named (each once, case aside). Updates naming no item are left out."""
    if not update_ids:
        return {}
    asked = aliased(Item, name="asked")
    rows = await session.execute(
        select(UpdateItem.update_id, asked.reporter_id, asked.customer)
        .join(Item, Item.id == UpdateItem.item_id)
        .join(
            asked,
            or_(
                asked.id == func.coalesce(Item.merged_into, Item.id),
                asked.merged_into == func.coalesce(Item.merged_into, Item.id),
            ),
        )
        .where(UpdateItem.update_id.in_(list(update_ids)))
    )
    people: dict[int, set[str]] = {}
    customers: dict[int, set[str]] = {}
    for update_id, reporter, customer in rows:
        people.setdefault(update_id, set())
        customers.setdefault(update_id, set())
        if reporter and reporter != NO_REPORTER:
            people[update_id].add(reporter)
        if customer and customer.strip():
            customers[update_id].add(customer.strip().casefold())
    return {key: (len(people[key]), len(customers[key])) for key in people}


async def upcoming_updates(
    session: AsyncSession, area_ids: Sequence[int] | None, until: date
) -> list[UpdateRow]:
    """Active "upcoming" updates with a target date up to `until` (past ones too: overdue)."""
    statement = _update_scope(
        select(ProductUpdate).where(
            ProductUpdate.kind == "upcoming",
            ProductUpdate.status == "active",
            ProductUpdate.target_date.is_not(None),
            ProductUpdate.target_date <= until,
        ),
        area_ids,
    ).order_by(ProductUpdate.target_date, ProductUpdate.id)
    return [_update_row(u) for u in (await session.scalars(statement))]


def _items_in(area_ids: Sequence[int] | None) -> list[Any]:
    return [] if area_ids is None else [Item.area_id.in_(list(area_ids))]


async def voice_counts(
    session: AsyncSession, area_ids: Sequence[int] | None, start: datetime, end: datetime
) -> list[VoiceCountRow]:
    """Per area, the period's pain points and questions, and how many were answered/resolved."""
    rows = await session.execute(
        select(
            Item.area_id,
            func.sum(case((Item.kind == "painpoint", 1), else_=0)).label("painpoints"),
            func.sum(case((Item.kind == "question", 1), else_=0)).label("questions"),
            func.count(Item.answered_at).label("answered"),
            func.count(Item.resolved_at).label("resolved"),
        )
        .where(Item.created_at >= start, Item.created_at < end, *_items_in(area_ids))
        .group_by(Item.area_id)
    )
    return [
        VoiceCountRow(
            r.area_id, int(r.painpoints or 0), int(r.questions or 0), r.answered, r.resolved
        )
        for r in rows
    ]


async def voice_texts(
    session: AsyncSession, area_ids: Sequence[int] | None, start: datetime, end: datetime
) -> list[VoiceTextRow]:
    """The period's item texts and routing details (for the themes), and nothing about people."""
    rows = await session.execute(
        select(Item.area_id, Item.text, Item.route_detail)
        .where(Item.created_at >= start, Item.created_at < end, *_items_in(area_ids))
        .order_by(Item.id)
    )
    return [VoiceTextRow(r.area_id, r.text, dict(r.route_detail or {})) for r in rows]


async def customer_names(session: AsyncSession, start: datetime, end: datetime) -> list[str]:
    """The customers named on the period's items, every area (a summary never shows them)."""
    rows = await session.execute(
        select(Item.customer)
        .where(Item.created_at >= start, Item.created_at < end, Item.customer.is_not(None))
        .distinct()
    )
    return [name for name in rows.scalars() if name and name.strip()]


async def shared_answers(
    session: AsyncSession, area_ids: Sequence[int] | None, start: datetime, end: datetime
) -> list[SharedRow]:
    """Questions answered in the period whose lead ticked "share in the summary"."""
    rows = await session.execute(
        select(
            Item.id,
            Item.text,
            Item.answer_text,
            Item.area_id,
            Team.name.label("team"),
            Item.shared_at,
        )
        .outerjoin(Team, Team.id == Item.team_id)
        .where(
            Item.shared_at >= start,  # set only while the latest answer is shared
            Item.shared_at < end,
            Item.kind == "question",
            Item.answer_text.is_not(None),
            *_items_in(area_ids),
        )
        .order_by(Item.shared_at, Item.id)
    )
    return [
        SharedRow(r.id, r.text, r.answer_text or "", r.area_id, r.team, r.shared_at) for r in rows
    ]


async def number_rows(
    session: AsyncSession, area_ids: Sequence[int] | None, start: datetime, end: datetime
) -> NumberRows:
    """Items routed in the period (created, sent to a team), resolved in it, and their ids."""
    created = await session.execute(
        select(Item.id, Item.team_id).where(
            Item.created_at >= start, Item.created_at < end, *_items_in(area_ids)
        )
    )
    ids: list[int] = []
    routed = 0
    for row in created:
        ids.append(row.id)
        routed += row.team_id is not None
    resolved = await session.scalar(
        select(func.count(Item.id)).where(
            Item.resolved_at >= start, Item.resolved_at < end, *_items_in(area_ids)
        )
    )
    return NumberRows(routed=routed, resolved=int(resolved or 0), item_ids=ids)


async def subscription_by_id(
    session: AsyncSession, subscription_id: int
) -> SummarySubscription | None:
    return await session.get(SummarySubscription, subscription_id)


async def posted_period(
    session: AsyncSession, subscription_id: int, week: str
) -> tuple[datetime, datetime] | None:
    """The period the latest posted summary of that week covered (None: not posted)."""
    row = (
        await session.execute(
            select(SummaryPost.period_start, SummaryPost.period_end)
            .where(
                SummaryPost.subscription_id == subscription_id,
                SummaryPost.week == week,
                SummaryPost.status == "posted",
                SummaryPost.period_start.is_not(None),
                SummaryPost.period_end.is_not(None),
            )
            .order_by(SummaryPost.sequence.desc())
            .limit(1)
        )
    ).first()
    return (row.period_start, row.period_end) if row else None
