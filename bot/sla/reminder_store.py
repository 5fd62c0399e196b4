"""Queries behind reminders and escalations: what is waiting, and each reminder claimed once.

A reminder is claimed by inserting its unique key in the same transaction as the message it
owes (the second replica's insert fails and it sends nothing)."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple, cast

from sqlalchemy import Table, and_, bindparam, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import utcnow
from models.items import Item, ItemEvent
from models.reminders import KEY_LIMIT, SentReminder
from models.routing import Team


async def claim_reminder(
    session: AsyncSession,
    key: str,
    *,
    kind: str,
    level: int = 1,
    item_id: int | None = None,
    recipient: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Take the reminder `key` for this transaction; False if it was already taken.

    Inserted in a savepoint, so a duplicate leaves the caller's transaction usable. On
    PostgreSQL a replica inserting the same key concurrently waits for the first to commit,
    then fails: only one of them sends.
    """
    row = SentReminder(
        key=key[:KEY_LIMIT],
        kind=kind,
        level=level,
        item_id=item_id,
        recipient=recipient,
        sent_at=now or utcnow(),
    )
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        return False
    return True


async def reminder_sent(session: AsyncSession, key: str) -> bool:
    statement = select(SentReminder.id).where(SentReminder.key == key[:KEY_LIMIT])
    return (await session.execute(statement)).first() is not None


async def reminders_of(session: AsyncSession, item_id: int) -> list[SentReminder]:
    statement = select(SentReminder).where(SentReminder.item_id == item_id)
    return list((await session.execute(statement.order_by(SentReminder.id))).scalars())


OPEN_STATUSES = ("open", "acknowledged", "answered")


# Where a tick's reading stopped: (next_reminder_at, id) of the last item it looked at.
DueCursor = tuple[datetime, int]


async def due_items(
    session: AsyncSession, now: datetime, limit: int, after: DueCursor | None = None
) -> list[tuple[Item, Team]]:
    """Open items with a team whose `next_reminder_at` has come, earliest first, at most `limit`.

    One range read of `ix_items_next_reminder_at`: the items not due are never read.
    """
    statement = (
        select(Item, Team)
        .join(Team, Team.id == Item.team_id)
        .where(
            Item.next_reminder_at <= now,
            Item.status.in_(OPEN_STATUSES),
            Item.resolved_at.is_(None),
        )
        .order_by(Item.next_reminder_at, Item.id)
        .limit(limit)
    )
    if after is not None:
        at, item_id = after
        statement = statement.where(
            or_(Item.next_reminder_at > at, and_(Item.next_reminder_at == at, Item.id > item_id))
        )
    return [(item, team) for item, team in (await session.execute(statement)).all()]


class NextReminder(NamedTuple):
    """What the tick computed for an item it looked at."""

    item_id: int
    seen: datetime  # the item's updated_at as the tick read it
    next_at: datetime | None  # when the tick must look again (None: only after a change)
    sla_due_at: datetime | None  # when the current wait is due (None: nothing waits)


async def store_next_reminders(session: AsyncSession, plans: list[NextReminder]) -> None:
    """Store what the tick computed for each item, in one statement.

    An item changed since the tick read it keeps the CHECK_NOW its change set (its
    `updated_at` no longer matches), so the next tick looks at it with what changed.
    """
    if not plans:
        return
    table = cast(Table, Item.__table__)
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"), table.c.updated_at == bindparam("b_seen"))
        .values(
            next_reminder_at=bindparam("b_next"),
            sla_due_at=bindparam("b_due"),
            updated_at=bindparam("b_seen"),
        )
    )
    await session.execute(
        statement,
        [
            {
                "b_id": plan.item_id,
                "b_seen": plan.seen,
                "b_next": plan.next_at,
                "b_due": plan.sla_due_at,
            }
            for plan in plans
        ],
    )


async def leads_with_open_items(session: AsyncSession) -> list[str]:
    """Everyone open items are assigned to (from `ix_items_assignee_status` alone)."""
    statement = (
        select(Item.assignee_id)
        .where(Item.assignee_id.is_not(None), Item.status.in_(OPEN_STATUSES))
        .distinct()
        .order_by(Item.assignee_id)
    )
    return [user_id for user_id in (await session.execute(statement)).scalars() if user_id]


# A question the lead asked the reporter, and the reporter's reply (bot/relay/conversation.py).
DETAILS_ASKED = ("details_requested",)


DETAILS_ANSWERED = ("details_given",)


async def events_of_kinds(
    session: AsyncSession, item_ids: list[int], kinds: tuple[str, ...]
) -> dict[int, list[ItemEvent]]:
    """Each item's events of these kinds, in order."""
    found: dict[int, list[ItemEvent]] = {}
    if not item_ids:
        return found
    for start in range(0, len(item_ids), 500):
        chunk = item_ids[start : start + 500]
        statement = (
            select(ItemEvent)
            .where(ItemEvent.item_id.in_(chunk), ItemEvent.kind.in_(kinds))
            .order_by(ItemEvent.id)
        )
        for event in (await session.execute(statement)).scalars():
            found.setdefault(event.item_id, []).append(event)
    return found


async def open_items_assigned_to(session: AsyncSession, user_id: str) -> list[Item]:
    statement = (
        select(Item)
        .where(
            Item.assignee_id == user_id,
            Item.status.in_(OPEN_STATUSES),
            Item.resolved_at.is_(None),
        )
        .order_by(Item.id)
        .with_for_update()
    )
    return list((await session.execute(statement)).scalars())


async def teams_led_by(session: AsyncSession, user_id: str) -> list[Team]:
    statement = select(Team).where(Team.archived.is_(False), Team.lead == user_id)
    return list((await session.execute(statement.order_by(Team.id))).scalars())
