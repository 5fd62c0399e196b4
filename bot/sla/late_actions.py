"""What product ops does from a late item's message: *Take it* and *Nudge*.

- Take it: the clicker becomes the item's owner (its team stays) and acknowledges it; the
  former lead's DM says it was taken over and a line in its thread tells them, the team's
  lead is told too when it is someone else, the clicker gets the item's card with its
  actions, and the reporter hears it is acknowledged.
- Nudge: the item's current owner gets a reminder in the thread of their DM about it; at
  most once every NUDGE_INTERVAL whoever clicks (a second click says when a nudge is
  possible again), and in the owner's business hours (a nudge at their night waits for
  their morning).

Who may click: whoever may act on the item (bot/items/cards.py `may_act`), and anyone who
clicks on the item's message in product ops' triage channel (that channel is product ops').
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.errors import Refusal
from bot.i18n import tn
from bot.items.cards import may_act
from bot.items.store import add_event, claim_state, get_item, team_and_area
from bot.outbox.store import enqueue
from bot.relay.lead_actions import (
    ChangedMeanwhileError,
    ItemNotFoundError,
    NotAllowedError,
    RefusedError,
    retire_lead_dm,
    triage_lead,
    update_lead_dm,
)
from bot.similar import followers
from bot.sla import business_time as sla
from bot.sla.late import LATE_NOTICE, NUDGED, TAKEN_OVER
from bot.sla.reminder_store import claim_reminder
from bot.sla.reminders import REMINDER
from bot.triage import late_item_moved
from models.base import utcnow
from models.items import Item
from models.reminders import SentReminder
from models.routing import Team

# A lead is nudged at most this often about one item, however many people click.
NUDGE_INTERVAL = timedelta(minutes=30)
NUDGE = "nudge"  # the sent_reminders kind, and the reminder's wording (reminder.nudge)


@dataclass(frozen=True)
class Clicked:
    """Who clicked, and on which message (the late message allows anyone in its channel)."""

    user: str
    channel: str | None = None
    message_ts: str | None = None


class NudgedRecentlyError(Refusal):
    """The lead was nudged less than NUDGE_INTERVAL ago: not again yet."""

    def __init__(self, item_id: int, lead: str, minutes: int) -> None:
        super().__init__(item_id)
        self.item_id, self.lead, self.minutes = item_id, lead, minutes

    def message(self, lang: str) -> str:
        return tn("late.nudge_recent", self.minutes, lang, id=self.item_id, lead=f"<@{self.lead}>")


async def _load(
    session: AsyncSession, item_id: int, clicked: Clicked, admins: Iterable[str]
) -> tuple[Item, Team | None]:
    item = await get_item(session, item_id, for_update=True)
    if item is None:
        raise ItemNotFoundError(item_id)
    team, _ = await team_and_area(session, item)
    on_late_message = bool(
        item.late_message_ts
        and clicked.channel == item.late_message_channel
        and clicked.message_ts == item.late_message_ts
    )
    allowed = may_act(item, team, clicked.user, admins, triage_lead=await triage_lead(session))
    if not (on_late_message or allowed):
        raise NotAllowedError(item_id)
    if not await claim_state(session, item):
        raise ChangedMeanwhileError(item_id)
    return item, team


@dataclass(frozen=True)
class Taken:
    item_id: int
    from_lead: str | None  # who had it (None: the clicker had it already)


async def take_over(
    sessions: async_sessionmaker[AsyncSession],
    item_id: int,
    clicked: Clicked,
    admins: Iterable[str],
) -> Taken:
    actor = clicked.user
    async with sessions() as session:
        item, team = await _load(session, item_id, clicked, admins)
        if item.status in ("resolved", "closed") or item.resolved_at is not None:
            raise RefusedError("late.take_resolved", id=item.id)
        old = item.assignee_id
        if old == actor and item.status != "open":
            raise RefusedError("late.take_own", id=item.id)
        now = utcnow()
        if old != actor:
            old_dm = (item.lead_dm_channel, item.lead_dm_ts)
            item.assignee_id = actor
            item.assigned_at = now
            add_event(session, item, actor, TAKEN_OVER, from_lead=old or "")
            retire_lead_dm(session, item, handed_to=f"<@{actor}>", reader=old)
            enqueue(session, "lead_dm", item=item, recipient=actor, reason="taken", from_lead=old)
            told = [lead for lead in (old, team.lead if team else None) if lead]
            for lead in dict.fromkeys(told):
                if lead == actor:
                    continue
                thread: dict[str, Any] = {}
                if lead == old and old_dm[0] and old_dm[1]:
                    thread = {"channel": old_dm[0], "ts": old_dm[1]}
                enqueue(session, LATE_NOTICE, item=item, recipient=lead, by=actor, **thread)
        if item.status == "open":
            item.status = "acknowledged"
            item.acknowledged_at = item.acknowledged_at or now
            item.acknowledged_by = actor
            add_event(session, item, actor, "acknowledged")
            enqueue(
                session,
                "reporter_notice",
                item=item,
                notice="acknowledged",
                who=actor,
                team=team.name if team else "",
            )
            await followers.owe_to_followers(
                session, item, followers.ACKNOWLEDGED, who=actor, team=team.name if team else ""
            )
        if old == actor:
            update_lead_dm(session, item)  # the clicker's own card: acknowledged
        else:
            late_item_moved(session, item)
        await session.commit()
        return Taken(item.id, old if old != actor else None)


@dataclass(frozen=True)
class Nudged:
    item_id: int
    lead: str
    # When the reminder reaches them: None now; else the start of their next working day.
    reaches_at: datetime | None


async def nudge(
    sessions: async_sessionmaker[AsyncSession],
    directory: Any,
    item_id: int,
    clicked: Clicked,
    admins: Iterable[str],
    now: datetime | None = None,
) -> Nudged:
    now = now or utcnow()
    async with sessions() as session:
        item, team = await _load(session, item_id, clicked, admins)
        phase = sla.current_phase(item, team)
        lead = item.assignee_id
        if phase is None or not lead:
            raise RefusedError("late.nudge_nobody", id=item.id)
        last = await _last_nudge(session, item.id)
        if last is not None and now - last < NUDGE_INTERVAL:
            left = NUDGE_INTERVAL - (now - last)
            raise NudgedRecentlyError(item.id, lead, max(1, math.ceil(left.total_seconds() / 60)))
        # The item row is locked above; the window's key also stops two clicks at once.
        window = int(now.timestamp() // NUDGE_INTERVAL.total_seconds())
        if not await claim_reminder(
            session,
            f"{item.id}:{NUDGE}:{window}",
            kind=NUDGE,
            item_id=item.id,
            recipient=lead,
            now=now,
        ):
            raise NudgedRecentlyError(item.id, lead, math.ceil(NUDGE_INTERVAL.seconds / 60))
        add_event(session, item, clicked.user, NUDGED, to=lead).at = now
        delivery = enqueue(
            session,
            REMINDER,
            item=item,
            recipient=lead,
            reminder=NUDGE,
            by=clicked.user,
            waited=int((now - phase.since).total_seconds()),
            target=phase.target.text or "",
        )
        hours = sla.team_hours(team)
        user = await directory.user(lead) if directory is not None else None
        lead_tz = user.tz if user is not None else None
        reaches_at = None
        if not sla.in_business_hours(now, hours, lead_tz):
            # No pings at night: it waits for their morning, in a lane of its own so that
            # the rest of what Jerry owes them is not held back.
            reaches_at = sla.next_business_moment(now, hours, lead_tz)
            delivery.next_attempt_at = reaches_at
            delivery.lane = f"{NUDGE}:{lead}"
        late_item_moved(session, item)  # the late message shows who nudged, and when
        await session.commit()
        return Nudged(item.id, lead, reaches_at)


async def _last_nudge(session: AsyncSession, item_id: int) -> datetime | None:
    statement = (
        select(SentReminder.sent_at)
        .where(SentReminder.item_id == item_id, SentReminder.kind == NUDGE)
        .order_by(SentReminder.sent_at.desc())
        .limit(1)
    )
    return (await session.execute(statement)).scalar()


__all__ = [
    "NUDGE_INTERVAL",
    "Clicked",
    "Nudged",
    "NudgedRecentlyError",
    "Taken",
    "nudge",
    "take_over",
]
