"""First contact: Jerry's answer to a direct message it does not file as it is, the "send this
to product?" prompt's decision, and who has seen the App Home welcome.

A DM of "hi" or "help" gets the help card, "thanks" a friendly word, and a few words
("pricing page") a prompt: nothing is filed until the person clicks. Each answer is owed
through the outbox in the transaction that records it, once per message (its intake key,
`message:<channel>:<ts>`), so a retried Slack event is answered once. A click on the prompt
files the item under that same key: clicking twice, or both buttons, files one item.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.errors import KeyedRefusal
from bot.intake.service import IntakeRequest, IntakeResult, Kind
from bot.outbox.registry import (
    OutboxContext,
    OutboxHandler,
    OutboxRegistry,
    Posted,
    nothing_more,
)
from bot.outbox.store import enqueue
from bot.views import help as views
from models.base import utcnow
from models.deliveries import Delivery
from models.help import HomeWelcome, MessageReply
from models.items import Item
from models.routing import Team

log = logging.getLogger("jerry.help")

DM_REPLY = "dm_reply"  # the outbox row answering one DM: the help card, thanks, or the prompt
Reply = Literal["help", "thanks", "prompt"]
Decision = Literal["question", "painpoint", "declined"]


async def answer_message(
    sessions: async_sessionmaker[AsyncSession],
    *,
    key: str,
    user_id: str,
    reply: Reply,
    lang: str,
    text: str | None = None,
    home: str | None = None,
) -> bool:
    """Owe `user_id` the answer `reply` to their DM `key` (by DM, after the ack); False when
    that message was answered already (Slack sent the event again)."""
    async with sessions() as session:
        session.add(
            MessageReply(
                key=key, user_id=user_id, reply=reply, text=text if reply == "prompt" else None
            )
        )
        params: dict[str, Any] = {"reply": reply, "lang": lang, "key": key}
        if reply == "prompt":
            params["text"] = text or ""
        if home:
            params["home"] = home
        enqueue(session, DM_REPLY, recipient=user_id, **params)
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
            return False
    return True


def render_reply(params: dict[str, Any]) -> dict[str, Any]:
    """The message a DM_REPLY row posts, from its params."""
    lang = str(params.get("lang") or "en")
    reply = params.get("reply")
    if reply == "prompt":
        return views.short_prompt(str(params.get("text") or ""), str(params.get("key")), lang)
    if reply == "thanks":
        return views.thanks_reply(lang)
    return views.help_card(lang, home=params.get("home"))


def register_outbox(registry: OutboxRegistry) -> None:
    """The "dm_reply" rows: an answer in the person's DM with Jerry (nothing else depends on
    it: one Slack will never take is only marked failed)."""

    async def send(
        outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
    ) -> Posted:
        return await outbox.post(str(delivery.recipient), render_reply(delivery.params or {}))

    registry.register(
        DM_REPLY, OutboxHandler(send=send, undeliverable=nothing_more, gave_up=nothing_more)
    )


# --- the prompt's buttons --------------------------------------------------------------------


@dataclass(frozen=True)
class PromptOutcome:
    """What became of a prompted DM: filed (its item) or not; `text` is the words asked about."""

    text: str
    decision: Decision
    item_id: int | None = None


async def decide_prompt(
    sessions: async_sessionmaker[AsyncSession],
    submit: Any,
    *,
    key: str,
    user_id: str,
    choice: Decision,
    lang: str,
) -> PromptOutcome:
    """The person's click on the prompt under their DM `key`. The first decision stands: a
    second click (or the other button) says what the first did. Filing goes through intake
    under the message's own key, so it makes one item whatever the clicks and retries.

    `submit(request, lang)` stores an item (Services.submit)."""
    async with sessions() as session:
        row = await session.get(MessageReply, key)
        if row is None or row.reply != "prompt":
            raise KeyedRefusal("help.prompt.gone")
        if row.user_id != user_id:
            raise KeyedRefusal("help.prompt.not_yours")
        result = await session.execute(
            update(MessageReply)
            .where(MessageReply.key == key, MessageReply.decision.is_(None))
            .values(decision=choice, decided_at=utcnow())
        )
        await session.commit()
        if result.rowcount != 1:  # type: ignore[attr-defined]
            await session.refresh(row)
        text, decision = row.text or "", row.decision or choice
    if decision == "declined":
        return PromptOutcome(text, "declined")
    # Filed now, or again after a crash between the decision and the item: one item per key.
    kind: Kind = "painpoint" if decision == "painpoint" else "question"
    filed: IntakeResult = await submit(_request(key, user_id, text, kind), lang)
    async with sessions() as session:
        await session.execute(
            update(MessageReply).where(MessageReply.key == key).values(item_id=filed.item_id)
        )
        await session.commit()
    return PromptOutcome(text, kind, filed.item_id)


def _request(key: str, user_id: str, text: str, kind: Kind) -> IntakeRequest:
    # key is "message:<channel>:<ts>": the item answers in that message's thread, as a DM
    # filed at once would.
    _, channel, ts = key.split(":", 2)
    return IntakeRequest(
        kind=kind,
        text=text,
        reporter_id=user_id,
        source="dm",
        receipt="thread",
        intake_key=key,
        channel_id=channel,
        message_ts=ts,
        reply_channel=channel,
        reply_thread_ts=ts,
    )


# --- the App Home welcome --------------------------------------------------------------------


async def first_open(session: AsyncSession, user_id: str, now: datetime) -> bool:
    """Record that `user_id` opened their Home; True only the first time ever."""
    if await session.get(HomeWelcome, user_id) is not None:
        return False
    session.add(HomeWelcome(user_id=user_id, first_opened_at=now))
    try:
        await session.commit()
    except IntegrityError:  # two opens at once: the other one was first
        await session.rollback()
        return False
    return True


def led_teams(teams: list[Team], user_id: str) -> tuple[views.LedTeam, ...]:
    """The active teams `user_id` leads or backs up, with their areas, for the welcome."""
    return tuple(
        views.LedTeam(
            name=team.name,
            areas=tuple(area.name for area in team.areas if not area.archived),
            backup=team.lead != user_id,
        )
        for team in teams
        if user_id in {team.lead, team.backup}
    )
