"""A conversation through Jerry: the lead and the reporter talk only through Jerry.

What the lead writes under their DM goes to the reporter (their reply thread, or their
DM thread for the item); what the reporter writes in their thread goes back to the
current lead's DM thread. Anonymous items stay anonymous both ways. Each relay is stored
(`RelayedMessage`, unique on the source channel and ts, so a retried event relays once)
with an event, and the message it owes is enqueued in the same transaction; the outbox
worker sends it. Edits update Jerry's copy; deletions mark it deleted; neither relays anew.

"Ask for details" is here too: the lead's question goes to the reporter, the item waits
for the reporter (`Item.awaiting_reporter_since`) until the reporter writes back.

Nothing here knows Slack's payload shapes: the handlers pass plain data.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.items.cards import load_card
from bot.items.domain import ItemCard
from bot.items.store import add_event, get_item, team_and_area
from bot.outbox.store import enqueue
from bot.relay.conversation_store import LEAD_SIDE, item_for_thread, relayed_by_source
from bot.relay.lead_actions import InvalidActionError, load_for_action, update_lead_dm
from bot.relay.notes import keep_from_thread, note_body
from bot.similar import followers
from models.base import utcnow
from models.conversation import TO_LEAD, TO_REPORTER, RelayedMessage
from models.items import Item

log = logging.getLogger("jerry.conversation")

# What Jerry stores of one message (Slack's own limit for a message is 40,000 characters).
STORED_TEXT_LIMIT = 40_000
QUESTION_LIMIT = 3_000  # the modal's max_length

# Outbox purposes (bot/relay/conversation_delivery.py registers how to send them).
PURPOSE_TO_REPORTER = "conversation_to_reporter"
PURPOSE_TO_LEAD = "conversation_to_lead"
PURPOSE_UPDATE = "conversation_update"  # an edit or a deletion: Jerry's copy is re-rendered
PURPOSE_QUESTION = "conversation_question"  # "Ask for details": the question, to the reporter
PURPOSE_QUESTION_NOTE = "conversation_question_note"  # the same question, in the lead's thread
# The reporter wrote in a resolved item's thread: Reopen / Ask a new question, to the reporter
# (bot/relay/delivery.py sends it).
PURPOSE_REOPEN_OFFER = "reopen_offer"
REPORTER_PURPOSES = frozenset({PURPOSE_TO_REPORTER, PURPOSE_QUESTION})
# A reporter's message in a resolved item's thread: stored, not relayed (its text is the draft
# of "What is still wrong?" or of a new question).
HELD = "held"


class Outcome(StrEnum):
    RELAYED = "relayed"
    UPDATED = "updated"  # an edit or deletion reached Jerry's copy
    DUPLICATE = "duplicate"  # Slack sent the same message again
    UNCHANGED = "unchanged"  # an edit that changed nothing Jerry relays
    NOT_A_CONVERSATION = "not_a_conversation"  # no item's thread, or no relayed message
    STRANGER = "stranger"  # neither the reporter nor the item's lead/backup
    EMPTY = "empty"
    HELD = "held"  # the reporter wrote under a resolved item: offered to reopen, not relayed
    NOTE_KEPT = "note_kept"  # a lead-side "note:" reply: kept for the team, not relayed


@dataclass(frozen=True)
class SharedFile:
    name: str  # Slack-formatted (escaped)
    permalink: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"name": self.name, "permalink": self.permalink}


@dataclass(frozen=True)
class ThreadMessage:
    """A person's message in a thread, as plain data."""

    channel: str
    ts: str
    thread_ts: str | None
    user: str
    text: str  # Slack-formatted, as Slack sent it
    files: Sequence[SharedFile] = field(default_factory=tuple)


def _files(files: Iterable[SharedFile]) -> list[dict[str, str | None]]:
    return [f.as_dict() for f in files]


def _lead_side_people(item: Item, team_lead: str | None, team_backup: str | None) -> set[str]:
    return {p for p in (item.assignee_id, team_lead, team_backup) if p}


