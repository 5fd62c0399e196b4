"""Queries about summary subscriptions, feeds and the posts made (claimed once per week).

Subscriptions and feeds are never deleted by an import (posts and updates point at them):
the ones a new file no longer names are archived, and the ones it names again come back,
matching names case-insensitively, so each keeps its id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import affected_rows
from bot.insights.file_settings import REPORT, read_file_setting, write_file_setting
from bot.summaries.file import FeedSpec, ReportSpec, SubscriptionSpec, SummariesConfig
from models.routing import Area
from models.summaries import SummaryPost, SummarySubscription
from models.updates import Feed

ACTIVE, UNPOSTABLE, ARCHIVED = "active", "unpostable", "archived"
CLAIMED, POSTED, FAILED = "claimed", "posted", "failed"


@dataclass(frozen=True)
class ReplaceSummary:
    subscriptions_added: int = 0
    subscriptions_updated: int = 0
    subscriptions_archived: int = 0
    reactivated: tuple[str, ...] = ()  # unpostable or archived ones made active again
    feeds_added: int = 0
    feeds_updated: int = 0
    feeds_archived: int = 0

    def __str__(self) -> str:
        text = (
            f"subscriptions: {self.subscriptions_added} added, "
            f"{self.subscriptions_updated} updated, {self.subscriptions_archived} archived; "
            f"feeds: {self.feeds_added} added, {self.feeds_updated} updated, "
            f"{self.feeds_archived} archived"
        )
        if self.reactivated:
            text += f"; active again: {', '.join(self.reactivated)}"
        return text


def _key(name: str) -> str:
    return name.strip().casefold()


# --- the configuration ------------------------------------------------------------------------


async def area_names(session: AsyncSession) -> list[str]:
    """The routing model's current area names (what a summaries file may name)."""
    statement = select(Area.name).where(Area.archived.is_(False)).order_by(Area.position, Area.id)
    return list((await session.execute(statement)).scalars())


async def load_summaries_config(session: AsyncSession) -> SummariesConfig:
    """What the last import set (archived subscriptions and feeds left out)."""
    subscriptions = (
        await session.execute(
            select(SummarySubscription)
            .where(SummarySubscription.status != ARCHIVED)
            .order_by(SummarySubscription.id)
        )
    ).scalars()
    feeds = (
        await session.execute(
            select(Feed, Area.name)
            .outerjoin(Area, Area.id == Feed.area_id)
            .where(Feed.archived.is_(False))
            .order_by(Feed.id)
        )
    ).all()
    return SummariesConfig(
        subscriptions=tuple(
            SubscriptionSpec(
                name=row.name,
                channel=row.channel,
                areas=tuple(row.areas or ()),
                weekday=row.weekday,
                time=row.time,
                timezone=row.timezone,
                language=row.language,
            )
            for row in subscriptions
        ),
        feeds=tuple(
            FeedSpec(name=feed.name, kind=feed.kind, url=feed.url, area=area or "")
            for feed, area in feeds
        ),
        report=await stored_report(session),
    )


async def stored_report(session: AsyncSession) -> ReportSpec | None:
    stored = await read_file_setting(session, REPORT)
    return ReportSpec.from_setting(stored) if stored and stored.get("channel") else None


async def replace_summaries_config(
    session: AsyncSession, config: SummariesConfig, *, now: datetime
) -> ReplaceSummary:
    """Make `config` the subscriptions and feeds, in the caller's transaction (it commits).

    A subscription added now is owed nothing before `now` (its `created_at`); one named again
    after being unpostable or archived is active again.
    """
    counts = dict.fromkeys(
        (
            "subscriptions_added",
            "subscriptions_updated",
            "subscriptions_archived",
            "feeds_added",
            "feeds_updated",
            "feeds_archived",
        ),
        0,
    )
    reactivated: list[str] = []
    existing = {
        _key(row.name): row
        for row in (await session.execute(select(SummarySubscription))).scalars()
    }
    named: set[str] = set()
    for spec in config.subscriptions:
        key = _key(spec.name)
        named.add(key)
        row = existing.get(key)
        values = {
            "name": spec.name,
            "channel": spec.channel,
            "areas": list(spec.areas),
            "weekday": spec.weekday,
            "time": spec.time,
            "timezone": spec.timezone,
            "language": spec.language,
        }
        if row is None:
            session.add(
                SummarySubscription(**values, status=ACTIVE, created_at=now, updated_at=now)
            )
            counts["subscriptions_added"] += 1
            continue
        if row.status != ACTIVE:
            reactivated.append(spec.name)
            row.status, row.status_reason = ACTIVE, None
        for field, value in values.items():
            setattr(row, field, value)
        counts["subscriptions_updated"] += 1
    for key, row in existing.items():
        if key not in named and row.status != ARCHIVED:
            row.status, row.status_reason = ARCHIVED, "no longer in the summaries file"
            counts["subscriptions_archived"] += 1

    areas = {
        _key(area.name): area
        for area in (await session.execute(select(Area).where(Area.archived.is_(False)))).scalars()
    }
    feeds = {_key(feed.name): feed for feed in (await session.execute(select(Feed))).scalars()}
    named = set()
    for feed_spec in config.feeds:
        key = _key(feed_spec.name)
        named.add(key)
        area = areas.get(_key(feed_spec.area))
        if area is None:
            raise ValueError(f"feed {feed_spec.name!r}: no area is named {feed_spec.area!r}")
        feed = feeds.get(key)
        if feed is None:
            session.add(
                Feed(name=feed_spec.name, kind=feed_spec.kind, url=feed_spec.url, area_id=area.id)
            )
            counts["feeds_added"] += 1
            continue
        if (feed.kind, feed.url) != (feed_spec.kind, feed_spec.url):
            # Another source: what the old one said about caching no longer applies.
            feed.etag = feed.last_modified = feed.last_error = None
            feed.failures = 0
        feed.name, feed.kind, feed.url = feed_spec.name, feed_spec.kind, feed_spec.url
        feed.area_id = area.id
        feed.archived = False
        counts["feeds_updated"] += 1
    for key, feed in feeds.items():
        if key not in named and not feed.archived:
            feed.archived = True
            counts["feeds_archived"] += 1
    await replace_report(session, config.report, now=now)
    await session.flush()
    return ReplaceSummary(**counts, reactivated=tuple(reactivated))


