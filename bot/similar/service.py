"""Similar items: what the rest of Jerry calls (plain data in, plain data out).

    matches = await similar(session, "Invoices show the wrong VAT rate", kind="painpoint")
    await index_item(session, item)      # when an item is created or its text edited
    await reindex(session)               # `jerry items reindex`

Each process keeps the whole index in memory (bot/similar/engine.py), loaded at its first
lookup (about a second with the model) and brought up to date at each lookup from the
entries written since (`similar_entries.seq`), by this process or any other. Items that have
no entry yet (created before `jerry items reindex` ran, or by a writer that does not index)
are encoded at lookup, in memory, a bounded number at a time. The model and the matrices
are computed in a worker thread: the event loop keeps answering Slack meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.folding import fold
from bot.similar import store
from bot.similar.engine import Encoder, Entry, MemoryIndex
from models.items import Item

# How many unindexed items one lookup encodes (in memory) before searching.
CATCH_UP_PER_LOOKUP = 500
# Items are numbered when inserted but may commit out of order: a lookup looks again this
# far below the highest number it has indexed.
CATCH_UP_MARGIN = 200
# Candidates taken from the index before the database says which still exist and match.
OVERFETCH = 10
REINDEX_BATCH = 1000


@dataclass(frozen=True)
class Match:
    """An item that looks like the text looked up: `score` in [0, 1] (1: the same text),
    the two halves it blends, and what the item is now."""

    id: int
    score: float
    status: str
    text: str
    kind: str
    area_id: int | None
    team_id: int | None
    outcome: str | None
    answer_text: str | None
    duplicate_of: int | None
    anonymous: bool
    created_at: datetime
    answered_at: datetime | None
    resolved_at: datetime | None
    lexical: float
    semantic: float


@dataclass
class _Loaded:
    """One database's index in this process."""

    index: MemoryIndex = field(default_factory=MemoryIndex)
    generation: int = -1
    seq: int = 0
    highest_id: int = 0
    caught_up: set[int] = field(default_factory=set)  # encoded at lookup, no entry written
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


_ENCODER = Encoder()
_LOADED: dict[str, _Loaded] = {}


def _key(session: AsyncSession) -> str:
    """Which database: a process may hold the index of several (tests do)."""
    return str(session.get_bind().engine.url)


def _loaded_for(session: AsyncSession) -> _Loaded:
    key = _key(session)
    if key not in _LOADED:
        _LOADED[key] = _Loaded()
    return _LOADED[key]


def forget_loaded() -> None:
    """Drop every in-memory index (the next lookup reloads from the database)."""
    _LOADED.clear()


async def encode_items(items: Sequence[store.ItemText]) -> list[Entry]:
    """Items encoded as the index keeps them (for items not indexed yet: the themes)."""
    return await _encode(items)


async def _encode(items: Sequence[store.ItemText]) -> list[Entry]:
    encoded = await asyncio.to_thread(_ENCODER.encode, [fold(item.text) for item in items])
    return [
        Entry(item.item_id, item.kind, item.area_id, one)
        for item, one in zip(items, encoded, strict=True)
    ]


async def _current(session: AsyncSession) -> _Loaded:
    """This database's index, with every entry written so far and the items not indexed."""
    loaded = _loaded_for(session)
    async with loaded.lock:
        state = await store.read_state(session)
        if state.generation != loaded.generation:
            entries = await store.read_entries(session)
            await asyncio.to_thread(loaded.index.replace_all, entries)
            loaded.generation, loaded.seq = state.generation, state.seq
            loaded.highest_id = max((entry.item_id for entry in entries), default=0)
            loaded.caught_up = set()
            floor = 0  # the first look covers every item
        else:
            if state.seq > loaded.seq:
                entries = await store.read_entries(session, after_seq=loaded.seq)
                await asyncio.to_thread(loaded.index.upsert, entries)
                loaded.seq = state.seq
                loaded.highest_id = max([loaded.highest_id, *(e.item_id for e in entries)])
                loaded.caught_up.difference_update(entry.item_id for entry in entries)
            floor = max(0, loaded.highest_id - CATCH_UP_MARGIN)
        missing = await store.unindexed_items(
            session, above_id=floor, limit=CATCH_UP_PER_LOOKUP, skip=loaded.caught_up
        )
        if missing:
            entries = await _encode(missing)
            await asyncio.to_thread(loaded.index.upsert, entries)
            loaded.caught_up.update(entry.item_id for entry in entries)
            loaded.highest_id = max(loaded.highest_id, missing[-1].item_id)
    return loaded


