"""The scheduler: state in the database, catch-up once after downtime, one run per slot."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import JerryApp, create_app
from bot.config import Settings
from bot.scheduler import Scheduler, interval, latest_slot, next_slot
from models.reminders import ScheduledJob

T0 = datetime(2025, 3, 3, 9, 0, 30, tzinfo=UTC)  # a Monday


class Recorder:
    def __init__(self) -> None:
        self.runs: list[datetime] = []

    async def __call__(self, now: datetime) -> None:
        self.runs.append(now)


def weekly() -> CronTrigger:
    return CronTrigger(day_of_week="mon", hour=9, minute=0, timezone=UTC)


def test_slots_of_interval_and_cron_triggers() -> None:
    hourly = interval(3600)
    assert next_slot(hourly, T0) == datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
    assert latest_slot(hourly, T0, T0 + timedelta(minutes=10)) is None
    assert latest_slot(hourly, T0, T0 + timedelta(hours=5)) == datetime(
        2025, 3, 3, 14, 0, tzinfo=UTC
    )
    cron = weekly()
    assert next_slot(cron, T0) == datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
    # Three weeks of downtime: the latest missed Monday, once.
    assert latest_slot(cron, T0, datetime(2025, 3, 26, tzinfo=UTC)) == datetime(
        2025, 3, 24, 9, 0, tzinfo=UTC
    )


async def test_first_registration_runs_nothing_then_each_slot_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    job = Recorder()
    scheduler = Scheduler(sessions)
    scheduler.add_job("summary", interval(3600), job)
    assert await scheduler.run_pending(T0) == []
    assert await scheduler.run_pending(T0 + timedelta(minutes=20)) == []
    assert await scheduler.run_pending(datetime(2025, 3, 3, 10, 0, tzinfo=UTC)) == ["summary"]
    assert await scheduler.run_pending(datetime(2025, 3, 3, 10, 30, tzinfo=UTC)) == []
    assert len(job.runs) == 1
    async with sessions() as session:
        row = await session.get(ScheduledJob, "summary")
        assert row is not None and row.runs == 1 and row.last_finished_at is not None


async def test_restart_catches_up_once_not_once_per_missed_slot(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first_job = Recorder()
    first = Scheduler(sessions)
    first.add_job("weekly", weekly(), first_job)
    await first.run_pending(T0)
    await first.run_pending(datetime(2025, 3, 10, 9, 0, 5, tzinfo=UTC))
    assert len(first_job.runs) == 1
    # Down for three weeks; a new process on the same database.
    second_job = Recorder()
    second = Scheduler(sessions)
    second.add_job("weekly", weekly(), second_job)
    back = datetime(2025, 4, 2, 12, 0, tzinfo=UTC)
    assert await second.run_pending(back) == ["weekly"]
    assert await second.run_pending(back + timedelta(minutes=1)) == []
    assert second_job.runs == [back]
    # And the schedule carries on from there.
    assert await second.run_pending(datetime(2025, 4, 7, 9, 0, tzinfo=UTC)) == ["weekly"]


async def test_two_replicas_run_a_slot_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    runs = Recorder()
    replicas = [Scheduler(sessions), Scheduler(sessions)]
    for replica in replicas:
        replica.add_job("tick", interval(60), runs)
    await replicas[0].run_pending(T0)
    for minute in range(1, 4):
        now = T0 + timedelta(minutes=minute)
        results = await asyncio.gather(*(replica.run_pending(now) for replica in replicas))
        assert sorted(len(r) for r in results) == [0, 1], results
    assert len(runs.runs) == 3


async def test_a_failing_job_is_recorded_and_runs_again_next_slot(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    calls: list[datetime] = []

    async def broken(now: datetime) -> None:
        calls.append(now)
        raise RuntimeError("boom")

    scheduler = Scheduler(sessions)
    scheduler.add_job("broken", interval(60), broken)
    await scheduler.run_pending(T0)
    assert await scheduler.run_pending(T0 + timedelta(minutes=1)) == ["broken"]
    async with sessions() as session:
        row = await session.get(ScheduledJob, "broken")
        assert row is not None and "boom" in (row.last_error or "")
    assert await scheduler.run_pending(T0 + timedelta(minutes=2)) == ["broken"]
    assert len(calls) == 2


async def test_apscheduler_drives_the_jobs_in_real_time(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    runs = Recorder()
    scheduler = Scheduler(sessions)
    scheduler.add_job("fast", interval(0.2), runs)
    await scheduler.start()
    try:
        for _ in range(50):
            if len(runs.runs) >= 2:
                break
            await asyncio.sleep(0.1)
    finally:
        await scheduler.stop()
    assert len(runs.runs) >= 2
    assert not scheduler.running


async def test_jerry_app_runs_the_reminders_job_and_a_restart_catches_up_once(
    settings: Settings,
) -> None:
    calls: list[datetime] = []
    fast = settings.model_copy(update={"jerry_reminder_seconds": 3600.0})
    app: JerryApp = create_app(fast)
    await app.start()  # registers the job
    try:
        assert "reminders" in app.scheduler.jobs and app.scheduler.running
        async with app.sessions() as session:
            row = await session.get(ScheduledJob, "reminders")
            assert row is not None
            # Pretend the last tick was three hours ago (Jerry was down since).
            row.last_run_at = row.last_run_at - timedelta(hours=3)
            await session.commit()
    finally:
        await app.stop()
    again = create_app(fast)

    async def counting(now: datetime):  # type: ignore[no-untyped-def]
        calls.append(now)
        return await JerryApp.run_reminders(again, now)

    again.scheduler.jobs["reminders"].func = counting
    await again.start()
    await again.scheduler.settle()  # the catch-up runs in the background
    try:
        assert len(calls) == 1  # three missed slots, one run
        async with again.sessions() as session:
            row = await session.get(ScheduledJob, "reminders")
            assert row is not None and row.runs == 1
    finally:
        await again.stop()


async def test_a_job_that_hangs_while_catching_up_holds_up_neither_start_nor_the_others(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = [T0]
    first = Scheduler(sessions, clock=lambda: clock[0])
    for name in ("feeds", "summaries"):
        first.add_job(name, interval(3600), Recorder())
    await first.start()  # registers both: nothing owed yet
    await first.stop()

    clock[0] = T0 + timedelta(hours=5)  # Jerry was down: both jobs missed slots
    hanging = asyncio.Event()

    async def hang(now: datetime) -> None:
        await hanging.wait()

    summaries = Recorder()
    again = Scheduler(sessions, clock=lambda: clock[0])
    again.add_job("feeds", interval(3600), hang)
    again.add_job("summaries", interval(3600), summaries)
    await asyncio.wait_for(again.start(), timeout=2)  # start does not wait for the catch-up
    try:
        for _ in range(50):
            if summaries.runs:
                break
            await asyncio.sleep(0.02)
        assert summaries.runs == [clock[0]]
    finally:
        await again.stop()  # cancels the hanging catch-up
    assert not again.running
