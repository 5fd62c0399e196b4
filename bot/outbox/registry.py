"""What the outbox worker (bot/outbox/worker.py) and the capabilities owing messages agree on.

Each capability registers a handler for each outbox purpose it owes (its
`register_outbox(registry)`, called by the composition root, bot/app.py): how to send such a
delivery, and what to do when it can never be sent. The worker finds the handler by the
delivery's purpose and knows nothing else of what it sends.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.directory import Directory
from bot.slack import AsyncWebClient, AsyncWebhookClient, SlackApiError, classify, find_posted
from models.deliveries import Delivery
from models.items import Item

log = logging.getLogger("jerry.delivery")

Posted = tuple[str | None, str | None]  # where the message went: (channel, ts)

# Every message the outbox posts carries this metadata (https://api.slack.com/metadata), so
# a message whose answer was lost can be found in Slack instead of being posted again.
METADATA_EVENT = "jerry_delivery"
# Jerry's and Slack's clocks may differ: the search for an unsure message starts this early.
CLOCK_SKEW = timedelta(minutes=2)
HISTORY_PAGES = 5  # how far back (200 messages a page) an unsure message is looked for


@dataclass
class Attempt:
    """The delivery being sent (set by the worker around its handler's send)."""

    delivery_id: int
    # An earlier attempt may have reached Slack since then: look before posting.
    unsure_since: datetime | None = None
    posts: int = 0  # messages posted so far in this attempt (each has its own part number)
    # When this attempt last posted (time.monotonic()): a rate limit right after is the
    # channel's pace, not the workspace's.
    posted_at: float | None = None


current_attempt: contextvars.ContextVar[Attempt | None] = contextvars.ContextVar(
    "jerry_outbox_attempt", default=None
)


class PermanentDeliveryError(Exception):
    """This delivery can never be sent (`error` says why): its handler's fallback takes over."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class RetryLater(Exception):
    """A service other than Slack (Jira, Linear) cannot take it now: down, slow or rate
    limited. Retried after `after` seconds (the service's Retry-After) or the backoff, as
    Slack's own troubles are; `code` is kept as the delivery's last error."""

    def __init__(self, code: str, after: float | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.after = after


class Deferred(Exception):
    """Not now (e.g. the DM to update is not sent yet); try again shortly, no attempt spent.

    `patient`: what it waits for is itself under way and will end one way or the other (a
    summary being posted, whose claim goes stale after minutes): keep waiting at the retry
    pace, past the short waits' cap."""

    def __init__(self, *, patient: bool = False) -> None:
        super().__init__("deferred")
        self.patient = patient


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
    # A person's DM channel id (conversations.open), asked once per process: an unsure DM is
    # looked for in that channel's history.
    dm_channels: dict[str, str] = field(default_factory=dict, compare=False)
    # What a lead's card shows its reader: the items that look like its item, from this
    # score (None: similar items are off); Jerry's admins may see every item's text.
    similar_threshold: float | None = None
    admins: frozenset[str] = frozenset()

    async def post(
        self,
        channel: str,
        message: dict[str, Any],
        thread_ts: str | None = None,
        *,
        part: int | None = None,
    ) -> Posted:
        """chat.postMessage with the delivery's metadata; when an earlier attempt may have
        posted it already, the message found in Slack instead of a second one.

        `part` numbers the message within its delivery; a handler that resumes where an
        earlier attempt stopped (skipping what it already posted) must give it, so that the
        message looked for is the one about to be posted, not the attempt's first.
        """
        attempt = current_attempt.get()
        metadata = None
        if attempt is not None:
            attempt.posts = part if part is not None else attempt.posts + 1
            metadata = {
                "event_type": METADATA_EVENT,
                "event_payload": {"delivery": attempt.delivery_id, "part": attempt.posts},
            }
            if attempt.unsure_since is not None:
                found = await self._already_posted(channel, thread_ts, attempt)
                if found is not None:
                    log.info(
                        "delivery %s was already in Slack: not posted again", attempt.delivery_id
                    )
                    return found
        response = await self.client.chat_postMessage(
            channel=channel,
            text=message["text"],
            blocks=message["blocks"],
            thread_ts=thread_ts,
            unfurl_links=False,
            unfurl_media=False,
            metadata=metadata,
        )
        if attempt is not None:
            attempt.posted_at = time.monotonic()
        posted_in = response.get("channel")
        if posted_in and channel.startswith(("U", "W")):
            self.dm_channels[channel] = posted_in
        return posted_in, response.get("ts")

    async def reporter_language(self, item: Item) -> str:
        """The language an item's reporter reads Jerry in (the item's, if Slack does not say)."""
        return await self.directory.language(
            item.reporter_id, item.language or self.default_language
        )

    async def respond(self, response_url: str, message: dict[str, Any]) -> Posted:
        """An ephemeral message through a slash command's or a click's response_url (it
        cannot be found again: nothing to remember). A refused URL (expired, gone) is
        permanent: the purpose's fallback reaches the person another way."""
        response = await AsyncWebhookClient(response_url).send(
            text=message["text"],
            blocks=message["blocks"],
            response_type="ephemeral",
            replace_original=False,
        )
        if response.status_code != 200:
            raise PermanentDeliveryError(f"response_url_{response.status_code}")
        return None, None

    async def post_ephemeral(
        self,
        channel: str,
        user: str,
        message: dict[str, Any],
        thread_ts: str | None = None,
    ) -> Posted:
        """chat.postEphemeral: shown to `user` only, in `channel` (in the thread `thread_ts`).

        Slack keeps no ephemeral message to look for: one whose answer was lost (a timeout)
        may be shown twice, which is better than not at all. Posted has no ts: there is no
        message to update."""
        await self.client.chat_postEphemeral(
            channel=channel,
            user=user,
            text=message["text"],
            blocks=message["blocks"],
            thread_ts=thread_ts,
        )
        attempt = current_attempt.get()
        if attempt is not None:
            attempt.posts += 1
            attempt.posted_at = time.monotonic()
        return channel, None

    async def _already_posted(
        self, channel: str, thread_ts: str | None, attempt: Attempt
    ) -> Posted | None:
        """The message this attempt would post, if an earlier attempt posted it: searched in
        the channel's history (a thread's replies) since that attempt started, by metadata."""
        assert attempt.unsure_since is not None
        try:
            channel_id = await self._channel_id(channel)
            message = await find_posted(
                self.client,
                channel_id,
                oldest=attempt.unsure_since - CLOCK_SKEW,
                event_type=METADATA_EVENT,
                payload={"delivery": attempt.delivery_id, "part": attempt.posts},
                thread_ts=thread_ts,
                pages=HISTORY_PAGES,
            )
            if message is not None:
                return channel_id, message.get("ts")
        except SlackApiError as exc:
            if classify(exc).retry:
                raise  # look again at the next attempt rather than risk a second message
            # Jerry cannot read there (a scope, a channel): a second message is better than none.
            log.warning(
                "delivery %s: cannot look for an earlier post (%s)",
                attempt.delivery_id,
                classify(exc).code,
            )
        return None

    async def _channel_id(self, channel: str) -> str:
        """A channel id as is; a person's id: their DM channel with Jerry."""
        if not channel.startswith(("U", "W")):
            return channel
        if channel not in self.dm_channels:
            response = await self.client.conversations_open(users=channel)
            self.dm_channels[channel] = (response.get("channel") or {}).get("id") or channel
        return self.dm_channels[channel]

    async def post_in_reporter_thread(
        self, item: Item, message: dict[str, Any], params: dict[str, Any]
    ) -> Posted:
        """The reply thread, else (none, or the fallback's `_to_dm`) the reporter's DM thread
        for the item, whose first message starts that thread. Nothing for an imported item
        that names no reporter (its stand-in, bot/items/domain.py NO_REPORTER, is no Slack
        user: there is no one to tell)."""
        if not item.reply_channel and not item.reporter_id.startswith(("U", "W")):
            return None, None
        if item.reporter_external:
            # Slack Connect: its reporter is of another organisation. Nothing of the team's
            # goes where they can read it; a lead replies to them on purpose (bot/capture).
            return None, None
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
    # Sending kept raising something unexpected (a bug) until the worker gave up. (Slack or
    # network trouble is retried until it passes: the worker tells triage of an old backlog.)
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
