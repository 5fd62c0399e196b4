"""Jira's and Linear's webhooks: checked, stored, answered at once, processed after.

`receive` is all the request waits for: the signature (Jira: `X-Hub-Signature`, "sha256="
and the HMAC-SHA256 of the raw body with the webhook's secret; Linear: `Linear-Signature`,
the hex HMAC-SHA256), the delivery's age (its timestamp within `TOLERANCE`: a replay of an
old delivery is refused), then one INSERT of the body keyed by its delivery id (Linear's
`Linear-Delivery`, Jira's `X-Atlassian-Webhook-Identifier`, else the body's hash), so a
delivery sent twice is stored once. Forged or stale deliveries get 401 and change nothing.

`process_pending` reads what is stored and not processed yet, each row claimed by a
conditional UPDATE (several processes may run it), and applies what it says
(bot/trackers/service.py `apply_state`). It runs right after each answer and on the
scheduler's pass, so a process stopped between the two leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import affected_rows
from bot.trackers import jira, linear
from bot.trackers.domain import JIRA, LINEAR, IssueState
from bot.trackers.service import apply_state
from bot.trackers.signatures import fresh, jira_signature_ok, linear_signature_ok
from models.base import utcnow
from models.trackers import TrackerWebhook

log = logging.getLogger("jerry.trackers")

TOLERANCE = timedelta(minutes=5)
MAX_BODY_BYTES = 1_000_000
MAX_ATTEMPTS = 5  # a stored delivery that keeps failing (a bug) is set aside after these
BATCH = 100


@dataclass(frozen=True)
class Received:
    status: int  # 200 stored (or already stored), 400 unreadable, 401 forged or stale
    detail: str


def receive_check(
    tracker: str, secret: str, body: bytes, headers: dict[str, str], now: datetime
) -> tuple[Received | None, dict[str, object] | None, str]:
    """The delivery's payload and id if it is genuine and fresh; else the answer."""
    lowered = {key.lower(): value for key, value in headers.items()}
    if tracker == JIRA:
        signed = jira_signature_ok(secret, body, lowered.get("x-hub-signature"))
    else:
        signed = linear_signature_ok(secret, body, lowered.get("linear-signature"))
    if not signed:
        return Received(401, "invalid_signature"), None, ""
    try:
        payload = json.loads(body)
    except ValueError:
        return Received(400, "malformed_body"), None, ""
    if not isinstance(payload, dict):
        return Received(400, "malformed_body"), None, ""
    stamp = payload.get("webhookTimestamp" if tracker == LINEAR else "timestamp")
    if not fresh(stamp if isinstance(stamp, int) else None, now, TOLERANCE):
        return Received(401, "stale_delivery"), None, ""
    delivery = (
        lowered.get("linear-delivery")
        if tracker == LINEAR
        else lowered.get("x-atlassian-webhook-identifier")
    ) or hashlib.sha256(body).hexdigest()
    return None, payload, delivery[:200]


async def receive(
    sessions: async_sessionmaker[AsyncSession],
    tracker: str,
    secret: str,
    body: bytes,
    headers: dict[str, str],
    now: datetime,
) -> Received:
    refused, _payload, delivery = receive_check(tracker, secret, body, headers, now)
    if refused is not None:
        return refused
    async with sessions() as session:
        session.add(
            TrackerWebhook(
                tracker=tracker,
                delivery_id=delivery,
                body=body.decode("utf-8", errors="replace"),
                received_at=utcnow(),
                attempts=0,
            )
        )
        try:
            await session.commit()
        except IntegrityError:
            return Received(200, "duplicate")
    return Received(200, "stored")


def state_of(row: TrackerWebhook, jira_base: str) -> IssueState | None:
    payload = json.loads(row.body)
    if row.tracker == JIRA:
        return jira.parse_webhook(payload, jira_base)
    return linear.parse_webhook(payload)


async def process_pending(sessions: async_sessionmaker[AsyncSession], jira_base: str) -> int:
    """Apply every stored delivery not processed yet; how many were."""
    done = 0
    async with sessions() as session:
        ids = list(
            (
                await session.execute(
                    select(TrackerWebhook.id)
                    .where(
                        TrackerWebhook.processed_at.is_(None),
                        TrackerWebhook.attempts < MAX_ATTEMPTS,
                    )
                    .order_by(TrackerWebhook.id)
                    .limit(BATCH)
                )
            ).scalars()
        )
    for row_id in ids:
        if await _process_one(sessions, row_id, jira_base):
            done += 1
    return done


async def _process_one(
    sessions: async_sessionmaker[AsyncSession], row_id: int, jira_base: str
) -> bool:
    async with sessions() as session:
        # Claimed by counting the attempt: another process that read the same row matches
        # no row with the attempts it read.
        row = await session.get(TrackerWebhook, row_id)
        if row is None or row.processed_at is not None:
            return False
        claimed = await session.execute(
            update(TrackerWebhook)
            .where(
                TrackerWebhook.id == row_id,
                TrackerWebhook.attempts == row.attempts,
                TrackerWebhook.processed_at.is_(None),
            )
            .values(attempts=row.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if affected_rows(claimed) != 1:
            return False
        try:
            state = state_of(row, jira_base)
            if state is not None:
                await apply_state(session, state, source="webhook")
            row.processed_at = utcnow()
            row.last_error = None
            await session.commit()
            return True
        except Exception as exc:  # kept, and tried again at the next pass
            log.exception("tracker webhook %s could not be processed", row_id)
            await session.rollback()
            async with sessions() as again:
                await again.execute(
                    update(TrackerWebhook)
                    .where(TrackerWebhook.id == row_id)
                    .values(attempts=row.attempts + 1, last_error=exc.__class__.__name__)
                )
                await again.commit()
            return False
