"""The index's rows: writing an item's entry, reading what changed, the items not indexed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, exists, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.similar.engine import ENCODING, Encoded, Entry
from models.items import Item
from models.similar import SimilarEntry, SimilarState


@dataclass(frozen=True)
class State:
    seq: int
    generation: int


@dataclass(frozen=True)
class ItemText:
    """What the index needs of an item."""

    item_id: int
    kind: str
    area_id: int | None
    text: str


async def read_state(session: AsyncSession) -> State:
    row = (
        await session.execute(
            select(SimilarState.seq, SimilarState.generation).where(SimilarState.id == 1)
        )
    ).first()
    return State(row.seq, row.generation) if row else State(0, 0)


async def _bump(session: AsyncSession, *, generation: bool = False) -> State:
    """The next seq (and generation): one row, so concurrent writers take turns on it and
    seq follows commit order."""
    values = {SimilarState.seq: SimilarState.seq + 1}
    if generation:
        values[SimilarState.generation] = SimilarState.generation + 1
    row = (
        await session.execute(
            update(SimilarState)
            .where(SimilarState.id == 1)
            .values(values)
            .returning(SimilarState.seq, SimilarState.generation)
        )
    ).first()
    if row is None:  # the row the migration made was emptied (a truncated database)
        session.add(SimilarState(id=1, seq=1, generation=1 if generation else 0))
        await session.flush()
        return State(1, 1 if generation else 0)
    return State(row.seq, row.generation)


async def write_entries(session: AsyncSession, entries: Sequence[Entry]) -> State:
    """Insert or replace these items' entries, under one new seq."""
    state = await _bump(session)
    if not entries:
        return state
    rows = [_row(entry, state.seq) for entry in entries]
    dialect = session.get_bind().dialect.name
    builder = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = builder(SimilarEntry)
    statement = statement.on_conflict_do_update(
        index_elements=[SimilarEntry.item_id],
        set_={
            name: statement.excluded[name]
            for name in ("seq", "kind", "area_id", "encoding", "lexical", "vector")
        },
    )
    # Rows as parameters, not in the statement: it compiles once (cached), whatever the batch.
    await session.execute(statement, rows)
    return state


def _row(entry: Entry, seq: int) -> dict[str, object]:
    return {
        "item_id": entry.item_id,
        "seq": seq,
        "kind": entry.kind,
        "area_id": entry.area_id,
        "encoding": ENCODING,
        "lexical": entry.encoded.lexical_bytes(),
        "vector": entry.encoded.vector_bytes(),
    }


async def clear_entries(session: AsyncSession) -> State:
    """Forget every entry; a new generation tells every process to reload."""
    await session.execute(delete(SimilarEntry))
    return await _bump(session, generation=True)


async def insert_entries(session: AsyncSession, entries: Sequence[Entry], seq: int) -> None:
    """Plain inserts (after `clear_entries`, in the same transaction)."""
    if entries:
        await session.execute(insert(SimilarEntry), [_row(entry, seq) for entry in entries])


async def read_entries(session: AsyncSession, *, after_seq: int | None = None) -> list[Entry]:
    """The entries of the current encoding (written after `after_seq`, if given)."""
    statement = select(
        SimilarEntry.item_id,
        SimilarEntry.kind,
        SimilarEntry.area_id,
        SimilarEntry.lexical,
        SimilarEntry.vector,
    ).where(SimilarEntry.encoding == ENCODING)
    if after_seq is not None:
        statement = statement.where(SimilarEntry.seq > after_seq)
    result = await session.execute(statement)
    return [
        Entry(row.item_id, row.kind, row.area_id, Encoded.from_bytes(row.lexical, row.vector))
        for row in result
    ]


async def entries_for(session: AsyncSession, item_ids: Sequence[int]) -> dict[int, Entry]:
    """The entries of the current encoding of these items (those indexed)."""
    found: dict[int, Entry] = {}
    ids = list(item_ids)
    for start in range(0, len(ids), 1000):
        rows = await session.execute(
            select(
                SimilarEntry.item_id,
                SimilarEntry.kind,
                SimilarEntry.area_id,
                SimilarEntry.lexical,
                SimilarEntry.vector,
            ).where(
                SimilarEntry.encoding == ENCODING,
                SimilarEntry.item_id.in_(ids[start : start + 1000]),
            )
        )
        for row in rows:
            found[row.item_id] = Entry(
                row.item_id, row.kind, row.area_id, Encoded.from_bytes(row.lexical, row.vector)
            )
    return found


async def unindexed_items(
    session: AsyncSession, *, above_id: int, limit: int, skip: Iterable[int] = ()
) -> list[ItemText]:
    """Items with a number above `above_id` and no entry yet, oldest first."""
    skipped = set(skip)
    ids = (
        await session.execute(
            select(Item.id)
            .where(
                Item.id > above_id,
                ~exists().where(SimilarEntry.item_id == Item.id),
            )
            .order_by(Item.id)
        )
    ).scalars()
    wanted = [item_id for item_id in ids if item_id not in skipped][:limit]
    return await item_texts(session, wanted)


async def item_texts(session: AsyncSession, item_ids: Sequence[int]) -> list[ItemText]:
    if not item_ids:
        return []
    rows = await session.execute(
        select(Item.id, Item.kind, Item.area_id, Item.text)
        .where(Item.id.in_(item_ids))
        .order_by(Item.id)
    )
    return [ItemText(row.id, row.kind, row.area_id, row.text) for row in rows]


async def all_item_ids(session: AsyncSession) -> list[int]:
    return list((await session.execute(select(Item.id).order_by(Item.id))).scalars())


async def matched_items(session: AsyncSession, item_ids: Sequence[int]) -> dict[int, Item]:
    if not item_ids:
        return {}
    rows = await session.execute(select(Item).where(Item.id.in_(item_ids)))
    return {item.id: item for item in rows.scalars()}
