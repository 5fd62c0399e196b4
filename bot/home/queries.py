"""Queries behind the App Home: a few per list, never one per item.

Each list is read a page at a time (LIMIT/OFFSET, with its total in a second query); the
teams are loaded once and joined; late items are found from the due instant the reminders
tick stores, so rendering a Home costs about the same for 1 item or 10 000.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import raiseload

from bot.items.demand import DEFAULT_QUEUE_SORT, QUEUE_SORTS, queue_order
from models.base import utcnow
from models.deliveries import Delivery
from models.help import HomePreference
from models.items import CHECK_NOW, Item
from models.routing import RoutingRule, Team
from models.users import SlackUser

ItemRow = tuple[Item, Team | None]

# What the SLA clock needs of an open item (its text is left out: it can be long).
_CLOCK_COLUMNS = (
    "id",
    "kind",
    "status",
    "created_at",
    "acknowledged_at",
    "answered_at",
    "resolved_at",
    "team_id",
    "assignee_id",
    "escalated_at",
    "assigned_at",
    "source",  # an item imported silently waits on nobody (bot/sla/business_time.py)
)


async def active_teams(session: AsyncSession) -> list[Team]:
    """Every team of the routing model (triage first), with its areas (one more query)."""
    statement = (
        select(Team)
        .where(Team.archived.is_(False))
        .order_by(Team.is_triage.desc(), Team.position, Team.id)
    )
    return list((await session.execute(statement)).scalars())


async def routing_rules(session: AsyncSession) -> list[RoutingRule]:
    statement = select(RoutingRule).order_by(RoutingRule.position, RoutingRule.id)
    return list((await session.execute(statement)).scalars())


async def _page(
    session: AsyncSession,
    statement: Select[Item, Team],
    order: Iterable[Any],
    offset: int,
    limit: int,
) -> tuple[list[ItemRow], int]:
    total = (
        await session.execute(select(func.count()).select_from(statement.subquery()))
    ).scalar_one()
    rows = await session.execute(statement.order_by(*order).offset(offset).limit(limit))
    return [(item, team) for item, team in rows], int(total)


def _with_team() -> Select[Item, Team]:
    # The teams' areas are not needed here (active_teams has them): no selectin load.
    return (
        select(Item, Team).outerjoin(Team, Item.team_id == Team.id).options(raiseload(Team.areas))
    )


async def reported_items(
    session: AsyncSession,
    reporter_id: str,
    *,
    closed: Collection[str],
    closed_since: datetime,
    offset: int,
    limit: int,
) -> tuple[list[ItemRow], int]:
    """The reporter's open items (newest first), then those closed since `closed_since`."""
    is_closed = Item.status.in_(list(closed))
    statement = _with_team().where(
        Item.reporter_id == reporter_id,
        or_(~is_closed, Item.resolved_at >= closed_since),
    )
    order = (case((is_closed, 1), else_=0), Item.created_at.desc(), Item.id.desc())
    return await _page(session, statement, order, offset, limit)


async def queue_items(
    session: AsyncSession,
    *,
    lead_id: str,
    team_ids: Collection[int],
    closed: Collection[str],
    offset: int,
    limit: int,
    sort: str = DEFAULT_QUEUE_SORT,
) -> tuple[list[ItemRow], int]:
    """Open items of the teams `lead_id` leads or backs up, or assigned to them: oldest first,
    newest first, or most asked for first (bot/items/demand.py's `queue_order`). Items
    merged into another are closed, so never among them."""
    mine = Item.assignee_id == lead_id
    if team_ids:
        mine = or_(mine, Item.team_id.in_(list(team_ids)))
    statement = _with_team().where(mine, Item.status.not_in(list(closed)))
    return await _page(session, statement, queue_order(sort), offset, limit)


async def queue_sort_of(session: AsyncSession, user_id: str) -> str:
    """How `user_id` last chose to order their queue (oldest first until they choose)."""
    row = await session.get(HomePreference, user_id, populate_existing=True)
    sort = row.queue_sort if row is not None else DEFAULT_QUEUE_SORT
    return sort if sort in QUEUE_SORTS else DEFAULT_QUEUE_SORT


async def save_queue_sort(session: AsyncSession, user_id: str, sort: str) -> None:
    """Keep `user_id`'s choice of order for their queue (every replica reads it)."""
    values = {"queue_sort": sort, "updated_at": utcnow()}
    changed = await session.execute(
        update(HomePreference).where(HomePreference.user_id == user_id).values(**values)
    )
    if changed.rowcount == 0:  # type: ignore[attr-defined]
        session.add(HomePreference(user_id=user_id, **values))
        try:
            await session.commit()
            return
        except IntegrityError:  # two choices at once: the later one (this) still decides
            await session.rollback()
            await session.execute(
                update(HomePreference).where(HomePreference.user_id == user_id).values(**values)
            )
    await session.commit()


