"""The outbox's handlers for "did this help?": the question to the reporter (in their item's
thread; by DM for an anonymous item) and their answer to the item's lead (under its card)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.csat.service import ASK, TO_LEAD
from bot.items.store import team_and_area
from bot.outbox.registry import (
    OutboxContext,
    OutboxHandler,
    OutboxRegistry,
    Posted,
    nothing_more,
    require_item,
)
from bot.outbox.store import enqueue
from bot.triage import alert_gave_up
from bot.views import csat as views
from models.deliveries import Delivery
from models.items import Item


def register_outbox(registry: OutboxRegistry) -> None:
    registry.register(ASK, OutboxHandler(send=_ask, undeliverable=_by_dm, gave_up=alert_gave_up))
    registry.register(
        TO_LEAD, OutboxHandler(send=_to_lead, undeliverable=nothing_more, gave_up=alert_gave_up)
    )


async def _ask(
    outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
) -> Posted:
    item = require_item(item)
    if item.status != "resolved":
        return None, None  # reopened before it was asked: not the time
    params: dict[str, Any] = dict(delivery.params or {})
    lang = await outbox.reporter_language(item)
    team, _ = await team_and_area(session, item)
    message = views.ask(
        lang,
        item_id=item.id,
        kind=item.kind,
        text=item.text,
        team=team.name if team else None,
        anonymous=item.anonymous,
    )
    if item.anonymous:
        params["_to_dm"] = True  # never in a thread others may read
    return await outbox.post_in_reporter_thread(item, message, params)


async def _by_dm(session: AsyncSession, delivery: Delivery, item: Item | None, error: str) -> None:
    """The item's thread is gone: asked by DM instead (once)."""
    params = dict(delivery.params or {})
    if item is not None and not params.get("_to_dm"):
        enqueue(session, ASK, item=item, _to_dm=True)


async def _to_lead(
    outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
) -> Posted:
    item = require_item(item)
    params: dict[str, Any] = dict(delivery.params or {})
    lead = str(delivery.recipient or "")
    lang = await outbox.directory.language(lead, outbox.default_language)
    message = views.to_lead(
        lang,
        item_id=item.id,
        score=int(params.get("score") or 0),
        comment=str(params.get("comment") or ""),
        reporter=None if item.anonymous else item.reporter_id,
    )
    if item.lead_dm_channel and item.lead_dm_ts and lead == item.assignee_id:
        return await outbox.post(item.lead_dm_channel, message, thread_ts=item.lead_dm_ts)
    return await outbox.post(lead, message)
