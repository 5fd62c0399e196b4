"""Slack Connect: whether a message's author is of another organisation, and its name.

Slack marks each message of a shared channel with its author's team (`user_team`); one that
differs from Jerry's workspace is another organisation's. Its name comes from `team.info`,
asked once per process and organisation (briefly: an ack may be waiting), else its id.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.items.store import add_event
from bot.outbox.registry import (
    OutboxContext,
    OutboxHandler,
    OutboxRegistry,
    Posted,
    nothing_more,
)
from bot.outbox.store import enqueue
from bot.relay.lead_actions import RefusedError, load_for_action
from bot.slack import SLACK_FAILURES, AsyncWebClient
from bot.triage import alert_gave_up
from bot.views import capture as views
from models.deliveries import Delivery
from models.items import Item

log = logging.getLogger("jerry.capture")
NAME_SECONDS = 1.0
_names: dict[str, str] = {}


def external_team(message: dict[str, Any], workspace: str | None) -> str | None:
    """The author's team when it is not Jerry's workspace; None for a colleague's message."""
    team = message.get("user_team") or (message.get("user_profile") or {}).get("team")
    if isinstance(team, str) and team and workspace and team != workspace:
        return team
    return None


async def org_name(client: AsyncWebClient, team: str) -> str:
    if team in _names:
        return _names[team]
    try:
        response = await asyncio.wait_for(client.team_info(team=team), NAME_SECONDS)
        name = str((response.get("team") or {}).get("name") or team)
    except TimeoutError:
        log.info("the name of organisation %s is unknown (team.info is slow)", team)
        return team
    except SLACK_FAILURES as exc:
        log.info("the name of organisation %s is unknown (%s)", team, exc.__class__.__name__)
        return team
    _names[team] = name
    return name


CUSTOMER_REPLY = "customer_reply"  # the outbox purpose: a lead's reply, in the shared thread


async def reply_form(
    sessions: async_sessionmaker[AsyncSession], item_id: int, actor: str, admins: Iterable[str]
) -> tuple[int, str, str]:
    """For "Reply to the customer": the item, its shared channel and its organisation, if
    `actor` may act on it and it is another organisation's."""
    async with sessions() as session:
        item, _, _ = await load_for_action(session, item_id, actor, admins, for_update=False)
        if not item.external_org or not item.channel_id:
            raise RefusedError("capture.refused.not_external", "reply", id=item_id)
        return item.id, item.channel_id, item.external_org


async def reply_to_customer(
    sessions: async_sessionmaker[AsyncSession],
    item_id: int,
    actor: str,
    admins: Iterable[str],
    text: str,
) -> None:
    """Owe the lead's reply in the thread of the customer's message, and record it."""
    text = text.strip()[:REPLY_LIMIT]
    if not text:
        raise RefusedError("capture.refused.empty_reply", "reply")
    async with sessions() as session:
        item, team, _ = await load_for_action(session, item_id, actor, admins, for_update=False)
        if not item.external_org or not item.channel_id:
            raise RefusedError("capture.refused.not_external", "reply", id=item_id)
        add_event(session, item, actor, "customer_replied", text=text)
        enqueue(
            session,
            CUSTOMER_REPLY,
            item=item,
            recipient=item.channel_id,
            text=text,
            by=actor,
            team=team.name if team else "",
            thread_ts=item.message_ts,
        )
        await session.commit()


REPLY_LIMIT = 3000


def register_outbox(registry: OutboxRegistry) -> None:
    registry.register(
        CUSTOMER_REPLY,
        OutboxHandler(send=_customer_reply, undeliverable=nothing_more, gave_up=alert_gave_up),
    )


async def _customer_reply(
    outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
) -> Posted:
    params: dict[str, Any] = dict(delivery.params or {})
    message = views.customer_reply(
        outbox.default_language,
        text=str(params.get("text") or ""),
        who=str(params.get("by") or ""),
        team=str(params.get("team") or ""),
    )
    return await outbox.post(
        str(delivery.recipient), message, thread_ts=params.get("thread_ts") or None
    )
