"""Internal notes: what a lead, backup or admin keeps on an item for the team, never relayed
to the reporter.

A note is an item event of kind "note" (its text, and where it was written) so it sits in the
item's history with everything else; the item's card shows the latest ones. It is kept from
the "Internal note" form on the card, or from a reply in the card's thread that starts with
"note:" (any case; "note :" as French typography writes it), which Jerry then does not relay
and confirms in that thread instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.items.cards import NOTE_EVENT, load_card
from bot.items.domain import ItemCard
from bot.items.store import add_event
from bot.outbox.store import enqueue
from bot.relay.lead_actions import InvalidActionError, load_for_action, update_lead_dm
from models.items import Item, ItemEvent

NOTE_LIMIT = 2_000  # the form's max_length; a thread note is cut to it too
PURPOSE_NOTE_KEPT = "internal_note_kept"  # Jerry's line under a thread reply kept as a note

# "note:" at the start of a reply, in any case, with or without spaces before the colon
# (French puts a (narrow) no-break space there; \s matches those).
NOTE_PREFIX = re.compile(r"^\s*note\s*:\s*", re.IGNORECASE)


def note_body(text: str) -> str | None:
    """The note in a thread reply that starts with the prefix (maybe empty), else None."""
    match = NOTE_PREFIX.match(text)
    return text[match.end() :].strip() if match else None


async def add_note(
    sessions: async_sessionmaker[AsyncSession],
    item_id: int,
    actor: str,
    text: str,
    admins: Iterable[str],
) -> ItemCard:
    """`actor` (who may act on the item) keeps a note from the card's form (Slack-formatted)."""
    text = text.strip()[:NOTE_LIMIT]
    if not text:
        raise InvalidActionError("empty note")
    async with sessions() as session:
        # Adding a note changes nothing of the item's state: no claim on it.
        item, _, _ = await load_for_action(session, item_id, actor, admins, for_update=False)
        keep(session, item, actor, text, via="form")
        card = await load_card(session, item)
        await session.commit()
        return card


def keep(
    session: AsyncSession,
    item: Item,
    actor: str,
    text: str,
    *,
    via: str,
    source: tuple[str, str] | None = None,
) -> None:
    """Record the note and re-render the card that shows it. `source`: the (channel, ts) of
    the thread reply it came from."""
    detail: dict[str, str] = {"text": text[:NOTE_LIMIT], "via": via}
    if source is not None:
        detail["channel"], detail["ts"] = source
    add_event(session, item, actor, NOTE_EVENT, **detail)
    item.internal_note_count = (item.internal_note_count or 0) + 1
    update_lead_dm(session, item)


async def kept_from(session: AsyncSession, item_id: int, channel: str, ts: str) -> bool:
    """Whether the thread reply (channel, ts) is kept as a note already (Slack retried it)."""
    rows = await session.execute(
        select(ItemEvent.detail).where(ItemEvent.item_id == item_id, ItemEvent.kind == NOTE_EVENT)
    )
    return any(
        (detail or {}).get("channel") == channel and (detail or {}).get("ts") == ts
        for detail in rows.scalars()
    )


async def keep_from_thread(
    session: AsyncSession,
    item: Item,
    *,
    author: str,
    text: str,
    channel: str,
    thread_ts: str,
    ts: str,
) -> bool:
    """A "note:" reply (`ts`) in the item's lead thread (`thread_ts`): kept, with Jerry's
    confirmation in that thread owed, and not relayed. False when it was kept already."""
    if await kept_from(session, item.id, channel, ts):
        return False
    keep(session, item, author, text, via="thread", source=(channel, ts))
    enqueue(session, PURPOSE_NOTE_KEPT, item=item, channel=channel, thread_ts=thread_ts)
    return True
