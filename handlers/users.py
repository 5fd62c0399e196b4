"""People leaving: Slack's `user_change` event says at once when someone is deactivated."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncApp

from bot import reminders

if TYPE_CHECKING:
    from bot.app import JerryApp

log = logging.getLogger("jerry.users")


def register(app: AsyncApp, jerry: JerryApp) -> None:
    @app.event("user_change")
    async def user_changed(event: dict[str, Any]) -> None:
        user = event.get("user") or {}
        user_id = user.get("id")
        # Slack does not always include `deleted`; only an explicit true means someone left
        # (the reminders tick still finds the others through users.info).
        if not user_id or user.get("deleted") is not True:
            return
        await reminders.mark_user_gone(jerry.sessions, user_id)
        if await reminders.lead_gone(jerry.sessions, user_id):
            jerry.worker.kick()
