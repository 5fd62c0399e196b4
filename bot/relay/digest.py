"""A lead with many items waiting gets one digest DM instead of one DM each (Slack takes one
message a second per channel: after an outage, 100 DMs to one lead would drain for minutes).

- When a lead's DM is due (`lead_dm`) and their lane holds at least `LeadDigest.threshold`
  lead DMs owed (this one included), one DM lists them all (up to what a message holds; the
  rest go in the next one): each item's number, reporter, kind, first line and customer, with
  an "Open" button. Each of those deliveries is sent, with the digest as its message, and
  each item records the digest that carried it (`lead_digest_*`).
- Such an item has no card until it is needed: the lead clicks "Open" (a `lead_dm` delivery
  with `open`), or something must go in the card's thread (a reporter's reply, a question's
  note, a notice, a reminder). That delivery posts the card first, as a new DM, which is the
  item's lead DM from then on (`lead_card`); one delivery does (`claim_lead_card`), others
  wait for it.
- A lead DM with a note (handed over, reassigned, reopened) always goes as a card: the note
  says why the lead gets it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import DATABASE_ERRORS
from bot.items.cards import load_card
from bot.items.domain import ItemCard
from bot.items.store import claim_lead_card
from bot.outbox.registry import Deferred, OutboxContext, Posted
from bot.outbox.store import sent_together, waiting_in_lane
from bot.similar.looks_like import looks_like
from bot.slack import SlackApiError, classify
from bot.views import items as views
from models.base import utcnow
from models.deliveries import Delivery
from models.items import Item

log = logging.getLogger("jerry.delivery")

LEAD_DM = "lead_dm"
DIGEST_THRESHOLD = 5
# The params of a lead DM that must go as a card: opened from a digest, or with a note.
AS_CARD = ("open", "reason")


@dataclass
class LeadDigest:
    """When lead DMs go as a digest: `threshold` owed to one lead at once (0: never)."""

    threshold: int = DIGEST_THRESHOLD


def goes_as_card(params: dict[str, Any]) -> bool:
    return any(params.get(key) for key in AS_CARD)


async def send_digest(
    outbox: OutboxContext,
    session: AsyncSession,
    delivery: Delivery,
    item: Item,
    policy: LeadDigest,
) -> Posted | None:
    """This lead DM and the others owed to its lead, as one digest DM; None when they are
    too few (or this one must go as a card): the caller sends its card."""
    recipient = delivery.recipient or ""
    params: dict[str, Any] = dict(delivery.params or {})
    if "digest" in params and delivery.unsure_since is not None:
        # An earlier attempt chose what it carries and may be in Slack already: the message
        # found there must list what is marked sent. (One that surely failed chooses again:
        # after an outage, the items owed meanwhile go in the same digest.)
        others = [int(i) for i in params["digest"]]
        more = bool(params.get("digest_more"))
    else:
        if policy.threshold <= 0 or goes_as_card(params) or item.assignee_id != recipient:
            return None
        if item.lead_dm_ts or item.lead_digest_ts:
            return None
        others, more = await _companions(session, delivery)
        if 1 + len(others) < max(policy.threshold, 2):
            return None
        delivery.params = {**params, "digest": others, "digest_more": more}
    return await _post_digest(outbox, session, delivery, item, others, more)


async def _companions(session: AsyncSession, delivery: Delivery) -> tuple[list[int], bool]:
    """The other lead DMs owed in this lane that may go in the digest: (their delivery ids,
    whether more wait than one digest holds)."""
    room = views.MAX_DIGEST_ITEMS - 1
    rows = await waiting_in_lane(
        session,
        delivery.lane or "",
        LEAD_DM,
        delivery.id,
        limit=2 * views.MAX_DIGEST_ITEMS,
        due_by=utcnow(),  # a lead DM held for later (bot/similar/intake.py) waits its turn
    )
    candidates = [(i, item_id) for i, item_id, p in rows if item_id and not goes_as_card(p)]
    if not candidates:
        return [], False
    items = await _load_items(session, [item_id for _, item_id in candidates])
    fit = [
        i
        for i, item_id in candidates
        if (found := items.get(item_id)) is not None
        and found.assignee_id == delivery.recipient
        and not found.lead_dm_ts
        and not found.lead_digest_ts
    ]
    return fit[:room], len(fit) > room


async def _load_items(session: AsyncSession, ids: list[int]) -> dict[int, Item]:
    if not ids:
        return {}
    found = await session.execute(select(Item).where(Item.id.in_(ids)))
    return {row.id: row for row in found.scalars()}


async def _item_ids(session: AsyncSession, delivery_ids: list[int]) -> list[tuple[int, int]]:
    if not delivery_ids:
        return []
    statement = select(Delivery.id, Delivery.item_id).where(Delivery.id.in_(delivery_ids))
    return [(row.id, row.item_id) for row in await session.execute(statement)]


async def _post_digest(
    outbox: OutboxContext,
    session: AsyncSession,
    delivery: Delivery,
    item: Item,
    others: list[int],
    more: bool,
) -> Posted:
    recipient = delivery.recipient or ""
    item_of = dict(await _item_ids(session, others))
    items = await _load_items(session, list(item_of.values()))
    carried = [item, *[items[item_of[i]] for i in others if item_of.get(i) in items]]
    lang = await outbox.directory.language(recipient, outbox.default_language)
    cards = [await load_card(session, each) for each in carried]
    channel, ts = await outbox.post(recipient, views.lead_digest(cards, lang, more=more))
    marked = await sent_together(session, others, channel, ts, utcnow())
    # This delivery is marked sent by the worker; the others just were (one sent meanwhile on
    # its own, after an unsure attempt, is only listed twice).
    delivered = {item.id, *(item_of[i] for i in marked if i in item_of)}
    for each in carried:
        if each.id in delivered and each.assignee_id == recipient and not each.lead_dm_ts:
            each.lead_digest_channel, each.lead_digest_ts = channel, ts
    log.info("delivery %s: %d lead DMs in one digest", delivery.id, len(carried))
    return channel, ts


# --- the card of an item -----------------------------------------------------------------------


async def ensure_permalink(outbox: OutboxContext, item: Item) -> None:
    """Items from a message (mention, shortcut, DM) keep a link to it; fetched after the ack."""
    if item.permalink or item.hide_origin or not item.channel_id or not item.message_ts:
        return  # (a hidden origin is never shown: no link to fetch)
    try:
        response = await outbox.client.chat_getPermalink(
            channel=item.channel_id, message_ts=item.message_ts
        )
        item.permalink = response.get("permalink")
    except SlackApiError as exc:  # the DM matters more than the link
        log.info("no permalink for item %s: %s", item.id, classify(exc).code)


async def reader_timezone(outbox: OutboxContext, user_id: str | None, item: Item) -> str:
    """A person's timezone for the fallback of the times an item's card shows them (its
    notes'; "UTC" if unknown, or when the card shows no time: not looked up then)."""
    if not item.internal_note_count:
        return "UTC"
    user = await outbox.directory.user(user_id) if user_id else None
    name = user.tz if user is not None else None
    try:
        return ZoneInfo(name).key if name else "UTC"
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"


async def reader_card(
    outbox: OutboxContext,
    session: AsyncSession,
    item: Item,
    reader: str | None,
    *,
    note: str | None = None,
) -> ItemCard:
    """The item's card for its lead's DM as `reader` sees it: with the items that look like
    it ("Looks like #12") while it is open and similar items are on."""
    card = await load_card(session, item, note=note)
    if outbox.similar_threshold is None:
        return card
    try:
        found = await looks_like(
            session, item, reader, threshold=outbox.similar_threshold, admins=outbox.admins
        )
    except DATABASE_ERRORS:
        raise  # the delivery is retried, as for any query of the card
    except Exception:  # the card matters more than its suggestions: it goes without them
        log.exception("item %s: no similar items on its card", item.id)
        return card
    return replace(card, looks_like=found) if found else card


async def post_card(
    outbox: OutboxContext,
    session: AsyncSession,
    item: Item,
    recipient: str,
    *,
    note: str | None = None,
    part: int | None = None,
) -> Posted:
    """The item's card with its actions, as a new DM to `recipient`; only the item's lead's
    card is its lead DM, whose thread is relayed (the card says where replies go)."""
    lang = await outbox.directory.language(recipient, outbox.default_language)
    await ensure_permalink(outbox, item)
    card = await reader_card(outbox, session, item, recipient, note=note)
    message = views.lead_dm(
        card,
        lang,
        thread_relays=recipient == item.assignee_id,
        fallback_timezone=await reader_timezone(outbox, recipient, item),
    )
    return await outbox.post(recipient, message, part=part)


def went_in_digest(item: Item) -> bool:
    """The item reached its lead in a digest and its card is not out yet."""
    return bool(item.lead_digest_ts and not item.lead_dm_ts)


async def lead_card(
    outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item
) -> Posted | None:
    """The item's card in its lead's DMs, (channel, ts); for an item that reached its lead in
    a digest, posted now (as the delivery's first message) when no other delivery is posting
    it (else Deferred: that one will). None: no card, and no digest (not out yet)."""
    if item.lead_dm_channel and item.lead_dm_ts:
        return item.lead_dm_channel, item.lead_dm_ts
    if not went_in_digest(item) or not item.assignee_id:
        return None
    if not await claim_lead_card(session, item.id, delivery.id):
        await session.refresh(item)  # posted meanwhile, or being posted by another delivery
        if item.lead_dm_channel and item.lead_dm_ts:
            return item.lead_dm_channel, item.lead_dm_ts
        raise Deferred
    await session.commit()  # the claim is seen by every process before Slack is asked
    channel, ts = await post_card(outbox, session, item, item.assignee_id, part=1)
    item.lead_dm_channel, item.lead_dm_ts = channel, ts
    return channel, ts
