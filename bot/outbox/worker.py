"""Sends what the outbox owes, after Slack has its ack.

Every delivery ends in one of three ways: sent; retried later (rate limits, Slack or
network trouble, with backoff); or failed for good, in which case the handler of its
purpose takes over (bot/outbox/registry.py: the item goes to the backup or triage, the reporter is
reached by DM, an alert goes to triage). The worker knows no purpose: each capability
registers its own. Several bot processes can share the outbox: each delivery is claimed
with a conditional UPDATE before it is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.outbox.registry import (
    Deferred,
    Doorbell,
    OutboxContext,
    OutboxHandler,
    OutboxRegistry,
    PermanentDeliveryError,
)
from bot.outbox.store import claim_delivery, due_delivery_ids
from bot.slack import SLACK_FAILURES, classify
from models.base import utcnow
from models.deliveries import Delivery
from models.items import Item

log = logging.getLogger("jerry.delivery")

MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=2)
MAX_BACKOFF = timedelta(hours=1)
MAX_DEFERS = 30  # a DM update waiting for its DM gives up after this many short waits
STOP_GRACE_SECONDS = 5.0  # how long stopping waits for the pass in progress


class DeliveryWorker:
    def __init__(
        self,
        outbox: OutboxContext,
        handlers: OutboxRegistry,
        *,
        retry_seconds: float = 30.0,
        doorbell: Doorbell | None = None,
    ) -> None:
        self.outbox = outbox
        self.handlers = handlers
        self.sessions = outbox.sessions
        self.retry_seconds = retry_seconds
        # Rung by the core when it queues something (Services.kick).
        self._wake = doorbell.rung if doorbell is not None else asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

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
            item = await session.get(Item, delivery.item_id) if delivery.item_id else None
            handler = self.handlers.handler(delivery.purpose)
            try:
                if handler is None:
                    raise PermanentDeliveryError(f"unknown_purpose_{delivery.purpose}")
                channel, ts = await handler.send(self.outbox, session, delivery, item)
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
                await self._permanent(session, handler, delivery, item, exc.error)
            except SLACK_FAILURES as exc:
                failure = classify(exc)
                if failure.transport:
                    await self._retry(
                        session, handler, delivery, item, f"connection: {failure.code}"
                    )
                elif failure.retry:
                    await self._retry(session, handler, delivery, item, failure.code)
                else:
                    await self._permanent(session, handler, delivery, item, failure.code)
            except Exception as exc:  # a bug must not leave the delivery leased and the pass cut
                log.exception("delivery %s (%s) raised", delivery.id, delivery.purpose)
                await self._retry(
                    session, handler, delivery, item, f"unexpected: {exc.__class__.__name__}"
                )
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
        self,
        session: AsyncSession,
        handler: OutboxHandler | None,
        delivery: Delivery,
        item: Item | None,
        error: str,
    ) -> None:
        if delivery.attempts >= MAX_ATTEMPTS:
            self._fail(delivery, error)
            if handler is not None:
                await handler.gave_up(session, delivery, item, error)
            return
        backoff = timedelta(seconds=self.retry_seconds * 2 ** (delivery.attempts - 1))
        delivery.status = "pending"
        delivery.last_error = error
        delivery.next_attempt_at = utcnow() + min(backoff, MAX_BACKOFF)
        log.info("delivery %s (%s) will be retried: %s", delivery.id, delivery.purpose, error)

    async def _permanent(
        self,
        session: AsyncSession,
        handler: OutboxHandler | None,
        delivery: Delivery,
        item: Item | None,
        error: str,
    ) -> None:
        self._fail(delivery, error)
        if handler is not None:
            await handler.undeliverable(session, delivery, item, error)
