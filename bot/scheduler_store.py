"""Scheduled jobs' runs, claimed in the database so several replicas run each slot once:
a run is claimed by moving the job's `last_run_at` forward with a conditional UPDATE."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import affected_rows
from models.reminders import ScheduledJob


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
    return affected_rows(result) == 1


async def finish_job_run(
    session: AsyncSession, name: str, finished: datetime, error: str | None
) -> None:
    values: dict[str, object] = {
        "last_finished_at": finished,
        "last_error": (error or None) and error[:500],
    }
    if not error:
        values["last_success_at"] = finished
    await session.execute(update(ScheduledJob).where(ScheduledJob.name == name).values(**values))
