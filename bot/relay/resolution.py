"""Resolving an item with an outcome, and reopening it (lead actions).

Like bot/relay/lead_actions.py: each action checks who is acting, records an ItemEvent, changes the
item and owes the messages that follow, all in one transaction. No Slack payload shapes
here: the handlers, the CLI or the scheduler pass plain values.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.csat.service import CsatPolicy, maybe_ask
from bot.items.cards import load_card, may_act, may_see
from bot.items.domain import CATEGORIES, CUSTOMER_OUTCOMES, OUTCOMES, ItemCard
from bot.items.store import add_event, claim_state, get_item, team_and_area, triage_team
from bot.outbox.store import enqueue
from bot.relay.lead_actions import (
    ChangedMeanwhileError,
    ItemNotFoundError,
    NotAllowedError,
    RefusedError,
    load_for_action,
    retire_lead_dm,
    triage_lead,
    update_lead_dm,
)
from bot.relay.lead_merge import duplicate_snapshot, kept_item, owe_merged
from bot.similar import followers
from bot.similar.merge import MergeResult, merge_item
from models.base import utcnow
from models.conversation import TO_LEAD, RelayedMessage
from models.deliveries import Delivery
from models.items import Item
from models.routing import Team

REOPEN_WINDOW = timedelta(days=30)
NOTE_LIMIT = 2000
WHAT_LIMIT = 2000  # "What is still wrong?" (the form's max_length)
# The reporter's messages that say the item is resolved (or offer to reopen it): once it is
# reopened, each is rewritten to say so (bot/relay/delivery.py's `reporter_reopened`).
RESOLVED_MESSAGES = ("resolution", "reopen_offer")
REPORTER_REOPENED = "reporter_reopened"
HELD = "held"  # a reporter's message under a resolved item (bot/relay/conversation.py)


@dataclass(frozen=True)
class Resolution:
    """What the lead chose in the resolve form."""

    outcome: str
    note: str | None = None
    duplicate_of: int | None = None
    customer_outcome: str | None = None
    helped_deal: bool = False
    # A pain point's category as the lead sets or corrects it (None: left as it was).
    category: str | None = None


@dataclass(frozen=True)
class ReopenForm:
    """For opening the reopen form: the item, whether `actor` reopens it as its reporter
    (then they say what is still wrong), and their latest message under it as a draft."""

    card: ItemCard
    as_reporter: bool
    draft: str = ""


@dataclass(frozen=True)
class ReopenResult:
    card: ItemCard
    by_reporter: bool  # the reporter reopened it (else the lead, backup or an admin)
    new_lead: bool  # the item went to a lead other than the one who resolved it


def customer_flagged(item: Item | ItemCard) -> bool:
    """Items with a customer named or flagged at risk get the customer outcome questions."""
    return bool(item.customer) or bool(item.customer_at_risk)


async def check_can_resolve(
    sessions: async_sessionmaker[AsyncSession], item_id: int, actor: str, admins: Iterable[str]
) -> ItemCard:
    """For opening the resolve form: the item's card if `actor` may resolve it now."""
    async with sessions() as session:
        item, _, _ = await load_for_action(session, item_id, actor, admins, for_update=False)
        if item.status == "resolved":
            raise _already_resolved(item)
        return await load_card(session, item)


def _already_resolved(item: Item) -> RefusedError:
    return RefusedError(
        "resolve.already", "outcome", id=item.id, who=f"<@{item.resolved_by or 'jerry'}>"
    )


async def _validate_duplicate(
    session: AsyncSession, item: Item, number: int | None, actor: str, admins: Iterable[str]
) -> Item:
    if number is None:
        raise RefusedError("resolve.error_duplicate_missing", "duplicate")
    if number == item.id:
        raise RefusedError("resolve.error_duplicate_self", "duplicate", id=number)
    original = await get_item(session, number)
    if original is None:
        raise RefusedError("resolve.error_duplicate_unknown", "duplicate", id=number)
    # Only an item the resolver may see: naming another team's item would show its text.
    team, _ = await team_and_area(session, original)
    if not may_see(original, team, actor, admins, triage_lead=await triage_lead(session)):
        raise RefusedError("resolve.error_duplicate_hidden", "duplicate", id=number)
    return original