async def relay(sessions: async_sessionmaker[AsyncSession], message: ThreadMessage) -> Outcome:
    """A message written in a thread: relay it if it is one party writing to the other."""
    if not message.thread_ts or message.thread_ts == message.ts or not message.user:
        return Outcome.NOT_A_CONVERSATION
    async with sessions() as session:
        found = await item_for_thread(session, message.channel, message.thread_ts)
        if found is None:
            return Outcome.NOT_A_CONVERSATION
        item, side = found
        team, _ = await team_and_area(session, item)
        if side == LEAD_SIDE:
            allowed = _lead_side_people(
                item, team.lead if team else None, team.backup if team else None
            )
            direction = TO_REPORTER
        else:
            allowed = {item.reporter_id}
            direction = TO_LEAD
        if message.user not in allowed:
            return Outcome.STRANGER
        text = message.text.strip()[:STORED_TEXT_LIMIT]
        if not text and not message.files:
            return Outcome.EMPTY
        note = note_body(text) if side == LEAD_SIDE else None
        if note is not None:
            return await _keep_note(session, item, message, note)
        if await relayed_by_source(session, message.channel, message.ts) is not None:
            return Outcome.DUPLICATE
        if direction == TO_LEAD and item.merged_into is not None:
            return await _from_follower(session, item, message, text)
        # The lead closed it and the reporter was told so: relaying would land in a closed
        # conversation. The reporter is offered to reopen it or ask a new question instead.
        held = direction == TO_LEAD and item.status == "resolved"
        relayed = _stored_message(item, message, text, direction, held=held)
        session.add(relayed)
        try:
            await session.flush()  # its id, and the uniqueness check on (channel, ts)
        except IntegrityError:
            await session.rollback()
            return Outcome.DUPLICATE
        if held:
            add_event(session, item, message.user, "reply_after_resolution", message=relayed.id)
            enqueue(session, PURPOSE_REOPEN_OFFER, item=item, message=relayed.id)
            try:
                await session.commit()
            except IntegrityError:
                await session.rollback()
                return Outcome.DUPLICATE
            return Outcome.HELD
        add_event(
            session, item, message.user, "message_relayed", direction=direction, message=relayed.id
        )
        enqueue(
            session,
            PURPOSE_TO_REPORTER if direction == TO_REPORTER else PURPOSE_TO_LEAD,
            item=item,
            message=relayed.id,
        )
        if direction == TO_LEAD and item.awaiting_reporter_since is not None:
            add_event(
                session,
                item,
                message.user,
                "details_given",
                asked_at=item.awaiting_reporter_since.isoformat(),
                message=relayed.id,
            )
            item.awaiting_reporter_since = None
            update_lead_dm(session, item)
        try:
            await session.commit()
        except IntegrityError:  # another process relayed the same message first
            await session.rollback()
            return Outcome.DUPLICATE
        return Outcome.RELAYED


def _stored_message(
    item: Item, message: ThreadMessage, text: str, direction: str, *, held: bool
) -> RelayedMessage:
    """The row of a message written under an item: relayed, or held (not passed on)."""
    return RelayedMessage(
        item_id=item.id,
        direction=direction,
        author=message.user,
        source_channel=message.channel,
        source_ts=message.ts,
        text=text,
        files=_files(message.files),
        status=HELD if held else "relayed",
        created_at=utcnow(),
        updated_at=utcnow(),
    )


async def _from_follower(
    session: AsyncSession, item: Item, message: ThreadMessage, text: str
) -> Outcome:
    """The reporter of an item merged into another wrote under it: while the kept item is
    not resolved, their message goes to its lead, in the thread of its card, as from a
    follower (they hear once that it went there); once it is resolved, it is held and they
    are told so, with "Ask a new question" (bot/similar/followers.py)."""
    kept = await get_item(session, item.merged_into or 0)
    if kept is None:
        return Outcome.NOT_A_CONVERSATION
    held = kept.status == "resolved"
    relayed = _stored_message(item, message, text, TO_LEAD, held=held)
    relayed.to_item_id = None if held else kept.id
    session.add(relayed)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        return Outcome.DUPLICATE
    if held:
        add_event(
            session, item, message.user, "reply_after_resolution", message=relayed.id, kept=kept.id
        )
        enqueue(
            session,
            followers.FOLLOWER_NEWS,
            item=item,
            news=followers.HELD,
            kept=kept.id,
            outcome=kept.outcome or "",
            duplicate_of=kept.duplicate_of,
        )
    else:
        add_event(
            session,
            item,
            message.user,
            "message_relayed",
            direction=TO_LEAD,
            message=relayed.id,
            to_item=kept.id,
        )
        add_event(
            session, kept, message.user, "follower_message", follower=item.id, message=relayed.id
        )
        enqueue(session, PURPOSE_TO_LEAD, item=kept, message=relayed.id)
        if not await followers.passed_on_before(session, item, kept.id):
            enqueue(
                session, followers.FOLLOWER_NEWS, item=item, news=followers.PASSED_ON, kept=kept.id
            )
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        return Outcome.DUPLICATE
    return Outcome.HELD if held else Outcome.RELAYED


