"""Posting weekly summaries on schedule, exactly once per subscription and ISO week.

Every subscription posts at its weekday and time in its own timezone (an APScheduler
CronTrigger in that zone, so 09:00 in Paris stays 09:00 across daylight-saving changes).
One scheduler job, "summaries", looks every minute (JERRY_SUMMARY_CHECK_SECONDS) for the
latest slot at or before now of each active subscription and posts that week if nothing
was posted for it yet:

- the (subscription, week, sequence) row of `summary_posts` is claimed (a unique insert,
  committed) BEFORE anything is posted, so a restart or a second process sharing the
  database finds the week taken and posts nothing;
- after a downtime, only the latest missed slot is owed (one post, covering everything
  since the previous post), and never a slot from before the subscription existed;
- a claim whose process died mid-post (still "claimed" after STALE_CLAIM) is taken over
  once; a second such death marks the week failed. The dead process may have posted before
  dying: the summary carries its post in Slack message metadata, and the taken over claim
  looks for it in the channel before posting;
- the thread replies (the overflow) are owed through the outbox in the transaction that
  records the summary as posted (bot/summaries/replies.py): retried until posted, in order,
  once each;
- a channel Jerry cannot post to makes the subscription "unpostable" (the triage channel
  is told once; not retried until the summaries file is imported again); Slack or network
  trouble gives the claim back, and the next tick tries again.

The period of a week's summary runs from the previous post's `period_end` (or seven days
before the slot) to the slot: consecutive posts count every moment once, and what happens
before a post (an update shipped that morning) is in it. A preview shows the next post as
it stands: its period so far, up to now, and when it goes out.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.errors import KeyedRefusal
from bot.scheduler import latest_slot
from bot.services import Services
from bot.slack import (
    SLACK_FAILURES,
    TRANSPORT_ERRORS,
    FailureKind,
    SlackApiError,
    SlackFailure,
    classify,
    find_posted,
    kind_of,
)
from bot.summaries import store
from bot.summaries.content import build_summary
from bot.summaries.domain import Period, Summary, SummaryScope
from bot.summaries.replies import owe_replies
from bot.triage import alert_triage
from models.summaries import SummaryPost, SummarySubscription

log = logging.getLogger("jerry.summaries")

JOB_NAME = "summaries"
STALE_CLAIM = timedelta(minutes=10)
# Jerry's clock and Slack's may differ: the search for a post a dead process made starts
# this much earlier than its claim.
CLOCK_SKEW = timedelta(minutes=2)
WEEK_LENGTH = timedelta(days=7)
WEEK = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)
TAKEN_OVER = "the first attempt stopped mid-post; retried once"
METADATA_EVENT = "jerry_summary"  # Slack message metadata on every summary message


class SummaryError(KeyedRefusal):
    """A problem the person can fix: a catalog key and its params (English by default)."""


@dataclass(frozen=True)
class PostResult:
    subscription: str
    week: str
    # posted | already_posted | in_progress | unpostable | failed | retry
    status: str
    sequence: int | None = None
    channel: str | None = None
    ts: str | None = None
    # Thread replies (the overflow) owed through the outbox, which posts them in order.
    replies: int = 0
    error: str | None = None
    period: Period | None = None


@dataclass(frozen=True)
class Preview:
    subscription_id: int
    name: str
    channel: str
    language: str
    week: str
    summary: Summary

    @property
    def download_value(self) -> str:
        return download_value(self.subscription_id, self.week)


# --- weeks, slots, periods --------------------------------------------------------------------


def download_value(subscription_id: int, week: str) -> str:
    return f"{subscription_id}:{week}"


def parse_week(text: str) -> str:
    """ "2026-W48" (or 2026W48, 2026-w48) → "2026-W48"; SummaryError when it is no ISO week."""
    match = WEEK.match(text or "")
    if match:
        year, number = int(match.group(1)), int(match.group(2))
        try:
            date.fromisocalendar(year, number, 1)
        except ValueError:
            pass
        else:
            return f"{year}-W{number:02d}"
    raise SummaryError("summaries.error.bad_week", week=text)


def week_of(moment: datetime, timezone: str) -> str:
    """The ISO week `moment` falls in, in `timezone`."""
    year, week, _ = moment.astimezone(ZoneInfo(timezone)).isocalendar()
    return f"{year}-W{week:02d}"


def _clock(subscription: SummarySubscription) -> time:
    hour, minute = (int(part) for part in subscription.time.split(":"))
    return time(hour, minute)


def trigger_of(subscription: SummarySubscription) -> CronTrigger:
    """The subscription's weekly slot: its weekday and time, in its timezone."""
    clock = _clock(subscription)
    return CronTrigger(
        day_of_week=subscription.weekday,
        hour=clock.hour,
        minute=clock.minute,
        timezone=ZoneInfo(subscription.timezone),
    )