async def similar(
    session: AsyncSession,
    text: str,
    *,
    kind: str | None = None,
    area: int | None = None,
    limit: int = 3,
    exclude_ids: Iterable[int] = (),
    min_score: float | None = None,
) -> list[Match]:
    """The items most like `text`, best first: at most `limit`, each scoring at least
    `min_score` when given; only items of `kind` and `area` (an area id) when given."""
    folded = fold(text)
    if not folded or limit <= 0:
        return []
    loaded = await _current(session)
    excluded = set(exclude_ids)
    [query] = await asyncio.to_thread(_ENCODER.encode, [folded])
    hits = await asyncio.to_thread(
        loaded.index.search,
        query,
        limit=limit + OVERFETCH,
        kind=kind,
        area_id=area,
        exclude=excluded,
    )
    if min_score is not None:
        hits = [hit for hit in hits if hit.score >= min_score]
    items = await store.matched_items(session, [hit.item_id for hit in hits])
    matches = []
    for hit in hits:
        item = items.get(hit.item_id)
        # The index may lag behind an item's kind or area; the item says what it is now.
        if item is None or (kind is not None and item.kind != kind):
            continue
        if area is not None and item.area_id != area:
            continue
        matches.append(_match(item, hit.score, hit.lexical, hit.semantic))
    return matches[:limit]


def _match(item: Item, score: float, lexical: float, semantic: float) -> Match:
    return Match(
        id=item.id,
        score=round(min(max(score, 0.0), 1.0), 4),
        status=item.status,
        text=item.text,
        kind=item.kind,
        area_id=item.area_id,
        team_id=item.team_id,
        outcome=item.outcome,
        answer_text=item.answer_text,
        duplicate_of=item.duplicate_of,
        anonymous=item.anonymous,
        created_at=item.created_at,
        answered_at=item.answered_at,
        resolved_at=item.resolved_at,
        lexical=round(lexical, 4),
        semantic=round(semantic, 4),
    )


async def index_item(session: AsyncSession, item: Item) -> None:
    """Write (or rewrite) `item`'s entry in the caller's transaction, and put it in this
    process's index at once; other processes read it at their next lookup. The item must
    have its number (flushed)."""
    await index_items(session, [item])


async def index_items(session: AsyncSession, items: Sequence[Item]) -> None:
    texts = [store.ItemText(item.id, item.kind, item.area_id, item.text) for item in items]
    entries = await _encode(texts)
    await store.write_entries(session, entries)
    loaded = _LOADED.get(_key(session))
    if loaded is not None and loaded.generation >= 0:
        await asyncio.to_thread(loaded.index.upsert, entries)
        loaded.highest_id = max([loaded.highest_id, *(item.id for item in items)])


async def reindex(session: AsyncSession, *, batch: int = REINDEX_BATCH) -> int:
    """Rebuild every entry from the items, in the caller's transaction; returns how many.
    Every process reloads its index at its next lookup."""
    state = await store.clear_entries(session)
    count = 0
    ids = await store.all_item_ids(session)
    for start in range(0, len(ids), batch):
        texts = await store.item_texts(session, ids[start : start + batch])
        entries = await _encode(texts)
        await store.insert_entries(session, entries, state.seq)
        count += len(entries)
    return count
