"""A lead merges an item into another ("Merge into #12" on their card, or "Resolve" as a
duplicate of #12), and the lead, the backup or an admin undoes it ("Undo merge").

Like bot/relay/resolution.py: plain values in, each action checks who is acting, changes the
items (bot/similar/merge.py moves the rows) and owes the messages that follow, in one
transaction:

- each reporter whose item moved (the merged item's, and those of the items that followed
  it) is told in their own thread that it is now followed as #12 (or on its own again), with
  what #12 says only when they may read it (another team's item: its status only);
- the merged item's card shows "Merged into #12 by @lead" and "Undo merge";
- the kept item's lead, when someone else did it, gets a line under their card: "#45 was
  merged into this item by @x: now 3 people asked for it" (the merged item's text and
  reporter only if they may see that item; an anonymous reporter is never named), and the
  kept item's card is re-rendered. The kept item's own reporters are not told.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.items.cards import may_act, may_see
from bot.items.demand import demand_of
from bot.items.store import claim_state, get_item, team_and_area
from bot.outbox.store import OWED, enqueue
from bot.relay.lead_actions import (
    ChangedMeanwhileError,
    ItemNotFoundError,
    RefusedError,
    load_for_action,
    triage_lead,
    update_lead_dm,
)
from bot.similar.merge import (
    MergeResult,
    merge_item,
    reporters_to_tell,
    root_of,
    unmerge_item,
)
from models.deliveries import Delivery
from models.items import CLOSED_STATUSES, Item
from models.routing import Team

MERGE_NOTICE = "merge_notice"  # to a reporter whose item was merged, or the merge undone
MERGE_LEAD_NOTICE = "merge_lead_notice"  # to the kept item's lead, under their card
MERGED, UNMERGED = "merged", "unmerged"
DUPLICATE_PREVIEW = 500


@dataclass(frozen=True)
class MergeDone:
    item_id: int  # the merged item
    into_id: int  # the kept item
    moved: tuple[int, ...]  # the items whose reporters now follow the kept item (told so)


@dataclass(frozen=True)
class UnmergeDone:
    item_id: int  # on its own again
    from_id: int  # the item it had been merged into
    moved: tuple[int, ...]  # the items whose reporters follow it again (told so)


def duplicate_snapshot(original: Item, item: Item) -> dict[str, Any]:
    """What `item`'s reporter is shown of the item theirs is a duplicate of (or now follows),
    as it is now: its status always; its text and answer only when it is not another team's
    item (or is the reporter's own); its link never for a hidden origin."""
    shared = original.team_id == item.team_id or original.reporter_id == item.reporter_id
    return {
        "id": original.id,
        "text": original.text[: DUPLICATE_PREVIEW * 2] if shared else "",
        "status": original.status,
        "answer": (original.answer_text or "")[: DUPLICATE_PREVIEW * 2] if shared else "",
        "outcome": original.outcome or "",
        # A link to the original message would point at an anonymous reporter.
        "permalink": "" if original.hide_origin or not shared else (original.permalink or ""),
    }


async def kept_item(
    session: AsyncSession, item: Item, number: int, actor: str, admins: Iterable[str]
) -> Item:
    """The item `item` would be merged into when `actor` names `number`: the item its
    reporter would follow (the one `number` was merged into, if it was), which `actor` must
    be allowed to see. Refusals name the number as given."""
    if number == item.id:
        raise RefusedError("merge.refused.self", "duplicate", id=number)
    named = await get_item(session, number, for_update=True)
    if named is None:
        raise RefusedError("merge.refused.unknown", "duplicate", id=number)
    if named.merged_into == item.id:
        raise RefusedError("merge.refused.follows_it", "duplicate", id=number, item=item.id)
    kept = await root_of(session, named)
    lead_of_triage = await triage_lead(session)
    for each in {named.id: named, kept.id: kept}.values():
        team, _ = await team_and_area(session, each)
        if not may_see(each, team, actor, admins, triage_lead=lead_of_triage):
            raise RefusedError("merge.refused.hidden", "duplicate", id=number)
    return kept


async def merge(
    sessions: async_sessionmaker[AsyncSession],
    item_id: int,
    into_id: int,
    actor: str,
    admins: Iterable[str],
) -> MergeDone:
    """ "Merge into #12": `item_id` is closed as a duplicate of `into_id`, whose follower its
    reporter becomes; who may act on `item_id` may do it, into an item they may see."""
    async with sessions() as session:
        item, team, _ = await load_for_action(session, item_id, actor, admins)
        if item.merged_into is not None:
            raise RefusedError("merge.refused.already_merged", id=item.id, into=item.merged_into)
        if item.status in CLOSED_STATUSES:
            raise RefusedError("merge.refused.resolved", id=item.id)
        into = await kept_item(session, item, into_id, actor, admins)
        result = await merge_item(session, item, into, actor, by="lead")
        await owe_merged(session, result, item, into, actor, admins, team=team)
        await session.commit()
        return MergeDone(result.item_id, result.into_id, result.moved)


async def owe_merged(
    session: AsyncSession,
    result: MergeResult,
    item: Item,
    into: Item,
    actor: str,
    admins: Iterable[str],
    *,
    team: Team | None,
    tell_its_reporter: bool = True,
) -> None:
    """The messages a lead's merge owes (see the module's doc). `tell_its_reporter`: False
    when the merged item's reporter hears it otherwise (the Resolve form's "duplicate" sends
    them its resolution, which says the same): one message to them, not two."""
    team_name = team.name if team else ""
    moved = await reporters_to_tell(session, result.moved)
    for each in moved:
        if each.id == item.id and not tell_its_reporter:
            continue
        enqueue(
            session,
            MERGE_NOTICE,
            item=each,
            change=MERGED,
            merged=item.id,
            into=into.id,
            by=actor,
            team=team_name,
            duplicate=duplicate_snapshot(into, each),
        )
    update_lead_dm(session, item)
    for each in moved:
        if each.id != item.id and _has_card(each):
            update_lead_dm(session, each)  # its card now names the item it follows
    await _tell_kept_lead(session, into, item, MERGED, actor, admins, team=team)


async def _tell_kept_lead(
    session: AsyncSession,
    kept: Item,
    item: Item,
    change: str,
    actor: str,
    admins: Iterable[str],
    *,
    team: Team | None,
) -> None:
    """The kept item's card shows its new demand; its lead, unless they did it, is told."""
    if _has_card(kept):
        update_lead_dm(session, kept)
    lead = kept.assignee_id
    if not lead or lead == actor:
        return
    people = (await demand_of(session, [kept.id]))[kept.id].people
    sees = may_see(item, team, lead, admins, triage_lead=await triage_lead(session))
    enqueue(
        session,
        MERGE_LEAD_NOTICE,
        item=kept,
        change=change,
        merged=item.id,
        by=actor,
        people=max(people, 1),
        # Who reported it and what it says: only for a lead who may see it, and never the
        # name of an anonymous reporter.
        reporter=item.reporter_id if sees and not item.anonymous else "",
        anonymous=bool(item.anonymous),
        text=item.text[: DUPLICATE_PREVIEW * 2] if sees else "",
    )


def _has_card(item: Item) -> bool:
    """The item's lead has its card (or a digest that brings it): it can be re-rendered."""
    return bool(item.lead_dm_ts or item.lead_digest_ts)


async def may_undo(
    session: AsyncSession, item: Item, actor: str, admins: Iterable[str]
) -> tuple[bool, Team | None]:
    """The lead, backup or an admin of the merged item or of the item it was merged into
    (and the triage lead, as for every lead action); never a reporter as such."""
    team, _ = await team_and_area(session, item)
    lead_of_triage = await triage_lead(session)
    if may_act(item, team, actor, admins, triage_lead=lead_of_triage):
        return True, team
    kept = await get_item(session, item.merged_into) if item.merged_into else None
    if kept is not None:
        kept_team, _ = await team_and_area(session, kept)
        if may_act(kept, kept_team, actor, admins, triage_lead=lead_of_triage):
            return True, team
    return False, team


async def unmerge(
    sessions: async_sessionmaker[AsyncSession],
    item_id: int,
    actor: str,
    admins: Iterable[str],
) -> UnmergeDone:
    """ "Undo merge": `item_id` is on its own again, as it was before (open again if it was),
    the items that followed it follow it again, and everyone whose item moved is told."""
    async with sessions() as session:
        item = await get_item(session, item_id, for_update=True)
        if item is None:
            raise ItemNotFoundError(item_id)
        allowed, team = await may_undo(session, item, actor, admins)
        if not allowed:
            raise RefusedError("merge.undo_not_allowed", id=item_id)
        if not await claim_state(session, item):  # see load_for_action
            raise ChangedMeanwhileError(item_id)
        if item.merged_into is None:
            raise RefusedError("merge.refused.not_merged", id=item_id)
        result = await unmerge_item(session, item, actor)
        if item.status not in CLOSED_STATUSES:
            # What the resolution recorded belongs to a resolved item.
            item.customer_outcome = None
            item.helped_deal = False
            if item.status == "open":  # not acknowledged before the merge
                item.acknowledged_at = None
                item.acknowledged_by = None
        team_name = team.name if team else ""
        moved = await reporters_to_tell(session, result.moved)
        for each in moved:
            enqueue(
                session,
                MERGE_NOTICE,
                item=each,
                change=UNMERGED,
                merged=item.id,
                into=result.from_id,
                by=actor,
                team=team_name,
            )
            if each.id != item.id and _has_card(each):
                update_lead_dm(session, each)
        await _back_to_its_lead(session, item)
        kept = await get_item(session, result.from_id)
        if kept is not None:
            await _tell_kept_lead(session, kept, item, UNMERGED, actor, admins, team=team)
        await session.commit()
        return UnmergeDone(result.item_id, result.from_id, result.moved)


async def _back_to_its_lead(session: AsyncSession, item: Item) -> None:
    """Its card shows it on its own again; an open item that never reached its lead (its
    reporter added themselves to another item before the lead's DM went out) is owed it now."""
    if _has_card(item):
        update_lead_dm(session, item)
        return
    if item.status in CLOSED_STATUSES or not item.assignee_id:
        return
    if not await _lead_dm_owed(session, item):
        enqueue(session, "lead_dm", item=item, recipient=item.assignee_id)


async def _lead_dm_owed(session: AsyncSession, item: Item) -> bool:
    statement = select(Delivery.id).where(
        Delivery.item_id == item.id,
        Delivery.purpose == "lead_dm",
        Delivery.recipient == item.assignee_id,
        Delivery.status.in_(OWED),
    )
    return (await session.execute(statement.limit(1))).first() is not None
