"""Grouped DMs: people write three short messages in a row, not one long one.

DMs to Jerry from one person less than JERRY_DM_GROUP_SECONDS apart become one item. Each DM
is stored at once in the person's open group (`dm_groups`, one open group each), and the
group's filing is owed to the outbox for when the window closes after its latest message
(each new message moves it). At that time the messages are joined in order into one
question, filed like any DM (its thread is the first message's), and its one receipt names
how many messages it holds. A restart in the middle of a window loses nothing: the group and
its filing are in the database.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.intake import service as intake
from bot.items.domain import row_id
from bot.outbox.registry import (
    OutboxContext,
    OutboxHandler,
    OutboxRegistry,
    Posted,
    RetryLater,
    nothing_more,
)
from bot.outbox.store import enqueue
from bot.triage import alert_gave_up
from models.base import utcnow
from models.capture import DmGroup
from models.deliveries import Delivery
from models.items import Item

FILE_GROUP = "dm_group_file"  # the outbox purpose: file a closed group
MAX_MESSAGES = 50  # a group holds at most this many (then the next DM starts another)


async def add_message(
    sessions: async_sessionmaker[AsyncSession],
    *,
    user: str,
    channel: str,
    ts: str,
    text: str,
    now: datetime,
    window: timedelta,
) -> int:
    """Put a DM in its writer's open group (a new group when none is open, or the open one's
    window has closed); how many messages the group holds now. Slack sending the same DM
    again changes nothing; an edited DM replaces its text while its group is open."""
    for _ in range(3):  # two DMs of one person at the same instant: the second rereads
        try:
            return await _add(sessions, user, channel, ts, text, now, window)
        except IntegrityError:
            continue
    raise RuntimeError("could not group a DM")


async def _add(
    sessions: async_sessionmaker[AsyncSession],
    user: str,
    channel: str,
    ts: str,
    text: str,
    now: datetime,
    window: timedelta,
) -> int:
    async with sessions() as session:
        group = (
            await session.execute(select(DmGroup).where(DmGroup.open_for == user).with_for_update())
        ).scalar_one_or_none()
        if group is not None:
            messages = list(group.messages or [])
            known = next((m for m in messages if m["ts"] == ts), None)
            if known is not None:  # sent again, or edited
                if known["text"] != text:
                    known["text"] = text
                    group.messages = [dict(m) for m in messages]
                    await session.commit()
                return len(messages)
            if now <= group.closes_at and len(messages) < MAX_MESSAGES:
                group.messages = [*messages, {"ts": ts, "text": text}]
                group.closes_at = now + window
                await _move_filing(session, group)
                await session.commit()
                return len(group.messages)
            group.open_for = None  # closed: its filing (owed already) files it
            await session.flush()
        group = DmGroup(
            user_id=user,
            open_for=user,
            channel=channel,
            first_ts=ts,
            messages=[{"ts": ts, "text": text}],
            closes_at=now + window,
            created_at=now,
        )
        session.add(group)
        await session.flush()
        delivery = enqueue(session, FILE_GROUP, recipient=user, group=group.id)
        delivery.lane = f"dmgroup:{user}"
        delivery.next_attempt_at = group.closes_at
        await session.commit()
        return 1


async def _move_filing(session: AsyncSession, group: DmGroup) -> None:
    await session.execute(
        update(Delivery)
        .where(
            Delivery.purpose == FILE_GROUP,
            Delivery.lane == f"dmgroup:{group.user_id}",
            Delivery.status == "pending",
            Delivery.params["group"].as_integer() == group.id,
        )
        .values(next_attempt_at=group.closes_at)
        .execution_options(synchronize_session=False)
    )


def register_outbox(registry: OutboxRegistry) -> None:
    registry.register(
        FILE_GROUP,
        OutboxHandler(send=_file_group, undeliverable=nothing_more, gave_up=alert_gave_up),
    )


async def _file_group(
    outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
) -> Posted:
    params: dict[str, Any] = dict(delivery.params or {})
    group = await session.get(DmGroup, row_id(params.get("group")) or 0)
    if group is None or group.item_id is not None:
        return None, None
    wait = (group.closes_at - utcnow()).total_seconds()
    if group.open_for is not None and wait > 0:
        raise RetryLater("window_open", after=wait)  # a message came in since: not yet
    messages = list(group.messages or [])
    text = "\n\n".join(m["text"] for m in messages if m["text"].strip())
    request = intake.IntakeRequest(
        kind="question",
        text=text,
        reporter_id=group.user_id,
        source="dm",
        receipt="thread",
        intake_key=intake.message_key(group.channel, group.first_ts),
        channel_id=group.channel,
        message_ts=group.first_ts,
        reply_channel=group.channel,
        reply_thread_ts=group.first_ts,
        grouped=len(messages),
    )
    group.open_for = None
    try:
        language = await outbox.directory.language(group.user_id, outbox.default_language)
        result = await intake.submit(
            outbox.sessions,
            request,
            default_language=outbox.default_language,
            language=language,
        )
    except intake.EmptyTextError:
        return None, None  # nothing a lead could read (files only, emptied edits)
    group.item_id = result.item_id
    return None, None