async def _keep_note(
    session: AsyncSession, item: Item, message: ThreadMessage, note: str
) -> Outcome:
    """A lead-side reply starting with "note:": kept as an internal note, never relayed."""
    files = [f":paperclip: {f.name}" for f in message.files]
    text = "\n".join([note, *files]).strip()
    if not text:
        return Outcome.EMPTY
    kept = await keep_from_thread(
        session,
        item,
        author=message.user,
        text=text,
        channel=message.channel,
        thread_ts=message.thread_ts or "",
        ts=message.ts,
    )
    if not kept:
        return Outcome.DUPLICATE
    await session.commit()
    return Outcome.NOTE_KEPT


async def relay_edit(
    sessions: async_sessionmaker[AsyncSession],
    *,
    channel: str,
    ts: str,
    user: str | None,
    text: str,
    files: Sequence[SharedFile] = (),
) -> Outcome:
    """The author edited a message Jerry relayed: Jerry's copy shows the new text."""
    async with sessions() as session:
        relayed = await relayed_by_source(session, channel, ts, for_update=True)
        if relayed is None:
            return Outcome.NOT_A_CONVERSATION  # never relayed: an edit never starts a relay
        if user and user != relayed.author:
            return Outcome.STRANGER
        text = text.strip()[:STORED_TEXT_LIMIT]
        if relayed.status in {"deleted", HELD} or (
            text == relayed.text and _files(files) == list(relayed.files or [])
        ):
            return Outcome.UNCHANGED
        # A follower's message went to the kept item's lead: its copy is there.
        item = await get_item(session, relayed.to_item_id or relayed.item_id)
        if item is None:
            return Outcome.NOT_A_CONVERSATION
        relayed.text, relayed.files = text, _files(files)
        relayed.status, relayed.updated_at = "edited", utcnow()
        add_event(session, item, relayed.author, "relayed_message_edited", message=relayed.id)
        enqueue(session, PURPOSE_UPDATE, item=item, message=relayed.id)
        await session.commit()
        return Outcome.UPDATED


async def relay_delete(
    sessions: async_sessionmaker[AsyncSession], *, channel: str, ts: str
) -> Outcome:
    """The author deleted a message Jerry relayed: Jerry's copy says so (and keeps no text)."""
    async with sessions() as session:
        relayed = await relayed_by_source(session, channel, ts, for_update=True)
        if relayed is None:
            return Outcome.NOT_A_CONVERSATION
        if relayed.status in {"deleted", HELD}:
            return Outcome.UNCHANGED  # a held message has no copy to mark
        item = await get_item(session, relayed.to_item_id or relayed.item_id)
        if item is None:
            return Outcome.NOT_A_CONVERSATION
        relayed.text, relayed.files = "", []
        relayed.status, relayed.updated_at = "deleted", utcnow()
        add_event(session, item, relayed.author, "relayed_message_deleted", message=relayed.id)
        enqueue(session, PURPOSE_UPDATE, item=item, message=relayed.id)
        await session.commit()
        return Outcome.UPDATED


async def ask_details(
    sessions: async_sessionmaker[AsyncSession],
    item_id: int,
    actor: str,
    question: str,
    admins: Iterable[str],
) -> ItemCard:
    """The lead asks the reporter a question (Slack-formatted text); the item then waits."""
    question = question.strip()
    if not question:
        raise InvalidActionError("empty question")
    question = question[:QUESTION_LIMIT]
    async with sessions() as session:
        item, team, _ = await load_for_action(session, item_id, actor, admins)
        if item.status == "resolved":
            raise InvalidActionError("resolved")
        now = utcnow()
        # Asking is acting on the item: it counts as acknowledging it. The question is for
        # its reporter alone; its followers hear that someone is on it.
        if item.status == "open":
            item.status = "acknowledged"
            await followers.owe_to_followers(
                session, item, followers.ACKNOWLEDGED, who=actor, team=team.name if team else ""
            )
        item.acknowledged_at = item.acknowledged_at or now
        item.acknowledged_by = item.acknowledged_by or actor
        item.awaiting_reporter_since = item.awaiting_reporter_since or now
        add_event(session, item, actor, "details_requested", question=question)
        team_name = team.name if team else ""
        enqueue(session, PURPOSE_QUESTION, item=item, question=question, by=actor, team=team_name)
        if item.lead_dm_channel and item.lead_dm_ts:
            enqueue(session, PURPOSE_QUESTION_NOTE, item=item, question=question, by=actor)
        update_lead_dm(session, item)
        card = await load_card(session, item)
        await session.commit()
        return card
