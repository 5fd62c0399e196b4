"""Listeners of emoji filing (issue 15): `reaction_added` and `reaction_removed` on messages
in channels, and the buttons of the reactor's ephemeral receipt (Change area, Make anonymous,
Undo) with the Change area form."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.capture import external
from bot.capture import reactions as capture
from bot.i18n import t
from bot.intake import service as intake
from bot.items.domain import row_id
from bot.services import Services
from bot.text import escape_plain
from bot.views import capture as views
from bot.views import lead_actions as lead_action_views
from handlers.item_buttons import form_item_id, item_id_of

log = logging.getLogger("jerry.capture")


def reaction_of(event: dict[str, Any], workspace: object = None) -> capture.Reaction | None:
    """A reaction on a message, as plain data; None for anything else (a file, a malformed
    event)."""
    item = event.get("item")
    if not isinstance(item, dict) or item.get("type") != "message":
        return None
    user, reaction = event.get("user"), event.get("reaction")
    channel, ts = item.get("channel"), item.get("ts")
    if not all(isinstance(value, str) and value for value in (user, reaction, channel, ts)):
        return None
    author = event.get("item_user")
    return capture.Reaction(
        user=str(user),
        reaction=str(reaction),
        channel=str(channel),
        ts=str(ts),
        author=author if isinstance(author, str) else None,
        workspace=workspace if isinstance(workspace, str) else None,
    )


async def reaction_added(event: dict[str, Any], body: dict[str, Any], services: Services) -> None:
    reaction = reaction_of(event, body.get("team_id"))
    if reaction is None:
        return
    person = await services.directory.user(reaction.user)
    if person is not None and person.is_bot:
        return  # a bot's reaction (Jerry's own survey ticks included) files nothing
    if await capture.reacted(services.sessions, reaction, now=services.clock()):
        services.kick()


async def reaction_removed(event: dict[str, Any], services: Services) -> None:
    reaction = reaction_of(event)
    if reaction is None:
        return
    if await capture.removed(services.sessions, reaction, now=services.clock()):
        services.kick()


async def undo(
    ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, services: Services, lang: str
) -> None:
    await ack()
    item_id = item_id_of(body)
    if item_id is None:
        return
    done = await capture.undo(services.sessions, item_id, body["user"]["id"], now=services.clock())
    services.kick()
    key = "capture.notice.undone_added" if done.added else "capture.notice.undone"
    await respond(replace_original=True, text=t(key, lang, id=done.item_id))


async def make_anonymous(
    ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, services: Services, lang: str
) -> None:
    await ack()
    item_id = item_id_of(body)
    if item_id is None:
        return
    await capture.make_anonymous(services.sessions, item_id, body["user"]["id"])
    services.kick()
    await respond(
        replace_original=False,
        response_type="ephemeral",
        text=t("capture.notice.anonymous", lang, id=item_id),
    )


async def open_area(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, services: Services, lang: str
) -> None:
    await ack()
    item_id = item_id_of(body)
    if item_id is None:
        return
    areas = await intake.area_choices(services.sessions)
    await client.views_open(
        trigger_id=body["trigger_id"], view=views.area_modal(item_id, areas, lang)
    )


async def area_submitted(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], services: Services, lang: str
) -> None:
    item_id = form_item_id(view)
    state = ((view.get("state") or {}).get("values") or {}).get("area") or {}
    area_id = row_id(((state.get("value") or {}).get("selected_option") or {}).get("value"))
    if item_id is None or area_id is None:
        await ack(response_action="errors", errors={"area": t("capture.refused.area", lang)})
        return
    await capture.change_area(services.sessions, item_id, body["user"]["id"], area_id)
    await ack()
    services.kick()


async def open_customer_reply(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, services: Services, lang: str
) -> None:
    await ack()
    item_id = item_id_of(body)
    if item_id is None:
        return
    found, channel, org = await external.reply_form(
        services.sessions, item_id, body["user"]["id"], services.admins
    )
    view = views.customer_reply_modal(found, channel, org, lang)
    await client.views_open(trigger_id=body["trigger_id"], view=view)


async def customer_reply_submitted(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], services: Services
) -> None:
    item_id = form_item_id(view)
    state = ((view.get("state") or {}).get("values") or {}).get("reply") or {}
    text = str((state.get("value") or {}).get("value") or "")
    if item_id is None:
        await ack()
        return
    await external.reply_to_customer(
        services.sessions, item_id, body["user"]["id"], services.admins, escape_plain(text)
    )
    await ack()
    services.kick()


def register(app: AsyncApp) -> None:
    app.action(lead_action_views.CUSTOMER_REPLY)(open_customer_reply)
    app.view(views.CUSTOMER_REPLY_CALLBACK)(customer_reply_submitted)
    app.event("reaction_added")(reaction_added)
    app.event("reaction_removed")(reaction_removed)
    app.action(views.UNDO_ACTION)(undo)
    app.action(views.ANONYMOUS_ACTION)(make_anonymous)
    app.action(views.AREA_ACTION)(open_area)
    app.view(views.AREA_CALLBACK)(area_submitted)
