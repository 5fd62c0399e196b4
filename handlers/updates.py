"""Product update listeners: /shipped and /upcoming (the form, or `list`), the form's
submission, and the "Edit" and "Withdraw" buttons."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.db import DATABASE_ERRORS
from bot.intake import service as intake
from bot.items.domain import row_id
from bot.services import Services
from bot.text import escape_plain
from bot.updates import service as updates
from bot.updates.service import (
    UpdateDraft,
    UpdateInvalidError,
)
from bot.views import updates as views
from bot.views.blocks import decode_metadata
from models.base import utcnow

log = logging.getLogger("jerry.updates")
COMMAND_KINDS = {"/shipped": "shipped", "/upcoming": "upcoming"}
LIST_WORDS = {"list", "liste", "ls"}
TIMEZONE_LOOKUP_SECONDS = 1.0


def now() -> datetime:
    """The clock (tests replace it)."""
    return utcnow()


async def _today(services: Services, user: str) -> date:
    """Today in the user's Slack timezone (UTC if Slack is slow to say)."""
    timezone = None
    try:
        record = await asyncio.wait_for(
            asyncio.shield(asyncio.ensure_future(services.directory.user(user))),
            timeout=TIMEZONE_LOOKUP_SECONDS,
        )
        timezone = record.tz if record is not None else None
    except Exception:  # the default date is a courtesy: UTC will do
        log.info("no timezone for %s; using UTC", user)
    return updates.today_in(timezone, now())


def _value(values: dict[str, Any], block: str) -> dict[str, Any]:
    return values.get(block, {}).get("value") or {}


def _selected(values: dict[str, Any], block: str) -> str | None:
    return (_value(values, block).get("selected_option") or {}).get("value")


def _date(values: dict[str, Any], block: str) -> date | str | None:
    raw = _value(values, block).get("selected_date")
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return "bad"


def draft_from(
    kind: str, values: dict[str, Any], *, editing: bool = False
) -> tuple[UpdateDraft, bool]:
    """The form's values as a draft, and whether its date could be read. Editing, no area
    chosen at all (not even "no particular area") keeps the update's area."""
    area = _selected(values, "area")
    when = _date(values, "date")
    bad_date = when == "bad"
    when_date = when if isinstance(when, date) else None
    draft = UpdateDraft(
        kind=kind,
        title=escape_plain(_value(values, "title").get("value") or ""),
        customer_impact=escape_plain(_value(values, "impact").get("value") or "") or None,
        area_id=row_id(area[5:]) if area and area.startswith("area:") else None,
        link=_value(values, "link").get("value") or None,
        shipped_on=when_date if kind == "shipped" else None,
        target_date=when_date if kind == "upcoming" else None,
        confidence=_selected(values, "confidence"),
        audience=_selected(values, "audience") or "internal",
        keep_area=editing and area is None,
        items_text=_value(values, "items").get("value") or "",
    )
    return draft, bad_date


async def _send(
    services: Services,
    user: str,
    response_url: str | None,
    message: dict[str, Any],
    *,
    replace: bool,
) -> None:
    """Show `message` to `user` privately: through the response_url (where they typed the
    command or clicked), else by a DM from Jerry. A courtesy: failures are logged."""
    if response_url:
        try:
            response = await AsyncWebhookClient(response_url).send(
                text=message["text"],
                blocks=message["blocks"],
                response_type="ephemeral",
                replace_original=replace,
            )
            if response.status_code == 200:
                return
            log.info("response_url answered %s; sending a DM", response.status_code)
        except (OSError, ValueError) as exc:
            log.info("response_url failed (%s); sending a DM", exc)
    try:
        await services.client.chat_postMessage(
            channel=user, text=message["text"], blocks=message["blocks"], unfurl_links=False
        )
    except (SlackApiError, OSError, ValueError) as exc:
        log.warning("could not show %s their update: %s", user, exc)


