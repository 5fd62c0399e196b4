"""Intake: store a pain point or question, route it, and owe the messages that follow.

Everything here happens before Slack gets its ack, in one transaction: the item, its
events and the outbox rows are committed together, so nothing a person typed is lost
even if every Slack call after the ack fails.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy import Table, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.directory import cached_user
from bot.i18n import normalize_language
from bot.intake.routing import Decision, RoutingModel, decide
from bot.intake.routing_store import RoutingModelCache, load_routing_model
from bot.items.cards import card_from, load_card
from bot.items.domain import AreaChoice, ItemCard
from bot.items.store import add_event, item_by_intake_key, items_by_intake_keys
from bot.outbox.store import enqueue
from bot.similar import intake as similar_intake
from bot.similar.intake import SimilarPolicy
from bot.text import escape_plain, has_visible_text
from bot.triage import owe_triage_copy
from models.base import utcnow
from models.deliveries import Delivery
from models.items import CLOSED_STATUSES, DEADLINE_EVENTS, Item, ItemEvent

Kind = Literal["painpoint", "question"]
Source = Literal["command", "modal", "mention", "shortcut", "dm", "reaction"]
# How the reporter gets the receipt: in the command's ack (nothing to send), through the
# slash command's response_url (ephemeral, works in any channel), or in the reply thread.
# "none": the caller owes its own receipt (a reaction's filing: bot/capture).
ReceiptRoute = Literal["ack", "response_url", "thread", "none"]
MAX_TEXT = 100_000  # beyond this a paste is almost surely a mistake; Jerry still keeps this much


class EmptyTextError(ValueError):
    """The reporter gave no text: nothing to store."""


@dataclass(frozen=True)
class IntakeRequest:
    kind: Kind
    text: str  # Slack-formatted (escaped) text
    reporter_id: str
    source: Source
    receipt: ReceiptRoute
    intake_key: str | None = None
    channel_id: str | None = None
    message_ts: str | None = None
    reply_channel: str | None = None
    reply_thread_ts: str | None = None
    permalink: str | None = None
    response_url: str | None = None
    chosen_area_id: int | None = None
    impact: str | None = None
    category: str | None = None  # bug | feature | process | other (bot/items/domain.py)
    customer: str | None = None
    customer_at_risk: bool = False
    anonymous: bool = False
    # Leads are shown neither the channel nor the message (see Item.hide_origin).
    hide_origin: bool = False
    source_text: str | None = None  # the shared message as Slack sent it ("Send to Jerry")
    said_by: str | None = None  # filed by a reaction on someone else's message: its author
    grouped: int = 1  # DMs joined into this one item (bot/capture/grouping.py)
    external_org: str | None = None  # Slack Connect: the other organisation's name
    reporter_external: bool = False  # … and the reporter is of it


@dataclass(frozen=True)
class IntakeResult:
    item_id: int
    duplicate: bool
    card: ItemCard
    language: str


def _clean(text: str) -> str:
    # PostgreSQL cannot store NUL characters; they never mean anything in Slack text.
    return text.replace("\x00", "").strip()[:MAX_TEXT]


def with_files(text: str, files: list[dict[str, Any]]) -> str:
    """A message's text with a link to each file it carries (the files stay in Slack)."""
    links = [f"<{f['permalink']}|{_file_label(f)}>" for f in files if f.get("permalink")]
    return "\n".join([text, *links]).strip() if links else text


def _file_label(file: dict[str, Any]) -> str:
    return escape_plain(file.get("name") or file.get("title") or "file").replace("|", "¦")


def message_key(channel: str | None, ts: str | None) -> str | None:
    """The intake key of an item made from a message (a mention, a DM): one item per
    message, whatever Slack sends again for it (a retry, or an edit with a new event id)."""
    return f"message:{channel}:{ts}" if channel and ts else None


async def edit_from_message(
    sessions: async_sessionmaker[AsyncSession],
    key: str,
    text: str,
    editor: str,
    *,
    reindex: bool = False,
) -> bool:
    """The reporter edited the message an item was made from: the item takes the new text,
    and the lead is told once (their DM re-rendered, a line in its thread). False when
    there is nothing to change (no such item, someone else's edit, the same text).
    `reindex`: similar items are on, so its index entry is owed again (off this path)."""
    text = _clean(text)
    if not has_visible_text(text):
        return False  # an edit that empties the message does not empty the item
    async with sessions() as session:
        item = await item_by_intake_key(session, key)
        if item is None or item.reporter_id != editor or item.text == text:
            return False
        previous = item.text
        item.text = text
        # The previous text stays in the event (what the lead may have read before).
        add_event(session, item, editor, "edited", previous=previous)
        # No DM out to the lead yet: when it goes, it carries the new text by itself.
        if item.assignee_id and item.lead_dm_channel and item.lead_dm_ts:
            dm = {"channel": item.lead_dm_channel, "ts": item.lead_dm_ts}
            enqueue(session, "lead_dm_update", item=item, **dm)
            enqueue(session, "lead_notice", item=item, notice="edited_by_reporter")
        if reindex:
            similar_intake.owe_reindex(session, item)
        await session.commit()
        return True


