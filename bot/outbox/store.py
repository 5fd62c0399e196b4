"""Queries of the outbox: owing a message (`enqueue`), and claiming what is due to send.

Several bot processes share the outbox: each delivery is claimed with a conditional UPDATE
before it is sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import affected_rows
from models.base import utcnow
from models.deliveries import Delivery
from models.items import Item


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
    return affected_rows(result) == 1


async def next_delivery_due(session: AsyncSession) -> datetime | None:
    statement = (
        select(Delivery.next_attempt_at)
        .where(Delivery.status == "pending")
        .order_by(Delivery.next_attempt_at)
        .limit(1)
    )
    return (await session.execute(statement)).scalar_one_or_none()
