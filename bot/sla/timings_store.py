"""The rows the timings (bot/sla/timings.py) are computed from: items of a period and their
events."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.items import Item, ItemEvent


@dataclass(frozen=True)
class EventRow:
    kind: str
    actor: str
    at: datetime


@dataclass(frozen=True)
class ItemHistory:
    item_id: int
    team_id: int | None
    created_at: datetime
    events: list[EventRow] = field(default_factory=list)


async def item_histories(
    session: AsyncSession,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    team_ids: Iterable[int] | None = None,
    item_ids: Iterable[int] | None = None,
) -> list[ItemHistory]:
    """Items created in [start, end) (optionally of some teams, or given items), each with
    its events in order. Two queries, whatever the number of items."""
    statement = select(Item.id, Item.team_id, Item.created_at).order_by(Item.id)
    if start is not None:
        statement = statement.where(Item.created_at >= start)
    if end is not None:
        statement = statement.where(Item.created_at < end)
    if team_ids is not None:
        statement = statement.where(Item.team_id.in_(list(team_ids)))
    if item_ids is not None:
        statement = statement.where(Item.id.in_(list(item_ids)))
    items = {
        row.id: ItemHistory(row.id, row.team_id, row.created_at)
        for row in await session.execute(statement)
    }
    if not items:
        return []
    ids = list(items)
    for chunk in (ids[i : i + 1000] for i in range(0, len(ids), 1000)):
        events = await session.execute(
            select(ItemEvent.item_id, ItemEvent.kind, ItemEvent.actor, ItemEvent.at)
            .where(ItemEvent.item_id.in_(chunk))
            .order_by(ItemEvent.item_id, ItemEvent.at, ItemEvent.id)
        )
        for row in events:
            items[row.item_id].events.append(EventRow(row.kind, row.actor, row.at))
    return list(items.values())