async def replace_report(
    session: AsyncSession, report: ReportSpec | None, *, now: datetime
) -> None:
    """The product-ops report's settings (none: no report). `since` is when the report was
    first set: it owes nothing for periods that ended before (a re-import keeps it)."""
    if report is None:
        await write_file_setting(session, REPORT, None)
        return
    previous = await read_file_setting(session, REPORT) or {}
    since = previous.get("since") or now.isoformat()
    await write_file_setting(session, REPORT, {**report.as_setting(), "since": since})


# --- subscriptions ----------------------------------------------------------------------------


async def subscription_by_name(session: AsyncSession, name: str) -> SummarySubscription | None:
    """The subscription named `name` (exactly, else case-insensitively)."""
    row = (
        await session.execute(select(SummarySubscription).where(SummarySubscription.name == name))
    ).scalar_one_or_none()
    if row is not None:
        return row
    return (
        (
            await session.execute(
                select(SummarySubscription).where(
                    func.lower(SummarySubscription.name) == name.strip().lower()
                )
            )
        )
        .scalars()
        .first()
    )


async def subscriptions(
    session: AsyncSession, *statuses: str, channel: str | None = None
) -> list[SummarySubscription]:
    """Subscriptions in these statuses (all when none given), by name."""
    statement = select(SummarySubscription).order_by(SummarySubscription.name)
    if statuses:
        statement = statement.where(SummarySubscription.status.in_(statuses))
    if channel is not None:
        statement = statement.where(SummarySubscription.channel == channel)
    return list((await session.execute(statement)).scalars())


async def mark_unpostable(session: AsyncSession, subscription_id: int, reason: str) -> bool:
    """Active → unpostable; False when it was not active any more (told already)."""
    result = await session.execute(
        update(SummarySubscription)
        .where(SummarySubscription.id == subscription_id, SummarySubscription.status == ACTIVE)
        .values(status=UNPOSTABLE, status_reason=reason)
    )
    return affected_rows(result) == 1


# --- posts ------------------------------------------------------------------------------------


async def posts_of_week(
    session: AsyncSession, subscription_id: int, week: str
) -> list[SummaryPost]:
    statement = (
        select(SummaryPost)
        .where(SummaryPost.subscription_id == subscription_id, SummaryPost.week == week)
        .order_by(SummaryPost.sequence)
    )
    return list((await session.execute(statement)).scalars())


async def previous_period_end(
    session: AsyncSession, subscription_id: int, week: str, before: datetime
) -> datetime | None:
    """Where the last summary posted before this week's stopped counting."""
    statement = select(func.max(SummaryPost.period_end)).where(
        SummaryPost.subscription_id == subscription_id,
        SummaryPost.status == POSTED,
        SummaryPost.week != week,
        SummaryPost.period_end <= before,
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def claim_post(
    session: AsyncSession,
    subscription_id: int,
    week: str,
    sequence: int,
    *,
    now: datetime,
    channel: str,
) -> SummaryPost | None:
    """Insert the (subscription, week, sequence) row; None if another process has it.

    Commits on success (the claim must be visible before anything is posted).
    """
    post = SummaryPost(
        subscription_id=subscription_id,
        week=week,
        sequence=sequence,
        status=CLAIMED,
        claimed_at=now,
        channel=channel,
    )
    session.add(post)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        return None
    return post


async def take_over_claim(
    session: AsyncSession, post_id: int, claimed_at: datetime, *, now: datetime, note: str
) -> bool:
    """Take a stale claim (its process died mid-post) once: only if nobody did already."""
    result = await session.execute(
        update(SummaryPost)
        .where(
            SummaryPost.id == post_id,
            SummaryPost.status == CLAIMED,
            SummaryPost.claimed_at == claimed_at,
            SummaryPost.error.is_(None),
        )
        .values(claimed_at=now, error=note)
    )
    await session.commit()
    return affected_rows(result) == 1


async def release_claim(session: AsyncSession, post_id: int) -> None:
    """Give the week back (nothing was posted): the next tick claims it again."""
    await session.execute(
        delete(SummaryPost).where(SummaryPost.id == post_id, SummaryPost.status == CLAIMED)
    )
    await session.commit()