async def resolve(
    sessions: async_sessionmaker[AsyncSession],
    item_id: int,
    actor: str,
    resolution: Resolution,
    admins: Iterable[str],
    *,
    csat: CsatPolicy | None = None,
) -> ItemCard:
    """Close the item with an outcome; the reporter is told, the lead's DM shows it resolved;
    `csat`: its reporter may then be asked whether it helped (bot/csat).

    A duplicate is merged into the item it duplicates (bot/relay/lead_merge.py): its reporter
    follows that item, counts in its demand, and a lead can undo it ("Undo merge")."""
    if resolution.outcome not in OUTCOMES:
        raise RefusedError("resolve.error_outcome", "outcome")
    if resolution.customer_outcome not in (None, *CUSTOMER_OUTCOMES):
        raise RefusedError("resolve.error_customer", "customer")
    if resolution.category not in (None, *CATEGORIES):
        raise RefusedError("resolve.error_category", "category")
    async with sessions() as session:
        item, team, _ = await load_for_action(session, item_id, actor, admins)
        if item.status == "resolved":
            raise _already_resolved(item)
        duplicate: dict[str, Any] | None = None
        original: Item | None = None
        if resolution.outcome == "duplicate":
            named = await _validate_duplicate(session, item, resolution.duplicate_of, actor, admins)
            # The item its reporter will follow: the one `named` was merged into, if it was.
            original = await kept_item(session, item, named.id, actor, admins)
        flagged = customer_flagged(item)
        note = (resolution.note or "").strip()[:NOTE_LIMIT] or None
        now = utcnow()
        # The customer facts first: a merge carries the deal flag to the kept item.
        item.customer_outcome = (resolution.customer_outcome or "unknown") if flagged else None
        item.helped_deal = bool(resolution.helped_deal) if flagged else False
        merged: MergeResult | None = None
        if original is not None:
            merged = await merge_item(session, item, original, actor, by="lead", now=now)
            duplicate = duplicate_snapshot(original, item)
        duplicate_of = original.id if original is not None else None
        if resolution.category is not None and resolution.category != item.category:
            add_event(
                session,
                item,
                actor,
                "category_set",
                before=item.category,
                after=resolution.category,
            )
            item.category = resolution.category
        item.status = "resolved"
        item.outcome = resolution.outcome
        item.resolution_note = note
        item.resolved_by = actor
        item.resolved_at = now
        item.duplicate_of = duplicate_of
        item.acknowledged_at = item.acknowledged_at or now
        item.acknowledged_by = item.acknowledged_by or actor
        add_event(
            session,
            item,
            actor,
            "resolved",
            outcome=item.outcome,
            note=note or "",
            duplicate_of=duplicate_of,
            customer_outcome=item.customer_outcome,
            helped_deal=item.helped_deal,
        )
        if merged is not None and original is not None:
            # Its reporter hears it from the resolution below; the others it moved, the kept
            # item's lead and the cards are told as for "Merge into" (the card too).
            await owe_merged(
                session, merged, item, original, actor, admins, team=team, tell_its_reporter=False
            )
        else:
            update_lead_dm(session, item)
        # The outcome travels with the message: a reopen before it is sent must not change it.
        enqueue(
            session,
            "resolution",
            item=item,
            by=actor,
            team=team.name if team else "",
            outcome=item.outcome,
            note=note or "",
            duplicate=duplicate,
        )
        # Its followers were closed as its duplicates already: they hear how it ended.
        await followers.owe_to_followers(
            session,
            item,
            followers.RESOLUTION,
            who=actor,
            team=team.name if team else "",
            outcome=item.outcome,
            note=note or "",
            duplicate_of=duplicate_of,
        )
        # After the resolution, in the reporter's lane: "did this help?", when it is their turn.
        await maybe_ask(session, item, csat, resolved_by=actor, now=now)
        card = await load_card(session, item)
        await session.commit()
        return card


