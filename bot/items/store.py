"""Queries about items and their events."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, inspect, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import flag_modified

from bot.db import affected_rows
from bot.items.domain import JERRY_ACTOR as JERRY
from bot.items.domain import breaches_target, kind_acknowledges
from models.base import utcnow
from models.deliveries import Delivery
from models.items import Item, ItemEvent
from models.routing import Area, Team


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


async def claim_state(session: AsyncSession, item: Item) -> bool:
    """Whether `item` is still in the state it was read in (status, team, lead), taking the
    row for this transaction: a conditional UPDATE that matches no row means another action
    changed the item since. PostgreSQL's FOR UPDATE already serialises actions; SQLite
    ignores it (it reads without a lock), so without this two simultaneous clicks both apply.
    On SQLite the UPDATE also takes the database's write lock until the commit."""
    statement = (
        update(Item)
        .where(
            Item.id == item.id,
            Item.status == item.status,
            Item.team_id.is_not_distinct_from(item.team_id),
            Item.assignee_id.is_not_distinct_from(item.assignee_id),
        )
        .values(status=item.status)
        .execution_options(synchronize_session=False)
    )
    return affected_rows(await session.execute(statement)) == 1


def add_event(session: AsyncSession, item: Item, actor: str, kind: str, **detail: Any) -> ItemEvent:
    event = ItemEvent(item_id=item.id, actor=actor, kind=kind, detail=detail, at=utcnow())
    session.add(event)
    note_timing(item, event)
    return event


def note_timing(item: Item, event: ItemEvent) -> None:
    """Keep the item's insight columns (first acknowledgement, first answer, SLA breach) in
    step with its events, as bot/sla/timings.py defines them."""
    if (
        kind_acknowledges(event.kind)
        and event.actor != JERRY
        and item.first_acknowledged_at is None
    ):
        item.first_acknowledged_at = event.at
    if event.kind == "answered" and item.first_answered_at is None:
        item.first_answered_at = event.at
    if breaches_target(event.kind, event.detail) and not item.sla_breached:
        untouched = not inspect(item).modified
        item.sla_breached = True
        if untouched and "updated_at" not in inspect(item).unloaded:
            # A breach is a fact for the insights, not a change of the item: its updated_at
            # stays, so the reminders tick's plan for it (which checks updated_at) still holds.
            flag_modified(item, "updated_at")


async def claim_lead_card(session: AsyncSession, item_id: int, delivery_id: int) -> bool:
    """Take the posting of the card of an item that reached its lead in a digest (one
    delivery does: two posting it would leave the lead two cards). Taken again by the same
    delivery when it is retried; taken over from one that is no longer owed (it failed)."""
    claimer = aliased(Delivery, name="claimer")
    statement = (
        update(Item)
        .where(
            Item.id == item_id,
            Item.lead_dm_ts.is_(None),
            Item.lead_digest_ts.is_not(None),
            or_(
                Item.lead_card_by.is_(None),
                Item.lead_card_by == delivery_id,
                ~exists().where(
                    claimer.id == Item.lead_card_by, claimer.status.in_(("pending", "sending"))
                ),
            ),
        )
        .values(lead_card_by=delivery_id)
        .execution_options(synchronize_session=False)
    )
    return affected_rows(await session.execute(statement)) == 1


def forget_lead_dm(item: Item) -> None:
    """The item leaves its lead: neither their card nor their digest is its DM any more."""
    item.lead_dm_channel = item.lead_dm_ts = None
    item.lead_digest_channel = item.lead_digest_ts = None
    item.lead_card_by = None
