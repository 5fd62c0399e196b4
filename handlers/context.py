"""What every listener is given: Jerry's services and the language of the person it answers.

A global Bolt middleware puts both in the request context, so a listener declares them as
arguments (`services: Services`, `lang: str`), as it declares `ack` or `body`.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from bot.services import Services

# Payloads that come from a person acting, who may be answered.
INTERACTIVE_TYPES = {
    "block_actions",
    "view_submission",
    "view_closed",
    "shortcut",
    "message_action",
}


def person_answered(body: dict[str, Any]) -> str | None:
    """Who a request comes from when Jerry may answer them: the user of a command, a click, a
    form or a shortcut, or the author of a mention or a DM; None for other events."""
    if isinstance(body.get("user_id"), str) and body.get("command"):
        return str(body["user_id"])
    if body.get("type") in INTERACTIVE_TYPES:
        user = body.get("user")
        return user.get("id") if isinstance(user, dict) else None
    event = body.get("event")
    if body.get("type") == "event_callback" and isinstance(event, dict):
        person_writing = event.get("type") == "app_mention" or (
            event.get("type") == "message" and event.get("channel_type") == "im"
        )
        user = event.get("user")
        if person_writing and not event.get("bot_id") and isinstance(user, str):
            return user
    return None


def register(app: AsyncApp, services: Services) -> None:
    @app.middleware
    async def give_services(context: AsyncBoltContext, body: dict[str, Any], next: Any) -> None:
        context["services"] = services
        user = person_answered(body)
        # Only a person Jerry may answer costs a lookup (remembered, else cached, else Slack's).
        context["lang"] = await services.language_of(user) if user else services.default_language
        await next()
