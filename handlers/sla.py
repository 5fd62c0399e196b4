"""People leaving: Slack's `user_change` event says at once when someone is deactivated."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.services import Services
from bot.sla import reminders


async def user_changed(event: dict[str, Any], services: Services) -> None:
    user = event.get("user") or {}
    user_id = user.get("id")
    # Slack does not always include `deleted`; only an explicit true means someone left
    # (the reminders tick still finds the others through users.info).
    if not user_id or user.get("deleted") is not True:
        return
    await reminders.mark_user_gone(services.sessions, user_id)
    if await reminders.lead_gone(services.sessions, user_id):
        services.kick()


def register(app: AsyncApp) -> None:
    app.event("user_change")(user_changed)
