"""Queries about items, their events, the outbox and the user cache."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import utcnow
from models.deliveries import Delivery
from models.items import Item, ItemEvent
from models.routing import Area, Team
from models.users import SlackUser


async def get_item(session: AsyncSession, item_id: int, *, for_update: bool = False) -> Item | None:
    statement = select(Item).where(Item.id == item_id)
    if for_update:
        statement = statement.with_for_update()  # ignored by SQLite, which locks the whole file
    return (await session.execute(statement)).scalar_one_or_none()


async def item_by_intake_key(session: AsyncSession, key: str) -> Item | None:
    return (await session.execute(select(Item).where(Item.intake_key == key))).scalar_one_or_none()


async def items_by_intake_keys(session: AsyncSession, keys: list[str]) -> dict[str, Item]:
    statement = select(Item).where(Item.intake_key.in_(keys))
    return {
        item.intake_key: item
        for item in (await session.execute(statement)).scalars()
        if item.intake_key
    }


async def team_and_area(session: AsyncSession, item: Item) -> tuple[Team | None, Area | None]:
    team = await session.get(Team, item.team_id) if item.team_id else None
    area = await session.get(Area, item.area_id) if item.area_id else None
    return team, area


async def triage_team(session: AsyncSession) -> Team | None:
    return (
        await session.execute(select(Team).where(Team.is_triage.is_(True)))
    ).scalar_one_or_none()


async def unrouted_items(session: AsyncSession) -> list[Item]:
    statement = select(Item).where(Item.team_id.is_(None)).order_by(Item.id)
    return list((await session.execute(statement)).scalars())


def add_event(session: AsyncSession, item: Item, actor: str, kind: str, **detail: Any) -> ItemEvent:
    event = ItemEvent(item_id=item.id, actor=actor, kind=kind, detail=detail, at=utcnow())
    session.add(event)
    return event


def enqueue(
    session: AsyncSession,
    purpose: str,
    *,
    item: Item | None = None,
    recipient: str | None = None,
    **params: Any,
) -> Delivery:
    """Owe a message: it is sent after the surrounding transaction commits."""
    delivery = Delivery(
        item_id=item.id if item else None,
        purpose=purpose,
        recipient=recipient,
        params=params,
        status="pending",
        next_attempt_at=utcnow(),
    )
    session.add(delivery)
    return delivery


async def due_delivery_ids(session: AsyncSession, now: datetime, limit: int = 100) -> list[int]:
    statement = (
        select(Delivery.id)
        .where(
            or_(
                (Delivery.status == "pending") & (Delivery.next_attempt_at <= now),
                # A process that died mid-send left its lease behind: take the delivery over.
                (Delivery.status == "sending") & (Delivery.lease_until < now),
            )
        )
        .order_by(Delivery.id)
        .limit(limit)
    )
    return list((await session.execute(statement)).scalars())


async def claim_delivery(
    session: AsyncSession, delivery_id: int, now: datetime, lease_until: datetime
) -> bool:
    """Atomically take one delivery (safe with several bot processes on one database)."""
    result = await session.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery_id,
            or_(
                (Delivery.status == "pending") & (Delivery.next_attempt_at <= now),
                (Delivery.status == "sending") & (Delivery.lease_until < now),
            ),
        )
        .values(status="sending", lease_until=lease_until, attempts=Delivery.attempts + 1)
    )
    return result.rowcount == 1


async def next_delivery_due(session: AsyncSession) -> datetime | None:
    statement = (
        select(Delivery.next_attempt_at)
        .where(Delivery.status == "pending")
        .order_by(Delivery.next_attempt_at)
        .limit(1)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def cached_user(session: AsyncSession, user_id: str) -> SlackUser | None:
    return await session.get(SlackUser, user_id)
