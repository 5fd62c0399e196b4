"""Listeners of the relay between reporter and lead: the buttons on a lead's DM (answer,
acknowledge, reassign, ask for details, resolve, reopen) and their forms, and the messages
in item threads (new, edited, deleted) that Jerry carries to the other side.

The thread-message listener is registered before the intake listeners: it takes only the
message events that are conversation (thread replies, edits, deletions, channel messages); a
new top-level DM to Jerry still goes to intake."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.i18n import t
from bot.intake import service as intake
from bot.relay import conversation, lead_actions, notes, resolution
from bot.relay.conversation import SharedFile
from bot.relay.lead_actions import (
    InvalidActionError,
    ItemNotFoundError,
    NotAllowedError,
    RefusedError,
    check_can_act,
)
from bot.services import Services
from bot.text import escape_plain, has_visible_text, readable
from bot.views import conversation as conversation_views
from bot.views import items as item_views
from bot.views import lead_actions as lead_action_views
from bot.views import modals
from handlers.intake import with_files
from handlers.item_buttons import card_for_form, form_item_id, item_id_of, show_form_error, tell

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
        if outcome is conversation.Outcome.NOT_A_CONVERSATION and channel.startswith("D"):
            # The direct message that made an item, edited: the item takes the new text.
            edited = with_files(message.get("text") or "", message.get("files") or [])
            key = intake.message_key(channel, message["ts"]) or ""
            if await intake.edit_from_message(
                services.sessions,
                key,
                edited,
                message.get("user") or "",
                reindex=services.settings.similar_enabled,
            ):
                outcome = conversation.Outcome.UPDATED
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
    if outcome in {
        conversation.Outcome.RELAYED,
        conversation.Outcome.UPDATED,
        conversation.Outcome.HELD,
        conversation.Outcome.NOTE_KEPT,
    }:
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
        view = conversation_views.ask_details_modal(card, lang)
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


async def open_answer(
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    services: Services,
    lang: str,
) -> None:
    await ack()
    card = await card_for_form(services, body, lead_actions.check_can_act)
    if card is not None:
        await client.views_open(trigger_id=body["trigger_id"], view=modals.answer_modal(card, lang))


async def open_reassign(
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    services: Services,
    lang: str,
) -> None:
    await ack()
    card = await card_for_form(services, body, lead_actions.check_can_act)
    if card is None:
        return
    targets = await lead_actions.reassign_targets(services.sessions, lang)
    await client.views_open(
        trigger_id=body["trigger_id"], view=modals.reassign_modal(card, targets, lang)
    )


async def acknowledge(ack: AsyncAck, body: dict[str, Any], services: Services) -> None:
    await ack()
    item_id = item_id_of(body)
    if item_id is None:
        return
    await lead_actions.acknowledge(services.sessions, item_id, body["user"]["id"], services.admins)
    services.kick()


async def open_from_digest(ack: AsyncAck, body: dict[str, Any], services: Services) -> None:
    """ "Open" on an item listed in a lead's digest: its card comes as a new DM."""
    await ack()
    item_id = item_id_of(body)
    if item_id is None:
        return
    await lead_actions.open_card(services.sessions, item_id, body["user"]["id"], services.admins)
    services.kick()


async def answer_submitted(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], services: Services, lang: str
) -> None:
    item_id = form_item_id(view)
    text = (view.get("state", {}).get("values", {}).get("answer", {}).get("value") or {}).get(
        "value"
    ) or ""
    ticked = (
        view.get("state", {}).get("values", {}).get(modals.SHARE_BLOCK, {}).get("value") or {}
    ).get("selected_options") or []
    share = any(o.get("value") == modals.SHARE_VALUE for o in ticked)
    if item_id is None:
        await ack()
        return
    try:
        await lead_actions.answer(
            services.sessions,
            item_id,
            body["user"]["id"],
            escape_plain(text),
            services.admins,
            share=share,
        )
    except RefusedError:
        raise
    except InvalidActionError:
        await show_form_error(ack, "answer", t("answer_modal.error_empty", lang))
        return
    await ack()
    services.kick()


async def reassign_submitted(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], services: Services, lang: str
) -> None:
    item_id = form_item_id(view)
    values = view.get("state", {}).get("values", {})
    target = ((values.get("target", {}).get("value") or {}).get("selected_option") or {}).get(
        "value"
    )
    note = (values.get("note", {}).get("value") or {}).get("value")
    if item_id is None:
        await ack()
        return
    try:
        await lead_actions.reassign(
            services.sessions,
            item_id,
            body["user"]["id"],
            target or "",
            escape_plain(note or ""),
            services.admins,
        )
    except RefusedError:
        raise
    except InvalidActionError:
        await show_form_error(ack, "target", t("reassign.error_target", lang))
        return
    await ack()
    services.kick()


async def open_internal_note(
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    services: Services,
    lang: str,
) -> None:
    await ack()
    card = await card_for_form(services, body, lead_actions.check_can_act)
    if card is not None:
        view = lead_action_views.internal_note_modal(card, lang)
        await client.views_open(trigger_id=body["trigger_id"], view=view)


async def internal_note_submitted(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], services: Services, lang: str
) -> None:
    item_id = form_item_id(view)
    text = (_value(_values(view), "note").get("value")) or ""
    if item_id is None:
        await ack()
        return
    try:
        await notes.add_note(
            services.sessions, item_id, body["user"]["id"], escape_plain(text), services.admins
        )
    except RefusedError:
        raise
    except InvalidActionError:
        await show_form_error(ack, "note", t("note_modal.error_empty", lang))
        return
    await ack()
    services.kick()


ITEM_NUMBER = re.compile(r"^\s*#?\s*(\d{1,9})\s*$")