async def home_choice(session: AsyncSession, user_id: str) -> tuple[str, str | None]:
    """The tab `user_id` last chose ("items" or "insights") and their Insights period."""
    row = await session.get(HomePreference, user_id, populate_existing=True)
    if row is None:
        return "items", None
    return (row.home_tab if row.home_tab in ("items", "insights") else "items"), row.insights_period


async def save_home_choice(
    session: AsyncSession, user_id: str, *, tab: str | None = None, period: str | None = None
) -> None:
    """Keep `user_id`'s tab or Insights period (every replica reads it)."""
    values: dict[str, Any] = {"updated_at": utcnow()}
    if tab is not None:
        values["home_tab"] = tab
    if period is not None:
        values["insights_period"] = period
    changed = await session.execute(
        update(HomePreference).where(HomePreference.user_id == user_id).values(**values)
    )
    if changed.rowcount == 0:  # type: ignore[attr-defined]
        session.add(HomePreference(user_id=user_id, **values))
        try:
            await session.commit()
            return
        except IntegrityError:  # two choices at once: the later one (this) still decides
            await session.rollback()
            await session.execute(
                update(HomePreference).where(HomePreference.user_id == user_id).values(**values)
            )
    await session.commit()


def _late(now: datetime, closed: Collection[str]) -> Any:
    # Due by `now` as the reminders tick computed it (`ix_items_sla_due_at`).
    return and_(Item.sla_due_at <= now, Item.status.not_in(list(closed)))


async def late_counts(
    session: AsyncSession, now: datetime, closed: Collection[str]
) -> dict[int | None, int]:
    """Per team id, how many open items were due by `now` (no business time computed here)."""
    statement = select(Item.team_id, func.count()).where(_late(now, closed)).group_by(Item.team_id)
    return {team_id: int(n) for team_id, n in await session.execute(statement)}


async def late_page(
    session: AsyncSession, now: datetime, closed: Collection[str], *, limit: int
) -> list[tuple[datetime, int]]:
    """(created_at, id) of the first `limit` of them, oldest first."""
    statement = (
        select(Item.created_at, Item.id)
        .where(_late(now, closed))
        .order_by(Item.created_at, Item.id)
        .limit(limit)
    )
    return [(created, item_id) for created, item_id in await session.execute(statement)]


async def unchecked_item_clocks(session: AsyncSession, closed: Collection[str]) -> list[Any]:
    """The SLA-relevant columns of the open items the reminders tick has not looked at since
    they last changed (`next_reminder_at` is CHECK_NOW; usually those of the last minute)."""
    columns = [getattr(Item, name) for name in _CLOCK_COLUMNS]
    statement = select(*columns).where(
        Item.next_reminder_at == CHECK_NOW, Item.status.not_in(list(closed))
    )
    return list((await session.execute(statement)).all())


async def items_by_ids(session: AsyncSession, ids: Collection[int]) -> dict[int, ItemRow]:
    if not ids:
        return {}
    rows = await session.execute(_with_team().where(Item.id.in_(list(ids))))
    return {item.id: (item, team) for item, team in rows}


async def team_counts(
    session: AsyncSession, *, since: datetime, closed: Collection[str]
) -> dict[int | None, tuple[int, int]]:
    """Per team id: (items created since `since`, items open now)."""
    new = func.sum(case((Item.created_at >= since, 1), else_=0))
    still_open = func.sum(case((Item.status.not_in(list(closed)), 1), else_=0))
    rows = await session.execute(select(Item.team_id, new, still_open).group_by(Item.team_id))
    return {team_id: (int(n or 0), int(o or 0)) for team_id, n, o in rows}


async def undelivered(
    session: AsyncSession, *, statuses: Collection[str], offset: int, limit: int
) -> tuple[list[Delivery], int]:
    """Outbox rows that could not be delivered, most recent first."""
    where = Delivery.status.in_(list(statuses))
    total = (await session.execute(select(func.count()).where(where))).scalar_one()
    statement = (
        select(Delivery).where(where).order_by(Delivery.id.desc()).offset(offset).limit(limit)
    )
    return list((await session.execute(statement)).scalars()), int(total)


async def timezones(session: AsyncSession, user_ids: Collection[str]) -> dict[str, str | None]:
    """The cached Slack timezone of each user (those Jerry never looked up are absent)."""
    ids = [user for user in set(user_ids) if user]
    if not ids:
        return {}
    rows = await session.execute(select(SlackUser.id, SlackUser.tz).where(SlackUser.id.in_(ids)))
    return {user: tz for user, tz in rows}
