"""The one error path: whatever a listener raises becomes a clear answer to the person, and
Slack gets a 200 (a 500 only makes Slack retry, or show its own "something went wrong").

- a refusal (not allowed, no such item, a refused action) says why, in the person's language;
- a database outage says that nothing was changed and to try again;
- a form that could not open because its trigger expired asks to click again;
- anything else says that nothing was changed, and is logged with its traceback.

Where the answer goes: the form itself (a field error under its first input) for a form
submission not yet acknowledged; the command's own response for a slash command not yet
acknowledged; otherwise privately where the person acted (the click's response_url), else a
DM from Jerry, else (a mention, a message) an ephemeral message in that channel.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.db import DATABASE_ERRORS
from bot.errors import Refusal
from bot.i18n import t
from bot.services import Services
from bot.slack import classify

log = logging.getLogger("jerry.errors")
# views.open's answers when the click's trigger_id is too old (3 s) or used already.
EXPIRED_TRIGGER_ERRORS = {"expired_trigger_id", "exchanged_trigger_id", "invalid_trigger_id"}


def answer_for(error: Exception, lang: str) -> str:
    """What the person is told about `error`, in their language."""
    if isinstance(error, Refusal):
        return error.message(lang)
    if isinstance(error, SlackApiError) and classify(error).code in EXPIRED_TRIGGER_ERRORS:
        return t("error.form_expired", lang)
    if isinstance(error, DATABASE_ERRORS):
        return t("error.database_down", lang)
    return t("error.unexpected", lang)


def _expected(error: Exception) -> bool:
    """A refusal or a known outage: said to the person, logged without a traceback."""
    if isinstance(error, Refusal):
        return True
    if isinstance(error, SlackApiError):
        return classify(error).code in EXPIRED_TRIGGER_ERRORS
    return isinstance(error, DATABASE_ERRORS)


def _form_block(body: dict[str, Any], error: Exception) -> str | None:
    """The block of the submitted form to show the error under: the refusal's own field when
    the form has it, else its first input."""
    blocks = (body.get("view") or {}).get("blocks") or []
    ids = [b.get("block_id") for b in blocks if isinstance(b, dict) and b.get("type") == "input"]
    field = error.field if isinstance(error, Refusal) else ""
    if field and field in ids:
        return str(field)
    return str(ids[0]) if ids and ids[0] else None


def _json(payload: dict[str, Any]) -> BoltResponse:
    return BoltResponse(
        status=200, body=json.dumps(payload), headers={"content-type": "application/json"}
    )


async def _tell(services: Services, body: dict[str, Any], user: str | None, text: str) -> None:
    """Privately where the person acted, else by DM, else ephemeral in the event's channel.
    A courtesy: if Slack refuses it too, it is logged."""
    response_url = body.get("response_url") or next(
        (r.get("response_url") for r in body.get("response_urls") or [] if isinstance(r, dict)),
        None,
    )
    event = body.get("event")
    if not isinstance(event, dict):
        event = {}
    try:
        if response_url:
            await AsyncWebhookClient(response_url).send(
                text=text, response_type="ephemeral", replace_original=False
            )
        elif event.get("channel") and user:
            await services.client.chat_postEphemeral(
                channel=event["channel"],
                user=user,
                text=text,
                thread_ts=event.get("thread_ts"),
            )
        elif user:
            await services.client.chat_postMessage(channel=user, text=text)
    except Exception as exc:  # the person could not be told: at least the log says why
        log.warning("could not tell %s about an error: %s", user, exc)


def register(app: AsyncApp, services: Services) -> None:
    @app.error
    async def answer_the_person(
        error: Exception, body: dict[str, Any], context: AsyncBoltContext
    ) -> BoltResponse:
        lang = context.get("lang") or services.default_language
        user = context.user_id
        if _expected(error):
            log.info("answered %s with a refusal or outage: %r", user, error)
        else:
            log.error("a listener failed", exc_info=error)
        if isinstance(error, DATABASE_ERRORS) and body.get("type") == "event_callback":
            text = t("error.not_relayed", lang)
        else:
            text = answer_for(error, lang)
        acked = context.ack.response if context.ack is not None else None
        if acked is None:
            if body.get("type") == "view_submission":
                block = _form_block(body, error)
                if block:
                    return _json({"response_action": "errors", "errors": {block: text}})
            elif body.get("command"):
                return _json({"response_type": "ephemeral", "text": text})
        await _tell(services, body, user, text)
        if acked is not None:
            return acked  # Slack hears what the listener acknowledged before it failed
        return BoltResponse(status=200, body="")
