"""A running sandbox: its parts, and what the page and the demo do with them (settle, skip
ahead). bot/sandbox/runner.py starts one."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.app import JerryApp
from bot.config import Settings
from bot.sandbox.clock import SandboxClock
from bot.sandbox.platform import Refused, SlackPlatform
from bot.sandbox.workspace import SandboxSlack
from models.base import use_clock

SKIPS = {"hour": timedelta(hours=1), "day": timedelta(days=1)}


@dataclass
class Sandbox:
    directory: Path
    settings: Settings
    app: JerryApp
    slack: SandboxSlack
    platform: SlackPlatform
    clock: SandboxClock
    port: int
    jerry_port: int
    _server: Any = None
    _server_task: asyncio.Task[Any] | None = None
    _site: web.AppRunner | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    async def settle(self) -> None:
        """Wait until Jerry has done what it does after an ack (its listeners, the outbox)."""
        for _ in range(2):
            await _bolt_listeners_done()
            await self.app.drain()

    async def skip(self, by: str) -> datetime:
        """Move the clock ahead and run what falls due (reminders, summaries, surveys)."""
        async with self._lock:
            if by == "summary":
                due = await next_summary(self.app, self.clock.now())
                if due is None:
                    raise Refused("no_summary")
                delta = due - self.clock.now() + timedelta(minutes=1)
            elif by in SKIPS:
                delta = SKIPS[by]
            else:
                raise Refused("skip")
            now = self.clock.skip(delta)
            await self.app.scheduler.run_pending(now)
            await self.settle()
            self.slack.changed()
            return now

    async def stop(self) -> None:
        use_clock(None)  # first: whatever fails below, this process reads real time again
        if self._server is not None:
            self._server.should_exit = True
        if self._server_task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._server_task
        await self.platform.aclose()
        self.slack.save()
        if self._site is not None:
            await self._site.cleanup()


async def next_summary(app: JerryApp, now: datetime) -> datetime | None:
    """When the next weekly summary of any active subscription is due."""
    from bot.summaries import store
    from bot.summaries.posting import next_week, slot_of_week

    async with app.sessions() as session:
        subscriptions = await store.subscriptions(session, store.ACTIVE)
    slots = [slot_of_week(s, next_week(s, now)) for s in subscriptions]
    return min(slots) if slots else None


async def _bolt_listeners_done(seconds: float = 10.0) -> None:
    """Bolt may ack first and go on in a task of its own (recognised by its source file)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pending = [
            task
            for task in asyncio.all_tasks()
            if not task.done()
            and task is not asyncio.current_task()
            and f"{os.sep}slack_bolt{os.sep}"
            in getattr(getattr(task.get_coro(), "cr_code", None), "co_filename", "")
        ]
        if not pending:
            return
        await asyncio.wait(pending, timeout=deadline - time.monotonic())
