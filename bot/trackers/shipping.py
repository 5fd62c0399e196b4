"""You asked, it shipped: telling every reporter of an item, once, that its work is out.

An item ships when an issue it is linked to is done (or, in Jira, in a released fix
version), or when a PM's /shipped names it. Everyone who asked hears it: the reporter of
the kept item and of each item merged into it, each once (a reporter with several of those
items gets one message), in their own thread or DM, with the release note. A
`shipped_notices` row per item makes that once, whatever said it shipped and however often,
across restarts and processes. A reporter whose item names a customer is asked, in the same
message, whether the customer was kept and whether it helped a deal: their one-click answers
are the item's customer outcome, which the insights count.

The kept item, if still open, is resolved as fixed by Jerry: the shipped notice is its
resolution message (no second one).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.items.domain import CUSTOMER_OUTCOMES, JERRY_ACTOR, NO_REPORTER
from bot.items.store import add_event, get_item
from bot.outbox.store import enqueue
from bot.relay.lead_actions import RefusedError, update_lead_dm
from bot.similar.merge import followers
from models.base import utcnow
from models.items import Item
from models.trackers import ShippedNotice, TrackerIssue
from models.updates import ProductUpdate
from models.users import SlackUser

SHIPPED = "shipped_notice"  # the outbox purpose: one reporter's "you asked, it shipped"
NOTE_LIMIT = 1500  # characters of a release note in the message
# What a reporter may answer about their item's customer from the notice.
CUSTOMER_ANSWERS = ("kept", "lost", "deal")


async def ship(
    session: AsyncSession,
    items: Sequence[Item],
    *,
    issue: TrackerIssue | None = None,
    update: ProductUpdate | None = None,
) -> int:
    """Owe "it shipped" to everyone who asked for `items` (and the items merged into them)
    not told yet, in the caller's transaction; resolve the kept items still open. How many
    reporters were owed a message."""
    roots: dict[int, Item] = {}
    for item in items:
        root = item
        if item.merged_into is not None:
            root = await get_item(session, item.merged_into) or item
        roots.setdefault(root.id, root)
    source = _source(issue, update)
    owed = 0
    for root in roots.values():
        group = [root, *await followers(session, root.id)]
        group += [item for item in items if (item.merged_into or item.id) == root.id]
        owed += await _tell_group(session, root, _unique(group), issue, update, source)
        if root.status != "resolved":
            _resolve_shipped(session, root, source)
    return owed


def _unique(items: Iterable[Item]) -> list[Item]:
    seen: dict[int, Item] = {}
    for item in items:
        seen.setdefault(item.id, item)
    return sorted(seen.values(), key=lambda item: item.id)


def _source(issue: TrackerIssue | None, update: ProductUpdate | None) -> dict[str, object]:
    """What the message says shipped: the product update's words, else the issue's."""
    if update is not None:
        return {
            "title": update.title,
            "note": (update.customer_impact or "")[:NOTE_LIMIT],
            "url": update.link,
            "key": None,
            "update": update.id,
        }
    assert issue is not None
    return {
        "title": issue.title or issue.key,
        "note": (issue.release_note or "")[:NOTE_LIMIT],
        "release": issue.release,
        "url": issue.url,
        "key": issue.key,
        "tracker": issue.tracker,
    }


async def _tell_group(
    session: AsyncSession,
    root: Item,
    group: list[Item],
    issue: TrackerIssue | None,
    update: ProductUpdate | None,
    source: dict[str, object],
) -> int:
    told = set(
        (
            await session.execute(
                select(ShippedNotice.item_id).where(
                    ShippedNotice.item_id.in_([item.id for item in group])
                )
            )
        ).scalars()
    )
    gone = set(
        (
            await session.execute(
                select(SlackUser.id).where(
                    SlackUser.id.in_({item.reporter_id for item in group}),
                    SlackUser.deleted.is_(True),
                )
            )
        ).scalars()
    )
    by_reporter: dict[str, list[Item]] = {}
    for item in group:
        if item.id in told:
            continue
        session.add(
            ShippedNotice(
                item_id=item.id,
                root_item_id=root.id,
                reporter_id=item.reporter_id,
                issue_id=issue.id if issue is not None else None,
                update_id=update.id if update is not None else None,
                created_at=utcnow(),
            )
        )
        add_event(session, item, JERRY_ACTOR, "shipped", root=root.id, **_event_detail(source))
        if item.reporter_id == NO_REPORTER or item.reporter_id in gone:
            continue  # nobody to tell: the row still says it shipped
        by_reporter.setdefault(item.reporter_id, []).append(item)
    for reporter_items in by_reporter.values():
        # Their oldest item of the group is where they hear it; the first naming a customer
        # is the one their answers are about.
        first = reporter_items[0]
        customer_item = next((item for item in reporter_items if item.customer), None)
        params: dict[str, Any] = {
            **source,
            "root": root.id,
            "customer_item": customer_item.id if customer_item else None,
            "customer": customer_item.customer if customer_item else None,
        }
        enqueue(session, SHIPPED, item=first, **params)
    await session.flush()
    return len(by_reporter)


def _event_detail(source: dict[str, object]) -> dict[str, object]:
    return {key: source[key] for key in ("key", "update", "title") if source.get(key) is not None}


def _resolve_shipped(session: AsyncSession, root: Item, source: dict[str, object]) -> None:
    """The kept item is done: resolved as fixed by Jerry, its card updated. Its reporter's
    shipped notice says so (no resolution message besides)."""
    now = utcnow()
    note = str(source.get("title") or "")
    root.status = "resolved"
    root.outcome = "fixed"
    root.resolution_note = note or None
    root.resolved_by = JERRY_ACTOR
    root.resolved_at = now
    if root.customer or root.customer_at_risk:
        root.customer_outcome = root.customer_outcome or "unknown"
    add_event(
        session,
        root,
        JERRY_ACTOR,
        "resolved",
        outcome="fixed",
        note=note,
        shipped=True,
        customer_outcome=root.customer_outcome,
        helped_deal=root.helped_deal,
    )
    update_lead_dm(session, root)


async def record_customer_answer(
    sessions: async_sessionmaker[AsyncSession], item_id: int, user: str, answer: str
) -> Item:
    """A reporter's one-click answer about their item's customer, from the shipped notice:
    only the item's reporter may give it; the latest click stands."""
    if answer not in CUSTOMER_ANSWERS:
        raise RefusedError("shipped.refused.answer")
    async with sessions() as session:
        item = await get_item(session, item_id, for_update=True)
        if item is None or item.reporter_id != user or not item.customer:
            raise RefusedError("shipped.refused.not_yours", id=item_id)
        if answer == "deal":
            item.helped_deal = True
        else:
            assert answer in CUSTOMER_OUTCOMES
            item.customer_outcome = answer
        add_event(
            session,
            item,
            user,
            "customer_answer",
            answer=answer,
            customer_outcome=item.customer_outcome,
            helped_deal=item.helped_deal,
        )
        await session.commit()
        return item