def apply_decision(item: Item, decision: Decision) -> None:
    item.team_id = decision.team.id
    item.area_id = decision.area.id if decision.area else None
    item.assignee_id = decision.team.lead
    item.route_step = decision.step
    item.route_detail = dict(decision.detail)


def route_new_item(
    session: AsyncSession, item: Item, model: RoutingModel, chosen_area_id: int | None
) -> Decision:
    """Decide the team, record why, and owe the lead a DM (the item must have its id)."""
    decision = _decide(item, model, chosen_area_id)
    apply_decision(item, decision)
    _record_routing(session, item, decision)
    return decision


def _decide(item: Item, model: RoutingModel, chosen_area_id: int | None) -> Decision:
    chosen = next((a.name for a in model.areas() if a.id == chosen_area_id), None)
    return decide(model, item.text, channel=item.channel_id, chosen_area=chosen)


def _record_routing(
    session: AsyncSession, item: Item, decision: Decision, *, held_until: datetime | None = None
) -> None:
    add_event(
        session,
        item,
        "jerry",
        "routed",
        team=decision.team.name,
        area=decision.area.name if decision.area else None,
        step=decision.step,
        reason=dict(decision.detail),
        lead=decision.team.lead,
    )
    lead_dm = enqueue(session, "lead_dm", item=item, recipient=decision.team.lead)
    if held_until is not None:  # its reporter may find theirs among similar items first
        similar_intake.hold_lead_dm(lead_dm, held_until)
    owe_triage_copy(session, item)


async def user_language(session: AsyncSession, user_id: str, default: str) -> str:
    user = await cached_user(session, user_id)
    return normalize_language(user.locale if user else None, default)


async def submit(
    sessions: async_sessionmaker[AsyncSession],
    request: IntakeRequest,
    *,
    default_language: str = "en",
    language: str | None = None,
    routing: RoutingModelCache | None = None,
    writer: IntakeWriter | None = None,
    similar: SimilarPolicy | None = None,
) -> IntakeResult:
    """Store and route one item; a repeat of the same intake key returns the first item.

    This runs while Slack waits for its ack, so it costs few round trips: the routing model
    comes from `routing` (in memory) when given, the item is inserted already routed, and
    its events and outbox rows go in with the commit. `language` saves a lookup when the
    caller knows the reporter's language. With a `writer`, items arriving together share
    one transaction (see IntakeWriter). `similar`: similar items are on (bot/similar/intake.py:
    the item is checked after the ack, and its lead's DM waits while its reporter may choose).
    """
    text = _clean(request.text)
    if not has_visible_text(text):  # nothing a lead could read: no item
        raise EmptyTextError
    if writer is not None and language is not None and routing is not None:
        # The hot path (a slash command): nothing to read, so no session of its own.
        model = await routing.get()
        item, decision = _new_item(request, text, language, model, similar)
        return await writer.store(_Pending(item, request, decision, language, similar))
    async with sessions() as session:
        if language is None:
            language = await user_language(session, request.reporter_id, default_language)
        model = await routing.get() if routing is not None else await load_routing_model(session)
        item, decision = _new_item(request, text, language, model, similar)
        if writer is not None:
            return await writer.store(_Pending(item, request, decision, language, similar))
        session.add(item)
        return await _store(session, item, request, decision, language, similar)


def _new_item(
    request: IntakeRequest,
    text: str,
    language: str,
    model: RoutingModel | None,
    similar: SimilarPolicy | None = None,
) -> tuple[Item, Decision | None]:
    """The item as it will be inserted: already routed when there is a routing model."""
    item = Item(
        kind=request.kind,
        status="open",
        text=text,
        reporter_id=request.reporter_id,
        anonymous=request.anonymous,
        hide_origin=request.hide_origin,
        source_text=_clean(request.source_text) if request.source_text else None,
        said_by=request.said_by,
        external_org=(request.external_org or "")[:200] or None,
        reporter_external=request.reporter_external,
        source=request.source,
        intake_key=request.intake_key,
        language=language,
        channel_id=request.channel_id,
        message_ts=request.message_ts,
        permalink=request.permalink,
        reply_channel=request.reply_channel,
        reply_thread_ts=request.reply_thread_ts,
        impact=request.impact,
        category=request.category,
        customer=(request.customer or "").replace("\x00", "").strip()[:500] or None,
        customer_at_risk=request.customer_at_risk,
        chosen_area_id=request.chosen_area_id,
        route_step="unrouted",
        route_detail={},
    )
    decision = _decide(item, model, request.chosen_area_id) if model is not None else None
    if decision is not None:
        apply_decision(item, decision)
        similar_intake.hold_new_item(item, similar, utcnow())
    return item, decision


