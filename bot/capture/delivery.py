"""The outbox's handlers for emoji filing: reading the message and filing it (after Slack's
ack; a rate limit on the read is retried like any delivery), the reactor's ephemeral
receipt, and what they are told when nothing could be filed or it was undone."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.capture.external import external_team, org_name
from bot.capture.reactions import FILE, NOTICE, RECEIPT, UNREADABLE, file_message
from bot.items.domain import row_id
from bot.items.store import get_item, team_and_area
from bot.outbox.registry import (
    OutboxContext,
    OutboxHandler,
    OutboxRegistry,
    Posted,
    nothing_more,
)
from bot.outbox.store import enqueue
from bot.slack import SLACK_FAILURES, SlackApiError, classify
from bot.triage import alert_gave_up
from bot.views import capture as views
from models.base import utcnow
from models.capture import ReactionFiling
from models.deliveries import Delivery
from models.items import Item

# What Slack answers when the message cannot be read, for good: it is gone, or Jerry may not
# read that channel (not in it, no scope).
GONE = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "message_not_found",
        "thread_not_found",
        "missing_scope",
        "access_denied",
        "is_archived",
    }
)


def register_outbox(registry: OutboxRegistry) -> None:
    registry.register(
        FILE, OutboxHandler(send=_file, undeliverable=nothing_more, gave_up=alert_gave_up)
    )
    registry.register(
        RECEIPT, OutboxHandler(send=_receipt, undeliverable=nothing_more, gave_up=alert_gave_up)
    )
    registry.register(
        NOTICE, OutboxHandler(send=_notice, undeliverable=nothing_more, gave_up=alert_gave_up)
    )


async def read_message(outbox: OutboxContext, channel: str, ts: str) -> dict[str, Any] | None:
    """The message at `ts` in `channel` with one call: the channel's history bounded to that
    instant; a thread reply is not in the history, so then the thread's replies. None when it
    is gone (or Jerry may not read there); Slack's other errors (a rate limit) are raised."""
    try:
        response = await outbox.client.conversations_history(
            channel=channel, latest=ts, oldest=ts, inclusive=True, limit=1
        )
        found = next((m for m in response.get("messages") or [] if m.get("ts") == ts), None)
        if found is not None:
            return dict(found)
        # The thread's parent always comes first: the reply is the second at most.
        response = await outbox.client.conversations_replies(
            channel=channel, ts=ts, latest=ts, oldest=ts, inclusive=True, limit=2
        )
        found = next((m for m in response.get("messages") or [] if m.get("ts") == ts), None)
        return dict(found) if found is not None else None
    except SlackApiError as exc:
        if classify(exc).code in GONE:
            return None
        raise


async def _file(
    outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
) -> Posted:
    params: dict[str, Any] = dict(delivery.params or {})
    filing = await session.get(ReactionFiling, row_id(params.get("filing")))
    if filing is None or filing.status != "pending":
        return None, None  # undone (the reaction removed) before it was read
    message = await read_message(outbox, filing.channel, filing.message_ts)
    if message is None or message.get("subtype") == "message_deleted":
        filing.status = UNREADABLE
        _tell(session, filing, "unreadable")
        return None, None
    try:
        permalink = (
            await outbox.client.chat_getPermalink(
                channel=filing.channel, message_ts=filing.message_ts
            )
        ).get("permalink")
    except SLACK_FAILURES:
        permalink = None  # the item is worth more than its link
    language = await outbox.directory.language(filing.reactor, outbox.default_language)
    other_team = external_team(message, filing.workspace)
    # Slack Connect: the reactor may be of another organisation too (a reaction event does
    # not say; their Slack profile does). Then they are its reporter, and hear nothing.
    reactor_team = await _team_of(outbox, filing.reactor)
    reactor_external = bool(filing.workspace and reactor_team and reactor_team != filing.workspace)
    if reactor_external:
        other_team = reactor_team
    filed = await file_message(
        session,
        outbox.sessions,
        filing,
        message,
        permalink=permalink,
        default_language=outbox.default_language,
        language=language,
        now=utcnow(),
        external_org=await org_name(outbox.client, other_team) if other_team else None,
        reporter_external=reactor_external,
    )
    if filed is None:
        filing.status = UNREADABLE
        if not reactor_external:
            _tell(session, filing, "empty")
        return None, None
    if reactor_external:
        return None, None  # nothing said where they can read it: no receipt
    thread = message.get("thread_ts")
    enqueue(
        session,
        RECEIPT,
        recipient=filing.reactor,
        filing=filing.id,
        item_id=filed.item_id,
        added=filed.added,
        people=filed.people,
        # A reply's receipt shows in its thread (a top-level message's in the channel).
        thread_ts=thread if thread != filing.message_ts else None,
    )
    return None, None


async def _team_of(outbox: OutboxContext, user: str) -> str | None:
    response = await outbox.client.users_info(user=user)
    team = (response.get("user") or {}).get("team_id")
    return str(team) if team else None


def _tell(session: AsyncSession, filing: ReactionFiling, notice: str, **params: Any) -> None:
    enqueue(
        session,
        NOTICE,
        recipient=filing.reactor,
        channel=filing.channel,
        notice=notice,
        **params,
    )


async def _receipt(
    outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
) -> Posted:
    params: dict[str, Any] = dict(delivery.params or {})
    filing = await session.get(ReactionFiling, row_id(params.get("filing")))
    item = await get_item(session, row_id(params.get("item_id")) or 0)
    if filing is None or item is None or filing.status not in ("filed", "added"):
        return None, None  # undone meanwhile: no receipt for it
    reactor = str(delivery.recipient)
    lang = await outbox.directory.language(reactor, outbox.default_language)
    team, _ = await team_and_area(session, item)
    message = views.filed_receipt(
        lang,
        item_id=item.id,
        kind=item.kind,
        text=item.text,
        team=team.name if team else None,
        author=item.said_by,
        added=bool(params.get("added")),
        people=int(params.get("people") or 1),
        anonymous=item.anonymous,
    )
    return await _ephemeral_or_dm(
        outbox, filing.channel, reactor, message, thread_ts=params.get("thread_ts")
    )


async def _notice(
    outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
) -> Posted:
    params: dict[str, Any] = dict(delivery.params or {})
    reactor = str(delivery.recipient)
    lang = await outbox.directory.language(reactor, outbox.default_language)
    message = views.notice(lang, str(params.get("notice")), item_id=row_id(params.get("item_id")))
    return await _ephemeral_or_dm(outbox, str(params.get("channel") or ""), reactor, message)


async def _ephemeral_or_dm(
    outbox: OutboxContext,
    channel: str,
    user: str,
    message: dict[str, Any],
    *,
    thread_ts: str | None = None,
) -> Posted:
    """Shown to `user` alone where they reacted; by DM when Slack will not show it there."""
    if channel:
        try:
            return await outbox.post_ephemeral(channel, user, message, thread_ts=thread_ts)
        except SlackApiError as exc:
            if classify(exc).retry:
                raise
    return await outbox.post(user, message)
