"""Sending what the conversation owes (the outbox's handlers for `conversation_*` purposes).

- conversation_to_reporter / conversation_question: into the reporter's thread (the reply
  thread, else their DM thread for the item), like an answer; if that thread is gone the
  reporter's fallback (bot/relay/delivery.py) re-sends by DM (`_to_dm`), with a note
  (`_fallback_from`).
- conversation_to_lead / conversation_question_note: into the current lead's DM thread;
  waits (Deferred) while that DM is not out yet (e.g. just after a reassign).
- conversation_update: re-renders Jerry's copy of a relayed message (edited or deleted).

Jerry's copy of each relayed message is recorded on its `RelayedMessage`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import t
from bot.items.store import team_and_area
from bot.outbox.registry import (
    Deferred,
    OutboxContext,
    OutboxHandler,
    OutboxRegistry,
    PermanentDeliveryError,
    Posted,
    require_item,
)
from bot.relay.conversation import (
    PURPOSE_QUESTION,
    PURPOSE_QUESTION_NOTE,
    PURPOSE_TO_LEAD,
    PURPOSE_TO_REPORTER,
    PURPOSE_UPDATE,
    REPORTER_PURPOSES,
)
from bot.relay.delivery import reporter_undeliverable
from bot.relay.digest import lead_card
from bot.relay.mention_names import with_mention_names
from bot.text import escape_plain, neutralize
from bot.triage import alert_gave_up, alert_triage
from bot.views import conversation as views
from bot.views import followers as follower_views
from bot.views import items as item_views
from models.conversation import TO_REPORTER, RelayedMessage
from models.deliveries import Delivery
from models.items import Item


def register_outbox(registry: OutboxRegistry) -> None:
    # Toward the reporter, a gone thread falls back to their DM, as answers do.
    named = with_mention_names(deliver)
    to_reporter = OutboxHandler(
        send=named, undeliverable=reporter_undeliverable, gave_up=alert_gave_up
    )
    for purpose in sorted(REPORTER_PURPOSES):
        registry.register(purpose, to_reporter)
    to_lead = OutboxHandler(send=named, undeliverable=failed, gave_up=alert_gave_up)
    for purpose in (PURPOSE_TO_LEAD, PURPOSE_QUESTION_NOTE, PURPOSE_UPDATE):
        registry.register(purpose, to_lead)


async def display_name(outbox: OutboxContext, user_id: str) -> str:
    """A person's name as Jerry writes it (no ping); their mention if Slack cannot say."""
    user = await outbox.directory.user(user_id) if user_id.startswith(("U", "W")) else None
    name = (user.real_name or user.name) if user is not None else None
    return neutralize(escape_plain(name)) if name else f"<@{user_id}>"


async def deliver(
    outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
) -> Posted:
    item = require_item(item)
    params: dict[str, Any] = dict(delivery.params or {})
    purpose = delivery.purpose
    if purpose == PURPOSE_QUESTION:
        return await _question(outbox, session, item, params)
    if purpose == PURPOSE_QUESTION_NOTE:
        return await _question_note(outbox, session, delivery, item, params)
    relayed = await session.get(RelayedMessage, params.get("message"))
    if relayed is None:
        raise PermanentDeliveryError("relayed_message_missing")
    if purpose == PURPOSE_UPDATE:
        return await _update(outbox, session, item, relayed)
    if relayed.status == "deleted" and relayed.copy_ts is None:
        return None, None  # deleted before Jerry could relay it: nothing to say
    message = await _render(outbox, session, item, relayed)
    if purpose == PURPOSE_TO_REPORTER:
        channel, ts = await _to_reporter(outbox, item, message, params)
    elif purpose == PURPOSE_TO_LEAD:
        # An item that reached its lead in a digest gets its card now, the message under it.
        dm = await lead_card(outbox, session, delivery, item)
        if dm is None:
            raise Deferred  # the (new) lead's DM is not out yet
        channel, ts = await outbox.post(dm[0] or "", message, thread_ts=dm[1], part=2)
    else:
        raise PermanentDeliveryError(f"unknown_purpose_{purpose}")
    relayed.copy_channel, relayed.copy_ts = channel, ts
    return channel, ts


async def _reader_language(outbox: OutboxContext, item: Item, direction: str) -> str:
    if direction == TO_REPORTER:
        return await outbox.reporter_language(item)
    return await outbox.directory.language(item.assignee_id, outbox.default_language)