async def _home_team(session: AsyncSession, item: Item) -> Team | None:
    """Where a reopened item goes: its team, unless the routing model archived it."""
    team, _ = await team_and_area(session, item)
    if team is not None and not team.archived:
        return team
    return await triage_team(session)


def _check_reopenable(item: Item, now: datetime) -> None:
    if item.merged_into is not None:  # reopening it alone would leave its reporter following
        raise RefusedError("merge.reopen_merged", id=item.id, into=item.merged_into)
    if item.status != "resolved":
        raise RefusedError("reopen.not_resolved", id=item.id)
    if not within_reopen_window(item, now):
        raise RefusedError("reopen.too_late", id=item.id, days=REOPEN_WINDOW.days)


def within_reopen_window(item: Item | ItemCard, now: datetime) -> bool:
    return item.resolved_at is None or now - item.resolved_at <= REOPEN_WINDOW


async def _may_reopen_as_lead(
    session: AsyncSession, item: Item, actor: str, admins: Iterable[str]
) -> bool:
    team, _ = await team_and_area(session, item)
    as_lead = may_act(item, team, actor, admins, triage_lead=await triage_lead(session))
    if not as_lead and actor != item.reporter_id:
        raise NotAllowedError(item.id)
    return as_lead


async def latest_held_text(session: AsyncSession, item: Item) -> str:
    """What the reporter last wrote under the resolved item (held, not relayed), or ""."""
    found = await session.execute(
        select(RelayedMessage.text)
        .where(
            RelayedMessage.item_id == item.id,
            RelayedMessage.direction == TO_LEAD,
            RelayedMessage.status == HELD,
            RelayedMessage.author == item.reporter_id,
        )
        .order_by(RelayedMessage.id.desc())
        .limit(1)
    )
    return found.scalar_one_or_none() or ""


async def check_can_reopen(
    sessions: async_sessionmaker[AsyncSession],
    item_id: int,
    actor: str,
    admins: Iterable[str],
    *,
    now: datetime | None = None,
) -> ReopenForm:
    """Before reopening: refusals as `reopen` would raise them; for the reporter (who is not
    also a lead of it), what they wrote under the resolved item as the form's draft."""
    now = now or utcnow()
    async with sessions() as session:
        item = await get_item(session, item_id)
        if item is None:
            raise ItemNotFoundError(item_id)
        as_lead = await _may_reopen_as_lead(session, item, actor, admins)
        _check_reopenable(item, now)
        card = await load_card(session, item)
        if as_lead:
            return ReopenForm(card=card, as_reporter=False)
        return ReopenForm(card=card, as_reporter=True, draft=await latest_held_text(session, item))


async def new_question_draft(
    sessions: async_sessionmaker[AsyncSession], item_id: int, actor: str
) -> str:
    """ "Ask a new question" under a resolved item: what its reporter wrote there, to start
    the new question from; nothing for anyone else (it is the reporter's text)."""
    async with sessions() as session:
        item = await get_item(session, item_id)
        if item is None or item.reporter_id != actor:
            return ""
        return await latest_held_text(session, item)


