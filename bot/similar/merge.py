"""One problem, one item: merging an item into another, undoing it, and what a kept item
gathers (its followers, its demand).

An item merged into #12 is closed as a duplicate of #12 and its reporter *follows* #12: they
hear #12's answer and resolution in their own thread, and count in #12's demand. The
reporter does it ("Same problem: add me to #12") or a lead ("Merge into #12"); a lead,
backup or admin can undo it. Everything here changes rows in the caller's transaction and
returns plain data: the callers owe the messages (they know who did it and why).

Followers always point at the kept item itself (`Item.merged_into` is never an item that is
merged in turn): merging an item that others follow moves them along, so one hop finds the
root and an undo moves them back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.items.store import add_event, get_item
from models.base import utcnow
from models.items import Item, ItemEvent

MergedBy = Literal["reporter", "lead"]
MERGED = "merged"  # the item event on the merged item (its detail is what an undo restores)
MERGE_RECEIVED = "merge_received"  # the item event on the kept item
UNMERGED = "unmerged"
IMPACT_ORDER = ("low", "medium", "high", "blocking")
# What a merge changes on the merged item, kept in its event so an undo restores it.
_RESTORED_FIELDS = (
    "status",
    "outcome",
    "duplicate_of",
    "resolution_note",
    "resolved_by",
    "resolved_at",
)


class MergeRefusedError(ValueError):
    """The merge (or undo) cannot be done: `reason` is a catalog key's last part
    (merge.refused.<reason>), `item_id` the item it is about."""

    def __init__(self, reason: str, item_id: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.item_id = item_id


@dataclass(frozen=True)
class MergeResult:
    item_id: int  # the merged item
    into_id: int  # the kept item
    # Every item whose reporter now follows the kept item: the merged item first, then the
    # ones that followed it. Each of their reporters is to be told, in their own thread.
    moved: tuple[int, ...]
    by: MergedBy


@dataclass(frozen=True)
class UnmergeResult:
    item_id: int  # the item on its own again
    from_id: int  # the item it had been merged into
    moved: tuple[int, ...]  # items whose reporters follow `item_id` again (it first)


def _dt(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _parse_dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


async def root_of(session: AsyncSession, item: Item) -> Item:
    """The item that `item`'s reporter follows: the kept item, or `item` itself."""
    if item.merged_into is None:
        return item
    root = await get_item(session, item.merged_into)
    return root if root is not None else item


async def followers(session: AsyncSession, item_id: int) -> list[Item]:
    """The items merged into `item_id`, oldest first."""
    statement = select(Item).where(Item.merged_into == item_id).order_by(Item.id)
    return list((await session.execute(statement)).scalars())


async def merge_item(
    session: AsyncSession,
    item: Item,
    into: Item,
    actor: str,
    *,
    by: MergedBy,
    now: datetime | None = None,
) -> MergeResult:
    """Merge `item` into `into` (the kept item): `item` is closed as its duplicate, its
    reporter and everyone following it follow `into`, and `into` takes its "at risk", "deal"
    and impact flags. The caller has checked who may do it, and owes the messages."""
    now = now or utcnow()
    if item.id == into.id:
        raise MergeRefusedError("self", item.id)
    if item.merged_into is not None:
        raise MergeRefusedError("already_merged", item.id)
    if into.merged_into is not None:
        # The kept item was merged meanwhile: the one it follows is the real one.
        into = await root_of(session, into)
        if into.id == item.id:
            raise MergeRefusedError("self", item.id)
    previous = {name: getattr(item, name) for name in _RESTORED_FIELDS}
    previous["resolved_at"] = _dt(item.resolved_at)
    following = await followers(session, item.id)
    moved = (item.id, *(f.id for f in following))

    item.merged_into = into.id
    item.duplicate_of = into.id
    item.status = "resolved"
    item.outcome = "duplicate"
    item.resolution_note = None
    item.resolved_by = actor
    item.resolved_at = item.resolved_at if previous["status"] == "resolved" else now
    for follower in following:
        follower.merged_into = into.id
        follower.duplicate_of = into.id

    # The kept item carries what made the merged one urgent (recorded, so an undo knows).
    took: dict[str, Any] = {}
    if item.customer_at_risk and not into.customer_at_risk:
        into.customer_at_risk = True
        took["customer_at_risk"] = True
    if item.helped_deal and not into.helped_deal:
        into.helped_deal = True
        took["helped_deal"] = True
    if _impact_rank(item.impact) > _impact_rank(into.impact):
        took["impact"] = into.impact
        into.impact = item.impact

    add_event(
        session,
        item,
        actor,
        MERGED,
        into=into.id,
        by=by,
        previous=previous,
        followers=[f.id for f in following],
        took=took,
    )
    add_event(session, into, actor, MERGE_RECEIVED, merged=item.id, by=by, moved=list(moved))
    return MergeResult(item.id, into.id, moved, by)