async def _render(
    outbox: OutboxContext, session: AsyncSession, item: Item, relayed: RelayedMessage
) -> dict[str, Any]:
    lang = await _reader_language(outbox, item, relayed.direction)
    to_reporter = relayed.direction == TO_REPORTER
    if not to_reporter and relayed.item_id != item.id:
        return await _render_from_follower(outbox, session, item, relayed, lang)
    if to_reporter:
        team, _ = await team_and_area(session, item)
        line = views.from_lead_line(
            lang,
            who=await display_name(outbox, relayed.author),
            team=team.name if team else "",
            kind=item.kind,
            item_id=item.id,
        )
    else:
        who = None if item.anonymous else await display_name(outbox, relayed.author)
        line = views.from_reporter_line(lang, who=who, item_id=item.id)
    return views.relayed_message(
        lang,
        line=f":speech_balloon: {line}",
        text=relayed.text,
        files=relayed.files or [],
        status=relayed.status,
        hint=t("conversation.reply_hint", lang) if to_reporter else None,
        # A file's permalink carries its uploader's user id.
        hide_file_links=item.anonymous and not to_reporter,
        about=item.text if to_reporter else None,
    )


async def _render_from_follower(
    outbox: OutboxContext,
    session: AsyncSession,
    kept: Item,
    relayed: RelayedMessage,
    lang: str,
) -> dict[str, Any]:
    """A follower's message, in the kept item's lead thread: whose item it comes from (never
    naming an anonymous one's reporter) and where replies there go."""
    follower = await session.get(Item, relayed.item_id)
    anonymous = follower is None or follower.anonymous
    who = None if anonymous else await display_name(outbox, relayed.author)
    line = follower_views.follower_line(lang, who=who, item_id=relayed.item_id, kept_id=kept.id)
    return views.relayed_message(
        lang,
        line=f":speech_balloon: {line}",
        text=relayed.text,
        files=relayed.files or [],
        status=relayed.status,
        hint=follower_views.follower_hint(lang, item_id=relayed.item_id, kept_id=kept.id),
        hide_file_links=anonymous,
    )


async def _to_reporter(
    outbox: OutboxContext, item: Item, message: dict[str, Any], params: dict[str, Any]
) -> Posted:
    """Where answers go: the reply thread, else the reporter's DM thread for the item."""
    if params.get("_fallback_from"):
        lang = await _reader_language(outbox, item, TO_REPORTER)
        message = item_views.with_fallback_note(message, lang, params["_fallback_from"])
    return await outbox.post_in_reporter_thread(item, message, params)


async def _question(
    outbox: OutboxContext, session: AsyncSession, item: Item, params: dict[str, Any]
) -> Posted:
    lang = await _reader_language(outbox, item, TO_REPORTER)
    message = views.question_to_reporter(
        lang,
        who=await display_name(outbox, params.get("by", "")),
        team=params.get("team", ""),
        kind=item.kind,
        item_id=item.id,
        question=params.get("question", ""),
        about=item.text,
    )
    return await _to_reporter(outbox, item, message, params)


async def _question_note(
    outbox: OutboxContext,
    session: AsyncSession,
    delivery: Delivery,
    item: Item,
    params: dict[str, Any],
) -> Posted:
    dm = await lead_card(outbox, session, delivery, item)
    if dm is None:
        raise Deferred
    lang = await _reader_language(outbox, item, "to_lead")
    message = views.question_note_for_lead(lang, question=params.get("question", ""))
    return await outbox.post(dm[0] or "", message, thread_ts=dm[1], part=2)


async def _update(
    outbox: OutboxContext, session: AsyncSession, item: Item, relayed: RelayedMessage
) -> Posted:
    if not relayed.copy_channel or not relayed.copy_ts:
        raise Deferred  # the copy is not out yet; it will render the latest text itself
    message = await _render(outbox, session, item, relayed)
    await outbox.client.chat_update(
        channel=relayed.copy_channel,
        ts=relayed.copy_ts,
        text=message["text"],
        blocks=message["blocks"],
    )
    return relayed.copy_channel, relayed.copy_ts


async def failed(session: AsyncSession, delivery: Delivery, item: Item | None, error: str) -> None:
    """A lead-side or update delivery failed for good: product ops hears of it."""
    if item is None:
        return
    await alert_triage(
        session, "undeliverable", item=item.id, who=item.assignee_id or "", error=error
    )
