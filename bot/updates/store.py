"""Queries about product updates recorded in Slack (/shipped, /upcoming)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.items import Item
from models.routing import Area, Team
from models.trackers import UpdateItem
from models.updates import ProductUpdate


async def get_update(
    session: AsyncSession, update_id: int, *, for_update: bool = False
) -> ProductUpdate | None:
    statement = select(ProductUpdate).where(ProductUpdate.id == update_id)
    if for_update:
        statement = statement.with_for_update()  # ignored by SQLite, which locks the whole file
    return (await session.execute(statement)).scalar_one_or_none()


async def active_area(session: AsyncSession, area_id: int) -> Area | None:
    """The area `area_id` if it is current (its team too), else None."""
    row = await session.execute(
        select(Area)
        .join(Team, Area.team_id == Team.id)
        .where(Area.id == area_id, Area.archived.is_(False), Team.archived.is_(False))
    )
    return row.scalar_one_or_none()


async def area_name(session: AsyncSession, area_id: int | None) -> str | None:
    """An area's name, archived or not (an update keeps pointing at its area)."""
    if area_id is None:
        return None
    return (await session.execute(select(Area.name).where(Area.id == area_id))).scalar()


async def area_names(session: AsyncSession, area_ids: set[int]) -> dict[int, str]:
    if not area_ids:
        return {}
    rows = await session.execute(select(Area.id, Area.name).where(Area.id.in_(area_ids)))
    return {area_id: name for area_id, name in rows}


async def recent_updates_by(
    session: AsyncSession, author_id: str, kind: str, *, limit: int = 20
) -> list[ProductUpdate]:
    """`author_id`'s active updates of `kind`, newest first."""
    statement = (
        select(ProductUpdate)
        .where(
            ProductUpdate.author_id == author_id,
            ProductUpdate.kind == kind,
            ProductUpdate.status == "active",
        )
        .order_by(ProductUpdate.created_at.desc(), ProductUpdate.id.desc())
        .limit(limit)
    )
    return list((await session.execute(statement)).scalars())


async def missing_items(session: AsyncSession, ids: list[int]) -> list[int]:
    """The numbers among `ids` that are no item."""
    if not ids:
        return []
    found = set((await session.execute(select(Item.id).where(Item.id.in_(ids)))).scalars())
    return [item_id for item_id in ids if item_id not in found]


async def link_items(session: AsyncSession, update: ProductUpdate, ids: list[int]) -> list[Item]:
    """Link a shipped update to the items it answers (those linked already stay); the items."""
    if not ids:
        return []
    known = set(
        (
            await session.execute(
                select(UpdateItem.item_id).where(UpdateItem.update_id == update.id)
            )
        ).scalars()
    )
    items = list((await session.execute(select(Item).where(Item.id.in_(ids)))).scalars())
    for item in items:
        if item.id not in known:
            session.add(UpdateItem(update_id=update.id, item_id=item.id))
    await session.flush()
    return sorted(items, key=lambda item: ids.index(item.id))
