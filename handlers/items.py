"""The buttons on a lead's DM and the modals they open (answer, reassign)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.i18n import t
from bot.relay import lead_actions as relay
from bot.relay.lead_actions import InvalidActionError, RefusedError
from bot.services import Services
from bot.text import escape_plain
from bot.views import modals
from handlers.item_buttons import card_for_form, form_item_id, item_id_of, show_form_error


async def open_answer(
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    services: Services,
    lang: str,
) -> None:
    await ack()
    card = await card_for_form(services, body, relay.check_can_act)
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
    card = await card_for_form(services, body, relay.check_can_act)
    if card is None:
        return
    targets = await relay.reassign_targets(services.sessions, lang)
    await client.views_open(
        trigger_id=body["trigger_id"], view=modals.reassign_modal(card, targets, lang)
    )


async def acknowledge(ack: AsyncAck, body: dict[str, Any], services: Services) -> None:
    await ack()
    item_id = item_id_of(body)
    if item_id is None:
        return
    await relay.acknowledge(services.sessions, item_id, body["user"]["id"], services.admins)
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
        await relay.answer(
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
        await relay.reassign(
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


def register(app: AsyncApp) -> None:
    app.action("item_answer")(open_answer)
    app.action("item_reassign")(open_reassign)
    app.action("item_acknowledge")(acknowledge)
    app.view(modals.ANSWER_CALLBACK)(answer_submitted)
    app.view(modals.REASSIGN_CALLBACK)(reassign_submitted)
