"""The similarity index over items (bot/similar): each item's encoded text, and a counter
that tells every process which entries are new since it last looked."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class SimilarEntry(Base):
    """One indexed item: what the lookup filters on, and its text encoded twice (hashed
    character n-gram counts, and a word-embedding vector). `jerry items reindex` rebuilds
    them all."""

    __tablename__ = "similar_entries"

    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    # From `similar_state.seq` when written: a process holding the index in memory reads
    # only the entries written since its last look.
    seq: Mapped[int]
    kind: Mapped[str] = mapped_column(String(20))
    area_id: Mapped[int | None]
    # bot/similar/engine.py ENCODING: entries of an older encoding are not searched.
    encoding: Mapped[str] = mapped_column(String(60))
    # n-gram buckets (little-endian uint32) then their counts (uint16).
    lexical: Mapped[bytes] = mapped_column(LargeBinary)
    # The embedding, little-endian float16.
    vector: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (Index("ix_similar_entries_seq", "seq"),)


class SimilarState(Base):
    """One row: the last `seq` given to an entry, and the generation, bumped by a full
    rebuild (every process then reloads the whole index)."""

    __tablename__ = "similar_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(default=0)
    generation: Mapped[int] = mapped_column(default=0)