def latest_slot_at(subscription: SummarySubscription, now: datetime) -> datetime | None:
    """The subscription's last slot at or before `now` (UTC)."""
    return latest_slot(trigger_of(subscription), now - WEEK_LENGTH - timedelta(days=1), now)


def slot_of_week(subscription: SummarySubscription, week: str) -> datetime:
    """When the subscription posts in ISO week `week` (UTC).

    A time that does not exist that day (the hour skipped by a DST change) is read with the
    offset before the change, as the CronTrigger does.
    """
    year, number = (int(part) for part in parse_week(week).split("-W"))
    day = date.fromisocalendar(year, number, subscription.weekday + 1)
    local = datetime.combine(day, _clock(subscription), tzinfo=ZoneInfo(subscription.timezone))
    return local.astimezone(UTC)


def period_for(
    subscription: SummarySubscription,
    week: str,
    *,
    previous_end: datetime | None,
    now: datetime | None = None,
) -> Period:
    """From the previous summary's end (or a week before the week's slot) to the slot, or to
    `now` when the slot is still ahead (the period so far)."""
    slot = slot_of_week(subscription, week)
    end = now if now is not None and now < slot else slot
    start = previous_end if previous_end is not None else slot - WEEK_LENGTH
    if start >= end:  # nothing posted covers this week's start: a week up to the end
        start = end - WEEK_LENGTH
    return Period(week=parse_week(week), start=start, end=end)


def next_week(subscription: SummarySubscription, now: datetime) -> str:
    """The ISO week of the subscription's next slot after `now`."""
    week = week_of(now, subscription.timezone)
    if slot_of_week(subscription, week) > now:
        return week
    return week_of(now + WEEK_LENGTH, subscription.timezone)


def scope_of(subscription: SummarySubscription) -> SummaryScope:
    return SummaryScope(
        name=subscription.name,
        areas=tuple(subscription.areas or ()),
        language=subscription.language,
        timezone=subscription.timezone,
    )


# --- preview ----------------------------------------------------------------------------------


async def _subscription(session: AsyncSession, name: str) -> SummarySubscription:
    subscription = await store.subscription_by_name(session, name)
    if subscription is None:
        names = [s.name for s in await store.subscriptions(session, store.ACTIVE, store.UNPOSTABLE)]
        raise SummaryError(
            "summaries.error.unknown",
            name=name,
            names=", ".join(names) if names else "—",
        )
    return subscription


async def _period(
    sessions: async_sessionmaker[AsyncSession],
    subscription: SummarySubscription,
    week: str,
    now: datetime,
) -> Period:
    slot = min(slot_of_week(subscription, week), now)
    async with sessions() as session:
        previous = await store.previous_period_end(session, subscription.id, week, slot)
    return period_for(subscription, week, previous_end=previous, now=now)


