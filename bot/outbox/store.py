"""Queries of the outbox: owing a message (`enqueue`), claiming what is due to send, and the
state of the alert about an old backlog.

Several bot processes share the outbox: each delivery is claimed with a conditional UPDATE
(which also returns the row) before it is sent. Deliveries of one lane (one recipient) go out
in the order they were owed: a row is not due while an earlier row of its lane is being sent
or waits on a retry (its last attempt failed), which is also how a rate limit on one
recipient holds back only them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, case, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.db import affected_rows
from models.base import UTCDateTime, utcnow
from models.deliveries import Delivery, OutboxAlert
from models.items import Item

OWED = ("pending", "sending")


def enqueue(
    session: AsyncSession,
    purpose: str,
    *,
    item: Item | None = None,
    recipient: str | None = None,
    **params: Any,
) -> Delivery:
    """Owe a message: it is sent after the surrounding transaction commits."""
    now = utcnow()
    delivery = Delivery(
        item_id=item.id if item else None,
        purpose=purpose,
        recipient=recipient,
        lane=recipient or (item.reporter_id if item else None),
        params=params,
        status="pending",
        next_attempt_at=now,
        # Set here rather than by the column's default: a caller that owes it for later
        # (a held lead DM) moves both, and intake's batch insert sees one set of columns.
        created_at=now,
    )
    session.add(delivery)
    return delivery


_EARLIER = aliased(Delivery, name="earlier")  # built once: statements here are cached


def _lane_waits() -> Any:
    """An earlier delivery of the same lane is being sent or waits on a retry."""
    earlier = _EARLIER
    return exists().where(
        earlier.lane == Delivery.lane,
        earlier.id < Delivery.id,
        or_(
            earlier.status == "sending",
            # Its last attempt failed: it waits on a retry (a Deferred row does not block).
            (earlier.status == "pending") & earlier.last_error.is_not(None),
        ),
    )


def _due(now: Any) -> Any:
    return and_(
        or_(
            (Delivery.status == "pending") & (Delivery.next_attempt_at <= now),
            # A process that died mid-send left its lease behind: take the delivery over.
            (Delivery.status == "sending") & (Delivery.lease_until < now),
        ),
        ~_lane_waits(),
    )


async def due_delivery_ids(session: AsyncSession, now: datetime, limit: int = 100) -> list[int]:
    """What can be sent now, oldest first (so oldest first in each lane)."""
    statement = select(Delivery.id).where(_due(now)).order_by(Delivery.id).limit(limit)
    return list((await session.execute(statement)).scalars())


async def due_deliveries(
    session: AsyncSession, now: datetime, limit: int = 100
) -> list[tuple[int, str | None]]:
    """(id, lane) of what can be sent now, oldest first (so oldest first in each lane)."""
    statement = (
        select(Delivery.id, Delivery.lane).where(_due(now)).order_by(Delivery.id).limit(limit)
    )
    return [(row.id, row.lane) for row in await session.execute(statement)]


_NOW = bindparam("now", type_=UTCDateTime())
# Built once (a statement rebuilt per delivery cost more CPU than running it).
_CLAIM = (
    update(Delivery)
    .where(Delivery.id == bindparam("delivery_id"), _due(_NOW))
    .values(
        status="sending",
        lease_until=bindparam("lease_until", type_=UTCDateTime()),
        attempts=Delivery.attempts + 1,
        attempt_started_at=_NOW,
        unsure_since=case(
            (
                Delivery.status == "sending",
                func.coalesce(Delivery.unsure_since, Delivery.attempt_started_at, _NOW),
            ),
            else_=Delivery.unsure_since,
        ),
    )
    .returning(Delivery)
    .execution_options(synchronize_session=False, populate_existing=True)
)


async def claim_delivery(
    session: AsyncSession, delivery_id: int, now: datetime, lease_until: datetime
) -> Delivery | None:
    """Atomically take one delivery and load it, in one statement (safe with several bot
    processes on one database); None when it is not due any more (taken, or its lane waits).

    Taking over a delivery left `sending` by a process gone mid-send makes it unsure: that
    attempt may have reached Slack."""
    parameters = {"delivery_id": delivery_id, "now": now, "lease_until": lease_until}
    return (await session.execute(_CLAIM, parameters)).scalars().first()


async def next_delivery_due(session: AsyncSession) -> datetime | None:
    """When the next delivery that is not waiting behind its lane is due."""
    statement = select(func.min(Delivery.next_attempt_at)).where(
        Delivery.status == "pending", ~_lane_waits()
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def retry_now(session: AsyncSession, now: datetime) -> int:
    """Slack answers again: deliveries waiting out a backoff after Slack or the network
    failed are due now (those waiting out a rate limit keep their time)."""
    result = await session.execute(
        update(Delivery)
        .where(
            Delivery.status == "pending",
            Delivery.attempts > 0,
            Delivery.next_attempt_at > now,
            Delivery.last_error.is_not(None),
            ~Delivery.last_error.in_(("ratelimited", "rate_limited", "http_429")),
        )
        .values(next_attempt_at=now)
    )
    return affected_rows(result)


async def backlog(session: AsyncSession) -> tuple[int, datetime | None, str | None]:
    """How many messages are owed, since when the oldest, and its last error."""
    count, oldest = (
        await session.execute(
            select(func.count(), func.min(Delivery.created_at)).where(Delivery.status.in_(OWED))
        )
    ).one()
    error = None
    if oldest is not None:
        error = (
            await session.execute(
                select(Delivery.last_error)
                .where(Delivery.status.in_(OWED))
                .order_by(Delivery.created_at, Delivery.id)
                .limit(1)
            )
        ).scalar_one_or_none()
    return int(count), oldest, error


def raise_alert(session: AsyncSession, name: str, now: datetime) -> None:
    """Record that product ops is told of `name`, in the transaction that tells them: a
    concurrent process doing the same fails on the primary key at commit (and tells nothing)."""
    session.add(OutboxAlert(name=name, raised_at=now))


async def alert_raised(session: AsyncSession, name: str) -> bool:
    return (await session.get(OutboxAlert, name)) is not None


async def clear_alert(session: AsyncSession, name: str) -> bool:
    """It is over: True for the one process that clears it (and says so)."""
    result = await session.execute(delete(OutboxAlert).where(OutboxAlert.name == name))
    return affected_rows(result) == 1


async def waiting_in_lane(
    session: AsyncSession,
    lane: str,
    purpose: str,
    after_id: int,
    limit: int,
    *,
    due_by: datetime | None = None,
) -> list[tuple[int, int | None, dict[str, Any]]]:
    """(id, item id, params) of the deliveries of `purpose` owed in `lane` after `after_id`
    that no attempt may have sent (pending, not unsure), oldest first, at most `limit`: what
    one message may carry together (a lead's digest). While the delivery `after_id` is being
    sent, its lane holds these back, so no other process sends them meanwhile. `due_by`: only
    those due by then (one owed for later, such as a held lead DM, is not carried early)."""
    conditions = [
        Delivery.lane == lane,
        Delivery.purpose == purpose,
        Delivery.status == "pending",
        Delivery.unsure_since.is_(None),
        Delivery.id > after_id,
    ]
    if due_by is not None:
        conditions.append(Delivery.next_attempt_at <= due_by)
    statement = (
        select(Delivery.id, Delivery.item_id, Delivery.params)
        .where(*conditions)
        .order_by(Delivery.id)
        .limit(limit)
    )
    return [(row.id, row.item_id, row.params or {}) for row in await session.execute(statement)]


async def sent_together(
    session: AsyncSession, ids: list[int], channel: str | None, ts: str | None, now: datetime
) -> list[int]:
    """The deliveries `ids` went out in one message with another (channel, ts): those still
    owed are marked sent with it; their ids."""
    if not ids:
        return []
    statement = (
        update(Delivery)
        .where(Delivery.id.in_(ids), Delivery.status == "pending")
        .values(
            status="sent",
            sent_at=now,
            result_channel=channel,
            result_ts=ts,
            last_error=None,
            next_attempt_at=now,
        )
        .returning(Delivery.id)
        .execution_options(synchronize_session=False)
    )
    return list((await session.execute(statement)).scalars())


async def owed_for_item(session: AsyncSession, item_id: int, purpose: str) -> bool:
    """Whether a delivery of `purpose` about the item is still owed (pending or being sent):
    what a delivery that must come after it waits for."""
    statement = select(
        exists().where(
            Delivery.item_id == item_id,
            Delivery.purpose == purpose,
            Delivery.status.in_(OWED),
        )
    )
    return bool((await session.execute(statement)).scalar())


async def item_still_owed_elsewhere(session: AsyncSession, delivery: Delivery) -> bool:
    """Whether another message about the same item is still owed (e.g. the lead's DM that a
    reply waits to go under): a delivery waiting on it waits as long as it is retried."""
    if delivery.item_id is None:
        return False
    statement = select(
        exists().where(
            Delivery.item_id == delivery.item_id,
            Delivery.id != delivery.id,
            Delivery.status.in_(OWED),
        )
    )
    return bool((await session.execute(statement)).scalar())
