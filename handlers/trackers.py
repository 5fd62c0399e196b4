"""Listeners of Jira and Linear on Slack (issue 14): "Create issue" and "Link issue" on an
item's card (lead DM and App Home), their forms, "Unlink" in the card's Work menu, and the
reporter's one-click answers about their customer in "You asked, it shipped"."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.i18n import t
from bot.items.domain import row_id
from bot.relay import lead_actions
from bot.services import Services
from bot.text import neutralize
from bot.trackers import service
from bot.trackers.domain import TRACKERS, TrackerError
from bot.trackers.shipping import record_customer_answer
from bot.views import trackers as views
from bot.views.blocks import decode_metadata
from handlers.item_buttons import card_for_form, form_item_id

log = logging.getLogger("jerry.trackers")
TYPES_SECONDS = 2.0  # how long opening the form may wait for Jira's issue types


def _value(view: dict[str, Any], block: str) -> str:
    state = (view.get("state") or {}).get("values") or {}
    element = (state.get(block) or {}).get("value") or {}
    if element.get("type") == "static_select":
        return str((element.get("selected_option") or {}).get("value") or "")
    return str(element.get("value") or "")


async def open_create(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, services: Services, lang: str
) -> None:
    await ack()
    card = await card_for_form(services, body, lead_actions.check_can_act)
    if card is None:
        return
    form = await service.create_form(
        services.sessions, card.id, body["user"]["id"], services.admins, lang
    )
    types: list[str] = []
    if form.tracker == "jira":
        # The project's own types when Jira answers quickly; the form must open within
        # Slack's trigger time, so a slow Jira leaves the common ones.
        try:
            async with asyncio.timeout(TYPES_SECONDS):
                async with services.trackers.client(form.tracker) as tracker:
                    types = await tracker.issue_types(form.project)
        except (TimeoutError, TrackerError) as exc:
            log.info("issue types of %s not read (%s): the common ones", form.project, exc)
    await client.views_open(
        trigger_id=body["trigger_id"],
        view=views.create_modal(
            item_id=form.item_id,
            tracker=form.tracker,
            project=form.project,
            issue_type=form.issue_type,
            issue_types=types,
            title=form.title,
            description=form.description,
            anonymous=card.anonymous,
            lang=lang,
            links_back=form.links_back,
        ),
    )


async def create_submitted(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], services: Services, lang: str
) -> None:
    item_id = form_item_id(view)
    tracker = str(decode_metadata(view.get("private_metadata")).get("tracker") or "")
    if item_id is None or tracker not in TRACKERS:
        await ack()
        return
    await service.request_create(
        services.sessions,
        item_id,
        body["user"]["id"],
        services.admins,
        service.CreateRequest(
            tracker=tracker,
            project=_value(view, "project"),
            issue_type=_value(view, "issue_type") or None,
            title=_value(view, "title"),
            description=_value(view, "description"),
        ),
        lang,
    )
    await ack()
    services.kick()


async def open_link(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, services: Services, lang: str
) -> None:
    await ack()
    card = await card_for_form(services, body, lead_actions.check_can_act)
    if card is None:
        return
    await client.views_open(
        trigger_id=body["trigger_id"],
        view=views.link_modal(card.id, services.trackers.connected, lang),
    )


async def link_submitted(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], services: Services, lang: str
) -> None:
    item_id = form_item_id(view)
    if item_id is None:
        await ack()
        return
    await service.link_issue(
        services.sessions,
        services.trackers,
        item_id,
        body["user"]["id"],
        services.admins,
        _value(view, "reference"),
        lang,
    )
    await ack()
    services.kick()


async def unlink(ack: AsyncAck, body: dict[str, Any], services: Services) -> None:
    await ack()
    try:
        value = str(body["actions"][0]["selected_option"]["value"])
    except (KeyError, IndexError, TypeError):
        return
    item, _, rest = value.partition(":")
    tracker, _, key = rest.partition(":")
    item_id = row_id(item)
    if item_id is None or tracker not in TRACKERS or not key:
        log.warning("ignored an unlink whose value is malformed: %.60r", value)
        return
    await service.unlink_issue(
        services.sessions, item_id, body["user"]["id"], services.admins, tracker, key
    )
    services.kick()


async def customer_answer(
    ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, services: Services, lang: str
) -> None:
    await ack()
    try:
        action = body["actions"][0]
        item_id = row_id(action["value"])
        answer = str(action["action_id"]).removeprefix(views.CUSTOMER_ACTION)
    except (KeyError, IndexError, TypeError):
        return
    if item_id is None:
        return
    found = await record_customer_answer(services.sessions, item_id, body["user"]["id"], answer)
    # The message says what was noted, in place of the question; the buttons stay, so a
    # wrong click can be changed.
    message = body.get("message") or {}
    blocks = [
        block
        for block in message.get("blocks") or []
        if not str(block.get("block_id", "")).startswith("shipped_noted")
    ]
    noted = {
        "type": "context",
        "block_id": f"shipped_noted_{answer}",
        "elements": [
            {
                "type": "mrkdwn",
                "text": t(
                    f"trackers.shipped.answered_{answer}",
                    lang,
                    customer=neutralize(found.customer or ""),
                ),
            }
        ],
    }
    if blocks:
        await respond(
            replace_original=True,
            text=message.get("text") or t("trackers.shipped.title", lang),
            blocks=[*blocks, noted][:50],
        )


def register(app: AsyncApp) -> None:
    app.action(views.CREATE_ACTION)(open_create)
    app.view(views.CREATE_CALLBACK)(create_submitted)
    app.action(views.LINK_ACTION)(open_link)
    app.view(views.LINK_CALLBACK)(link_submitted)
    app.action(views.UNLINK_ACTION)(unlink)
    app.action(re.compile(rf"^{views.CUSTOMER_ACTION}(kept|lost|deal)$"))(customer_answer)
