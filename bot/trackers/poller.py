"""The poller: where webhooks cannot reach Jerry (or miss one), linked issues are read
again every JERRY_TRACKER_POLL_MINUTES.

Each pass asks each connected tracker only for the linked, not yet shipped issues that
changed since the latest change it saw (Jira: `updated >=` in the JQL, 12 hours early since
JQL dates are read in the service account's timezone; Linear: `updatedAt > …`), so a quiet
week costs one small request. What comes back goes through `apply_state`, exactly as a
webhook's news does: both paths may say the same thing, which then changes nothing.

A tracker that fails is left alone for a growing wait (the poll interval doubled per
failure, at most `MAX_WAIT`), kept in `tracker_polls` so every process honours it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.trackers import store
from bot.trackers.connection import Trackers
from bot.trackers.domain import TrackerError
from bot.trackers.service import apply_state
from models.trackers import TrackerPoll

log = logging.getLogger("jerry.trackers")

MAX_WAIT = timedelta(hours=6)


@dataclass(frozen=True)
class PollResult:
    tracker: str
    outcome: str  # polled | waiting | failed | nothing
    issues: int = 0  # how many the tracker said changed
    error: str | None = None


def _since(tracker: str, last: str | None) -> str | None:
    """What to ask the tracker for: changes after `last` (the latest it said), as its
    query language wants it."""
    if not last:
        return None
    try:
        when = datetime.fromisoformat(last.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.isoformat()


async def poll(
    sessions: async_sessionmaker[AsyncSession],
    trackers: Trackers,
    now: datetime,
    interval: timedelta,
) -> list[PollResult]:
    results = []
    for tracker in trackers.connected:
        results.append(await _poll_one(sessions, trackers, tracker, now, interval))
    return results


async def _poll_one(
    sessions: async_sessionmaker[AsyncSession],
    trackers: Trackers,
    tracker: str,
    now: datetime,
    interval: timedelta,
) -> PollResult:
    async with sessions() as session:
        state = await session.get(TrackerPoll, tracker)
        if state is None:
            state = TrackerPoll(tracker=tracker, failures=0)
            session.add(state)
        if state.next_poll_at is not None and state.next_poll_at > now:
            return PollResult(tracker, "waiting")
        issues = await store.issues_to_poll(session, tracker)
        if not issues:
            state.polled_at = now
            await session.commit()
            return PollResult(tracker, "nothing")
        wanted = [(issue.key, issue.external_id) for issue in issues]
        # Issues never read yet (a link still being checked) are asked whatever changed.
        since = _since(tracker, state.last_updated) if all(i.stage for i in issues) else None
        await session.commit()
    try:
        async with trackers.client(tracker) as client:
            changed = await client.changed(wanted, since)
    except TrackerError as exc:
        async with sessions() as session:
            state = await session.get(TrackerPoll, tracker)
            assert state is not None
            state.failures += 1
            wait = exc.retry_after or interval.total_seconds() * 2 ** min(state.failures, 20)
            state.next_poll_at = now + min(timedelta(seconds=wait), MAX_WAIT)
            state.last_error = f"{exc.code}: {exc.message}"[:1000]
            await session.commit()
        log.warning("polling %s failed (%s): next try at %s", tracker, exc.code, state.next_poll_at)
        return PollResult(tracker, "failed", error=exc.code)
    async with sessions() as session:
        latest = None
        for issue_state in changed:
            await apply_state(session, issue_state, source="poll")
            if issue_state.updated and (latest is None or issue_state.updated > latest):
                latest = issue_state.updated
        state = await session.get(TrackerPoll, tracker)
        assert state is not None
        state.failures = 0
        state.next_poll_at = None
        state.last_error = None
        state.polled_at = now
        if latest and (state.last_updated is None or latest > state.last_updated):
            state.last_updated = latest
        await session.commit()
    return PollResult(tracker, "polled", issues=len(changed))
