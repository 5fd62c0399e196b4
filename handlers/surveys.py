"""Listeners for answering surveys: messages in survey threads, the round message's Answer
button and its form, and the one-click buttons of rounds posted before the form.

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
from bot.views import survey_form
from bot.views.blocks import decode_metadata, encode_metadata
from bot.views.survey_round import ANSWER_FORM_ACTION

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
    lang = await services.directory.spoken_language(user)
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
        lang=lang,
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


def _round_id(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


async def open_answer_form(
    ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, services: Services
) -> None:
    """The round message's Answer button: the form, in the person's language, pre-filled."""
    await ack()
    user = (body.get("user") or {}).get("id", "")
    action = (body.get("actions") or [{}])[0]
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id") or ""
    # The round message itself is the person's thread (an anonymous invite is known by it).
    thread_ts = container.get("message_ts") or (body.get("message") or {}).get("ts")
    round_id = _round_id(action.get("value"))
    form = (
        await core.answer_form(
            services.sessions,
            secret=await survey_secret(services.sessions),
            round_id=round_id,
            user_id=user,
            channel=channel,
            thread_ts=thread_ts,
            now=services.clock(),
        )
        if round_id is not None
        else core.FormData("invalid")
    )
    lang = await services.directory.spoken_language(user) or form.survey_lang
    if form.status != "open" or form.closes_at is None:
        key = {"not_yours": "survey_answering.not_yours", "closed": "survey_answering.closed"}
        text = t(key.get(form.status, "survey_answering.failed"), lang)
        await respond(response_type="ephemeral", replace_original=False, **views.notice(text))
        return
    view = survey_form.answer_form(
        title=form.title,
        questions=form.questions,
        given=form.given,
        closes_at=form.closes_at,
        timezone=form.timezone,
        anonymous=form.anonymous,
        lang=lang,
        metadata=encode_metadata({"round": round_id, "channel": channel, "thread": thread_ts}),
    )
    await services.client.views_open(trigger_id=body.get("trigger_id") or "", view=view)


def form_entries(values: dict[str, Any]) -> list[core.FormEntry]:
    """The submitted form's state → one entry per question (bot/views/survey_form.py ids)."""
    found: dict[str, dict[str, Any]] = {}
    for block_id, actions in (values or {}).items():
        for prefix, key in ((survey_form.ANSWER_BLOCK, "value"), (survey_form.SKIP_BLOCK, "skip")):
            if block_id.startswith(prefix):
                state = (actions or {}).get(
                    survey_form.SKIP if key == "skip" else survey_form.ANSWER
                )
                found.setdefault(block_id[len(prefix) :], {})[key] = state or {}
    entries = []
    for question_id, parts in found.items():
        state = parts.get("value") or {}
        chosen = (state.get("selected_option") or {}).get("value")
        value = chosen if chosen is not None else state.get("value")
        boxes = (parts.get("skip") or {}).get("selected_options") or []
        skipped = chosen == survey_form.SKIP or any(
            box.get("value") == survey_form.SKIP for box in boxes
        )
        text = value if value != survey_form.SKIP else None
        entries.append(core.FormEntry(question_id, (text or "").strip() or None, skipped))
    return entries


async def submit_answer_form(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], services: Services
) -> None:
    """The form saved: answers and skips recorded; the one confirmation replaces the form
    once every question is answered or skipped, else the form just closes."""
    user = (body.get("user") or {}).get("id", "")
    meta = decode_metadata(view.get("private_metadata"))
    round_id = _round_id(meta.get("round"))
    lang = await services.directory.spoken_language(user)
    first = next(iter((view.get("state") or {}).get("values") or {}), "")
    if round_id is None:
        await ack(response_action="errors", errors={first: t("survey_answering.failed", lang)})
        return
    outcome = await core.record_form(
        services.sessions,
        secret=await survey_secret(services.sessions),
        round_id=round_id,
        user_id=user,
        channel=str(meta.get("channel") or ""),
        thread_ts=meta.get("thread"),
        entries=form_entries((view.get("state") or {}).get("values") or {}),
        now=services.clock(),
        lang=lang,
    )
    lang = lang or outcome.survey_lang
    if outcome.status == "problems":
        errors = {f"{survey_form.ANSWER_BLOCK}{q}": why for q, why in outcome.problems.items()}
        for question_id in outcome.skip_conflicts:
            errors[f"{survey_form.SKIP_BLOCK}{question_id}"] = t("survey_form.skip_and_text", lang)
        await ack(response_action="errors", errors=errors)
        return
    if outcome.status != "recorded":
        key = {"not_yours": "survey_answering.not_yours", "closed": "survey_answering.closed"}
        text = t(key.get(outcome.status, "survey_answering.failed"), lang)
        await ack(response_action="errors", errors={first: text})
        return
    if outcome.done is None:
        await ack()  # saved; questions are left: nothing to say until the last one
        return
    done = outcome.done
    await ack(
        response_action="update",
        view=survey_form.done_view(
            title=outcome.title,
            count=done.count,
            skipped=done.skipped,
            closes_at=done.closes_at,
            timezone=done.timezone,
            lang=lang,
        ),
    )


def register(app: AsyncApp) -> None:
    app.event("message", matchers=[in_survey_thread])(survey_message)
    app.action(views.ANSWER_ACTION)(survey_button)
    app.action(ANSWER_FORM_ACTION)(open_answer_form)
    app.view(survey_form.CALLBACK_ID)(submit_answer_form)