async def slash(
    ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient, services: Services, lang: str
) -> None:
    kind = COMMAND_KINDS.get(command.get("command", ""), "shipped")
    user = command["user_id"]
    text = (command.get("text") or "").strip()
    if text.lower() in LIST_WORDS:
        try:
            cards = await updates.recent(services.sessions, user, kind)
        except DATABASE_ERRORS:
            log.exception("could not list the updates of %s", user)
            await ack(text=views.refusal(lang, "unavailable"), response_type="ephemeral")
            return
        message = views.update_list(cards, kind, lang)
        await ack(text=message["text"], blocks=message["blocks"], response_type="ephemeral")
        return
    await ack()
    areas = await intake.area_choices(services.sessions)
    metadata = {"response_url": command.get("response_url"), "origin": "command"}
    await client.views_open(
        trigger_id=command["trigger_id"],
        view=views.update_modal(
            kind,
            areas,
            lang,
            today=await _today(services, user),
            metadata=metadata,
            prefill_title=text or None,
        ),
    )


async def submitted(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], services: Services, lang: str
) -> None:
    user = body["user"]["id"]
    meta = decode_metadata(view.get("private_metadata"))
    kind = "upcoming" if meta.get("kind") == "upcoming" else "shipped"
    update_id = meta.get("update")
    values = view.get("state", {}).get("values", {})
    draft, bad_date = draft_from(kind, values, editing=isinstance(update_id, int))
    if bad_date:
        await ack(response_action="errors", errors={"date": views.refusal(lang, "bad_date")})
        return
    today = await _today(services, user)
    try:
        if isinstance(update_id, int):
            card = await updates.edit(
                services.sessions, update_id, draft, user, services.admins, today=today, now=now()
            )
        else:
            card = await updates.create(services.sessions, draft, user, today=today, now=now())
    except UpdateInvalidError as exc:
        await ack(response_action="errors", errors=views.form_errors(exc.errors, lang))
        return
    except DATABASE_ERRORS:
        log.exception("could not store an update from %s", user)
        await ack(response_action="errors", errors={"title": views.refusal(lang, "unavailable")})
        return
    await ack()
    edited = isinstance(update_id, int)
    if edited and meta.get("origin") == views.LIST_BLOCK:
        message = views.update_list(await updates.recent(services.sessions, user, kind), kind, lang)
    else:
        message = views.update_message(card, lang, edited=edited)
    await _send(services, user, meta.get("response_url"), message, replace=edited)


async def open_edit(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, services: Services, lang: str
) -> None:
    await ack()
    user, update_id, origin = body["user"]["id"], _update_id(body), _origin(body)
    if update_id is None:
        return
    card = await updates.check_can_edit(services.sessions, update_id, user, services.admins)
    areas = await intake.area_choices(services.sessions)
    metadata = {"response_url": body.get("response_url"), "origin": origin}
    await client.views_open(
        trigger_id=body["trigger_id"],
        view=views.update_modal(
            card.kind,
            areas,
            lang,
            today=await _today(services, user),
            metadata=metadata,
            card=card,
        ),
    )


async def withdraw(ack: AsyncAck, body: dict[str, Any], services: Services, lang: str) -> None:
    await ack()
    user, update_id, origin = body["user"]["id"], _update_id(body), _origin(body)
    if update_id is None:
        return
    card = await updates.withdraw(services.sessions, update_id, user, services.admins, now=now())
    if origin == views.LIST_BLOCK:
        cards = await updates.recent(services.sessions, user, card.kind)
        message = views.update_list(cards, card.kind, lang)
    else:
        message = views.withdrawn_message(card, lang)
    await _send(services, user, body.get("response_url"), message, replace=True)


def register(app: AsyncApp) -> None:
    app.command("/shipped")(slash)
    app.command("/upcoming")(slash)
    app.view(views.UPDATE_CALLBACK)(submitted)
    app.action(views.EDIT_ACTION)(open_edit)
    app.action(views.WITHDRAW_ACTION)(withdraw)


def _update_id(body: dict[str, Any]) -> int | None:
    try:
        return row_id(body["actions"][0]["value"])
    except (KeyError, IndexError, TypeError):
        return None


def _origin(body: dict[str, Any]) -> str:
    """Which message the button was on: the list of one's updates, or one update."""
    try:
        block_id = str(body["actions"][0].get("block_id") or "")
    except (KeyError, IndexError, AttributeError):
        return views.CONFIRMATION_BLOCK
    return (
        views.LIST_BLOCK
        if block_id.startswith(views.LIST_BLOCK + ":")
        else views.CONFIRMATION_BLOCK
    )
