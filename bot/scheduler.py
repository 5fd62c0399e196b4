"""Periodic jobs on APScheduler 3, with their state in the database.

    scheduler = Scheduler(sessions)
    scheduler.add_job("reminders", IntervalTrigger(minutes=1), run_reminders_now)
    await scheduler.start()   # catches up what was missed while Jerry was down, once
    ...
    await scheduler.stop()

APScheduler only says *when to look*; whether a job is due comes from its row in
`scheduled_jobs` (the schedule slot it last ran). So:

- a restart forgets nothing: a job whose slot passed while Jerry was down runs once at
  start, however many slots it missed (coalesced), and not again for the slots in between;
- several replicas on one database run each slot once: a run is claimed by moving
  `last_run_at` from the value read to the new slot with a conditional UPDATE;
- `run_pending(now)` runs whatever is due at `now`, so tests drive it with their own clock.

A job's function takes the time it runs for: `async def job(now: datetime) -> object`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.scheduler_store import claim_job_run, finish_job_run, get_job, register_job
from models.base import utcnow

log = logging.getLogger("jerry.scheduler")

# Interval jobs count from a fixed instant, so every replica and every restart agrees on the
# slots (an interval counted from each process's start would drift between them).
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
# APScheduler may wake a little early or late: a slot this close is treated as due.
TOLERANCE = timedelta(seconds=1)
MAX_SLOT_STEPS = 100_000

JobFunction = Callable[[datetime], Awaitable[Any]]


def interval(seconds: float) -> IntervalTrigger:
    """An interval trigger anchored at EPOCH (the same slots in every process)."""
    return IntervalTrigger(seconds=seconds, start_date=EPOCH, timezone=UTC)


@dataclass
class Job:
    name: str
    trigger: BaseTrigger
    func: JobFunction
    misfire_grace_time: int


def next_slot(trigger: BaseTrigger, after: datetime) -> datetime | None:
    """The trigger's first fire time strictly after `after`."""
    after = after.astimezone(UTC)
    if isinstance(trigger, IntervalTrigger):
        start = trigger.start_date.astimezone(UTC)
        if after < start:
            return start
        step = trigger.interval
        count = (after - start) // step + 1
        return start + step * count
    found = trigger.get_next_fire_time(after, after + timedelta(microseconds=1))
    return found.astimezone(UTC) if found is not None else None


