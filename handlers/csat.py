"""Listeners of "did this help?" (issue 15): a reporter's click on a score, "Add a comment"
and its form. The answer replaces nothing: the thanks goes under the question, whose buttons
stay (another click changes the answer)."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.csat import service as csat
from bot.items.domain import row_id
from bot.services import Services
from bot.text import escape_plain
from bot.views import csat as views
from bot.views.blocks import decode_metadata


async def scored(
    ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, services: Services, lang: str
) -> None:
    await ack()
    try:
        action = body["actions"][0]
        item_id = row_id(action["value"])
        score = int(str(action["action_id"]).removeprefix(views.SCORE_ACTION))
    except (KeyError, IndexError, TypeError, ValueError):
        return
    if item_id is None:
        return
    await csat.record(services.sessions, item_id, body["user"]["id"], score)
    services.kick()
    message = body.get("message") or {}
    kept = [
        block
        for block in message.get("blocks") or []
        if not str(block.get("block_id", "")).startswith("csat_thanks")
    ]
    thanks = views.thanks(lang, item_id=item_id, score=score)
    await respond(
        replace_original=True,
        text=message.get("text") or thanks["text"],
        blocks=[*kept, *thanks["blocks"]][:50],
    )


async def open_comment(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, lang: str
) -> None:
    await ack()
    try:
        item, _, score = str(body["actions"][0]["value"]).partition(":")
    except (KeyError, IndexError, TypeError):
        return
    item_id, score_value = row_id(item), row_id(score)
    if item_id is None or score_value is None:
        return
    await client.views_open(
        trigger_id=body["trigger_id"], view=views.comment_modal(item_id, score_value, lang)
    )


async def comment_submitted(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], services: Services
) -> None:
    meta = decode_metadata(view.get("private_metadata"))
    item_id, score = row_id(meta.get("item")), row_id(meta.get("score"))
    state = ((view.get("state") or {}).get("values") or {}).get("comment") or {}
    text = str((state.get("value") or {}).get("value") or "")
    if item_id is None or score is None:
        await ack()
        return
    await csat.record(
        services.sessions, item_id, body["user"]["id"], score, comment=escape_plain(text)
    )
    await ack()
    services.kick()


def register(app: AsyncApp) -> None:
    app.action(re.compile(rf"^{views.SCORE_ACTION}[123]$"))(scored)
    app.action(views.COMMENT_ACTION)(open_comment)
    app.view(views.COMMENT_CALLBACK)(comment_submitted)