def _impact_rank(impact: str | None) -> int:
    return IMPACT_ORDER.index(impact) if impact in IMPACT_ORDER else -1


async def last_merge(session: AsyncSession, item_id: int) -> ItemEvent | None:
    statement = (
        select(ItemEvent)
        .where(ItemEvent.item_id == item_id, ItemEvent.kind == MERGED)
        .order_by(ItemEvent.id.desc())
        .limit(1)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def unmerge_item(
    session: AsyncSession, item: Item, actor: str, *, now: datetime | None = None
) -> UnmergeResult:
    """Undo the merge of `item`: it is as it was before (open again if it was open), the
    items that followed it follow it again, and the kept item gives back the flags it took
    from it unless another item still merged into it carries them. The caller has checked
    who may do it, and owes the messages."""
    if item.merged_into is None:
        raise MergeRefusedError("not_merged", item.id)
    event = await last_merge(session, item.id)
    into = await get_item(session, item.merged_into)
    detail: dict[str, Any] = dict(event.detail) if event is not None else {}
    previous: dict[str, Any] = dict(detail.get("previous") or {})
    moved_back = [
        f
        for f in await followers(session, item.merged_into)
        if f.id in set(detail.get("followers") or ())
    ]

    item.merged_into = None
    item.status = previous.get("status") or "open"
    item.outcome = previous.get("outcome")
    item.duplicate_of = previous.get("duplicate_of")
    item.resolution_note = previous.get("resolution_note")
    item.resolved_by = previous.get("resolved_by")
    item.resolved_at = _parse_dt(previous.get("resolved_at"))
    for follower in moved_back:
        follower.merged_into = item.id
        follower.duplicate_of = item.id

    if into is not None:
        took: dict[str, Any] = dict(detail.get("took") or {})
        staying = [f for f in await followers(session, into.id) if f.id != item.id]
        staying = [f for f in staying if f.id not in {m.id for m in moved_back}]
        for flag in ("customer_at_risk", "helped_deal"):
            if not took.get(flag):
                continue
            carrier = next((f for f in staying if getattr(f, flag)), None)
            if carrier is None:
                setattr(into, flag, False)
            else:
                # It stays for that item's sake: undoing that merge gives it back.
                await _hand_flag_to(session, carrier.id, flag)
        if "impact" in took and into.impact == item.impact:
            strongest = max((f.impact for f in staying), key=_impact_rank, default=None)
            restored = took["impact"]
            into.impact = (
                strongest if _impact_rank(strongest) > _impact_rank(restored) else restored
            )
        add_event(session, into, actor, "merge_undone", merged=item.id)
    add_event(session, item, actor, UNMERGED, was_in=detail.get("into"))
    from_id = into.id if into is not None else int(detail.get("into") or 0)
    return UnmergeResult(item.id, from_id, (item.id, *(f.id for f in moved_back)))


async def _hand_flag_to(session: AsyncSession, item_id: int, flag: str) -> None:
    event = await last_merge(session, item_id)
    if event is not None:
        detail = dict(event.detail)
        detail["took"] = {**dict(detail.get("took") or {}), flag: True}
        event.detail = detail  # a new dict: the JSON column sees the change


async def reporters_to_tell(session: AsyncSession, item_ids: Iterable[int]) -> list[Item]:
    """The items whose reporters are told of a merge or its undo, in the order given."""
    ids = list(item_ids)
    rows = (await session.execute(select(Item).where(Item.id.in_(ids)))).scalars()
    by_id = {row.id: row for row in rows}
    return [by_id[i] for i in ids if i in by_id]
