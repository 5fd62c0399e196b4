"""Listeners of the reporter's offer at intake (bot/similar/intake.py): "Same problem: add me
to #12", "Mine is different", and for a question with a past answer "This answers it" and
"I still need help". Only the item's reporter may choose (anyone else is told so, privately);
the offer is then replaced by what the choice did, in words."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.items.domain import row_id
from bot.services import Services
from bot.similar import intake as similar_intake
from bot.similar.domain import Choice
from bot.views import similar as views

log = logging.getLogger("jerry.similar")

CHOICE_OF_ACTION: dict[str, Choice] = {
    views.ADD: "added",
    views.DIFFERENT: "different",
    views.ANSWERED: "answered",
    views.NEEDS_HELP: "needs_help",
}


def parse_value(value: object) -> tuple[int, int | None] | None:
    """A button's value: "<item>" or "<item>:<the suggested item>"; None when it is neither."""
    if not isinstance(value, str):
        return None
    item, _, target = value.partition(":")
    item_id = row_id(item)
    target_id = row_id(target) if target else None
    if item_id is None or (target and target_id is None):
        return None
    return item_id, target_id


async def chosen(
    ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, services: Services, lang: str
) -> None:
    await ack()
    action = (body.get("actions") or [{}])[0]
    choice = CHOICE_OF_ACTION.get(action.get("action_id", ""))
    parsed = parse_value(action.get("value"))
    if choice is None or parsed is None:
        log.info("ignored a click on an offer without its item")
        return
    item_id, target_id = parsed
    if choice in ("added", "answered") and target_id is None:
        log.info("ignored a click on an offer without the item it names")
        return
    done = await similar_intake.choose(
        services.sessions,
        item_id=item_id,
        user_id=(body.get("user") or {}).get("id", ""),
        choice=choice,
        target_id=target_id,
    )
    services.kick()
    message = views.choice_made(done, lang)
    await respond(text=message["text"], blocks=message["blocks"], replace_original=True)


def register(app: AsyncApp) -> None:
    for action_id in views.ACTIONS:
        app.action(action_id)(chosen)
