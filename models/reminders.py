"""What reminders and escalations were sent, and when scheduled jobs last ran.

Both live in the database so a restart forgets nothing and several replicas share one
truth: a reminder is claimed by inserting its unique key in the same transaction as the
message it owes (the second replica's insert fails and it sends nothing); a scheduled
job's run is claimed by moving its `last_run_at` forward with a conditional UPDATE.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow
from models.items import Item, ItemEvent
from models.routing import Team

KEY_LIMIT = 200


class SentReminder(Base):
    """One reminder, escalation or alert Jerry owed once; `key` makes it once only."""

    __tablename__ = "sent_reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    # item:kind:level:cycle, or lead_gone:<user id> for alerts about a person.
    key: Mapped[str] = mapped_column(String(KEY_LIMIT), unique=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # ack | answer | details | lead_gone
    level: Mapped[int] = mapped_column(Integer, default=1)  # 1 reminder, 2 escalation
    recipient: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScheduledJob(Base):
    """A periodic job's last run, so schedules survive restarts and replicas run it once."""

    __tablename__ = "scheduled_jobs"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    # The schedule slot last run (or, for a job never run, when it was first registered).
    last_run_at: Mapped[datetime]
    last_finished_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    runs: Mapped[int] = mapped_column(Integer, default=0)


# --- reminders ------------------------------------------------------------------------------


async def claim_reminder(
    session: AsyncSession,
    key: str,
    *,
    kind: str,
    level: int = 1,
    item_id: int | None = None,
    recipient: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Take the reminder `key` for this transaction; False if it was already taken.

    Inserted in a savepoint, so a duplicate leaves the caller's transaction usable. On
    PostgreSQL a replica inserting the same key concurrently waits for the first to commit,
    then fails: only one of them sends.
    """
    row = SentReminder(
        key=key[:KEY_LIMIT],
        kind=kind,
        level=level,
        item_id=item_id,
        recipient=recipient,
        sent_at=now or utcnow(),
    )
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        return False
    return True


async def reminder_sent(session: AsyncSession, key: str) -> bool:
    statement = select(SentReminder.id).where(SentReminder.key == key[:KEY_LIMIT])
    return (await session.execute(statement)).first() is not None


async def reminders_of(session: AsyncSession, item_id: int) -> list[SentReminder]:
    statement = select(SentReminder).where(SentReminder.item_id == item_id)
    return list((await session.execute(statement.order_by(SentReminder.id))).scalars())


OPEN_STATUSES = ("open", "acknowledged", "answered")


async def waiting_items(session: AsyncSession) -> list[tuple[Item, Team | None]]:
    """Items not resolved or closed that have a team, with their team, oldest first."""
    statement = (
        select(Item, Team)
        .join(Team, Team.id == Item.team_id)
        .where(Item.status.in_(OPEN_STATUSES), Item.resolved_at.is_(None))
        .order_by(Item.id)
    )
    return [(item, team) for item, team in (await session.execute(statement)).all()]


# A question the lead asked the reporter, and the reporter's reply (bot/conversation.py).
DETAILS_ASKED = ("details_requested",)
DETAILS_ANSWERED = ("details_given",)


async def events_of_kinds(
    session: AsyncSession, item_ids: list[int], kinds: tuple[str, ...]
) -> dict[int, list[ItemEvent]]:
    """Each item's events of these kinds, in order."""
    found: dict[int, list[ItemEvent]] = {}
    if not item_ids:
        return found
    for start in range(0, len(item_ids), 500):
        chunk = item_ids[start : start + 500]
        statement = (
            select(ItemEvent)
            .where(ItemEvent.item_id.in_(chunk), ItemEvent.kind.in_(kinds))
            .order_by(ItemEvent.id)
        )
        for event in (await session.execute(statement)).scalars():
            found.setdefault(event.item_id, []).append(event)
    return found


async def open_items_assigned_to(session: AsyncSession, user_id: str) -> list[Item]:
    statement = (
        select(Item)
        .where(
            Item.assignee_id == user_id,
            Item.status.in_(OPEN_STATUSES),
            Item.resolved_at.is_(None),
        )
        .order_by(Item.id)
        .with_for_update()
    )
    return list((await session.execute(statement)).scalars())


async def teams_led_by(session: AsyncSession, user_id: str) -> list[Team]:
    statement = select(Team).where(Team.archived.is_(False), Team.lead == user_id)
    return list((await session.execute(statement.order_by(Team.id))).scalars())


# --- scheduled jobs -------------------------------------------------------------------------


async def get_job(session: AsyncSession, name: str) -> ScheduledJob | None:
    return await session.get(ScheduledJob, name)


async def register_job(session: AsyncSession, name: str, now: datetime) -> ScheduledJob:
    """The job's row, created (as if last run `now`) the first time it is registered."""
    job = await session.get(ScheduledJob, name)
    if job is not None:
        return job
    try:
        async with session.begin_nested():
            job = ScheduledJob(name=name, last_run_at=now, runs=0)
            session.add(job)
            await session.flush()
        return job
    except IntegrityError:  # another replica registered it first
        job = await session.get(ScheduledJob, name, populate_existing=True)
        assert job is not None
        return job


async def claim_job_run(
    session: AsyncSession, name: str, previous: datetime, slot: datetime
) -> bool:
    """Move the job from `previous` to `slot`; False if another process already moved it."""
    result = await session.execute(
        update(ScheduledJob)
        .where(ScheduledJob.name == name, ScheduledJob.last_run_at == previous)
        .values(last_run_at=slot, runs=ScheduledJob.runs + 1)
    )
    return result.rowcount == 1


async def finish_job_run(
    session: AsyncSession, name: str, finished: datetime, error: str | None
) -> None:
    await session.execute(
        update(ScheduledJob)
        .where(ScheduledJob.name == name)
        .values(last_finished_at=finished, last_error=(error or None) and error[:500])
    )