async def _upcoming_week(
    sessions: async_sessionmaker[AsyncSession], subscription: SummarySubscription, now: datetime
) -> str:
    """The week of the subscription's next post: the latest slot's while it is still owed
    (the scheduler posts it within a minute), else the week of the next slot."""
    slot = latest_slot_at(subscription, now)
    if slot is not None and subscription.status == store.ACTIVE and slot >= subscription.created_at:
        week = week_of(slot, subscription.timezone)
        async with sessions() as session:
            posts = await store.posts_of_week(session, subscription.id, week)
        if not _settled(posts):
            return week
    return next_week(subscription, now)


async def preview_summary(
    sessions: async_sessionmaker[AsyncSession],
    name: str,
    *,
    week: str | None = None,
    now: datetime,
) -> Preview:
    """The summary `name` would post for `week` (default: its next post), posting nothing.

    A post still to come shows its period so far (up to `now`) and when it goes out.
    """
    async with sessions() as session:
        subscription = await _subscription(session, name)
    week = parse_week(week) if week else await _upcoming_week(sessions, subscription, now)
    period = await _period(sessions, subscription, week, now)
    slot = slot_of_week(subscription, week)
    if slot > now:
        period = replace(period, posts_at=slot)
    summary = await build_summary(sessions, scope_of(subscription), period)
    return Preview(
        subscription.id,
        subscription.name,
        subscription.channel,
        subscription.language,
        week,
        summary,
    )


async def preview_for_channel(
    sessions: async_sessionmaker[AsyncSession],
    name: str | None,
    *,
    channel: str | None,
    now: datetime,
) -> Preview | list[str]:
    """`/jerry summary preview [NAME]`: NAME's summary; without NAME the summary of the
    channel's subscription, else the names there are to choose from."""
    if name:
        return await preview_summary(sessions, name, now=now)
    async with sessions() as session:
        here = await store.subscriptions(session, store.ACTIVE, store.UNPOSTABLE, channel=channel)
        every = await store.subscriptions(session, store.ACTIVE, store.UNPOSTABLE)
    if len(here) == 1:
        return await preview_summary(sessions, here[0].name, now=now)
    return [s.name for s in (here or every)]


# --- posting ----------------------------------------------------------------------------------


async def _claim(
    session: AsyncSession,
    subscription: SummarySubscription,
    week: str,
    *,
    again: bool,
    now: datetime,
) -> SummaryPost | PostResult:
    """This week's post row, claimed; or why there is nothing to post."""

    def result(status: str, post: SummaryPost | None = None, **extra: Any) -> PostResult:
        return PostResult(
            subscription.name,
            week,
            status,
            sequence=post.sequence if post else None,
            channel=post.channel if post else None,
            ts=post.ts if post else None,
            **extra,
        )

    posts = await store.posts_of_week(session, subscription.id, week)
    claimed = [p for p in posts if p.status == store.CLAIMED]
    for post in claimed:
        if now - post.claimed_at < STALE_CLAIM:
            return result("in_progress", post)
    posted = [p for p in posts if p.status == store.POSTED]
    if posted and not again:
        return result("already_posted", posted[-1])
    for post in claimed:  # stale: its process died mid-post
        if post.error is None and await store.take_over_claim(
            session, post.id, post.claimed_at, now=now, note=TAKEN_OVER
        ):
            log.warning(
                "summary %s %s: retrying a post that stopped half-way", subscription.name, week
            )
            # In memory, claimed_at stays the dead claim's: where `_post` looks for what it
            # may have posted.
            post.error = TAKEN_OVER
            return post
        if post.error == TAKEN_OVER:
            post.status, post.error = store.FAILED, "stopped mid-post twice; not retried"
            await session.commit()
            return result("failed", post, error=post.error)
        return result("in_progress", post)
    sequence = max((p.sequence for p in posts), default=-1) + 1
    new_post = await store.claim_post(
        session, subscription.id, week, sequence, now=now, channel=subscription.channel
    )
    if new_post is None:  # another process claimed it between our read and our insert
        return PostResult(subscription.name, week, "in_progress")
    return new_post


