"""A late item's one message for product ops, kept up to date.

When the reminders tick escalates an item (bot/sla/reminders.py), product ops' triage channel
(else the triage lead, by DM) gets one message about it: "Late: #4 (Payments) needs an
owner", with *Take it* and *Nudge* (bot/sla/late_actions.py). Every later change to the item
(acknowledged, answered, reassigned, resolved, reopened, taken) owes a `late_update`
(bot/triage.py's `late_item_moved`), which re-renders that message in place, and the
escalation DMs sent to the backup or triage: once the item moved on, they say who acted and
lose their buttons. The message and its updates share one outbox lane, so they go in order.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.items.cards import load_card
from bot.items.demand import demand_for
from bot.items.store import team_and_area
from bot.outbox.registry import (
    OutboxContext,
    OutboxHandler,
    OutboxRegistry,
    Posted,
    nothing_more,
    require_item,
)
from bot.sla import business_time as sla
from bot.sla.domain import LateItem
from bot.sla.reminder_store import events_of_kinds
from bot.slack import SlackApiError, classify
from bot.triage import ESCALATION, LATE_MESSAGE, LATE_UPDATE, alert_gave_up
from bot.views import items as item_views
from bot.views import late as views
from models.base import utcnow
from models.deliveries import Delivery
from models.items import Item

log = logging.getLogger("jerry.late")

# Events the late message reads: who was asked, who nudged, who took the item over.
ESCALATED, NUDGED, TAKEN_OVER = "escalated", "nudged", "taken_over"


async def late_item(session: AsyncSession, item: Item, now: datetime) -> LateItem:
    """Where a late item stands now, as its message shows it."""
    team, _ = await team_and_area(session, item)
    events = (await events_of_kinds(session, [item.id], (ESCALATED, NUDGED, TAKEN_OVER))).get(
        item.id, []
    )
    escalations = [event for event in events if event.kind == ESCALATED]
    asked = str((escalations[-1].detail or {}).get("to") or "") if escalations else ""
    phase = sla.current_phase(item, team)
    who: str | None = None
    if item.status in ("resolved", "closed") or item.resolved_at is not None:
        state, who = "resolved", item.resolved_by
    elif phase is not None and item.escalated_at is not None and item.escalated_at >= phase.since:
        state = phase.kind  # still waiting on the wait it went late for
    elif item.status == "answered":
        state, who = "answered", item.answered_by
    elif item.status == "acknowledged":
        taken = [event for event in events if event.kind == TAKEN_OVER]
        took = bool(taken) and taken[-1].actor == item.assignee_id == item.acknowledged_by
        state, who = ("taken" if took else "acknowledged"), item.acknowledged_by
    else:
        state = "moved"  # reassigned, handed over or reopened: a new lead, a fresh target
    late = state in ("ack", "answer")
    nudges = [
        event
        for event in events
        if event.kind == NUDGED and item.escalated_at is not None and event.at >= item.escalated_at
    ]
    return LateItem(
        item_id=item.id,
        kind=item.kind,
        team=team.name if team is not None else "",
        text=item.text or "",
        state=state,
        lead=item.assignee_id or "",
        waited_seconds=int((now - phase.since).total_seconds()) if late and phase else 0,
        target=phase.target.text if late and phase else "",
        asked=asked or None,
        who=who,
        outcome=item.outcome,
        nudged_by=nudges[-1].actor if late and nudges else None,
        nudged_at=nudges[-1].at if late and nudges else None,
        demand=(await demand_for(session, [item])).get(item.id),
    )


async def escalation_message(
    session: AsyncSession, item: Item, lang: str, note: str
) -> dict[str, Any]:
    """The escalation DM (the item's card with `note`, asking the backup or triage to take
    it); once the item moved on, the card without buttons, saying who acted."""
    late = await late_item(session, item, utcnow())
    if late.late:
        # A copy for the backup (or triage): its thread is not the item's conversation.
        card = await load_card(session, item, note=note)
        return item_views.lead_dm(card, lang, thread_relays=False)
    card = await load_card(session, item)
    return views.escalation_copy_done(
        item_views.lead_dm(card, lang, thread_relays=False), late, lang
    )


# --- the outbox's handlers ----------------------------------------------------------------------


# Someone took the item over from the late message: its former lead (in the thread of their
# DM about it, else by DM) and the team's lead are told.
LATE_NOTICE = "late_notice"


def register_outbox(registry: OutboxRegistry) -> None:
    for purpose in (LATE_MESSAGE, LATE_UPDATE):
        # Product ops' own messages: a failure is not reported to product ops again.
        registry.register(
            purpose, OutboxHandler(send=_send, undeliverable=nothing_more, gave_up=alert_gave_up)
        )
    registry.register(
        LATE_NOTICE,
        OutboxHandler(send=_notice, undeliverable=nothing_more, gave_up=alert_gave_up),
    )


async def _notice(
    outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
) -> Posted:
    item = require_item(item)
    params = dict(delivery.params or {})
    recipient = delivery.recipient or ""
    lang = await outbox.directory.language(recipient, outbox.default_language)
    message = views.taken_notice(lang, item_id=item.id, by=str(params.get("by", "")))
    if params.get("channel") and params.get("ts"):
        return await outbox.post(params["channel"], message, thread_ts=params["ts"])
    return await outbox.post(recipient, message)


async def _send(
    outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
) -> Posted:
    item = require_item(item)
    sent = await _sent_about(session, item)
    posted: Posted = (None, None)
    recipient = delivery.recipient or next(
        (d.recipient for d in sent if d.purpose == LATE_MESSAGE and d.recipient), None
    )
    if delivery.purpose == LATE_MESSAGE or item.late_message_ts:
        lang = await outbox.directory.language(recipient, outbox.default_language)
        message = views.late_message(await late_item(session, item, utcnow()), lang)
        if item.late_message_channel and item.late_message_ts:
            await outbox.client.chat_update(
                channel=item.late_message_channel,
                ts=item.late_message_ts,
                text=message["text"],
                blocks=message["blocks"],
            )
            posted = (item.late_message_channel, item.late_message_ts)
        elif delivery.purpose == LATE_MESSAGE and recipient:
            posted = await outbox.post(recipient, message)
            item.late_message_channel, item.late_message_ts = posted
    if delivery.purpose == LATE_UPDATE:
        await _update_copies(outbox, session, item, [d for d in sent if d.purpose == ESCALATION])
    return posted


async def _sent_about(session: AsyncSession, item: Item) -> list[Delivery]:
    """The item's late message and escalation DMs that reached Slack, oldest first."""
    statement = (
        select(Delivery)
        .where(
            Delivery.item_id == item.id,
            Delivery.purpose.in_((LATE_MESSAGE, ESCALATION)),
            Delivery.status == "sent",
        )
        .order_by(Delivery.id)
    )
    return list((await session.execute(statement)).scalars())


async def _update_copies(
    outbox: OutboxContext, session: AsyncSession, item: Item, copies: list[Delivery]
) -> None:
    """The escalation DMs, once the item moved on: who acted, no buttons. (While it is still
    late they stay as they are: they ask the backup to act.)"""
    late = await late_item(session, item, utcnow())
    if late.late:
        return
    for copy in copies:
        if not copy.result_channel or not copy.result_ts:
            continue
        lang = await outbox.directory.language(copy.recipient, outbox.default_language)
        card = await load_card(session, item)
        message = views.escalation_copy_done(item_views.lead_dm(card, lang), late, lang)
        try:
            await outbox.client.chat_update(
                channel=copy.result_channel,
                ts=copy.result_ts,
                text=message["text"],
                blocks=message["blocks"],
            )
        except SlackApiError as exc:
            if classify(exc).retry:
                raise  # Slack or the network: the whole update is tried again (it is idempotent)
            # Deleted, or a DM Jerry can no longer write to: the others are still updated.
            log.warning("escalation DM of item %s not updated: %s", item.id, classify(exc).code)


__all__ = ["LATE_NOTICE", "escalation_message", "late_item", "register_outbox"]
