"""Listeners of the conversation through Jerry: messages in item threads (new, edited,
deleted) and the "Ask for details" button and modal.

Registered before the intake listeners: the thread-message listener only takes the
message events that are conversation (thread replies, edits, deletions, channel
messages); a new top-level DM to Jerry still goes to intake.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.i18n import t
from bot.relay import conversation
from bot.relay.conversation import SharedFile
from bot.relay.lead_actions import InvalidActionError, RefusedError, check_can_act
from bot.services import Services
from bot.text import escape_plain
from bot.views import conversation as views
from handlers.item_buttons import card_for_form, form_item_id, show_form_error

log = logging.getLogger("jerry.conversation")
EDIT, DELETE = "message_changed", "message_deleted"
# A person writing (a plain message, one with files, a thread reply also sent to the channel).
PERSON_SUBTYPES = {None, "file_share", "thread_broadcast"}


async def is_conversation(event: dict[str, Any]) -> bool:
    """Message events this module takes: everything but a new top-level DM (that is intake)."""
    if event.get("subtype") in {EDIT, DELETE}:
        return True
    thread_ts = event.get("thread_ts")
    if thread_ts and thread_ts != event.get("ts"):
        return True
    return event.get("channel_type") != "im"


def _files(files: list[dict[str, Any]] | None) -> list[SharedFile]:
    return [
        SharedFile(
            name=escape_plain(f.get("name") or f.get("title") or ""),
            permalink=f.get("permalink") or None,
        )
        for f in files or []
        if isinstance(f, dict)
    ]


def _is_bot(message: dict[str, Any]) -> bool:
    return bool(message.get("bot_id")) or message.get("subtype") == "bot_message"


async def thread_message(
    event: dict[str, Any], context: dict[str, Any], services: Services
) -> None:
    subtype = event.get("subtype")
    channel = event.get("channel") or ""
    if subtype == EDIT:
        message = event.get("message") or {}
        if _is_bot(message) or not message.get("ts"):
            return
        outcome = await conversation.relay_edit(
            services.sessions,
            channel=channel,
            ts=message["ts"],
            user=message.get("user"),
            text=message.get("text") or "",
            files=_files(message.get("files")),
        )
    elif subtype == DELETE:
        ts = event.get("deleted_ts") or (event.get("previous_message") or {}).get("ts")
        if not ts:
            return
        outcome = await conversation.relay_delete(services.sessions, channel=channel, ts=ts)
    else:
        if _is_bot(event) or subtype not in PERSON_SUBTYPES or not event.get("user"):
            return  # Jerry's own messages, other bots, joins, topic changes …
        text = event.get("text") or ""
        bot_user = context.get("bot_user_id")
        if bot_user and f"<@{bot_user}" in text and event.get("channel_type") != "im":
            return  # a mention of Jerry is a new item (the app_mention listener)
        outcome = await conversation.relay(
            services.sessions,
            conversation.ThreadMessage(
                channel=channel,
                ts=event.get("ts") or "",
                thread_ts=event.get("thread_ts"),
                user=event["user"],
                text=text,
                files=tuple(_files(event.get("files"))),
            ),
        )
    if outcome in {conversation.Outcome.RELAYED, conversation.Outcome.UPDATED}:
        services.kick()
    else:
        log.debug("message %s in %s: %s", event.get("ts"), channel, outcome)


async def open_ask_details(
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    services: Services,
    lang: str,
) -> None:
    await ack()
    card = await card_for_form(services, body, check_can_act)
    if card is not None:
        view = views.ask_details_modal(card, lang)
        await client.views_open(trigger_id=body["trigger_id"], view=view)


async def ask_details_submitted(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], services: Services, lang: str
) -> None:
    item_id = form_item_id(view)
    values = view.get("state", {}).get("values", {})
    question = (values.get("question", {}).get("value") or {}).get("value") or ""
    if item_id is None:
        await ack()
        return
    try:
        await conversation.ask_details(
            services.sessions, item_id, body["user"]["id"], escape_plain(question), services.admins
        )
    except RefusedError:
        raise
    except InvalidActionError as exc:
        key = "conversation.error_resolved" if str(exc) == "resolved" else None
        error = t(key, lang, id=item_id) if key else t("conversation.error_empty", lang)
        await show_form_error(ack, "question", error)
        return
    await ack()
    services.kick()


def register(app: AsyncApp) -> None:
    app.event("message", matchers=[is_conversation])(thread_message)
    app.action(views.ASK_DETAILS_ACTION)(open_ask_details)
    app.view(views.ASK_DETAILS_CALLBACK)(ask_details_submitted)
