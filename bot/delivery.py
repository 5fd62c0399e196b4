"""Sends what the outbox owes, after Slack has its ack.

Every delivery ends in one of three ways: sent; retried later (rate limits, Slack or
network trouble, with backoff); or failed for good, in which case a policy of the core
takes over (the item goes to the backup or triage, the reporter is reached by DM, an
alert goes to triage). Several bot processes can share the outbox: each delivery is
claimed with a conditional UPDATE before it is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.directory import Directory
from bot.i18n import t
from bot.items import load_card
from bot.relay import alert_triage, lead_unreachable
from bot.slack import SLACK_FAILURES, classify
from bot.views import items as views
from bot.views import lead_actions as lead_action_views
from bot.views.blocks import context
from models.base import utcnow
from models.deliveries import Delivery
from models.item_store import claim_delivery, due_delivery_ids, get_item
from models.items import Item

log = logging.getLogger("jerry.delivery")

MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=2)
MAX_BACKOFF = timedelta(hours=1)
MAX_DEFERS = 30  # a DM update waiting for its DM gives up after this many short waits
STOP_GRACE_SECONDS = 5.0  # how long stopping waits for the pass in progress


ANONYMOUS_REPORTER = "anonymous-reporter"


def _alert_recipient_label(delivery: Delivery, item: Item | None) -> str:
    """Who could not be reached, for product ops: never an anonymous reporter's identity."""
    who = delivery.recipient or (item.reporter_id if item else "")
    if item is not None and item.anonymous and who in {item.reporter_id, None, ""}:
        return ANONYMOUS_REPORTER
    return who or ""


