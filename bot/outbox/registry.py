"""What the outbox worker (bot/outbox/worker.py) and the capabilities owing messages agree on.

Each capability registers a handler for each outbox purpose it owes (its
`register_outbox(registry)`, called by the composition root, bot/app.py): how to send such a
delivery, and what to do when it can never be sent. The worker finds the handler by the
delivery's purpose and knows nothing else of what it sends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.directory import Directory
from bot.slack import AsyncWebClient
from models.deliveries import Delivery
from models.items import Item

Posted = tuple[str | None, str | None]  # where the message went: (channel, ts)


class PermanentDeliveryError(Exception):
    """This delivery can never be sent (`error` says why): its handler's fallback takes over."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class Deferred(Exception):
    """Not now (e.g. the DM to update is not sent yet); try again shortly, no attempt spent."""


class Doorbell:
    """Tells the outbox worker that something new is owed, so it sends now rather than at its
    next pass. A CLI command's doorbell has no worker listening: the running bot's outbox
    sends what the command queued."""

    def __init__(self) -> None:
        self.rung = asyncio.Event()

    def kick(self) -> None:
        self.rung.set()


def require_item(item: Item | None) -> Item:
    """The delivery's item; a delivery about an item that no longer exists cannot be sent."""
    if item is None:
        raise PermanentDeliveryError("item_missing")
    return item


@dataclass(frozen=True)
class OutboxContext:
    """What handlers send with: built once by the composition root, shared by every send."""

    sessions: async_sessionmaker[AsyncSession]
    client: AsyncWebClient
    directory: Directory
    default_language: str

    async def post(
        self, channel: str, message: dict[str, Any], thread_ts: str | None = None
    ) -> Posted:
        response = await self.client.chat_postMessage(
            channel=channel,
            text=message["text"],
            blocks=message["blocks"],
            thread_ts=thread_ts,
            unfurl_links=False,
            unfurl_media=False,
        )
        return response.get("channel"), response.get("ts")

    async def post_in_reporter_thread(
        self, item: Item, message: dict[str, Any], params: dict[str, Any]
    ) -> Posted:
        """The reply thread, else (none, or the fallback's `_to_dm`) the reporter's DM thread
        for the item, whose first message starts that thread."""
        if item.reply_channel and not params.get("_to_dm"):
            return await self.post(item.reply_channel, message, thread_ts=item.reply_thread_ts)
        channel, ts = await self.post(item.reporter_id, message, thread_ts=item.reporter_dm_ts)
        if not item.reporter_dm_ts:
            item.reporter_dm_channel, item.reporter_dm_ts = channel, ts
        return channel, ts


# send(outbox, session, delivery, item): deliver it, or raise (Deferred,
# PermanentDeliveryError, or what Slack raised: the worker retries or gives up).
Send = Callable[[OutboxContext, AsyncSession, Delivery, Item | None], Awaitable[Posted]]
# (session, delivery, item, error): runs in the transaction that marks the delivery failed.
Failed = Callable[[AsyncSession, Delivery, Item | None, str], Awaitable[None]]


async def nothing_more(
    session: AsyncSession, delivery: Delivery, item: Item | None, error: str
) -> None:
    """For a failure that needs nothing beyond the delivery marked failed."""


@dataclass(frozen=True)
class OutboxHandler:
    send: Send
    # Slack will never take it (channel or person gone, message refused): the fallback,
    # e.g. the item to the backup or triage, the reporter by DM, an alert to triage.
    undeliverable: Failed
    # Slack or the network kept failing until the worker's last attempt.
    gave_up: Failed


class OutboxRegistry:
    """Purpose → handler, filled by the capabilities' `register_outbox`."""

    def __init__(self) -> None:
        self._handlers: dict[str, OutboxHandler] = {}

    def register(self, purpose: str, handler: OutboxHandler) -> None:
        if purpose in self._handlers:
            raise ValueError(f"outbox purpose {purpose!r} is registered twice")
        self._handlers[purpose] = handler

    def handler(self, purpose: str) -> OutboxHandler | None:
        return self._handlers.get(purpose)

    @property
    def purposes(self) -> frozenset[str]:
        return frozenset(self._handlers)
