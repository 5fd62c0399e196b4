"""Sending a follower their news of the kept item (the outbox's handler for `follower_news`,
owed by bot/similar/followers.py): into the follower's own thread of their item, in their
language; a gone thread falls back to their DM, as any reporter message does."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.items.domain import row_id
from bot.items.store import get_item
from bot.outbox.registry import OutboxContext, OutboxHandler, OutboxRegistry, Posted, require_item
from bot.relay.delivery import reporter_undeliverable
from bot.relay.mention_names import with_mention_names
from bot.similar.followers import FOLLOWER_NEWS
from bot.triage import alert_gave_up
from bot.views import followers as views
from bot.views.items import with_fallback_note
from models.deliveries import Delivery
from models.items import Item

# What a delivery's params may carry to the view (the rest is the outbox's own).
_VIEW_PARAMS = ("who", "team", "answer", "outcome", "note", "what")


def register_outbox(registry: OutboxRegistry) -> None:
    registry.register(
        FOLLOWER_NEWS,
        OutboxHandler(
            send=with_mention_names(_send),
            undeliverable=reporter_undeliverable,
            gave_up=alert_gave_up,
        ),
    )


async def _send(
    outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
) -> Posted:
    follower = require_item(item)
    params: dict[str, Any] = dict(delivery.params or {})
    kept_id = row_id(params.get("kept"))
    if kept_id is None or follower.merged_into != kept_id:
        return None, None  # unmerged (or moved on) before it was sent: no longer theirs
    if await get_item(session, kept_id) is None:
        return None, None
    lang = await outbox.reporter_language(follower)
    message = views.follower_news(
        lang,
        str(params.get("news") or ""),
        kept_id=kept_id,
        item_id=follower.id,
        kind=follower.kind,
        about=follower.text,
        duplicate_of=row_id(params.get("duplicate_of")),
        by_reporter=bool(params.get("by_reporter")),
        **{key: str(params.get(key) or "") for key in _VIEW_PARAMS},
    )
    if params.get("_fallback_from"):
        message = with_fallback_note(message, lang, params["_fallback_from"])
    return await outbox.post_in_reporter_thread(follower, message, params)