class PermanentDeliveryError(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class Deferred(Exception):
    """Not now (e.g. the DM to update is not sent yet); try again shortly, no attempt spent."""


class DeliveryWorker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        client: AsyncWebClient,
        directory: Directory,
        *,
        default_language: str = "en",
        retry_seconds: float = 30.0,
    ) -> None:
        self.sessions = sessions
        self.client = client
        self.directory = directory
        self.default_language = default_language
        self.retry_seconds = retry_seconds
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        # Set by JerryApp: what survey results need besides sessions and client.
        self.survey_context: Any = None

    # --- running ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._loop(), name="jerry-deliveries")
        self.kick()

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            # Let a pass in progress finish (a send cut mid-way is sent again after its lease,
            # and its database connection is left unclosed); cancel it only if it hangs.
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._task), timeout=STOP_GRACE_SECONDS)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def kick(self) -> None:
        """Something new is owed: send it now rather than at the next periodic pass."""
        self._wake.set()

    async def drain(self) -> None:
        """Send everything due now (tests and the CLI wait on this)."""
        async with self._lock:
            while await self._pass():
                pass

    async def _loop(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.retry_seconds)
            self._wake.clear()
            if self._stopping:
                break
            try:
                async with self._lock:
                    while not self._stopping and await self._pass():
                        pass
            except asyncio.CancelledError:
                raise
            except Exception:  # the loop must outlive a database hiccup
                log.exception("delivery pass failed; retrying in %ss", self.retry_seconds)

    async def _pass(self) -> int:
        now = utcnow()
        async with self.sessions() as session:
            ids = await due_delivery_ids(session, now)
        sent = 0
        for delivery_id in ids:
            async with self.sessions() as session:
                claimed = await claim_delivery(session, delivery_id, utcnow(), utcnow() + LEASE)
                await session.commit()
            if claimed:
                await self._process(delivery_id)
                sent += 1
        return sent

    # --- one delivery ----------------------------------------------------------------------

    async def _process(self, delivery_id: int) -> None:
        async with self.sessions() as session:
            delivery = await session.get(Delivery, delivery_id)
            if delivery is None:
                return
            item = await get_item(session, delivery.item_id) if delivery.item_id else None
            try:
                channel, ts = await self._deliver(session, delivery, item)
            except Deferred:
                defers = int((delivery.params or {}).get("_defers", 0)) + 1
                delivery.params = {**(delivery.params or {}), "_defers": defers}
                delivery.attempts -= 1
                if defers > MAX_DEFERS:
                    self._fail(delivery, "nothing_to_update")
                else:
                    delivery.status = "pending"
                    delivery.next_attempt_at = utcnow() + timedelta(
                        seconds=min(2.0, self.retry_seconds)
                    )
            except PermanentDeliveryError as exc:
                await self._permanent(session, delivery, item, exc.error)
            except SLACK_FAILURES as exc:
                failure = classify(exc)
                if failure.transport:
                    await self._retry(session, delivery, item, f"connection: {failure.code}")
                elif failure.retry:
                    await self._retry(session, delivery, item, failure.code)
                else:
                    await self._permanent(session, delivery, item, failure.code)
            except Exception as exc:  # a bug must not leave the delivery leased and the pass cut
                log.exception("delivery %s (%s) raised", delivery.id, delivery.purpose)
                await self._retry(session, delivery, item, f"unexpected: {exc.__class__.__name__}")
            else:
                delivery.status = "sent"
                delivery.sent_at = utcnow()
                delivery.result_channel, delivery.result_ts = channel, ts
                delivery.last_error = None
            delivery.lease_until = None
            await session.commit()

    def _fail(self, delivery: Delivery, error: str) -> None:
        delivery.status = "failed"
        delivery.last_error = error
        log.warning("delivery %s (%s) failed: %s", delivery.id, delivery.purpose, error)

    async def _retry(
        self, session: AsyncSession, delivery: Delivery, item: Item | None, error: str
    ) -> None:
        if delivery.attempts >= MAX_ATTEMPTS:
            self._fail(delivery, error)
            if delivery.purpose != "triage_alert":
                await alert_triage(
                    session,
                    "undeliverable",
                    item=delivery.item_id or 0,
                    who=_alert_recipient_label(delivery, item),
                    error=error,
                )
            return
        backoff = timedelta(seconds=self.retry_seconds * 2 ** (delivery.attempts - 1))
        delivery.status = "pending"
        delivery.last_error = error
        delivery.next_attempt_at = utcnow() + min(backoff, MAX_BACKOFF)
        log.info("delivery %s (%s) will be retried: %s", delivery.id, delivery.purpose, error)

    async def _permanent(
        self, session: AsyncSession, delivery: Delivery, item: Item | None, error: str
    ) -> None:
        self._fail(delivery, error)
        if delivery.purpose == "survey_results":
            from bot import survey_results

            await survey_results.undeliverable(session, delivery.params or {}, error)
            return
        if item is None or delivery.purpose == "triage_alert":
            return
        if delivery.purpose == "lead_dm":
            await lead_unreachable(session, delivery, item, error)
        elif delivery.purpose in {"receipt", "answer", "reporter_notice", "resolution"} | {
            "conversation_to_reporter",
            "conversation_question",
        }:
            if not (delivery.params or {}).get("_to_dm") and (
                item.reply_channel or (delivery.params or {}).get("response_url")
            ):
                # The thread or channel is gone: reach the reporter by DM instead.
                from models.item_store import enqueue

                enqueue(
                    session,
                    delivery.purpose,
                    item=item,
                    **{
                        **{
                            k: v
                            for k, v in (delivery.params or {}).items()
                            if k not in {"response_url", "_defers"}
                        },
                        "_to_dm": True,
                        "_fallback_from": item.reply_channel or "",
                    },
                )
            else:
                await alert_triage(
                    session, "reporter_unreachable", item=item.id, who=item.reporter_id, error=error
                )
        elif delivery.purpose.startswith("conversation_"):
            from bot import conversation_delivery

            await conversation_delivery.failed(session, delivery, item, error)
        elif delivery.purpose in {"reminder", "escalation"}:
            from bot import reminders

            await reminders.undeliverable(session, delivery, item, error)

    async def _deliver(
        self, session: AsyncSession, delivery: Delivery, item: Item | None
    ) -> tuple[str | None, str | None]:
        params: dict[str, Any] = dict(delivery.params or {})
        purpose = delivery.purpose
        if purpose == "triage_alert":
            lang = await self.directory.language(delivery.recipient, self.default_language)
            if params.get("who") == ANONYMOUS_REPORTER:
                params["who"] = t("item.anonymous", lang)
            elif str(params.get("who") or "").startswith(("U", "W")):
                params["who"] = f"<@{params['who']}>"
            message = views.triage_alert(lang, params.pop("alert"), **params)
            return await self._post(delivery.recipient or "", message)
        if purpose == "survey_results":
            from bot import survey_results

            try:
                return await survey_results.deliver(self, session, params, now=utcnow())
            except survey_results.ResultsUndeliverable as exc:
                raise PermanentDeliveryError(exc.error) from exc
        if item is None:
            raise PermanentDeliveryError("item_missing")
        if purpose.startswith("conversation_"):
            from bot import conversation_delivery  # it imports this module

            return await conversation_delivery.deliver(self, session, delivery, item, params)
        if purpose in {"reminder", "escalation"}:
            from bot import reminders

            try:
                channel, message, thread_ts = await reminders.render(
                    session, self.directory, delivery, item, self.default_language
                )
            except reminders.ReminderUndeliverable as exc:
                raise PermanentDeliveryError(exc.error) from exc
            return await self._post(channel, message, thread_ts=thread_ts)
        if purpose == "lead_dm":
            return await self._lead_dm(session, delivery, item, params)
        if purpose == "lead_dm_update":
            return await self._lead_dm_update(session, item, params)
        if purpose == "lead_notice":
            return await self._lead_notice(session, item, params)
        return await self._to_reporter(session, delivery, item, params)

    async def _lead_dm(
        self, session: AsyncSession, delivery: Delivery, item: Item, params: dict[str, Any]
    ) -> tuple[str | None, str | None]:
        recipient = delivery.recipient or ""
        user = await self.directory.user(recipient)
        if user is not None and user.deleted:
            raise PermanentDeliveryError("user_deactivated")
        lang = await self.directory.language(recipient, self.default_language)
        note = None
        if params.get("reason") == "unreachable":
            note = t(
                "note.lead_unreachable",
                lang,
                who=f"<@{params.get('failed', '')}>",
                error=params.get("error", ""),
            )
        elif params.get("reason") == "reassigned":
            note = t(
                "note.reassigned",
                lang,
                who=f"<@{params.get('moved_by', '')}>",
                team=params.get("from_team", ""),
            )
            if params.get("note"):
                note += "\n" + t("note.reassign_note", lang, note=params["note"])
        elif params.get("reason") == "reopened":
            note = lead_action_views.reopen_note(
                lang,
                who=params.get("reopened_by", ""),
                by_reporter=bool(params.get("by_reporter")),
                anonymous=item.anonymous,
            )
        await self._ensure_permalink(item)
        card = await load_card(session, item, note=note)
        channel, ts = await self._post(recipient, views.lead_dm(card, lang))
        if item.assignee_id == recipient:
            item.lead_dm_channel, item.lead_dm_ts = channel, ts
        return channel, ts

    async def _lead_dm_update(
        self, session: AsyncSession, item: Item, params: dict[str, Any]
    ) -> tuple[str | None, str | None]:
        channel = params.get("channel") or item.lead_dm_channel
        ts = params.get("ts") or item.lead_dm_ts
        if not channel or not ts:
            raise Deferred
        reader = params.get("reader") or item.assignee_id
        lang = await self.directory.language(reader, self.default_language)
        card = await load_card(session, item)
        message = views.lead_dm(card, lang, reassigned_to=params.get("reassigned_to"))
        await self.client.chat_update(
            channel=channel, ts=ts, text=message["text"], blocks=message["blocks"]
        )
        return channel, ts

    async def _lead_notice(
        self, session: AsyncSession, item: Item, params: dict[str, Any]
    ) -> tuple[str | None, str | None]:
        """A line for the item's lead, in the thread of their DM about it (lead actions)."""
        lang = await self.directory.language(item.assignee_id, self.default_language)
        card = await load_card(session, item)
        message = lead_action_views.lead_notice(card, lang, params.get("notice", ""))
        if item.lead_dm_channel and item.lead_dm_ts:
            return await self._post(item.lead_dm_channel, message, thread_ts=item.lead_dm_ts)
        return await self._post(item.assignee_id or "", message)

    async def _to_reporter(
        self, session: AsyncSession, delivery: Delivery, item: Item, params: dict[str, Any]
    ) -> tuple[str | None, str | None]:
        lang = await self.directory.language(
            item.reporter_id, item.language or self.default_language
        )
        card = await load_card(session, item)
        purpose = delivery.purpose
        if purpose == "receipt":
            message = views.receipt(card, lang)
        elif purpose == "resolution":
            message = lead_action_views.resolution_to_reporter(card, lang, **params)
        elif purpose == "answer":
            message = views.answer_to_reporter(
                card,
                lang,
                answer=params.get("answer", ""),
                by=params.get("by", ""),
                team=params.get("team", ""),
            )
        else:
            extra = {
                k: v for k, v in params.items() if not k.startswith("_") and k not in {"notice"}
            }
            if "who" in extra:
                extra["who"] = f"<@{extra['who']}>"
            message = views.reporter_notice(card, lang, params.get("notice", "updated"), **extra)
        if params.get("_fallback_from"):
            message = {
                **message,
                "blocks": [
                    *message["blocks"],
                    context(
                        t("notice.fallback_dm", lang, channel=f"<#{params['_fallback_from']}>")
                    ),
                ],
            }
        if params.get("response_url"):
            response = await AsyncWebhookClient(params["response_url"]).send(
                text=message["text"],
                blocks=message["blocks"],
                response_type="ephemeral",
                replace_original=False,
            )
            if response.status_code != 200:
                raise PermanentDeliveryError(f"response_url_{response.status_code}")
            return None, None
        return await self.post_in_reporter_thread(item, message, params)

    async def post_in_reporter_thread(
        self, item: Item, message: dict[str, Any], params: dict[str, Any]
    ) -> tuple[str | None, str | None]:
        """The reply thread, else (none, or the fallback's `_to_dm`) the reporter's DM thread
        for the item, whose first message starts that thread."""
        if item.reply_channel and not params.get("_to_dm"):
            return await self._post(item.reply_channel, message, thread_ts=item.reply_thread_ts)
        channel, ts = await self._post(item.reporter_id, message, thread_ts=item.reporter_dm_ts)
        if not item.reporter_dm_ts:
            item.reporter_dm_channel, item.reporter_dm_ts = channel, ts
        return channel, ts

    async def _ensure_permalink(self, item: Item) -> None:
        """Items from a message (mention, shortcut, DM) keep a link to it; fetched after the ack."""
        if item.permalink or not item.channel_id or not item.message_ts:
            return
        try:
            response = await self.client.chat_getPermalink(
                channel=item.channel_id, message_ts=item.message_ts
            )
            item.permalink = response.get("permalink")
        except SlackApiError as exc:  # the DM matters more than the link
            log.info("no permalink for item %s: %s", item.id, classify(exc).code)

    async def _post(
        self, channel: str, message: dict[str, Any], *, thread_ts: str | None = None
    ) -> tuple[str | None, str | None]:
        response = await self.client.chat_postMessage(
            channel=channel,
            text=message["text"],
            blocks=message["blocks"],
            thread_ts=thread_ts,
            unfurl_links=False,
            unfurl_media=False,
        )
        return response.get("channel"), response.get("ts")
