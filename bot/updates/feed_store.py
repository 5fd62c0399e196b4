"""Queries about feeds and the product updates they bring.

Every write here is safe with several bot processes on one database: entries are inserted
with INSERT … ON CONFLICT DO NOTHING on the unique (feed_id, external_id), and a feed's
failure counter moves with one conditional UPDATE, so "started failing" and "works again"
are each seen by exactly one fetcher.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import affected_rows
from models.updates import Feed, ProductUpdate

# Rows per INSERT: well under SQLite's 32,766 bound parameters (16 columns a row).
INSERT_CHUNK = 500


async def feeds_to_fetch(session: AsyncSession) -> list[Feed]:
    """Every feed still in the summaries file, by name."""
    statement = select(Feed).where(Feed.archived.is_(False)).order_by(Feed.name)
    return list((await session.execute(statement)).scalars())


async def insert_feed_entries(
    session: AsyncSession, feed: Feed, entries: Sequence[dict[str, Any]], now: datetime
) -> int:
    """Add the entries the feed brought as shipped updates of its area; those already stored
    (same feed and external id, from any process) are left alone. Returns how many were new.

    Each entry: external_id, title, customer_impact, link, shipped_on (a date), audience.
    """
    if not entries:
        return 0
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    added = 0
    for start in range(0, len(entries), INSERT_CHUNK):
        rows = [_row(feed, entry, now) for entry in entries[start : start + INSERT_CHUNK]]
        statement = (
            insert(ProductUpdate)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["feed_id", "external_id"])
            .returning(ProductUpdate.id)
        )
        added += len((await session.execute(statement)).all())
    return added


def _row(feed: Feed, entry: dict[str, Any], now: datetime) -> dict[str, Any]:
    shipped_on: date | None = entry.get("shipped_on")
    return {
        "kind": "shipped",
        "title": entry["title"],
        "customer_impact": entry.get("customer_impact"),
        "area_id": feed.area_id,
        "link": entry.get("link"),
        "shipped_on": shipped_on,
        "target_date": None,
        "confidence": None,
        "audience": entry.get("audience", "customer"),
        "author_id": None,
        "feed_id": feed.id,
        "external_id": entry["external_id"],
        "status": "active",
        "created_at": now,
        "updated_at": now,
        "withdrawn_at": None,
    }


async def record_feed_success(
    session: AsyncSession,
    feed_id: int,
    now: datetime,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    keep_validators: bool = False,
) -> bool:
    """A good fetch (new content or 304). True when this call ended a run of failures."""
    recovered = await session.execute(
        update(Feed)
        .where(Feed.id == feed_id, Feed.failures > 0)
        .values(failures=0, last_error=None)
        .execution_options(synchronize_session=False)
    )
    values: dict[str, Any] = {"checked_at": now}
    if not keep_validators or etag is not None:
        values["etag"] = etag
    if not keep_validators or last_modified is not None:
        values["last_modified"] = last_modified
    await session.execute(
        update(Feed)
        .where(Feed.id == feed_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return affected_rows(recovered) == 1


async def record_feed_failure(
    session: AsyncSession, feed_id: int, error: str, now: datetime
) -> bool:
    """A failed fetch. True when this is the first failure of a run (the feed was working)."""
    result = await session.execute(
        update(Feed)
        .where(Feed.id == feed_id)
        .values(failures=Feed.failures + 1, last_error=error, checked_at=now)
        .returning(Feed.failures)
        .execution_options(synchronize_session=False)
    )
    failures = result.scalar_one_or_none()
    return failures == 1


async def feed_updates(session: AsyncSession, feed_id: int) -> list[ProductUpdate]:
    """The updates a feed brought, oldest first."""
    statement = (
        select(ProductUpdate).where(ProductUpdate.feed_id == feed_id).order_by(ProductUpdate.id)
    )
    return list((await session.execute(statement)).scalars())
