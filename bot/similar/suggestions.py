"""The items that look like a new item: found once, kept on the item, read by everyone.

The reporter's "Same problem: add me to #12" and the lead's "Looks like #12" show the same
items: `suggestions_for` looks them up the first time it is asked (off Slack's request
path: the outbox and the scheduler call it) and stores them on the item
(`Item.similar_suggestions`); later calls read what was stored, then what each suggested
item is *now* (it may have been answered or merged since).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.similar.service import similar
from models.base import utcnow
from models.items import CLOSED_STATUSES, Item

MAX_SUGGESTIONS = 3
# A closed item is still worth suggesting for this long after it closed: its answer or
# resolution is what the reporter is after. Older ones are history, not news.
RECENT = timedelta(days=90)
# Candidates looked at, before the ones not worth suggesting are left out.
LOOKUP_LIMIT = 12


@dataclass(frozen=True)
class Suggestion:
    """An item that looks like the new one, as it is now (the kept item when it was merged)."""

    id: int
    score: float
    kind: str
    status: str
    text: str
    outcome: str | None
    answer_text: str | None
    team_id: int | None
    anonymous: bool
    followers: int  # items merged into it (its reporters other than its own)
    resolved_at: datetime | None
    answered_at: datetime | None

    @property
    def closed(self) -> bool:
        return self.status in CLOSED_STATUSES or self.resolved_at is not None


def worth_suggesting(item: Item, now: datetime) -> bool:
    """Open, or closed recently (not as a duplicate: its kept item is the one to show)."""
    if item.merged_into is not None or item.outcome == "duplicate":
        return False
    if item.status not in CLOSED_STATUSES and item.resolved_at is None:
        return True
    closed_at = item.resolved_at or item.answered_at or item.updated_at
    return closed_at is not None and now - closed_at <= RECENT


async def find_suggestions(
    session: AsyncSession, item: Item, *, threshold: float, now: datetime | None = None
) -> list[dict[str, float | int]]:
    """Look up the items like `item` (same kind, worth suggesting, scoring at least
    `threshold`), best first, at most MAX_SUGGESTIONS: [{"id": 12, "score": 0.61}]. An item
    merged into another stands for that other one."""
    now = now or utcnow()
    matches = await similar(
        session,
        item.text,
        kind=item.kind,
        limit=LOOKUP_LIMIT,
        exclude_ids=[item.id],
        min_score=threshold,
    )
    found: dict[int, float] = {}
    roots = await _items(session, [m.duplicate_of for m in matches if m.duplicate_of])
    own = await _items(session, [m.id for m in matches])
    for match in matches:
        candidate = own.get(match.id)
        if candidate is not None and candidate.merged_into is not None:
            candidate = roots.get(candidate.merged_into)
        if candidate is None or candidate.id == item.id or candidate.id in found:
            continue
        if candidate.merged_into is not None or not worth_suggesting(candidate, now):
            continue
        found[candidate.id] = match.score
        if len(found) == MAX_SUGGESTIONS:
            break
    return [{"id": key, "score": score} for key, score in found.items()]


async def suggestions_for(
    session: AsyncSession, item: Item, *, threshold: float, now: datetime | None = None
) -> list[Suggestion]:
    """The suggestions kept on `item` (looked up and stored in the caller's transaction the
    first time), each as its item is now; the ones merged since stand for their kept item."""
    if item.similar_suggestions is None:
        item.similar_suggestions = await find_suggestions(
            session, item, threshold=threshold, now=now
        )
    kept = [(int(s["id"]), float(s["score"])) for s in item.similar_suggestions or []]
    if not kept:
        return []
    rows = await _items(session, [i for i, _ in kept])
    roots = await _items(session, [r.merged_into for r in rows.values() if r.merged_into])
    counts = await _follower_counts(session, [*rows, *roots])
    shown: list[Suggestion] = []
    for item_id, score in kept:
        row = rows.get(item_id)
        if row is not None and row.merged_into is not None:
            row = roots.get(row.merged_into)
        if row is None or row.id == item.id or any(s.id == row.id for s in shown):
            continue
        shown.append(
            Suggestion(
                id=row.id,
                score=score,
                kind=row.kind,
                status=row.status,
                text=row.text,
                outcome=row.outcome,
                answer_text=row.answer_text,
                team_id=row.team_id,
                anonymous=row.anonymous,
                followers=counts.get(row.id, 0),
                resolved_at=row.resolved_at,
                answered_at=row.answered_at,
            )
        )
    return shown


async def _items(session: AsyncSession, ids: list[int | None]) -> dict[int, Item]:
    wanted = [i for i in ids if i]
    if not wanted:
        return {}
    rows = (await session.execute(select(Item).where(Item.id.in_(wanted)))).scalars()
    return {row.id: row for row in rows}


async def _follower_counts(session: AsyncSession, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    statement = (
        select(Item.merged_into, func.count())
        .where(Item.merged_into.in_(ids))
        .group_by(Item.merged_into)
    )
    rows = (await session.execute(statement)).all()
    return {int(row[0]): int(row[1]) for row in rows if row[0] is not None}
