"""Emoji filing: a configured reaction on a message in a channel files that message.

`reacted` runs while Slack waits for its ack: it only records the reaction (one row per
reactor, message and emoji) and owes its filing. The outbox then reads the message, with the
one call it needs (`conversations.history` with latest/inclusive/limit=1; a thread reply
through `conversations.replies`), and files it (`file_reaction`): the reactor is the
reporter, the message's author is recorded as "said by", its permalink is kept; or, when
the message was filed already, the reactor is added as one more reporter of that item (an
item of theirs merged into it: they follow it and count in its demand). The reactor gets an
ephemeral receipt with Change area, Make anonymous and Undo (within `UNDO_WINDOW`); removing
the reaction within that window undoes it too.

Answers reach the reactor by DM: they did not ask in the channel, whose thread belongs to the
message's author.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.errors import KeyedRefusal
from bot.insights.file_settings import CAPTURE, read_file_setting
from bot.intake import service as intake
from bot.intake.routing import DEFAULT_EMOJI, EmojiSpec
from bot.items.cards import load_card
from bot.items.domain import ItemCard
from bot.items.store import add_event, get_item, team_and_area
from bot.outbox.store import enqueue
from bot.relay.lead_actions import update_lead_dm
from bot.similar.merge import followers, merge_item
from models.capture import ReactionFiling
from models.deliveries import Delivery
from models.items import Item
from models.routing import Area

log = logging.getLogger("jerry.capture")

UNDO_WINDOW = timedelta(minutes=10)
FILE = "reaction_filing"  # outbox purposes (bot/capture/delivery.py)
RECEIPT = "reaction_receipt"
NOTICE = "reaction_notice"
# What a reactor is told when their reaction files nothing.
UNREADABLE = "unreadable"  # the message is gone, or Jerry may not read the channel
UNDONE = "undone"


@dataclass(frozen=True)
class Reaction:
    """A `reaction_added` or `reaction_removed` event on a message, as plain data."""

    user: str
    reaction: str
    channel: str
    ts: str
    author: str | None = None  # the message's author (`item_user`)
    workspace: str | None = None  # the event's team: Jerry's workspace


@dataclass(frozen=True)
class Undone:
    item_id: int
    added: bool  # the reactor had been added to someone else's filing (not its first filer)


class CaptureRefusal(KeyedRefusal):
    pass


async def emoji_of(session: AsyncSession) -> dict[str, EmojiSpec]:
    """The reactions that file messages (the routing file's `capture:`, else :ticket:)."""
    stored = await read_file_setting(session, CAPTURE)
    specs = (
        tuple(EmojiSpec(**emoji) for emoji in stored.get("emoji") or ())
        if stored
        else DEFAULT_EMOJI
    )
    return {spec.name: spec for spec in specs}


def _base_name(reaction: str) -> str:
    """A skin-tone variant is the same emoji ("thumbsup::skin-tone-2")."""
    return reaction.split("::", 1)[0]


async def reacted(
    sessions: async_sessionmaker[AsyncSession], reaction: Reaction, *, now: datetime
) -> bool:
    """Record a reaction that files its message and owe the filing; False when it files
    nothing (not a configured emoji, not in a channel) or was recorded already."""
    if not reaction.channel.startswith(("C", "G")):
        return False  # a DM or a group DM is not a channel people file from
    async with sessions() as session:
        if _base_name(reaction.reaction) not in await emoji_of(session):
            return False
        filing = ReactionFiling(
            channel=reaction.channel,
            message_ts=reaction.ts,
            reaction=_base_name(reaction.reaction),
            reactor=reaction.user,
            workspace=reaction.workspace,
            status="pending",
            created_at=now,
            undo_until=now + UNDO_WINDOW,
        )
        session.add(filing)
        try:
            await session.flush()
        except IntegrityError:
            await session.rollback()
            return await _reopen_undone(sessions, reaction, now)
        enqueue(
            session,
            FILE,
            recipient=reaction.user,
            filing=filing.id,
            author=reaction.author,
        )
        await session.commit()
        return True


async def _reopen_undone(
    sessions: async_sessionmaker[AsyncSession], reaction: Reaction, now: datetime
) -> bool:
    """The same person reacts again after undoing (or after a filing that could not read
    the message): filed anew. A reaction Slack sends twice changes nothing."""
    async with sessions() as session:
        filing = await _filing_of(session, reaction)
        if filing is None or filing.status not in (UNDONE, UNREADABLE):
            return False
        filing.status = "pending"
        filing.item_id = None
        filing.created_at = now
        filing.undo_until = now + UNDO_WINDOW
        enqueue(session, FILE, recipient=reaction.user, filing=filing.id, author=reaction.author)
        await session.commit()
        return True


async def _filing_of(session: AsyncSession, reaction: Reaction) -> ReactionFiling | None:
    statement = select(ReactionFiling).where(
        ReactionFiling.channel == reaction.channel,
        ReactionFiling.message_ts == reaction.ts,
        ReactionFiling.reaction == _base_name(reaction.reaction),
        ReactionFiling.reactor == reaction.user,
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def removed(
    sessions: async_sessionmaker[AsyncSession], reaction: Reaction, *, now: datetime
) -> Undone | None:
    """The reaction was taken back: within the undo window, its filing is undone."""
    async with sessions() as session:
        filing = await _filing_of(session, reaction)
        if filing is None or filing.status not in ("filed", "added", "pending"):
            return None
        if now > filing.undo_until:
            return None
        if filing.status == "pending":
            filing.status = UNDONE  # the filing, when it runs, finds it undone
            await session.commit()
            return None
        result = await _undo(session, filing, reaction.user, now)
        # The reaction taken back is the undo: its reactor sees that it was.
        enqueue(
            session,
            NOTICE,
            recipient=reaction.user,
            channel=reaction.channel,
            notice="undone_added" if result.added else "undone",
            item_id=result.item_id,
        )
        await session.commit()
        return result


@dataclass(frozen=True)
class Filed:
    item_id: int
    added: bool  # added as a reporter to an item filed before
    people: int = 1  # who asked for it now


async def file_message(
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    filing: ReactionFiling,
    message: dict[str, Any],
    *,
    permalink: str | None,
    default_language: str,
    language: str,
    now: datetime,
    external_org: str | None = None,
    reporter_external: bool = False,
) -> Filed | None:
    """File the message Slack gave (`message`) for `filing`, in the delivery's transaction
    (`session`); the item is stored by intake in its own (`sessions`), once per message."""
    spec = (await emoji_of(session)).get(filing.reaction, EmojiSpec(filing.reaction))
    text = message.get("text") or ""
    files = message.get("files") or []
    if files:
        text = intake.with_files(text, files)
    key = intake.message_key(filing.channel, filing.message_ts)
    existing = await _item_by_key(session, key)
    if existing is None:
        area_id = await _area_id(session, spec.area) if spec.area else None
        request = intake.IntakeRequest(
            kind="question" if spec.kind == "question" else "painpoint",
            text=text,
            reporter_id=filing.reactor,
            source="reaction",
            receipt="none",
            intake_key=key,
            channel_id=filing.channel,
            message_ts=filing.message_ts,
            permalink=permalink,
            chosen_area_id=area_id,
            said_by=message.get("user") or message.get("bot_id"),
            source_text=text,
            external_org=external_org,
            reporter_external=reporter_external,
        )
        try:
            result = await intake.submit(
                sessions, request, default_language=default_language, language=language
            )
        except intake.EmptyTextError:
            return None
        if not result.duplicate:
            filing.status, filing.item_id = "filed", result.item_id
            return Filed(result.item_id, added=False)
        existing = await get_item(session, result.item_id)
        assert existing is not None
    return await _add_reporter(session, filing, existing, now, external=reporter_external)


async def _item_by_key(session: AsyncSession, key: str | None) -> Item | None:
    if key is None:
        return None
    return (await session.execute(select(Item).where(Item.intake_key == key))).scalar_one_or_none()


async def _area_id(session: AsyncSession, name: str) -> int | None:
    from sqlalchemy import func

    row = await session.execute(
        select(Area.id).where(func.lower(Area.name) == name.lower(), Area.archived.is_(False))
    )
    return row.scalar_one_or_none()


async def _add_reporter(
    session: AsyncSession,
    filing: ReactionFiling,
    item: Item,
    now: datetime,
    *,
    external: bool = False,
) -> Filed:
    """Someone else filed this message already: the reactor becomes one more reporter of it
    (an item of theirs, merged into it), unless they are one already."""
    root = item if item.merged_into is None else (await get_item(session, item.merged_into) or item)
    group = [root, *await followers(session, root.id)]
    if any(member.reporter_id == filing.reactor for member in group):
        filing.status = "added"
        filing.item_id = next(m.id for m in group if m.reporter_id == filing.reactor)
        return Filed(root.id, added=True, people=len({m.reporter_id for m in group}))
    mine = Item(
        kind=root.kind,
        status="open",
        text=root.text,
        source_text=root.source_text,
        reporter_id=filing.reactor,
        source="reaction",
        intake_key=f"reaction:{filing.channel}:{filing.message_ts}:{filing.reactor}",
        language=root.language,
        channel_id=filing.channel,
        message_ts=filing.message_ts,
        permalink=root.permalink,
        said_by=root.said_by,
        external_org=root.external_org,
        reporter_external=external,
        team_id=root.team_id,
        area_id=root.area_id,
        assignee_id=root.assignee_id,
        assigned_at=now,
        route_step=root.route_step,
        route_detail=dict(root.route_detail or {}),
        created_at=now,
    )
    session.add(mine)
    await session.flush()
    add_event(session, mine, filing.reactor, "created", source="reaction")
    await merge_item(session, mine, root, filing.reactor, by="reporter", now=now)
    update_lead_dm(session, root)  # its card counts one more person
    filing.status, filing.item_id = "added", mine.id
    return Filed(root.id, added=True, people=len({m.reporter_id for m in group}) + 1)


async def undo(
    sessions: async_sessionmaker[AsyncSession], item_id: int, user: str, *, now: datetime
) -> Undone:
    """The receipt's Undo: only the reactor, only within the window."""
    async with sessions() as session:
        filing = (
            await session.execute(
                select(ReactionFiling).where(
                    ReactionFiling.item_id == item_id, ReactionFiling.reactor == user
                )
            )
        ).scalar_one_or_none()
        if filing is None or filing.status not in ("filed", "added"):
            raise CaptureRefusal("capture.refused.not_yours", id=item_id)
        if now > filing.undo_until:
            raise CaptureRefusal("capture.refused.too_late", id=item_id)
        result = await _undo(session, filing, user, now)
        await session.commit()
        return result


async def _undo(session: AsyncSession, filing: ReactionFiling, user: str, now: datetime) -> Undone:
    item = await get_item(session, filing.item_id) if filing.item_id else None
    filing.status = UNDONE
    if item is None:
        return Undone(filing.item_id or 0, added=False)
    if filing.reactor != item.reporter_id:  # added to an item someone else filed
        return Undone(item.id, added=True)
    if item.merged_into is not None:
        # They had been added to another's filing: their item leaves it.
        root = await get_item(session, item.merged_into)
        item.merged_into = None
        item.status = "closed"
        add_event(session, item, user, "withdrawn", by="reaction")
        if root is not None:
            update_lead_dm(session, root)
        return Undone(root.id if root else item.id, added=True)
    others = [f for f in await followers(session, item.id) if f.reporter_id != user]
    if others:
        # Others asked for it too: it stays theirs; the first of them becomes its reporter.
        heir = others[0]
        item.reporter_id = heir.reporter_id
        heir.merged_into = None
        heir.status = "closed"
        add_event(session, item, user, "reporter_withdrew", heir=heir.reporter_id)
        update_lead_dm(session, item)
        return Undone(item.id, added=False)
    item.status = "closed"
    item.resolved_at = now
    add_event(session, item, user, "withdrawn", by="reaction")
    withdrawn = await _withdraw_lead_dm(session, item)
    if not withdrawn:
        update_lead_dm(session, item)
    return Undone(item.id, added=False)


async def _withdraw_lead_dm(session: AsyncSession, item: Item) -> bool:
    """The lead's DM not sent yet: it never will be. True when it was withdrawn."""
    rows = (
        await session.execute(
            select(Delivery).where(
                Delivery.item_id == item.id,
                Delivery.purpose.in_(("lead_dm", "triage_item_copy")),
                Delivery.status == "pending",
            )
        )
    ).scalars()
    found = False
    for delivery in rows:
        delivery.status = "withdrawn"
        found = True
    return found and not item.lead_dm_ts


async def make_anonymous(
    sessions: async_sessionmaker[AsyncSession], item_id: int, user: str
) -> ItemCard:
    """The reactor hides their name from the team (the message's author stays "said by")."""
    async with sessions() as session:
        item = await get_item(session, item_id)
        if item is None or item.reporter_id != user or item.source != "reaction":
            raise CaptureRefusal("capture.refused.not_yours", id=item_id)
        if not item.anonymous:
            item.anonymous = True
            add_event(session, item, user, "made_anonymous")
            update_lead_dm(session, item)
        card = await load_card(session, item)
        await session.commit()
        return card


async def change_area(
    sessions: async_sessionmaker[AsyncSession], item_id: int, user: str, area_id: int
) -> ItemCard:
    """The reactor picks the right area while nobody has taken the item up yet: it moves to
    that area's team."""
    from bot.relay.lead_actions import move_to_area

    async with sessions() as session:
        item = await get_item(session, item_id)
        if item is None or item.reporter_id != user or item.source != "reaction":
            raise CaptureRefusal("capture.refused.not_yours", id=item_id)
        if item.status != "open":
            raise CaptureRefusal("capture.refused.taken", id=item_id)
        area = await session.get(Area, area_id)
        if area is None or area.archived:
            raise CaptureRefusal("capture.refused.area", id=item_id)
        team, _ = await team_and_area(session, item)
        await move_to_area(session, item, team, area, user)
        card = await load_card(session, item)
        await session.commit()
        return card
