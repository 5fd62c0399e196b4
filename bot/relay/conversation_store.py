"""Queries of the conversation relayed through Jerry: the item a thread belongs to, what was
relayed, and the questions waiting for a reporter's answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.conversation import RelayedMessage
from models.items import Item, ItemEvent

LEAD_SIDE, REPORTER_SIDE = "lead", "reporter"


async def item_for_thread(
    session: AsyncSession, channel: str, thread_ts: str
) -> tuple[Item, str] | None:
    """The item whose conversation thread this is, and which side: "lead" or "reporter".

    The lead's side is the current lead DM (a reassigned item's old DM no longer is). When
    several items share a reporter thread (two mentions in one thread), the latest wins.
    """
    lead = await session.execute(
        select(Item)
        .where(Item.lead_dm_channel == channel, Item.lead_dm_ts == thread_ts)
        .order_by(Item.id.desc())
        .limit(1)
    )
    item = lead.scalar_one_or_none()
    if item is not None:
        return item, LEAD_SIDE
    candidates: list[Item] = []
    for channel_col, ts_col in (
        (Item.reply_channel, Item.reply_thread_ts),
        (Item.reporter_dm_channel, Item.reporter_dm_ts),
    ):
        found = await session.execute(
            select(Item)
            .where(channel_col == channel, ts_col == thread_ts)
            .order_by(Item.id.desc())
            .limit(1)
        )
        candidates += list(found.scalars())
    if not candidates:
        return None
    return max(candidates, key=lambda i: i.id), REPORTER_SIDE


async def relayed_by_source(
    session: AsyncSession, channel: str, ts: str, *, for_update: bool = False
) -> RelayedMessage | None:
    statement = select(RelayedMessage).where(
        RelayedMessage.source_channel == channel, RelayedMessage.source_ts == ts
    )
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def relayed_messages(session: AsyncSession, item_id: int) -> list[RelayedMessage]:
    statement = (
        select(RelayedMessage).where(RelayedMessage.item_id == item_id).order_by(RelayedMessage.id)
    )
    return list((await session.execute(statement)).scalars())


@dataclass(frozen=True)
class OpenQuestion:
    """A question a lead asked the reporter ("Ask for details") with no reply yet."""

    item_id: int
    asked_at: datetime  # when the first unanswered question was asked
    asked_by: str  # the lead who asked the latest one
    question: str  # the latest question (Slack-formatted)
    team_id: int | None
    assignee_id: str | None


async def open_questions(
    session: AsyncSession, *, asked_before: datetime | None = None
) -> list[OpenQuestion]:
    """Open questions to reporters, oldest first (for reminders and escalation).

    A question is open from the "details_requested" event until the reporter writes in
    their thread ("details_given"); resolved items have none.
    """
    statement = select(Item).where(
        Item.awaiting_reporter_since.is_not(None), Item.status != "resolved"
    )
    if asked_before is not None:
        statement = statement.where(Item.awaiting_reporter_since <= asked_before)
    items = list(
        (await session.execute(statement.order_by(Item.awaiting_reporter_since, Item.id))).scalars()
    )
    if not items:
        return []
    asked = await session.execute(
        select(ItemEvent)
        .where(
            ItemEvent.item_id.in_([item.id for item in items]),
            ItemEvent.kind == "details_requested",
        )
        .order_by(ItemEvent.id)
    )
    latest = {event.item_id: event for event in asked.scalars()}
    result: list[OpenQuestion] = []
    for item in items:
        event = latest.get(item.id)
        asked_at = item.awaiting_reporter_since
        assert asked_at is not None  # the statement above selects only items awaiting an answer
        result.append(
            OpenQuestion(
                item_id=item.id,
                asked_at=asked_at,
                asked_by=event.actor if event else "",
                question=str((event.detail or {}).get("question", "")) if event else "",
                team_id=item.team_id,
                assignee_id=item.assignee_id,
            )
        )
    return result
