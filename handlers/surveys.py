"""Listeners for answering surveys: messages in survey threads, and the one-click buttons.

Registered before the conversation listeners: the message listener's matcher takes only
messages (new, edited, deleted) in a survey round's thread; item threads stay with
handlers/conversation.py. Nothing here logs who wrote (anonymous rounds).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError

from bot.i18n import t
from bot.services import Services
from bot.surveys import answering as core
from bot.surveys.keys import survey_secret
from bot.views import survey_answers as views

log = logging.getLogger("jerry.surveys")
EDIT, DELETE = "message_changed", "message_deleted"
PERSON_SUBTYPES = {None, "file_share", "thread_broadcast"}


def _where(event: dict[str, Any]) -> tuple[str, str | None, dict[str, Any]]:
    """(channel, thread_ts, the message) of a message event, an edit or a deletion."""
    subtype = event.get("subtype")
    if subtype == EDIT:
        message = event.get("message") or {}
    elif subtype == DELETE:
        message = event.get("previous_message") or {}
    else:
        message = event
    return event.get("channel") or "", message.get("thread_ts"), message


def _is_bot(message: dict[str, Any]) -> bool:
    return bool(message.get("bot_id")) or message.get("subtype") == "bot_message"


async def in_survey_thread(event: dict[str, Any], services: Services) -> bool:
    channel, thread_ts, message = _where(event)
    if not thread_ts or thread_ts == message.get("ts"):
        return False
    return await core.survey_thread(services.sessions, channel, thread_ts)


async def survey_message(
    event: dict[str, Any], context: dict[str, Any], services: Services
) -> None:
    channel, thread_ts, message = _where(event)
    subtype = event.get("subtype")
    user = message.get("user") or ""
    if _is_bot(message) or not user or user == context.get("bot_user_id"):
        return  # Jerry's own questions and notes, other apps
    secret = await survey_secret(services.sessions)
    now = services.clock()
    if subtype == DELETE:
        await core.delete_reply(
            services.sessions,
            secret=secret,
            channel=channel,
            thread_ts=thread_ts,
            user_id=user,
            ts=message.get("ts") or event.get("deleted_ts") or "",
            now=now,
        )
        return
    if subtype not in PERSON_SUBTYPES and subtype != EDIT:
        return  # joins, topic changes …
    edited = subtype == EDIT
    ts = message.get("ts") or ""
    outcome = await core.record_reply(
        services.sessions,
        secret=secret,
        channel=channel,
        thread_ts=thread_ts,
        user_id=user,
        ts=ts,
        text=message.get("text") or "",
        now=now,
        edited=edited,
    )
    await core.confirm(
        services.client,
        outcome,
        channel=channel,
        thread_ts=thread_ts or "",
        ts=ts,
        user_id=user,
        edited=edited,
    )


async def survey_button(
    ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, services: Services
) -> None:
    await ack()
    user = (body.get("user") or {}).get("id", "")
    action = (body.get("actions") or [{}])[0]
    container = body.get("container") or {}
    original = body.get("message") or {}
    outcome = await core.record_button(
        services.sessions,
        secret=await survey_secret(services.sessions),
        value=action.get("value") or "",
        user_id=user,
        now=services.clock(),
        # Where the question was: an anonymous invite is known by its thread.
        channel=(body.get("channel") or {}).get("id") or container.get("channel_id") or "",
        thread_ts=container.get("thread_ts") or original.get("thread_ts"),
    )
    lang = outcome.lang
    try:
        if outcome.status == "recorded" and outcome.answer is not None:
            if outcome.in_channel:  # a shared message: only the clicker hears
                message = views.button_saved(outcome.answer, outcome.remaining, lang)
                await respond(response_type="ephemeral", replace_original=False, **message)
                return
            decoded = core.parse_button_value(action.get("value") or "")
            assert decoded is not None
            blocks = views.button_chosen(
                original.get("blocks") or [],
                round_id=decoded[0],
                question_id=decoded[1],
                answer=outcome.answer,
                remaining=outcome.remaining,
                lang=lang,
            )
            await respond(replace_original=True, text=original.get("text") or "", blocks=blocks)
            return
        key = {"not_yours": "survey_answering.not_yours", "closed": "survey_answering.closed"}
        text = (
            t(key[outcome.status], lang)
            if outcome.status in key
            else " ".join(outcome.problems) or t("survey_answering.failed", lang)
        )
        await respond(response_type="ephemeral", replace_original=False, **views.notice(text))
    except (SlackApiError, OSError, ValueError) as exc:  # a courtesy: log, without the person
        log.warning("survey button answer not shown: %s", exc)


def register(app: AsyncApp) -> None:
    app.event("message", matchers=[in_survey_thread])(survey_message)
    app.action(views.ANSWER_ACTION)(survey_button)
