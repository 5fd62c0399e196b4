"""Resolve and Reopen: the buttons (on the lead's DM, the reporter's resolution message or
the App Home) and the resolve form. Parse, call bot/resolution.py, answer."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import resolution
from bot.i18n import t
from bot.relay import ItemNotFoundError, NotAllowedError, RefusedError
from bot.text import escape_plain
from bot.views import items as item_views
from bot.views import lead_actions as views
from handlers.item_buttons import card_for_form, form_item_id, item_id_of, show_form_error, tell

if TYPE_CHECKING:
    from bot.app import JerryApp

ITEM_NUMBER = re.compile(r"^\s*#?\s*(\d{1,9})\s*$")


def _values(view: dict[str, Any]) -> dict[str, Any]:
    return (view.get("state") or {}).get("values") or {}


def _value(values: dict[str, Any], block: str) -> dict[str, Any]:
    return (values.get(block) or {}).get("value") or {}


def parse_resolution(view: dict[str, Any]) -> tuple[resolution.Resolution | None, str | None]:
    """The resolve form's values, or the block whose value is not a valid one."""
    values = _values(view)
    outcome = (_value(values, "outcome").get("selected_option") or {}).get("value") or ""
    raw_number = (_value(values, "duplicate").get("value") or "").strip()
    number = None
    if raw_number:
        match = ITEM_NUMBER.match(raw_number)
        if match is None:
            return None, "duplicate"
        number = int(match.group(1))
    customer = (_value(values, "customer").get("selected_option") or {}).get("value")
    deal = _value(values, "deal").get("selected_options") or []
    note = _value(values, "note").get("value") or ""
    return (
        resolution.Resolution(
            outcome=outcome,
            note=escape_plain(note),
            duplicate_of=number,
            customer_outcome=customer,
            helped_deal=any(o.get("value") == "helped_deal" for o in deal),
        ),
        None,
    )


def register(app: AsyncApp, jerry: JerryApp) -> None:
    @app.action(views.RESOLVE)
    async def open_resolve(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        found = await card_for_form(jerry, body, respond, resolution.check_can_resolve)
        if found is None:
            return
        lang, card = found
        modal = views.resolve_modal(card, lang, customer_flagged=resolution.customer_flagged(card))
        await client.views_open(trigger_id=body["trigger_id"], view=modal)

    @app.view(views.RESOLVE_CALLBACK)
    async def resolve_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = body["user"]["id"]
        lang = await jerry.user_language(user)
        item_id = form_item_id(view)
        if item_id is None:
            await ack()
            return
        chosen, bad_block = parse_resolution(view)
        if chosen is None:
            error = t("resolve.error_duplicate_number", lang)
            await show_form_error(ack, bad_block or "duplicate", error)
            return
        try:
            await resolution.resolve(jerry.sessions, item_id, user, chosen, jerry.admins)
        except RefusedError as exc:
            blocks = {block.get("block_id") for block in view.get("blocks") or []}
            field = exc.field if exc.field in blocks else "outcome"
            await show_form_error(ack, field, t(exc.key, lang, **exc.params))
            return
        except (NotAllowedError, ItemNotFoundError):
            await show_form_error(ack, "outcome", item_views.refusal(lang, item_id))
            return
        await ack()
        jerry.worker.kick()

    @app.action(views.REOPEN)
    async def reopen(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        user, item_id = body["user"]["id"], item_id_of(body)
        if item_id is None:
            return
        lang = await jerry.user_language(user)
        try:
            result = await resolution.reopen(jerry.sessions, item_id, user, jerry.admins)
        except (NotAllowedError, ItemNotFoundError):
            await tell(jerry, body, respond, t("reopen.not_allowed", lang, id=item_id))
            return
        except RefusedError as exc:
            await tell(jerry, body, respond, t(exc.key, lang, **exc.params))
            return
        jerry.worker.kick()
        if result.by_reporter:
            done = t("reopen.done", lang, id=item_id, team=result.card.team)
            await tell(jerry, body, respond, done)