async def post_summary(
    services: Services,
    subscription_name: str,
    week: str | None = None,
    *,
    again: bool = False,
    now: datetime,
) -> PostResult:
    """Post `subscription_name`'s summary of `week` (default: this week) now.

    At most once per week (sequence 0); `again` posts another (the next sequence). The
    row is claimed before posting and records the message's ts once posted.
    """
    async with services.sessions() as session:
        subscription = await _subscription(session, subscription_name)
        if subscription.status != store.ACTIVE:
            raise SummaryError(
                f"summaries.error.{subscription.status}",
                name=subscription.name,
                reason=subscription.status_reason or "",
            )
        week = parse_week(week) if week else week_of(now, subscription.timezone)
        claim = await _claim(session, subscription, week, again=again, now=now)
    if isinstance(claim, PostResult):
        return claim
    return await _post(services, subscription, claim, now=now)


async def _post(
    services: Services, subscription: SummarySubscription, post: SummaryPost, *, now: datetime
) -> PostResult:
    week = post.week
    try:
        period = await _period(services.sessions, subscription, week, now)
        summary = await build_summary(services.sessions, scope_of(subscription), period)
        from bot.views.summary import summary_messages

        messages = summary_messages(
            summary, subscription.language, download_value=download_value(subscription.id, week)
        )
        # A claim taken over from a process that died mid-post: it may have posted already.
        unsure_since = post.claimed_at if post.error == TAKEN_OVER else None
        found = None
        if unsure_since is not None:
            found = await find_posted(
                services.client,
                subscription.channel,
                oldest=unsure_since - CLOCK_SKEW,
                event_type=METADATA_EVENT,
                payload={"post": post.id, "part": 0},
            )
        if found is not None:
            log.warning("summary %s %s was posted before the crash", subscription.name, week)
            response: Any = {"channel": subscription.channel, "ts": found.get("ts")}
        else:
            response = await services.client.chat_postMessage(
                channel=subscription.channel,
                text=messages[0]["text"],
                blocks=messages[0]["blocks"],
                unfurl_links=False,
                unfurl_media=False,
                metadata=_metadata(post, 0),
            )
    except SlackApiError as exc:
        return await _refused(services, subscription, post, classify(exc))
    except TRANSPORT_ERRORS as exc:
        return await _give_back(
            services, subscription, post, f"connection: {exc.__class__.__name__}"
        )
    except Exception as exc:
        log.exception("summary %s %s could not be built or posted", subscription.name, week)
        return await _give_back(
            services, subscription, post, f"unexpected: {exc.__class__.__name__}"
        )
    channel, ts = response.get("channel") or subscription.channel, response.get("ts")
    # A process that died after Slack took the summary may have posted some of its replies
    # (Jerry did so inline before they went through the outbox): those are not owed again.
    already: set[int] = set()
    if found is not None and len(messages) > 1:
        already = await _replies_posted(services, post, channel, ts, unsure_since)
    async with services.sessions() as session:
        row = await session.get(SummaryPost, post.id)
        assert row is not None
        row.status, row.posted_at, row.channel, row.ts = store.POSTED, now, channel, ts
        row.period_start, row.period_end = period.start, period.end
        row.error = None
        # The replies are owed in the transaction that records the summary as posted: a
        # crash from here on leaves them to the outbox, which sends each once, in order.
        replies = await owe_replies(session, row, messages[1:], already)
        await session.commit()
    if replies:
        services.kick()
    log.info(
        "posted summary %s %s in %s (%d thread replies owed)",
        subscription.name,
        week,
        channel,
        replies,
    )
    return PostResult(
        subscription.name,
        week,
        "posted",
        sequence=post.sequence,
        channel=channel,
        ts=ts,
        replies=replies,
        period=period,
    )


def _metadata(post: SummaryPost, part: int) -> dict[str, Any]:
    return {"event_type": METADATA_EVENT, "event_payload": {"post": post.id, "part": part}}


