"""The buttons on a lead's DM and the modals they open (answer, reassign)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import relay
from bot.i18n import t
from bot.relay import InvalidActionError, ItemNotFoundError, NotAllowedError, RefusedError
from bot.text import escape_plain
from bot.views import items as item_views
from bot.views import modals
from handlers.item_buttons import card_for_form, form_item_id, item_id_of, show_form_error, tell

if TYPE_CHECKING:
    from bot.app import JerryApp

log = logging.getLogger("jerry.items")


def register(app: AsyncApp, jerry: JerryApp) -> None:
    async def refuse(
        respond: AsyncRespond, lang: str, item_id: int, body: dict[str, Any] | None = None
    ) -> None:
        # From the App Home there is no response_url: `tell` sends a DM instead.
        await tell(jerry, body or {}, respond, item_views.refusal(lang, item_id))

    @app.action("item_answer")
    async def open_answer(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        found = await card_for_form(jerry, body, respond, relay.check_can_act)
        if found is not None:
            lang, card = found
            view = modals.answer_modal(card, lang)
            await client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.action("item_reassign")
    async def open_reassign(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        found = await card_for_form(jerry, body, respond, relay.check_can_act)
        if found is None:
            return
        lang, card = found
        targets = await relay.reassign_targets(jerry.sessions, lang)
        await client.views_open(
            trigger_id=body["trigger_id"], view=modals.reassign_modal(card, targets, lang)
        )

    @app.action("item_acknowledge")
    async def acknowledge(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        user, item_id = body["user"]["id"], item_id_of(body)
        if item_id is None:
            return
        try:
            await relay.acknowledge(jerry.sessions, item_id, user, jerry.admins)
        except (NotAllowedError, ItemNotFoundError):
            await refuse(respond, await jerry.user_language(user), item_id, body)
            return
        jerry.worker.kick()

    @app.view(modals.ANSWER_CALLBACK)
    async def answer_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = body["user"]["id"]
        lang = await jerry.user_language(user)
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
                jerry.sessions, item_id, user, escape_plain(text), jerry.admins, share=share
            )
        except InvalidActionError:
            await show_form_error(ack, "answer", t("answer_modal.error_empty", lang))
            return
        except (NotAllowedError, ItemNotFoundError):
            await show_form_error(ack, "answer", item_views.refusal(lang, item_id))
            return
        await ack()
        jerry.worker.kick()

    @app.view(modals.REASSIGN_CALLBACK)
    async def reassign_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = body["user"]["id"]
        lang = await jerry.user_language(user)
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
                jerry.sessions, item_id, user, target or "", escape_plain(note or ""), jerry.admins
            )
        except RefusedError as exc:
            await show_form_error(ack, "target", t(exc.key, lang, **exc.params))
            return
        except InvalidActionError:
            await show_form_error(ack, "target", t("reassign.error_target", lang))
            return
        except (NotAllowedError, ItemNotFoundError):
            await show_form_error(ack, "target", item_views.refusal(lang, item_id))
            return
        await ack()
        jerry.worker.kick()
