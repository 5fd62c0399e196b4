"""Intake listeners: /painpoint, /ask, the intake modal, the "Send to Jerry" shortcut,
mentions of @Jerry and direct messages."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import timedelta
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncSay
from slack_sdk.web.async_client import AsyncWebClient

from bot.capture import external, grouping
from bot.db import DATABASE_ERRORS
from bot.help import service as first_contact
from bot.help import words
from bot.i18n import t
from bot.intake import service as intake
from bot.intake.service import EmptyTextError, IntakeRequest, Kind, Source, with_files
from bot.items.domain import CATEGORIES, row_id
from bot.services import Services
from bot.text import (
    escape_plain,
    has_visible_text,
    mentioned_users,
    neutralize,
    readable,
    truncate,
    unnamed_channels,
)
from bot.views import help as help_views
from bot.views import items as item_views
from bot.views import modals
from models.base import utcnow

log = logging.getLogger("jerry.intake")
SHORTCUT_CALLBACK = "send_to_jerry"
COMMAND_KINDS: dict[str, Kind] = {"/painpoint": "painpoint", "/ask": "question"}
# Messages that are not a person writing to Jerry: edits, deletions, joins, bots …
IGNORED_SUBTYPES_ALLOWING = {None, "file_share", "thread_broadcast"}
# Naming the people a shared message mentions: at most this many, within this time.
MAX_NAMED = 20
NAMES_SECONDS = 1.0


def _strip_bot_mention(text: str, bot_user_id: str | None) -> str:
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(\|[^>]*)?>", "", text)
    return text.strip()


def _store_failed_text(lang: str, text: str) -> str:
    return t("error.store_failed", lang, text=truncate(neutralize(text), 2500))


async def slash(
    ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient, services: Services, lang: str
) -> None:
    kind = COMMAND_KINDS.get(command.get("command", ""), "painpoint")
    user = command["user_id"]
    text = command.get("text") or ""
    if not has_visible_text(text):
        await ack()
        areas = await intake.area_choices(services.sessions)
        metadata = {
            "source": "modal",
            "channel": command.get("channel_id"),
            "response_url": command.get("response_url"),
        }
        await client.views_open(
            trigger_id=command["trigger_id"],
            view=modals.intake_modal(kind, areas, lang, metadata=metadata),
        )
        return
    # Slack's retry of this command finds its item; the person is part of the key, so no
    # clash of ids could ever answer someone with another person's item.
    intake_key = (
        f"command:{command.get('user_id')}:{command.get('trigger_id')}"
        if command.get("trigger_id")
        else None
    )
    word = words.command_word(text)
    if word is not None:
        # "help", "hi", "liste": the help card rather than an item (and a button to file a
        # word taken for a command after all).
        note = None if word.asked_help else ("list" if word.asks_list else "help")
        card = help_views.command_word_card(
            command.get("command", ""),
            word.typed,
            kind=kind,
            note=note,
            lang=lang,
            home=help_views.home_url(command.get("team_id"), command.get("api_app_id")),
            key=intake_key,
        )
        await ack(text=card["text"], blocks=card["blocks"], response_type="ephemeral")
        return
    request = IntakeRequest(
        kind=kind,
        text=text,
        reporter_id=user,
        source="command",
        receipt="ack",
        intake_key=intake_key,
        channel_id=command.get("channel_id"),
        # For what comes after the ack (similar items: a follow-up only its reporter sees).
        response_url=command.get("response_url"),
    )
    try:
        result = await services.submit(request, lang)
    except DATABASE_ERRORS:
        log.exception("could not store a %s from %s", kind, user)
        await ack(text=_store_failed_text(lang, text), response_type="ephemeral")
        return
    services.kick()
    receipt = item_views.receipt(result.card, result.language)
    await ack(text=receipt["text"], blocks=receipt["blocks"], response_type="ephemeral")


async def send_to_jerry(
    ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient, services: Services, lang: str
) -> None:
    await ack()
    message = shortcut.get("message") or {}
    channel = (shortcut.get("channel") or {}).get("id")
    ts = shortcut.get("message_ts") or message.get("ts")
    areas = await intake.area_choices(services.sessions)
    source_text = message.get("text") or ""
    metadata = {
        "source": "shortcut",
        "channel": channel,
        "message_ts": ts,
        "thread_ts": message.get("thread_ts") or ts,
        "response_url": shortcut.get("response_url"),
        # Who wrote the message: sent anonymously by its own author, it must not be shown.
        "author": message.get("user") or message.get("bot_id") or "",
        "source_text": source_text,  # kept with the item (dropped if it cannot fit)
    }
    # The form is plain text: people read names and link labels, not Slack's markup.
    names, channels = await _names(services, client, source_text)
    prefill = readable(source_text, names, channels)
    await client.views_open(
        trigger_id=shortcut["trigger_id"],
        view=modals.intake_modal("painpoint", areas, lang, metadata=metadata, prefill=prefill),
    )


async def intake_submitted(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], services: Services, lang: str
) -> None:
    user = body["user"]["id"]
    meta = modals.decode_metadata(view.get("private_metadata"))
    values = view.get("state", {}).get("values", {})
    text = _input_value(values, "text") or ""
    if not has_visible_text(text):
        await ack(response_action="errors", errors={"text": t("intake.error_empty", lang)})
        return
    area = _selected(values, "area")
    category = _selected(values, "category")
    if category is not None and category not in CATEGORIES:
        # Not an option the form offers (a forged submission): refused, nothing stored.
        await ack(response_action="errors", errors={"category": t("intake.error_category", lang)})
        return
    flags = {o.get("value") for o in _checked(values, "flags")}
    source: Source = "shortcut" if meta.get("source") == "shortcut" else "modal"
    anonymous = "anonymous" in flags
    shared = source == "shortcut"
    # A colleague's message is what the item is about: the lead sees it and its channel. The
    # reporter's own message (or one whose author Slack did not say) would name them.
    hide_origin = anonymous and (not shared or meta.get("author") in (None, "", user))
    # Anonymous, the answer comes by DM: in the message's thread everyone would see it.
    reply_in_thread = shared and not anonymous
    request = IntakeRequest(
        kind="question" if meta.get("kind") == "question" else "painpoint",
        text=escape_plain(text),
        reporter_id=user,
        source=source,
        receipt="response_url",
        intake_key=f"view:{view.get('id')}:{view.get('hash', '')}",
        channel_id=meta.get("channel"),
        message_ts=meta.get("message_ts"),
        reply_channel=meta.get("channel") if reply_in_thread else None,
        reply_thread_ts=meta.get("thread_ts") if reply_in_thread else None,
        response_url=meta.get("response_url"),
        chosen_area_id=row_id(area[5:]) if area and area.startswith("area:") else None,
        impact=_selected(values, "impact")
        if _selected(values, "impact") in modals.IMPACTS
        else None,
        category=category if meta.get("kind") != "question" else None,
        customer=escape_plain(_input_value(values, "customer") or "") or None,
        customer_at_risk="at_risk" in flags,
        anonymous=anonymous,
        hide_origin=hide_origin,
        source_text=meta.get("source_text") if shared else None,
    )
    try:
        await services.submit(request, lang)
    except DATABASE_ERRORS:
        log.exception("could not store a modal submission from %s", user)
        await ack(response_action="errors", errors={"text": t("error.store_failed_short", lang)})
        return
    await ack()
    services.kick()


async def mentioned(
    event: dict[str, Any],
    body: dict[str, Any],
    context: dict[str, Any],
    say: AsyncSay,
    services: Services,
    lang: str,
) -> None:
    if event.get("bot_id") or event.get("subtype") not in IGNORED_SUBTYPES_ALLOWING:
        return
    if await _mention_answered_without_filing(services, lang, event, body, context):
        return
    await _intake_from_message(services, lang, event, body, context, say, source="mention")


async def _mention_answered_without_filing(
    services: Services,
    lang: str,
    event: dict[str, Any],
    body: dict[str, Any],
    context: dict[str, Any],
) -> bool:
    """ "@Jerry hi", "@Jerry help", "@Jerry thanks": the help card (or a friendly word) for
    its author only, where they wrote, instead of an item; True when Jerry did not file it.
    A few other words are filed as any mention: mentioning Jerry in a channel is deliberate,
    and a prompt only its author sees, briefly, could leave it unfiled without them noticing.
    """
    text = _strip_bot_mention(event.get("text") or "", context.get("bot_user_id"))
    meaning = words.meaning(text)
    user, channel = event.get("user"), event.get("channel")
    key = intake.message_key(channel, event.get("ts"))
    if event.get("files") or meaning not in {"help", "greeting", "thanks"}:
        return False
    if not user or not channel or not key:
        return False
    if event.get("edited"):
        # An edit does not ask again, and an item made from the message keeps its text.
        return True
    try:
        await first_contact.answer_mention(
            services.sessions,
            key=key,
            user_id=user,
            reply="thanks" if meaning == "thanks" else "help",
            lang=lang,
            channel=channel,
            thread_ts=event.get("thread_ts"),
            home=help_views.home_url(body.get("team_id"), body.get("api_app_id")),
        )
    except DATABASE_ERRORS:
        log.exception("could not answer a mention from %s", user)
        return False  # filed as a question rather than lost
    services.kick()
    return True


async def direct_message(
    event: dict[str, Any],
    body: dict[str, Any],
    context: dict[str, Any],
    say: AsyncSay,
    services: Services,
    lang: str,
) -> None:
    if event.get("channel_type") != "im":
        return
    if event.get("bot_id") or event.get("subtype") not in IGNORED_SUBTYPES_ALLOWING:
        return  # bots (Jerry included), edits, deletions: not intake
    if event.get("thread_ts") and event.get("thread_ts") != event.get("ts"):
        return  # a reply in a thread is conversation, not a new question
    window = services.settings.jerry_dm_group_seconds
    if await _answered_without_filing(services, lang, event, body, context, grouping=window > 0):
        return
    if window > 0 and event.get("user") and event.get("ts"):
        # Several DMs in a row are one question: grouped, filed when the person stops.
        text = with_files(event.get("text") or "", event.get("files") or [])
        await grouping.add_message(
            services.sessions,
            user=str(event["user"]),
            channel=str(event.get("channel")),
            ts=str(event["ts"]),
            text=text,
            now=utcnow(),
            window=timedelta(seconds=window),
        )
        services.kick()
        return
    await _intake_from_message(services, lang, event, body, context, say, source="dm")


async def _answered_without_filing(
    services: Services,
    lang: str,
    event: dict[str, Any],
    body: dict[str, Any],
    context: dict[str, Any],
    *,
    grouping: bool = False,
) -> bool:
    """ "hi", "help", "thanks", or a few words: Jerry answers (the help card, a friendly word,
    or "send this to product?") instead of filing a question; True when it did."""
    text = _strip_bot_mention(event.get("text") or "", context.get("bot_user_id"))
    meaning = words.meaning(text)
    user, key = event.get("user"), intake.message_key(event.get("channel"), event.get("ts"))
    if event.get("files") or meaning == "message" or not user or not key:
        return False
    if grouping and meaning == "short":
        return False  # a few words may be the start of a question in several messages
    reply: first_contact.Reply = (
        "prompt" if meaning == "short" else "thanks" if meaning == "thanks" else "help"
    )
    try:
        await first_contact.answer_message(
            services.sessions,
            key=key,
            user_id=user,
            reply=reply,
            lang=lang,
            text=text,
            home=help_views.home_url(body.get("team_id"), body.get("api_app_id")),
        )
    except DATABASE_ERRORS:
        log.exception("could not answer a direct message from %s", user)
        return False  # filed as a question rather than lost
    services.kick()
    return True


async def _intake_from_message(
    services: Services,
    lang: str,
    event: dict[str, Any],
    body: dict[str, Any],
    context: dict[str, Any],
    say: AsyncSay,
    *,
    source: Source,
) -> None:
    user = event.get("user")
    if not user:
        return
    channel = event.get("channel")
    ts = event.get("ts")
    thread_ts = event.get("thread_ts") or ts
    text = _strip_bot_mention(event.get("text") or "", context.get("bot_user_id"))
    text = with_files(text, event.get("files") or [])
    # One item per message: Slack sends an edited mention again, with a new event id.
    key = intake.message_key(channel, ts) or f"event:{body.get('event_id')}"
    # Slack Connect: someone of another organisation, in a shared channel. Nothing Jerry
    # says goes where they can read it (no receipt, no answer); a lead may reply to them.
    other_team = external.external_team(event, body.get("team_id"))
    request = IntakeRequest(
        kind="question",
        text=text,
        reporter_id=user,
        source=source,
        receipt="none" if other_team else "thread",
        intake_key=key,
        channel_id=channel,
        message_ts=ts,
        reply_channel=None if other_team else channel,
        reply_thread_ts=None if other_team else thread_ts,
        external_org=await external.org_name(services.client, other_team) if other_team else None,
        reporter_external=bool(other_team),
    )
    try:
        result = await services.submit(request, lang)
        if result.duplicate and event.get("edited"):
            # The edit reaches the item (and its lead, once); no second item, no receipt.
            await intake.edit_from_message(
                services.sessions, key, text, user, reindex=services.settings.similar_enabled
            )
    except EmptyTextError:
        if event.get("edited"):
            return  # an edit that leaves only the mention changes nothing

        await say(text=t(f"intake.empty_{source}", lang), thread_ts=thread_ts)
        return
    except DATABASE_ERRORS:
        log.exception("could not store a %s from %s", source, user)
        await say(text=_store_failed_text(lang, text), thread_ts=thread_ts)
        return
    services.kick()


def register(app: AsyncApp) -> None:
    app.command("/painpoint")(slash)
    app.command("/ask")(slash)
    app.shortcut(SHORTCUT_CALLBACK)(send_to_jerry)
    app.view(modals.INTAKE_CALLBACK)(intake_submitted)
    app.event("app_mention")(mentioned)
    app.event("message")(direct_message)


async def _names(
    services: Services, client: AsyncWebClient, text: str
) -> tuple[dict[str, str], dict[str, str]]:
    """The names of the people (from Jerry's directory) and of the unnamed channels `text`
    mentions; whatever Slack does not name in time keeps its id (a form's trigger expires
    within 3 seconds)."""
    people = sorted(mentioned_users([text]))[:MAX_NAMED]
    channels = sorted(unnamed_channels(text))[:MAX_NAMED]

    async def person(user_id: str) -> str | None:
        user = await services.directory.user(user_id)
        return (user.real_name or user.name) if user is not None else None

    async def channel(channel_id: str) -> str | None:
        response = await client.conversations_info(channel=channel_id)
        return (response.get("channel") or {}).get("name")

    lookups = [person(i) for i in people] + [channel(c) for c in channels]
    try:
        found = await asyncio.wait_for(
            asyncio.gather(*lookups, return_exceptions=True), NAMES_SECONDS
        )
    except TimeoutError:
        return {}, {}
    named = {
        key: name
        for key, name in zip([*people, *channels], found, strict=True)
        if isinstance(name, str) and name
    }
    return (
        {i: named[i] for i in people if i in named},
        {c: named[c] for c in channels if c in named},
    )


def _input_value(values: dict[str, Any], block: str) -> str | None:
    return (values.get(block, {}).get("value") or {}).get("value")


def _selected(values: dict[str, Any], block: str) -> str | None:
    option = (values.get(block, {}).get("value") or {}).get("selected_option") or {}
    return option.get("value")


def _checked(values: dict[str, Any], block: str) -> list[dict[str, Any]]:
    return (values.get(block, {}).get("value") or {}).get("selected_options") or []