async def _reporter_messages_to_rewrite(session: AsyncSession, item: Item) -> list[int]:
    """The reporter's "resolved" messages (and offers to reopen) owed since the item was
    last reopened: those still say it is resolved."""
    last_rewrite = (
        select(Delivery.id)
        .where(Delivery.item_id == item.id, Delivery.purpose == REPORTER_REOPENED)
        .order_by(Delivery.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    found = await session.execute(
        select(Delivery.id)
        .where(
            Delivery.item_id == item.id,
            Delivery.purpose.in_(RESOLVED_MESSAGES),
            Delivery.id > func.coalesce(last_rewrite, 0),
        )
        .order_by(Delivery.id)
    )
    return list(found.scalars())


async def reopen(
    sessions: async_sessionmaker[AsyncSession],
    item_id: int,
    actor: str,
    admins: Iterable[str],
    *,
    now: datetime | None = None,
    what: str = "",
) -> ReopenResult:
    """Put a resolved item back to its team, within REOPEN_WINDOW of its resolution.

    The reporter, the lead, the backup or an admin may; the item goes to the team's lead as
    of now (a new lead gets a fresh DM), and the other party is told, with `what` (escaped
    typed text: what is still wrong), which the reopened event keeps. The reporter's
    messages that said it was resolved are rewritten to say it is reopened.
    """
    now = now or utcnow()
    what = what.strip()[:WHAT_LIMIT]
    async with sessions() as session:
        item = await get_item(session, item_id, for_update=True)
        if item is None:
            raise ItemNotFoundError(item_id)
        as_lead = await _may_reopen_as_lead(session, item, actor, admins)
        if not await claim_state(session, item):  # see load_for_action
            raise ChangedMeanwhileError(item_id)
        _check_reopenable(item, now)
        team, _ = await team_and_area(session, item)
        target = await _home_team(session, item)
        old_assignee = item.assignee_id
        old_dm = (item.lead_dm_channel, item.lead_dm_ts)
        previous = {
            "outcome": item.outcome,
            "resolved_by": item.resolved_by,
            "resolved_at": item.resolved_at.isoformat() if item.resolved_at else None,
        }
        new_lead = target.lead if target is not None else old_assignee
        if target is not None and target.id != item.team_id:
            item.team_id, item.area_id = target.id, None
        item.status = "open"
        item.assignee_id = new_lead
        item.assigned_at = now
        # Back to square one for the targets: it must be acknowledged (and, for a question,
        # answered) again. The earlier times stay in the events, which the timings read.
        item.acknowledged_at = item.acknowledged_by = item.answered_at = None
        item.outcome = item.resolution_note = item.resolved_by = None
        item.duplicate_of = item.customer_outcome = None
        item.resolved_at = None
        item.helped_deal = False
        by_reporter = not as_lead
        add_event(
            session,
            item,
            actor,
            "reopened",
            by="lead" if as_lead else "reporter",
            to=new_lead,
            previous=previous,
            what=what,
        )
        team_name = target.name if target is not None else (team.name if team else "")
        moved = new_lead != old_assignee or not (old_dm[0] and old_dm[1])
        if moved:
            retire_lead_dm(session, item, handed_to=team_name, reader=old_assignee)
            enqueue(
                session,
                "lead_dm",
                item=item,
                recipient=new_lead,
                reason="reopened",
                reopened_by=actor,
                by_reporter=by_reporter,
                what=what,
            )
        else:
            update_lead_dm(session, item)
            if by_reporter:
                enqueue(session, "lead_notice", item=item, notice="reopened_by_reporter", what=what)
        rewrite = await _reporter_messages_to_rewrite(session, item)
        if rewrite:
            enqueue(
                session,
                REPORTER_REOPENED,
                item=item,
                replaces=rewrite,
                by=actor,
                by_reporter=by_reporter,
                what=what,
            )
        if not by_reporter:
            enqueue(session, "reporter_notice", item=item, notice="reopened", who=actor, what=what)
        # Followers hear it either way; what its reporter wrote stays between them and the lead.
        await followers.owe_to_followers(
            session,
            item,
            followers.REOPENED,
            who=actor,
            team=team_name,
            by_reporter=by_reporter,
            what="" if by_reporter else what,
        )
        card = await load_card(session, item)
        await session.commit()
        return ReopenResult(card=card, by_reporter=by_reporter, new_lead=moved)
