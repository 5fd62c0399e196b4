"""Sending what a lead's merge (or its undo) owes (bot/relay/lead_merge.py):

- merge_notice: to a reporter whose item was merged into another (or taken out again), in
  their own thread (the reply thread, else their DM thread for the item); a thread or
  channel gone, by DM (bot/relay/delivery.py's `reporter_undeliverable`);
- merge_lead_notice: to the kept item's lead, in the thread of their card (posted first
  when the item reached them in a digest), else as a DM.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.items.cards import load_card
from bot.outbox.registry import (
    OutboxContext,
    OutboxHandler,
    OutboxRegistry,
    Posted,
    nothing_more,
    require_item,
)
from bot.relay.delivery import reporter_undeliverable
from bot.relay.digest import lead_card
from bot.relay.lead_merge import MERGE_LEAD_NOTICE, MERGE_NOTICE
from bot.relay.mention_names import with_mention_names
from bot.triage import alert_gave_up
from bot.views import merge as views
from bot.views.items import with_fallback_note
from models.deliveries import Delivery
from models.items import Item


def register_outbox(registry: OutboxRegistry) -> None:
    registry.register(
        MERGE_NOTICE,
        OutboxHandler(
            send=with_mention_names(_merge_notice),
            undeliverable=reporter_undeliverable,
            gave_up=alert_gave_up,
        ),
    )
    registry.register(
        MERGE_LEAD_NOTICE,
        OutboxHandler(
            send=with_mention_names(_merge_lead_notice),
            undeliverable=nothing_more,
            gave_up=alert_gave_up,
        ),
    )


def _params(delivery: Delivery) -> dict[str, Any]:
    return {k: v for k, v in (delivery.params or {}).items() if not k.startswith("_")}


async def _merge_notice(
    outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
) -> Posted:
    item = require_item(item)
    params: dict[str, Any] = dict(delivery.params or {})
    lang = await outbox.reporter_language(item)
    card = await load_card(session, item)
    message = views.merge_notice(card, lang, **_params(delivery))
    if params.get("_fallback_from"):
        message = with_fallback_note(message, lang, params["_fallback_from"])
    return await outbox.post_in_reporter_thread(item, message, params)


async def _merge_lead_notice(
    outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
) -> Posted:
    item = require_item(item)
    lang = await outbox.directory.language(item.assignee_id, outbox.default_language)
    card = await load_card(session, item)
    message = views.merge_lead_notice(card, lang, **_params(delivery))
    # An item that went in a digest gets its card first: the line makes sense under it.
    dm = await lead_card(outbox, session, delivery, item)
    if dm is not None:
        return await outbox.post(dm[0] or "", message, thread_ts=dm[1], part=2)
    return await outbox.post(item.assignee_id or "", message)
