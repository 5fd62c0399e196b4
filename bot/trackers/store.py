"""Queries about tracker issues and their links to items."""

from __future__ import annotations

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import affected_rows
from bot.trackers.domain import IssueState
from models.base import utcnow
from models.items import Item
from models.trackers import ItemIssueLink, TrackerIssue


async def issue_by_key(session: AsyncSession, tracker: str, key: str) -> TrackerIssue | None:
    statement = select(TrackerIssue).where(TrackerIssue.tracker == tracker, TrackerIssue.key == key)
    return (await session.execute(statement)).scalar_one_or_none()


async def issue_row(session: AsyncSession, tracker: str, key: str) -> TrackerIssue:
    """The issue's row, added if Jerry has never heard of it (two processes adding it at
    once: the second reads the first's)."""
    found = await issue_by_key(session, tracker, key)
    if found is not None:
        return found
    try:
        async with session.begin_nested():
            row = TrackerIssue(tracker=tracker, key=key, created_at=utcnow())
            session.add(row)
        return row
    except IntegrityError:
        found = await issue_by_key(session, tracker, key)
        assert found is not None
        return found


def record_state(row: TrackerIssue, state: IssueState) -> bool:
    """What the tracker said, kept on the row; whether its stage or release changed."""
    changed = (row.stage, row.release) != (state.stage, state.release)
    row.external_id = state.external_id or row.external_id
    row.url = state.url or row.url
    row.title = state.title[:500] if state.title else row.title
    row.status = state.status[:100] if state.status else row.status
    row.stage = state.stage
    row.release = state.release[:300] if state.release else None
    row.release_note = state.release_note
    row.updated = state.updated or row.updated
    row.checked_at = utcnow()
    return changed


async def link(
    session: AsyncSession, item: Item, issue: TrackerIssue, actor: str, *, created: bool = False
) -> bool:
    """Link the item to the issue; False when it already was."""
    try:
        async with session.begin_nested():
            await session.execute(
                insert(ItemIssueLink).values(
                    item_id=item.id,
                    issue_id=issue.id,
                    linked_by=actor,
                    created=created,
                    created_at=utcnow(),
                )
            )
    except IntegrityError:
        return False
    item.issue_link_count = (item.issue_link_count or 0) + 1
    return True


async def unlink(session: AsyncSession, item: Item, issue: TrackerIssue) -> bool:
    result = await session.execute(
        delete(ItemIssueLink).where(
            ItemIssueLink.item_id == item.id, ItemIssueLink.issue_id == issue.id
        )
    )
    if affected_rows(result) != 1:
        return False
    item.issue_link_count = max((item.issue_link_count or 0) - 1, 0)
    return True


async def items_of(session: AsyncSession, issue: TrackerIssue) -> list[Item]:
    rows = await session.execute(
        select(Item)
        .join(ItemIssueLink, ItemIssueLink.item_id == Item.id)
        .where(ItemIssueLink.issue_id == issue.id)
        .order_by(Item.id)
    )
    return list(rows.scalars())


async def issues_to_poll(session: AsyncSession, tracker: str) -> list[TrackerIssue]:
    """The tracker's issues still linked to an item and not shipped yet (a shipped one has
    said all Jerry listens for)."""
    linked_ids = select(ItemIssueLink.issue_id).distinct()
    rows = await session.execute(
        select(TrackerIssue)
        .where(
            TrackerIssue.tracker == tracker,
            TrackerIssue.shipped_at.is_(None),
            TrackerIssue.id.in_(linked_ids),
        )
        .order_by(TrackerIssue.id)
    )
    return list(rows.scalars())


async def claim_shipped(session: AsyncSession, issue: TrackerIssue) -> bool:
    """Mark the issue shipped, once: False when another process (or an earlier delivery of
    the same news) did."""
    result = await session.execute(
        update(TrackerIssue)
        .where(TrackerIssue.id == issue.id, TrackerIssue.shipped_at.is_(None))
        .values(shipped_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if affected_rows(result) != 1:
        return False
    await session.refresh(issue)
    return True
