"""Intake: store a pain point or question, route it, and owe the messages that follow.

Everything here happens before Slack gets its ack, in one transaction: the item, its
events and the outbox rows are committed together, so nothing a person typed is lost
even if every Slack call after the ack fails.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import normalize_language
from bot.items import load_card
from bot.routing import Decision, RoutingModel, decide
from bot.views.items import ItemCard
from bot.views.modals import AreaChoice
from models.item_store import add_event, cached_user, enqueue, item_by_intake_key
from models.items import Item
from models.routing_store import load_routing_model

Kind = Literal["painpoint", "question"]
Source = Literal["command", "modal", "mention", "shortcut", "dm"]
# How the reporter gets the receipt: in the command's ack (nothing to send), through the
# slash command's response_url (ephemeral, works in any channel), or in the reply thread.
ReceiptRoute = Literal["ack", "response_url", "thread"]
MAX_TEXT = 100_000  # beyond this a paste is almost surely a mistake; Jerry still keeps this much


class EmptyTextError(ValueError):
    """The reporter gave no text: nothing to store."""


@dataclass(frozen=True)
class IntakeRequest:
    kind: Kind
    text: str  # Slack-formatted (escaped) text
    reporter_id: str
    source: Source
    receipt: ReceiptRoute
    intake_key: str | None = None
    channel_id: str | None = None
    message_ts: str | None = None
    reply_channel: str | None = None
    reply_thread_ts: str | None = None
    permalink: str | None = None
    response_url: str | None = None
    chosen_area_id: int | None = None
    impact: str | None = None
    customer: str | None = None
    customer_at_risk: bool = False
    anonymous: bool = False


@dataclass(frozen=True)
class IntakeResult:
    item_id: int
    duplicate: bool
    card: ItemCard
    language: str


def apply_decision(item: Item, decision: Decision) -> None:
    item.team_id = decision.team.id
    item.area_id = decision.area.id if decision.area else None
    item.assignee_id = decision.team.lead
    item.route_step = decision.step
    item.route_detail = dict(decision.detail)


def route_new_item(
    session: AsyncSession, item: Item, model: RoutingModel, chosen_area_id: int | None
) -> None:
    """Decide the team, record why, and owe the lead a DM."""
    chosen = next((a.name for a in model.areas() if a.id == chosen_area_id), None)
    decision = decide(model, item.text, channel=item.channel_id, chosen_area=chosen)
    apply_decision(item, decision)
    add_event(
        session,
        item,
        "jerry",
        "routed",
        team=decision.team.name,
        area=decision.area.name if decision.area else None,
        step=decision.step,
        reason=dict(decision.detail),
        lead=decision.team.lead,
    )
    enqueue(session, "lead_dm", item=item, recipient=decision.team.lead)


async def user_language(session: AsyncSession, user_id: str, default: str) -> str:
    user = await cached_user(session, user_id)
    return normalize_language(user.locale if user else None, default)


async def submit(
    sessions: async_sessionmaker[AsyncSession],
    request: IntakeRequest,
    *,
    default_language: str = "en",
) -> IntakeResult:
    """Store and route one item; a repeat of the same intake key returns the first item."""
    # PostgreSQL cannot store NUL characters; they never mean anything in Slack text.
    text = request.text.replace("\x00", "").strip()
    if not text:
        raise EmptyTextError
    text = text[:MAX_TEXT]
    async with sessions() as session:
        if request.intake_key:
            existing = await item_by_intake_key(session, request.intake_key)
            if existing is not None:
                return IntakeResult(
                    existing.id, True, await load_card(session, existing), existing.language
                )
        language = await user_language(session, request.reporter_id, default_language)
        item = Item(
            kind=request.kind,
            status="open",
            text=text,
            reporter_id=request.reporter_id,
            anonymous=request.anonymous,
            source=request.source,
            intake_key=request.intake_key,
            language=language,
            channel_id=request.channel_id,
            message_ts=request.message_ts,
            permalink=request.permalink,
            reply_channel=request.reply_channel,
            reply_thread_ts=request.reply_thread_ts,
            impact=request.impact,
            customer=(request.customer or "").replace("\x00", "").strip()[:500] or None,
            customer_at_risk=request.customer_at_risk,
            chosen_area_id=request.chosen_area_id,
            route_step="unrouted",
            route_detail={},
        )
        session.add(item)
        try:
            await session.flush()  # the INSERT: a concurrent twin fails here, not at commit
        except IntegrityError:
            first = await _first_of_race(session, request)
            if first is None:
                raise
            return first
        add_event(session, item, request.reporter_id, "created", source=request.source)
        model = await load_routing_model(session)
        if model is not None:
            route_new_item(session, item, model, request.chosen_area_id)
        if request.receipt == "thread":
            enqueue(session, "receipt", item=item)
        elif request.receipt == "response_url" and request.response_url:
            enqueue(session, "receipt", item=item, response_url=request.response_url)
        elif request.receipt == "response_url":
            enqueue(session, "receipt", item=item)  # no response_url: the receipt comes as a DM
        card = await load_card(session, item)
        try:
            await session.commit()
        except IntegrityError:
            first = await _first_of_race(session, request)
            if first is None:
                raise
            return first
        return IntakeResult(item.id, False, card, language)


async def _first_of_race(session: AsyncSession, request: IntakeRequest) -> IntakeResult | None:
    """The same Slack event raced in twice and the first one won: its item, if so."""
    await session.rollback()
    if request.intake_key:
        existing = await item_by_intake_key(session, request.intake_key)
        if existing is not None:
            return IntakeResult(
                existing.id, True, await load_card(session, existing), existing.language
            )
    return None


async def route_waiting_items(session: AsyncSession, model: RoutingModel) -> int:
    """Route the items that arrived before any routing model existed (caller commits)."""
    from models.item_store import unrouted_items

    items = await unrouted_items(session)
    for item in items:
        route_new_item(session, item, model, item.chosen_area_id)
        enqueue(session, "reporter_notice", item=item, notice="routed_late")
    return len(items)


async def area_choices(sessions: async_sessionmaker[AsyncSession]) -> list[AreaChoice]:
    """The routing model's areas, for the intake modal's "product area" menu.

    No areas when the database does not answer: the form still opens (the text then
    stays in it if storing fails), it just offers no area to choose.
    """
    from models.db import DATABASE_ERRORS
    from models.routing_store import list_area_choices

    try:
        async with sessions() as session:
            return [
                AreaChoice(id=a, name=n, team=team)
                for a, n, team in await list_area_choices(session)
            ]
    except DATABASE_ERRORS:
        logging.getLogger("jerry.intake").warning("no areas for the form: database unreachable")
        return []
