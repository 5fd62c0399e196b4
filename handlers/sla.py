"""People leaving (Slack's `user_change` event says at once when someone is deactivated), and
the buttons of a late item's message in the triage channel (Take it, Nudge)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.i18n import t
from bot.services import Services
from bot.sla import late_actions, reminders
from bot.sla.late_actions import Clicked
from bot.views import late as late_views
from bot.views.blocks import slack_date
from handlers.item_buttons import item_id_of, tell


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


def clicked(body: dict[str, Any]) -> Clicked:
    """Who clicked, and on which message (its channel and ts)."""
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    message_ts = (body.get("message") or {}).get("ts") or container.get("message_ts")
    return Clicked(user=body["user"]["id"], channel=channel, message_ts=message_ts)


async def take_it(
    ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, services: Services, lang: str
) -> None:
    await ack()
    item_id = item_id_of(body)
    if item_id is None:
        return
    taken = await late_actions.take_over(services.sessions, item_id, clicked(body), services.admins)
    services.kick()
    lead = f"<@{taken.from_lead}>" if taken.from_lead else "—"
    await tell(services, body, respond, t("late.take_done", lang, id=item_id, lead=lead))


async def nudge(
    ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, services: Services, lang: str
) -> None:
    await ack()
    item_id = item_id_of(body)
    if item_id is None:
        return
    nudged = await late_actions.nudge(
        services.sessions, services.directory, item_id, clicked(body), services.admins
    )
    services.kick()
    lead = f"<@{nudged.lead}>"
    if nudged.reaches_at is None:
        text = t("late.nudge_done", lang, id=item_id, lead=lead)
    else:
        when = slack_date(nudged.reaches_at)
        text = t("late.nudge_later", lang, id=item_id, lead=lead, when=when)
    await tell(services, body, respond, text)


def register(app: AsyncApp) -> None:
    app.event("user_change")(user_changed)
    app.action(late_views.TAKE)(take_it)
    app.action(late_views.NUDGE)(nudge)
