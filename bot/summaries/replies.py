"""A weekly summary's thread replies (the overflow), owed through the outbox.

Once the summary is in the channel and recorded as posted, each reply is one "summary_reply"
delivery, owed in that same transaction: the outbox retries a rate limit when Slack's
Retry-After says and Slack or network trouble with a capped backoff, until it is posted.
Their lane is the channel, so the replies go out one after the other, in order, and a reply
waiting on a retry holds back the ones after it. Each carries its rendered message (the
summary is built from the database at posting time: rendering it again later could differ).
One Slack will never take (channel archived, Jerry removed, message refused) is recorded on
the summary's row, which `jerry summaries` shows, and triage is told once per summary.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.outbox.registry import (
    Deferred,
    OutboxContext,
    OutboxHandler,
    OutboxRegistry,
    PermanentDeliveryError,
    Posted,
)
from bot.outbox.store import enqueue
from bot.triage import alert_triage
from models.deliveries import Delivery
from models.items import Item
from models.summaries import SummaryPost, SummarySubscription

log = logging.getLogger("jerry.summaries")

REPLY = "summary_reply"  # the outbox row posting one thread reply under a summary


async def owe_replies(
    session: AsyncSession, post: SummaryPost, messages: list[dict[str, Any]], skip: set[int]
) -> int:
    """Owe the thread replies `messages` (parts 1…) of the posted `post`, but the parts in
    `skip` (already in its thread); how many are owed. Committed by the caller, with the post
    recorded as posted."""
    owed = 0
    for part, message in enumerate(messages, start=1):
        if part in skip:
            continue
        enqueue(
            session,
            REPLY,
            recipient=post.channel,
            post_id=post.id,
            part=part,
            of=len(messages),
            message={"text": message["text"], "blocks": message["blocks"]},
        )
        # One at a time: the lane sends in id order, which must be the parts' order.
        await session.flush()
        owed += 1
    return owed


def register_outbox(registry: OutboxRegistry) -> None:
    """The "summary_reply" rows: one thread reply under a posted summary."""

    async def send(
        outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
    ) -> Posted:
        params = delivery.params or {}
        post = await session.get(SummaryPost, int(params.get("post_id") or 0))
        if post is None:
            raise PermanentDeliveryError("summary_missing")
        if not post.ts and post.status == "claimed":
            # The summary itself is being posted, or its send is unsure and will be looked for
            # in the channel (a restart mid-post): its ts comes then.
            raise Deferred(patient=True)
        if not post.ts or not post.channel:
            raise PermanentDeliveryError("no_ts")
        return await outbox.post(
            post.channel, params["message"], thread_ts=post.ts, part=int(params["part"])
        )

    async def not_posted(
        session: AsyncSession, delivery: Delivery, item: Item | None, error: str
    ) -> None:
        await _not_posted(session, delivery, error)

    registry.register(REPLY, OutboxHandler(send=send, undeliverable=not_posted, gave_up=not_posted))


async def _not_posted(session: AsyncSession, delivery: Delivery, error: str) -> None:
    """A reply Slack will never take, or the outbox gave up: the summary is incomplete. Its
    row says so (the first such reply), and triage is told once per summary."""
    params = delivery.params or {}
    post = await session.get(SummaryPost, int(params.get("post_id") or 0))
    if post is None:
        return
    said = f"thread reply {params.get('part')} of {params.get('of')}: {error}"
    subscription = await session.get(SummarySubscription, post.subscription_id)
    name = subscription.name if subscription else str(post.subscription_id)
    log.warning("summary %s %s: %s", name, post.week, said)
    if post.error is not None:  # an earlier reply of this summary failed: told already
        return
    post.error = said
    await alert_triage(
        session,
        "summary_reply_failed",
        name=name,
        week=post.week,
        part=params.get("part"),
        count=params.get("of"),
        error=error,
    )
