"""Sends what the outbox owes, after Slack has its ack.

Every delivery ends in one of two ways: sent, or failed for good because Slack will never
take it (the channel or the person is gone, the message is refused), in which case the
handler of its purpose takes over (bot/outbox/registry.py: the item goes to the backup or
triage, the reporter is reached by DM, an alert goes to triage). Until then it is retried:
rate limits when Slack's Retry-After says, 5xx and network trouble with a backoff capped at
`max_backoff`, for as long as it takes; product ops is told once when the oldest owed
message is older than `alert_after`, and once more when that is over.

The worker knows no purpose: each capability registers its own. Several bot processes can
share the outbox: each delivery is claimed with a conditional UPDATE before it is sent.

Each send waits on a round trip to Slack, so deliveries to different lanes (recipients) go
out `concurrency` at once; a lane's own deliveries go one after the other, in order. A rate
limit that the recipient's own pace does not explain is the workspace's: every send then
waits for its Retry-After (`_not_before`) instead of hammering Slack with more. Requests
come first: each send steps aside while requests are in flight (bot/outbox/pressure.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.outbox import store
from bot.outbox.pressure import NoPressure, RequestPressure
from bot.outbox.registry import (
    Attempt,
    Deferred,
    Doorbell,
    OutboxContext,
    OutboxHandler,
    OutboxRegistry,
    PermanentDeliveryError,
    RetryLater,
    current_attempt,
)
from bot.slack import SLACK_FAILURES, FailureKind, classify, longest_outbox_call_seconds
from models.base import utcnow
from models.deliveries import Delivery
from models.items import Item

log = logging.getLogger("jerry.delivery")

LEASE = timedelta(minutes=2)
# Slack calls one delivery may make (users.info, chat.getPermalink, the search for an earlier
# post, chat.postMessage): all of them end, retries included, before the lease does, so no
# other process takes over a delivery still being sent.
MAX_CALLS_PER_ATTEMPT = 4
if LEASE.total_seconds() <= MAX_CALLS_PER_ATTEMPT * longest_outbox_call_seconds():
    raise RuntimeError("the outbox's lease must outlast the longest attempt")
MAX_BACKOFF = timedelta(minutes=15)
ALERT_AFTER = timedelta(minutes=30)
MAX_UNEXPECTED = 8  # a handler raising something else than Slack's errors (a bug) gives up
MAX_DEFERS = 30  # a DM update waiting for its DM gives up after this many short waits
STOP_GRACE_SECONDS = 5.0  # how long stopping waits for the pass in progress
BACKLOG_ALERT = "backlog"  # outbox_alerts.name of the old-backlog alert
# Slack's pace per channel is about a message a second: a 429 on a channel posted to within
# this many seconds may be that channel's; one on a channel quiet for longer is the
# workspace's (or the method's) limit, and holds back every send.
CHANNEL_PACE_SECONDS = 1.0
# One or two such 429s may be Slack's noise: it takes this many recipients rate limited within
# CHANNEL_PACE_SECONDS to hold back every send (a workspace limit hits every send in flight).
WORKSPACE_SIGNS = 3

# (session, alert, params): tell product ops (bot/triage.py's alert_triage, given by the app).
Alert = Callable[..., Awaitable[None]]


class DeliveryWorker:
    def __init__(
        self,
        outbox: OutboxContext,
        handlers: OutboxRegistry,
        *,
        retry_seconds: float = 30.0,
        poll_seconds: float | None = None,
        concurrency: int = 8,
        doorbell: Doorbell | None = None,
        max_backoff: timedelta = MAX_BACKOFF,
        alert_after: timedelta | None = ALERT_AFTER,
        alert: Alert | None = None,
        pressure: RequestPressure | None = None,
    ) -> None:
        self.outbox = outbox
        # Acks first: each send waits for a moment with no request in flight (bounded).
        self.pressure = pressure if pressure is not None else NoPressure()
        self.handlers = handlers
        self.sessions = outbox.sessions
        self.retry_seconds = retry_seconds
        # With nothing due, the next pass comes this late: this process rings the doorbell
        # when it queues something, so only another process's work waits for it.
        self.poll_seconds = poll_seconds if poll_seconds is not None else retry_seconds
        self.concurrency = max(1, concurrency)
        self.max_backoff = max_backoff
        self.alert_after = alert_after
        self.alert = alert
        # Rung by the core when it queues something (Services.kick).
        self._wake = doorbell.rung if doorbell is not None else asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        # Slack or the network failed since the last message that went out: the next one
        # that goes out makes everything waiting on a backoff due again.
        self._troubled = False
        self._backlog_checked_at: datetime | None = None
        # No send before this (time.monotonic()): Slack rate limited the workspace.
        self._not_before = 0.0
        # When each lane last had a message accepted (time.monotonic()), to tell a channel's
        # pace from the workspace's limit.
        self._lane_sent_at: dict[str, float] = {}
        # Recent 429s the lane's pace does not explain: (when, lane or delivery id).
        self._unexplained: list[tuple[float, object]] = []

    # --- running ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._loop(), name="jerry-deliveries")
        self.kick()

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            # Let a pass in progress finish; a send still waiting on Slack after the grace is
            # cancelled and its delivery given back as unsure (looked for before re-sending).
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
            await self._check_backlog()

    async def _loop(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=await self._idle_seconds())
            self._wake.clear()
            if self._stopping and self._task is not None:  # stopping the loop: not a drain
                break
            try:
                async with self._lock:
                    while not self._stopping and await self._pass():
                        pass
                    await self._check_backlog()
            except asyncio.CancelledError:
                raise
            except Exception:  # the loop must outlive a database hiccup
                log.exception("delivery pass failed; retrying in %ss", self.retry_seconds)

    async def _idle_seconds(self) -> float:
        """Until the next pass: the next delivery due (a retry, a rate limit's end), at most
        poll_seconds."""
        try:
            async with self.sessions() as session:
                due = await store.next_delivery_due(session)
        except Exception:
            return self.retry_seconds
        if due is None:
            return self.poll_seconds
        return max(0.05, min(self.poll_seconds, (due - utcnow()).total_seconds()))

    async def _pass(self) -> int:
        async with self.sessions() as session:
            due = await store.due_deliveries(session, utcnow())
        # One task per lane sends its deliveries in order (the next one is claimed only once
        # the one before is recorded); up to `concurrency` lanes at once.
        lanes: dict[object, list[tuple[int, str | None]]] = {}
        for delivery_id, lane in due:
            lanes.setdefault(lane if lane is not None else delivery_id, []).append(
                (delivery_id, lane)
            )
        gate = asyncio.Semaphore(self.concurrency)
        claimed = 0

        async def send_lane(deliveries: list[tuple[int, str | None]]) -> None:
            nonlocal claimed
            async with gate:
                for delivery_id, lane in deliveries:
                    if self._stopping and self._task is not None:  # stopping: not a drain
                        return
                    wait = self._not_before - time.monotonic()
                    if wait > 0:  # the workspace is rate limited: wait it out
                        await asyncio.sleep(wait)
                    await self.pressure.step_aside()
                    if not await self._process(delivery_id, lane):
                        return  # its lane waits (a retry) or another process has it
                    claimed += 1

        outcomes = await asyncio.gather(
            *(send_lane(deliveries) for deliveries in lanes.values()), return_exceptions=True
        )
        for outcome in outcomes:  # every lane finished its send before the first error is told
            if isinstance(outcome, BaseException):
                raise outcome
        return claimed

    # --- one delivery ----------------------------------------------------------------------

    async def _process(self, delivery_id: int, lane: str | None = None) -> bool:
        """Claim, send and record one delivery; False when another process (or its lane)
        has it."""
        async with self.sessions() as session:
            now = utcnow()
            delivery = await store.claim_delivery(session, delivery_id, now, now + LEASE)
            await session.commit()
            if delivery is None:
                return False
            item = await session.get(Item, delivery.item_id) if delivery.item_id else None
            handler = self.handlers.handler(delivery.purpose)
            attempt = Attempt(delivery.id, delivery.unsure_since)
            token = current_attempt.set(attempt)
            try:
                if handler is None:
                    raise PermanentDeliveryError(f"unknown_purpose_{delivery.purpose}")
                channel, ts = await handler.send(self.outbox, session, delivery, item)
            except asyncio.CancelledError:
                await asyncio.shield(
                    self._give_back_unsure(delivery.id, delivery.unsure_since or now)
                )
                raise
            except Deferred as deferred:
                defers = int((delivery.params or {}).get("_defers", 0)) + 1
                delivery.params = {**(delivery.params or {}), "_defers": defers}
                delivery.attempts -= 1
                delivery.last_error = None  # waiting, not failing: its lane goes on
                if defers <= MAX_DEFERS:
                    wait = min(2.0, self.retry_seconds)
                elif deferred.patient or await store.item_still_owed_elsewhere(session, delivery):
                    # What it waits for (the lead's DM, say) is itself being retried through
                    # an outage: wait as long as that, at the retry pace.
                    wait = self.retry_seconds
                else:
                    wait = None
                if wait is None:
                    self._fail(delivery, "nothing_to_update")
                else:
                    delivery.status = "pending"
                    delivery.next_attempt_at = utcnow() + timedelta(seconds=wait)
            except PermanentDeliveryError as exc:
                await self._permanent(session, handler, delivery, item, exc.error)
            except RetryLater as exc:
                later = (
                    timedelta(seconds=exc.after) if exc.after else self._backoff(delivery.attempts)
                )
                self._later(delivery, exc.code, later)
            except SLACK_FAILURES as exc:
                failure = classify(exc)
                if failure.unsure and attempt.posts:
                    # The request may have reached Slack: look for it before posting again.
                    delivery.unsure_since = delivery.unsure_since or now
                if failure.kind is FailureKind.RATE_LIMITED:
                    wait = failure.retry_after if failure.retry_after else self.retry_seconds
                    self._later(delivery, failure.code, timedelta(seconds=wait))
                    self._rate_limited(lane or delivery.id, attempt, wait)
                elif failure.retry:
                    self._troubled = True
                    code = f"connection: {failure.code}" if failure.transport else failure.code
                    self._later(delivery, code, self._backoff(delivery.attempts))
                else:
                    await self._permanent(session, handler, delivery, item, failure.code)
            except Exception as exc:  # a bug must not leave the delivery leased and the pass cut
                log.exception("delivery %s (%s) raised", delivery.id, delivery.purpose)
                error = f"unexpected: {exc.__class__.__name__}"
                bugs = int((delivery.params or {}).get("_unexpected", 0)) + 1
                delivery.params = {**(delivery.params or {}), "_unexpected": bugs}
                if bugs >= MAX_UNEXPECTED:
                    self._fail(delivery, error)
                    if handler is not None:
                        await handler.gave_up(session, delivery, item, error)
                else:
                    self._later(delivery, error, self._backoff(bugs))
            else:
                delivery.status = "sent"
                delivery.sent_at = utcnow()
                delivery.result_channel, delivery.result_ts = channel, ts
                delivery.last_error = None
                delivery.unsure_since = None
                if lane is not None:
                    self._sent_in(lane)
                if self._troubled:
                    self._troubled = False
                    await store.retry_now(session, utcnow())
            finally:
                current_attempt.reset(token)
            delivery.lease_until = None
            await session.commit()
        return True

    async def _give_back_unsure(self, delivery_id: int, started: datetime) -> None:
        """Stopped mid-send: the delivery is due again at once, unsure (Slack may have it)."""
        try:
            async with self.sessions() as session:
                await session.execute(
                    update(Delivery)
                    .where(Delivery.id == delivery_id, Delivery.status == "sending")
                    .values(
                        status="pending",
                        lease_until=None,
                        next_attempt_at=utcnow(),
                        unsure_since=started,
                        last_error="stopped mid-send",
                    )
                )
                await session.commit()
        except Exception:  # its lease expires anyway; it is then taken over as unsure
            log.exception("delivery %s: could not give it back", delivery_id)

    def _sent_in(self, lane: str) -> None:
        now = time.monotonic()
        if len(self._lane_sent_at) > 1024:  # only the last second's matter
            self._lane_sent_at = {
                k: at for k, at in self._lane_sent_at.items() if now - at < CHANNEL_PACE_SECONDS
            }
        self._lane_sent_at[lane] = now

    def _rate_limited(self, lane: object, attempt: Attempt, wait: float) -> None:
        """429s the lanes' own pace does not explain (nothing posted there within a second),
        for several lanes at once: the workspace's limit, so every send waits for the
        Retry-After."""
        now = time.monotonic()
        recent = [
            attempt.posted_at,
            self._lane_sent_at.get(lane) if isinstance(lane, str) else None,
        ]
        if any(at is not None and now - at < CHANNEL_PACE_SECONDS for at in recent):
            return
        self._unexplained = [
            (at, other) for at, other in self._unexplained if now - at < CHANNEL_PACE_SECONDS
        ]
        self._unexplained.append((now, lane))
        if len({other for _at, other in self._unexplained}) < WORKSPACE_SIGNS:
            return
        if now + wait > self._not_before:
            log.info("Slack rate limits the workspace: every send waits %.0fs", wait)
            self._not_before = now + wait

    def _backoff(self, failures: int) -> timedelta:
        seconds = self.retry_seconds * 2 ** min(max(failures - 1, 0), 30)
        return min(timedelta(seconds=seconds), self.max_backoff)

    def _later(self, delivery: Delivery, error: str, wait: timedelta) -> None:
        delivery.status = "pending"
        delivery.last_error = error
        delivery.next_attempt_at = utcnow() + wait
        log.info(
            "delivery %s (%s) will be retried in %.0fs: %s",
            delivery.id,
            delivery.purpose,
            wait.total_seconds(),
            error,
        )

    def _fail(self, delivery: Delivery, error: str) -> None:
        delivery.status = "failed"
        delivery.last_error = error
        log.warning("delivery %s (%s) failed: %s", delivery.id, delivery.purpose, error)

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

    # --- the backlog alert -------------------------------------------------------------------

    async def _check_backlog(self) -> None:
        """Product ops hears once that owed messages are waiting too long, and once that they
        are not any more (the alert's row, shared by every process, says whether it was told).
        """
        if self.alert is None or self.alert_after is None:
            return
        now = utcnow()
        every = timedelta(seconds=min(self.retry_seconds, 10.0))
        if self._backlog_checked_at is not None and now - self._backlog_checked_at < every:
            return
        self._backlog_checked_at = now
        async with self.sessions() as session:
            count, oldest, error = await store.backlog(session)
            age = now - oldest if oldest is not None else timedelta(0)
            raised = await store.alert_raised(session, BACKLOG_ALERT)
            try:
                if not raised and age > self.alert_after:
                    store.raise_alert(session, BACKLOG_ALERT, now)
                    await session.flush()  # another process told product ops first: stop here
                    await self.alert(
                        session,
                        "outbox_backlog",
                        count=count,
                        minutes=int(age.total_seconds() // 60),
                        error=error or "-",
                    )
                # Over when nothing owed is older than half the threshold (no flapping).
                elif raised and age <= self.alert_after / 2:
                    if not await store.clear_alert(session, BACKLOG_ALERT):
                        return
                    await self.alert(session, "outbox_drained", count=count)
                else:
                    return
                await session.commit()
            except IntegrityError:
                await session.rollback()
                return
        self.kick()
