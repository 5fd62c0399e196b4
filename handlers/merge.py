"""Listeners of a lead's merge buttons (issue 12): "Merge into #12" in the "Looks like"
section of their card, and "Undo merge" on a merged item's card. Refusals (not theirs, an
item they may not see, merged already, undone already) are answered privately where they
clicked, by the one error path (handlers/errors.py)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.items.domain import row_id
from bot.relay import lead_merge
from bot.services import Services
from bot.views import lead_actions as lead_action_views
from handlers.item_buttons import item_id_of

log = logging.getLogger("jerry.merge")


def merge_pair(body: dict[str, Any]) -> tuple[int, int] | None:
    """The item to merge and the item to keep, from a "Merge into" button ("45:12")."""
    try:
        value = str(body["actions"][0]["value"])
    except (KeyError, IndexError, TypeError):
        return None
    item, _, into = value.partition(":")
    item_id, into_id = row_id(item), row_id(into)
    if item_id is None or into_id is None:
        log.warning("ignored a merge click whose value is no pair of items: %.40r", value)
        return None
    return item_id, into_id


async def merge_into(ack: AsyncAck, body: dict[str, Any], services: Services) -> None:
    await ack()
    pair = merge_pair(body)
    if pair is None:
        return
    await lead_merge.merge(services.sessions, *pair, body["user"]["id"], services.admins)
    services.kick()


async def undo_merge(ack: AsyncAck, body: dict[str, Any], services: Services) -> None:
    await ack()
    item_id = item_id_of(body)
    if item_id is None:
        return
    await lead_merge.unmerge(services.sessions, item_id, body["user"]["id"], services.admins)
    services.kick()


def register(app: AsyncApp) -> None:
    app.action(lead_action_views.MERGE)(merge_into)
    app.action(lead_action_views.UNMERGE)(undo_merge)