async def _store(
    session: AsyncSession,
    item: Item,
    request: IntakeRequest,
    decision: Decision | None,
    language: str,
    similar: SimilarPolicy | None = None,
) -> IntakeResult:
    """Insert the routed item, its events and the messages it owes, in one transaction."""
    try:
        # The INSERT: a retried Slack event (same intake key) fails here, not at commit.
        await session.flush()
    except IntegrityError:
        first = await _first_of_race(session, request)
        if first is None:
            raise
        return first
    card = _after_insert(session, item, request, decision, similar)
    try:
        await session.commit()
    except IntegrityError:
        first = await _first_of_race(session, request)
        if first is None:
            raise
        return first
    return IntakeResult(item.id, False, card, language)


def _after_insert(
    session: AsyncSession,
    item: Item,
    request: IntakeRequest,
    decision: Decision | None,
    similar: SimilarPolicy | None = None,
) -> ItemCard:
    """The item has its number: record its events, owe its messages, and card it."""
    add_event(session, item, request.reporter_id, "created", source=request.source)
    if decision is not None:
        held_until = similar_intake.held_until(item, similar)
        _record_routing(session, item, decision, held_until=held_until)
    receipt: dict[str, Any] = {}
    if similar is not None:
        # Before the receipt, in the same lane: the receipt may carry what it offers.
        ack_url = request.response_url if request.receipt == "ack" else None
        similar_intake.owe_check(session, item, response_url=ack_url)
        receipt = similar_intake.receipt_waits(receipt)
    if request.grouped > 1:
        receipt["messages"] = request.grouped  # the receipt says it holds them all
    if request.receipt == "thread":
        enqueue(session, "receipt", item=item, **receipt)
    elif request.receipt == "response_url" and request.response_url:
        enqueue(session, "receipt", item=item, response_url=request.response_url, **receipt)
    elif request.receipt == "response_url":
        # no response_url: the receipt comes as a DM
        enqueue(session, "receipt", item=item, **receipt)
    return card_from(
        item,
        decision.team.name if decision else None,
        decision.area.name if decision and decision.area else None,
    )


@dataclass
class _Pending:
    item: Item
    request: IntakeRequest
    decision: Decision | None
    language: str
    similar: SimilarPolicy | None = None
    future: asyncio.Future[IntakeResult] | None = None


class IntakeWriter:
    """Group commit for intake: items that arrive together are stored in one transaction.

    Each item must be committed before Slack gets its ack, and a commit costs the same for
    one item as for fifty; under a burst, one writer task takes everything waiting and
    commits it at once, so the database is no longer what requests queue for. Alone, an
    item is written at once (no waiting for company).
    """

    MAX_BATCH = 200

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self._waiting: list[_Pending] = []
        self._task: asyncio.Task[None] | None = None

    async def store(self, pending: _Pending) -> IntakeResult:
        loop = asyncio.get_running_loop()
        pending.future = loop.create_future()
        self._waiting.append(pending)
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run(), name="jerry-intake-writer")
        return await pending.future

    async def _run(self) -> None:
        while self._waiting:
            batch = self._waiting[: self.MAX_BATCH]
            del self._waiting[: self.MAX_BATCH]
            try:
                results = await self._write(batch)
            except Exception:
                # A twin from another process, or one bad row: store them one by one, so
                # each request gets its own answer (its item, or its own error).
                for pending in batch:
                    await self._write_alone(pending)
                continue
            for pending, result in zip(batch, results, strict=True):
                _settle(pending, result)

    async def _write(self, batch: list[_Pending]) -> list[IntakeResult]:
        async with self.sessions() as session:
            keys = [p.request.intake_key for p in batch if p.request.intake_key]
            known = await items_by_intake_keys(session, keys) if keys else {}
            first_of_key: dict[str, _Pending] = {}
            fresh: list[_Pending] = []
            for pending in batch:
                key = pending.request.intake_key
                if key and (key in known or key in first_of_key):
                    continue
                if key:
                    first_of_key[key] = pending
                fresh.append(pending)
            session.add_all([p.item for p in fresh])
            await session.flush()  # one INSERT … RETURNING for the whole batch
            # The events and outbox rows are made as everywhere (add_event, enqueue), but
            # collected instead of added to the session, then inserted without the ORM.
            made = _Collected()
            writes = cast(AsyncSession, made)
            cards = {
                id(p): _after_insert(writes, p.item, p.request, p.decision, p.similar)
                for p in fresh
            }
            await _insert_without_ids(session, made.rows)
            await session.commit()
            results = []
            for pending in batch:
                key = pending.request.intake_key
                if id(pending) in cards:
                    results.append(
                        IntakeResult(pending.item.id, False, cards[id(pending)], pending.language)
                    )
                elif key in known:
                    existing = known[key]
                    card = await load_card(session, existing)
                    results.append(IntakeResult(existing.id, True, card, existing.language))
                else:  # the same Slack event twice in one batch
                    twin = first_of_key[key or ""]
                    results.append(IntakeResult(twin.item.id, True, cards[id(twin)], twin.language))
            return results

    async def _write_alone(self, pending: _Pending) -> None:
        item = pending.item
        fresh = Item(
            **{c.key: getattr(item, c.key) for c in Item.__table__.columns if c.key != "id"}
        )
        try:
            async with self.sessions() as session:
                session.add(fresh)
                result = await _store(
                    session,
                    fresh,
                    pending.request,
                    pending.decision,
                    pending.language,
                    pending.similar,
                )
        except Exception as exc:
            if pending.future is not None and not pending.future.done():
                pending.future.set_exception(exc)
            return
        _settle(pending, result)


