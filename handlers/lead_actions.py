"""Resolve and Reopen: the buttons (on the lead's DM, the reporter's resolution message or
the App Home) and the resolve form. Parse, call bot/relay/resolution.py, answer."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.i18n import t
from bot.relay import resolution
from bot.relay.lead_actions import ItemNotFoundError, NotAllowedError
from bot.services import Services
from bot.text import escape_plain
from bot.views import lead_actions as views
from handlers.item_buttons import card_for_form, form_item_id, item_id_of, show_form_error, tell

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


async def open_resolve(
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    services: Services,
    lang: str,
) -> None:
    await ack()
    card = await card_for_form(services, body, resolution.check_can_resolve)
    if card is None:
        return
    modal = views.resolve_modal(card, lang, customer_flagged=resolution.customer_flagged(card))
    await client.views_open(trigger_id=body["trigger_id"], view=modal)


async def resolve_submitted(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], services: Services, lang: str
) -> None:
    item_id = form_item_id(view)
    if item_id is None:
        await ack()
        return
    chosen, bad_block = parse_resolution(view)
    if chosen is None:
        error = t("resolve.error_duplicate_number", lang)
        await show_form_error(ack, bad_block or "duplicate", error)
        return
    await resolution.resolve(
        services.sessions, item_id, body["user"]["id"], chosen, services.admins
    )
    await ack()
    services.kick()


async def reopen(
    ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, services: Services, lang: str
) -> None:
    await ack()
    item_id = item_id_of(body)
    if item_id is None:
        return
    try:
        result = await resolution.reopen(
            services.sessions, item_id, body["user"]["id"], services.admins
        )
    except (NotAllowedError, ItemNotFoundError):
        # Reopening has its own words: who may reopen differs from who may act.
        await tell(services, body, respond, t("reopen.not_allowed", lang, id=item_id))
        return
    services.kick()
    if result.by_reporter:
        done = t("reopen.done", lang, id=item_id, team=result.card.team)
        await tell(services, body, respond, done)


def register(app: AsyncApp) -> None:
    app.action(views.RESOLVE)(open_resolve)
    app.view(views.RESOLVE_CALLBACK)(resolve_submitted)
    app.action(views.REOPEN)(reopen)