def latest_slot(trigger: BaseTrigger, after: datetime, now: datetime) -> datetime | None:
    """The last fire time in (after, now], or None when no slot fell in it."""
    slot = next_slot(trigger, after)
    if slot is None or slot > now + TOLERANCE:
        return None
    if isinstance(trigger, IntervalTrigger):
        start = trigger.start_date.astimezone(UTC)
        step = trigger.interval
        return start + step * ((max(now + TOLERANCE, slot) - start) // step)
    for _ in range(MAX_SLOT_STEPS):
        following = next_slot(trigger, slot)
        if following is None or following > now + TOLERANCE:
            return slot
        slot = following
    return slot


class Scheduler:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.jobs: dict[str, Job] = {}
        self._aps: AsyncIOScheduler | None = None
        self._running: set[asyncio.Task[Any]] = set()
        self._catching_up: set[asyncio.Task[Any]] = set()
        self._locks: dict[str, asyncio.Lock] = {}

    def add_job(
        self,
        name: str,
        trigger: BaseTrigger,
        func: JobFunction,
        *,
        misfire_grace_time: int | None = None,
    ) -> Job:
        """Register a job; a job added after start() is scheduled at once."""
        if name in self.jobs:
            raise ValueError(f"a job named {name!r} already exists")
        if misfire_grace_time is None:
            # A late wake-up (a busy event loop) still runs; a missed slot is caught up by
            # run_pending at start anyway, so this only needs to cover ordinary delays.
            seconds = getattr(trigger, "interval", timedelta(hours=1)).total_seconds()
            misfire_grace_time = int(max(30, min(seconds, 3600)))
        job = Job(name, trigger, func, misfire_grace_time)
        self.jobs[name] = job
        self._locks[name] = asyncio.Lock()
        if self._aps is not None:
            self._schedule(job)
        return job

    async def start(self) -> None:
        """Run on the schedule, and catch up (once per job) on what was missed meanwhile.

        The catch-up runs in the background, each job on its own: a slow job (a feed that
        hangs) holds up neither the others nor Jerry's start. `settle()` waits for it.
        """
        if self._aps is not None:
            return
        now = self.clock()
        try:
            await self._register_new_jobs(now)
        except Exception:  # a database hiccup at start must not stop Jerry
            log.exception("registering scheduled jobs failed; they run at their next slot")
        self._aps = AsyncIOScheduler(timezone=UTC)
        for job in self.jobs.values():
            self._schedule(job)
        self._aps.start()
        for name in list(self.jobs):
            task = asyncio.create_task(self._catch_up(name, now))
            self._catching_up.add(task)
            task.add_done_callback(self._catching_up.discard)

    async def settle(self) -> None:
        """Wait until the catch-up started by start() is over."""
        while self._catching_up:
            await asyncio.gather(*list(self._catching_up), return_exceptions=True)

    async def _register_new_jobs(self, now: datetime) -> None:
        # First time anywhere: the schedule starts now, nothing is owed yet.
        async with self.sessions() as session:
            for name in self.jobs:
                if await get_job(session, name) is None:
                    await register_job(session, name, now)
            await session.commit()

    async def _catch_up(self, name: str, now: datetime) -> None:
        try:
            await self.run_job(name, now)
        except Exception:
            log.exception("catching up the scheduled job %s failed; it runs at its next slot", name)

    async def stop(self) -> None:
        if self._aps is not None:
            self._aps.shutdown(wait=False)
            self._aps = None
        for task in [*self._running, *self._catching_up]:
            task.cancel()
        for task in [*self._running, *self._catching_up]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    @property
    def running(self) -> bool:
        return self._aps is not None

    def _schedule(self, job: Job) -> None:
        assert self._aps is not None
        self._aps.add_job(
            self._fire,
            job.trigger,
            args=[job.name],
            id=job.name,
            name=job.name,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=job.misfire_grace_time,
            replace_existing=True,
        )

    async def _fire(self, name: str) -> None:
        """APScheduler's tick: the run goes on in a task of Jerry's own, so stopping cancels
        it quietly (APScheduler logs a job it sees cancelled as an error, with a traceback)."""
        if self._locks[name].locked():
            return  # the previous run is still going; it covers this slot too
        task = asyncio.create_task(self._run_fired(name))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run_fired(self, name: str) -> None:
        try:
            await self.run_job(name, self.clock())
        except Exception:
            log.exception("scheduled job %s failed", name)

    async def run_pending(self, now: datetime) -> list[str]:
        """Run every job due at `now` (once each, whatever it missed); the names run."""
        ran = []
        for name in list(self.jobs):
            if await self.run_job(name, now):
                ran.append(name)
        return ran

    async def run_job(self, name: str, now: datetime) -> bool:
        """Run `name` if a slot of its schedule passed since its last run; False if not due
        (or another process took the slot)."""
        job = self.jobs[name]
        async with self._locks[name]:
            async with self.sessions() as session:
                row = await get_job(session, name)
                if row is None:
                    # First time anywhere: the schedule starts now, nothing is owed yet.
                    await register_job(session, name, now)
                    await session.commit()
                    return False
                previous = row.last_run_at
                slot = latest_slot(job.trigger, previous, now)
                if slot is None:
                    return False
                if not await claim_job_run(session, name, previous, slot):
                    await session.rollback()
                    return False
                await session.commit()
            error = None
            try:
                await job.func(now)
            except Exception as exc:
                error = f"{exc.__class__.__name__}: {exc}"
                log.exception("scheduled job %s failed", name)
            async with self.sessions() as session:
                await finish_job_run(session, name, self.clock(), error)
                await session.commit()
            return True