def _values(view: dict[str, Any]) -> dict[str, Any]:
    return (view.get("state") or {}).get("values") or {}


def _value(values: dict[str, Any], block: str) -> dict[str, Any]:
    return (values.get(block) or {}).get("value") or {}


def parse_resolution(view: dict[str, Any]) -> tuple[resolution.Resolution | None, str | None]:
    """The resolve form's values, or the block whose value is not a valid one."""
    values = _values(view)
    outcome = (_value(values, "outcome").get("selected_option") or {}).get("value") or ""
    raw_number = (_value(values, "duplicate").get("value") or "").strip()
    number = None
    if raw_number:
        match = ITEM_NUMBER.match(raw_number)
        if match is None:
            return None, "duplicate"
        number = int(match.group(1))
    customer = (_value(values, "customer").get("selected_option") or {}).get("value")
    deal = _value(values, "deal").get("selected_options") or []
    note = _value(values, "note").get("value") or ""
    category = (_value(values, "category").get("selected_option") or {}).get("value")
    return (
        resolution.Resolution(
            outcome=outcome,
            note=escape_plain(note),
            duplicate_of=number,
            customer_outcome=customer,
            helped_deal=any(o.get("value") == "helped_deal" for o in deal),
            category=category,
        ),
        None,
    )


async def open_resolve(
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    services: Services,
    lang: str,
) -> None:
    await ack()
    card = await card_for_form(services, body, resolution.check_can_resolve)
    if card is None:
        return
    modal = lead_action_views.resolve_modal(
        card, lang, customer_flagged=resolution.customer_flagged(card)
    )
    await client.views_open(trigger_id=body["trigger_id"], view=modal)


async def resolve_submitted(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], services: Services, lang: str
) -> None:
    item_id = form_item_id(view)
    if item_id is None:
        await ack()
        return
    chosen, bad_block = parse_resolution(view)
    if chosen is None:
        error = t("resolve.error_duplicate_number", lang)
        await show_form_error(ack, bad_block or "duplicate", error)
        return
    await resolution.resolve(
        services.sessions,
        item_id,
        body["user"]["id"],
        chosen,
        services.admins,
        csat=services.csat,
    )
    await ack()
    services.kick()


async def reopen(
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    services: Services,
    lang: str,
) -> None:
    """ "Reopen": the reporter is asked what is still wrong (a form); a lead, the backup or
    an admin reopens it at once."""
    await ack()
    item_id = item_id_of(body)
    if item_id is None:
        return
    user = body["user"]["id"]
    try:
        form = await resolution.check_can_reopen(services.sessions, item_id, user, services.admins)
        if form.as_reporter:
            view = lead_action_views.reopen_modal(form.card, lang, draft=readable(form.draft))
            await client.views_open(trigger_id=body["trigger_id"], view=view)
            return
        await resolution.reopen(services.sessions, item_id, user, services.admins)
    except (NotAllowedError, ItemNotFoundError):
        # Reopening has its own words: who may reopen differs from who may act.
        await tell(services, body, respond, t("reopen.not_allowed", lang, id=item_id))
        return
    services.kick()


async def reopen_submitted(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], services: Services, lang: str
) -> None:
    """The reporter's "What is still wrong?": the item is reopened and the lead told why."""
    item_id = form_item_id(view)
    if item_id is None:
        await ack()
        return
    what = (view.get("state", {}).get("values", {}).get("what", {}).get("value") or {}).get(
        "value"
    ) or ""
    if not has_visible_text(what):
        await show_form_error(ack, "what", t("reopen.error_empty", lang))
        return
    try:
        await resolution.reopen(
            services.sessions, item_id, body["user"]["id"], services.admins, what=escape_plain(what)
        )
    except (NotAllowedError, ItemNotFoundError):
        await show_form_error(ack, "what", t("reopen.not_allowed", lang, id=item_id))
        return
    await ack()
    services.kick()


async def open_new_question(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, services: Services, lang: str
) -> None:
    """ "Ask a new question" under a resolved item: the /ask form, starting from what its
    reporter wrote there."""
    await ack()
    item_id = item_id_of(body)
    if item_id is None:
        return
    draft = await resolution.new_question_draft(services.sessions, item_id, body["user"]["id"])
    areas = await intake.area_choices(services.sessions)
    metadata = {
        "source": "modal",
        "channel": (body.get("channel") or {}).get("id"),
        "response_url": body.get("response_url"),
    }
    view = modals.intake_modal(
        "question", areas, lang, metadata=metadata, prefill=readable(draft) or None
    )
    await client.views_open(trigger_id=body["trigger_id"], view=view)


def register(app: AsyncApp) -> None:
    app.event("message", matchers=[is_conversation])(thread_message)
    app.action(conversation_views.ASK_DETAILS_ACTION)(open_ask_details)
    app.view(conversation_views.ASK_DETAILS_CALLBACK)(ask_details_submitted)
    app.action("item_answer")(open_answer)
    app.action("item_reassign")(open_reassign)
    app.action("item_acknowledge")(acknowledge)
    app.action(item_views.OPEN_FROM_DIGEST)(open_from_digest)
    app.view(modals.ANSWER_CALLBACK)(answer_submitted)
    app.view(modals.REASSIGN_CALLBACK)(reassign_submitted)
    app.action(lead_action_views.RESOLVE)(open_resolve)
    app.view(lead_action_views.RESOLVE_CALLBACK)(resolve_submitted)
    app.action(lead_action_views.REOPEN)(reopen)
    app.view(lead_action_views.REOPEN_CALLBACK)(reopen_submitted)
    app.action(lead_action_views.NEW_QUESTION)(open_new_question)
    app.action(lead_action_views.NOTE)(open_internal_note)
    app.view(lead_action_views.NOTE_CALLBACK)(internal_note_submitted)