class _Collected:
    """Stands in for the session in `_after_insert`: keeps what it is given, in order."""

    def __init__(self) -> None:
        self.rows: list[object] = []

    def add(self, row: object) -> None:
        self.rows.append(row)


async def _insert_without_ids(session: AsyncSession, made: list[object]) -> None:
    """Insert the batch's new events and outbox rows with one executemany each, not through
    the ORM's unit of work: nothing reads their ids, so none is fetched back (RETURNING)."""
    by_table: dict[tuple[Table, tuple[str, ...]], list[dict[str, Any]]] = {}
    for row in made:
        if not isinstance(row, ItemEvent | Delivery) or (
            isinstance(row, ItemEvent) and row.kind in DEADLINE_EVENTS
        ):
            session.add(row)  # what the ORM must see (a mapper event re-arms reminders)
            continue
        table = cast(Table, type(row).__table__)
        values = vars(row)  # the attributes set (defaults left to the table)
        data = {c.key: values[c.key] for c in table.columns if c.key in values}
        by_table.setdefault((table, tuple(sorted(data))), []).append(data)
    for (table, _columns), rows in by_table.items():
        await session.execute(insert(table), rows)


def _settle(pending: _Pending, result: IntakeResult) -> None:
    if pending.future is not None and not pending.future.done():  # its request may be gone
        pending.future.set_result(result)


async def _first_of_race(session: AsyncSession, request: IntakeRequest) -> IntakeResult | None:
    """The same Slack event raced in twice and the first one won: its item, if so."""
    await session.rollback()
    if request.intake_key:
        existing = await item_by_intake_key(session, request.intake_key)
        if existing is not None:
            return IntakeResult(
                existing.id, True, await load_card(session, existing), existing.language
            )
    return None


async def route_waiting_items(session: AsyncSession, model: RoutingModel) -> int:
    """Route the items that arrived before any routing model existed (caller commits).
    Their reporters are not told where they went: they hear when a person takes them."""
    from bot.items.store import unrouted_items

    items = await unrouted_items(session)
    # One resolved meanwhile (its reporter found theirs among similar items) needs no lead.
    waiting = [item for item in items if item.status not in CLOSED_STATUSES]
    for item in waiting:
        route_new_item(session, item, model, item.chosen_area_id)
    return len(waiting)


async def area_choices(sessions: async_sessionmaker[AsyncSession]) -> list[AreaChoice]:
    """The routing model's areas, for the intake modal's "product area" menu.

    No areas when the database does not answer: the form still opens (the text then
    stays in it if storing fails), it just offers no area to choose.
    """
    from bot.db import DATABASE_ERRORS
    from bot.intake.routing_store import list_area_choices

    try:
        async with sessions() as session:
            return [
                AreaChoice(id=a, name=n, team=team)
                for a, n, team in await list_area_choices(session)
            ]
    except DATABASE_ERRORS:
        logging.getLogger("jerry.intake").warning("no areas for the form: database unreachable")
        return []
