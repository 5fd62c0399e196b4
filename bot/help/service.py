"""First contact: Jerry's answer to a direct message or a mention it does not file as it is,
the "send this to product?" prompt's decision, and the App Home welcome's state.

A DM of "hi" or "help" gets the help card, "thanks" a friendly word, and a few words
("pricing page") a prompt: nothing is filed until the person clicks. A mention of @Jerry with
only "hi", "help" or "thanks" gets the same answer, privately (an ephemeral message in that
channel, in the thread when the mention was in one); a mention of a few other words is filed
at once, as any mention. Each answer is owed through the outbox in the transaction that
records it, once per message (its intake key, `message:<channel>:<ts>`), so a retried Slack
event is answered once. A click on the prompt files the item under that same key: clicking
twice, or both buttons, files one item.
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
from bot.slack import FailureKind, kind_of
from bot.views import help as views
from models.base import utcnow
from models.deliveries import Delivery
from models.help import HomeWelcome, MessageReply
from models.items import Item
from models.routing import Team

log = logging.getLogger("jerry.help")

DM_REPLY = "dm_reply"  # the outbox row answering one DM: the help card, thanks, or the prompt
# The outbox row answering one mention, seen only by its author where they wrote it.
MENTION_REPLY = "mention_reply"
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
    params: dict[str, Any] = {"reply": reply, "lang": lang, "key": key}
    if reply == "prompt":
        params["text"] = text or ""
    if home:
        params["home"] = home
    row = MessageReply(
        key=key, user_id=user_id, reply=reply, text=text if reply == "prompt" else None
    )
    return await _answer_once(sessions, row, DM_REPLY, user_id, params)


async def answer_mention(
    sessions: async_sessionmaker[AsyncSession],
    *,
    key: str,
    user_id: str,
    reply: Literal["help", "thanks"],
    lang: str,
    channel: str,
    thread_ts: str | None = None,
    home: str | None = None,
) -> bool:
    """Owe `user_id` the answer `reply` to their mention `key`, as an ephemeral message in
    `channel` (in the thread `thread_ts` if any); False when that mention was answered
    already (a retried event, or an edit of it)."""
    params: dict[str, Any] = {"reply": reply, "lang": lang, "key": key, "channel": channel}
    if thread_ts:
        params["thread_ts"] = thread_ts
    if home:
        params["home"] = home
    row = MessageReply(key=key, user_id=user_id, reply=reply)
    return await _answer_once(sessions, row, MENTION_REPLY, user_id, params)


async def _answer_once(
    sessions: async_sessionmaker[AsyncSession],
    row: MessageReply,
    purpose: str,
    user_id: str,
    params: dict[str, Any],
) -> bool:
    async with sessions() as session:
        session.add(row)
        enqueue(session, purpose, recipient=user_id, **params)
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
    it: one Slack will never take is only marked failed). The "mention_reply" rows: an answer
    only its author sees under their mention; where Slack will not show it (they left the
    channel, it is gone) the same answer goes to their DM instead."""

    async def send_dm(
        outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
    ) -> Posted:
        return await outbox.post(str(delivery.recipient), render_reply(delivery.params or {}))

    async def send_ephemeral(
        outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
    ) -> Posted:
        params = delivery.params or {}
        return await outbox.post_ephemeral(
            str(params.get("channel") or ""),
            str(delivery.recipient),
            render_reply(params),
            thread_ts=params.get("thread_ts"),
        )

    registry.register(
        DM_REPLY, OutboxHandler(send=send_dm, undeliverable=nothing_more, gave_up=nothing_more)
    )
    registry.register(
        MENTION_REPLY,
        OutboxHandler(send=send_ephemeral, undeliverable=mention_reply_by_dm, gave_up=nothing_more),
    )


async def mention_reply_by_dm(
    session: AsyncSession, delivery: Delivery, item: Item | None, error: str
) -> None:
    """Slack will never show the ephemeral answer to a mention (`user_not_in_channel`,
    `channel_not_found`, an archived channel …): the same answer by DM. Not when the person
    themself cannot be reached: a DM would fail the same way."""
    if kind_of(error) is FailureKind.PERSON_GONE or not delivery.recipient:
        return
    params = {
        key: value
        for key, value in (delivery.params or {}).items()
        if key in {"reply", "lang", "key", "home"}
    }
    log.info("answering a mention by DM instead (%s)", error)
    enqueue(session, DM_REPLY, recipient=delivery.recipient, **params)


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


async def home_opened(session: AsyncSession, user_id: str, now: datetime) -> bool:
    """Record that `user_id` opened their Home: the welcome in full the first time ever,
    collapsed at every later open. True only the first time."""
    collapsed = await session.execute(
        update(HomeWelcome).where(HomeWelcome.user_id == user_id).values(expanded=False)
    )
    if collapsed.rowcount == 1:  # type: ignore[attr-defined]
        await session.commit()
        return False
    session.add(HomeWelcome(user_id=user_id, first_opened_at=now, expanded=True))
    try:
        await session.commit()
    except IntegrityError:  # two opens at once: the other one was first
        await session.rollback()
        return False
    return True


async def show_welcome(session: AsyncSession, user_id: str, expanded: bool, now: datetime) -> None:
    """ "How Jerry works" (`expanded`) or "Got it, hide this": how every replica will show
    `user_id`'s welcome from now on."""
    changed = await session.execute(
        update(HomeWelcome).where(HomeWelcome.user_id == user_id).values(expanded=expanded)
    )
    if changed.rowcount == 0:  # type: ignore[attr-defined]
        # A Home published before its first open was recorded (e.g. by the CLI).
        session.add(HomeWelcome(user_id=user_id, first_opened_at=now, expanded=expanded))
        try:
            await session.commit()
            return
        except IntegrityError:  # recorded meanwhile by an open: this click still decides
            await session.rollback()
            await session.execute(
                update(HomeWelcome).where(HomeWelcome.user_id == user_id).values(expanded=expanded)
            )
    await session.commit()


async def welcome_expanded(session: AsyncSession, user_id: str) -> bool:
    """Whether `user_id`'s Home shows the welcome in full (collapsed before any open)."""
    row = await session.get(HomeWelcome, user_id, populate_existing=True)
    return bool(row is not None and row.expanded)


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
