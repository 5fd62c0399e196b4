"""What every listener of an item's buttons and forms needs: the item a button or a form is
about, and answering the person who clicked."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.errors import SlackApiError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.items.domain import ItemCard, row_id
from bot.services import Services
from bot.views.blocks import decode_metadata

log = logging.getLogger("jerry.item_buttons")


def item_id_of(body: dict[str, Any]) -> int | None:
    """The item number a clicked button carries, or None."""
    try:
        value = body["actions"][0]["value"]
    except (KeyError, IndexError, TypeError):
        return None
    item_id = row_id(value)
    if item_id is None:
        log.warning("ignored a click whose value is no item number: %.40r", value)
    return item_id


def form_item_id(view: dict[str, Any]) -> int | None:
    """The item number a submitted form was opened for, or None."""
    return row_id(decode_metadata(view.get("private_metadata")).get("item"))


async def show_form_error(ack: AsyncAck, block: str, text: str) -> None:
    """Keep the form open with `text` under its `block`."""
    await ack(response_action="errors", errors={block: text})


async def tell(
    services: Services, body: dict[str, Any], respond: AsyncRespond | None, text: str
) -> None:
    """Answer the person who clicked: privately where they clicked (a message's
    response_url), else (App Home: no response_url, no channel) by a DM from Jerry."""
    user = (body.get("user") or {}).get("id", "")
    try:
        if respond is not None and body.get("response_url"):
            await respond(text=text, response_type="ephemeral", replace_original=False)
        elif user:
            await services.client.chat_postMessage(channel=user, text=text)
    except (SlackApiError, OSError, ValueError) as exc:  # the answer is a courtesy: log it
        log.warning("could not answer %s: %s", user, exc)


# The core's "may this person open the form for this item?": the item's card, or it raises
# a refusal (the error path tells the person why, privately where they clicked).
FormCheck = Callable[
    [async_sessionmaker[AsyncSession], int, str, Iterable[str]], Awaitable[ItemCard]
]


async def card_for_form(
    services: Services, body: dict[str, Any], check: FormCheck
) -> ItemCard | None:
    """For a button that opens an item's form: the item's card, None for a button without an
    item number; raises the check's refusal."""
    item_id = item_id_of(body)
    if item_id is None:
        return None
    return await check(services.sessions, item_id, body["user"]["id"], services.admins)