async def _replies_posted(
    services: Services,
    post: SummaryPost,
    channel: str,
    ts: str | None,
    since: datetime | None,
) -> set[int]:
    """The thread replies (parts) a dead process posted under the summary before dying."""
    if not ts or since is None:
        return set()
    try:
        response = await services.client.conversations_replies(
            channel=channel,
            ts=ts,
            oldest=f"{(since - CLOCK_SKEW).timestamp():.6f}",
            include_all_metadata=True,
            limit=200,
        )
    except SLACK_FAILURES as exc:
        log.warning("summary %s: cannot read its thread: %s", post.week, exc)
        return set()
    parts = set()
    for message in response.get("messages") or []:
        metadata = message.get("metadata") or {}
        payload = metadata.get("event_payload") or {}
        if metadata.get("event_type") == METADATA_EVENT and payload.get("post") == post.id:
            parts.add(int(payload.get("part") or 0))
    return parts


async def _refused(
    services: Services, subscription: SummarySubscription, post: SummaryPost, failure: SlackFailure
) -> PostResult:
    error = failure.code
    if failure.retry:
        return await _give_back(services, subscription, post, error)  # 5xx, ratelimited …
    async with services.sessions() as session:
        row = await session.get(SummaryPost, post.id)
        assert row is not None
        row.status, row.error = store.FAILED, error
        if failure.kind is FailureKind.CHANNEL_GONE:  # Jerry cannot post there at all
            status = "unpostable"
            # Told once: only the tick that moves it from active says so.
            if await store.mark_unpostable(session, subscription.id, error):
                await alert_triage(
                    session,
                    "summary_unpostable",
                    name=subscription.name,
                    channel=subscription.channel,
                    error=error,
                )
        else:  # the message itself was refused: a bug, not worth retrying every minute
            status = "failed"
            await alert_triage(
                session, "summary_failed", name=subscription.name, week=post.week, error=error
            )
        await session.commit()
    services.kick()
    log.warning("summary %s %s not posted: %s", subscription.name, post.week, error)
    return PostResult(
        subscription.name,
        post.week,
        status,
        sequence=post.sequence,
        channel=subscription.channel,
        error=error,
    )


async def _give_back(
    services: Services, subscription: SummarySubscription, post: SummaryPost, error: str
) -> PostResult:
    async with services.sessions() as session:
        await store.release_claim(session, post.id)
    log.info("summary %s %s will be retried: %s", subscription.name, post.week, error)
    return PostResult(subscription.name, post.week, "retry", sequence=post.sequence, error=error)


# --- the scheduler job ------------------------------------------------------------------------


def _done(post: SummaryPost) -> bool:
    """Whether this row settles its week for the schedule (a channel error does not once the
    subscription is active again: it was re-imported, so the week is tried again)."""
    return post.status != store.FAILED or kind_of(post.error or "") is not FailureKind.CHANNEL_GONE


def _settled(posts: list[SummaryPost]) -> bool:
    """Whether the schedule owes nothing more for the week of these rows."""
    return any(_done(p) and p.status != store.CLAIMED for p in posts)


async def run_due_summaries(services: Services, now: datetime) -> list[PostResult]:
    """Post every active subscription's latest slot at or before `now` not posted yet."""
    async with services.sessions() as session:
        active = await store.subscriptions(session, store.ACTIVE)
    results = []
    for subscription in active:
        slot = latest_slot_at(subscription, now)
        if slot is None or slot < subscription.created_at:
            continue  # nothing owed from before the subscription existed
        week = week_of(slot, subscription.timezone)
        async with services.sessions() as session:
            posts = await store.posts_of_week(session, subscription.id, week)
            if _settled(posts):
                continue
            claim = await _claim(session, subscription, week, again=False, now=now)
        if isinstance(claim, PostResult):
            if claim.status not in {"in_progress", "already_posted"}:
                results.append(claim)
            continue
        try:
            results.append(await _post(services, subscription, claim, now=now))
        except Exception:  # one subscription's trouble must not stop the others
            log.exception("summary %s %s failed", subscription.name, week)
    return results
