"""Settings sections imported from files (models.insights.FileSetting): the routing file's
`insights:` (minutes saved per kind) and the summaries file's `report:` (the product-ops
report's schedule). One row per section, replaced whole by each import."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.insights.domain import DEFAULT_MINUTES_SAVED, SAVING_KINDS
from models.base import utcnow
from models.insights import FileSetting

MINUTES_SAVED = "minutes_saved"
REPORT = "report"
CAPTURE = "capture"  # the routing file's `capture:` (bot/capture: emoji that file messages)


async def read_file_setting(session: AsyncSession, name: str) -> dict[str, Any] | None:
    row = await session.get(FileSetting, name)
    return dict(row.value) if row is not None else None


async def write_file_setting(
    session: AsyncSession, name: str, value: dict[str, Any] | None
) -> None:
    """Replace a section (None: the file no longer has it, so the defaults apply)."""
    if value is None:
        await session.execute(delete(FileSetting).where(FileSetting.name == name))
        return
    row = await session.get(FileSetting, name)
    if row is None:
        session.add(FileSetting(name=name, value=dict(value), updated_at=utcnow()))
    else:
        row.value = dict(value)
        row.updated_at = utcnow()


async def minutes_saved(session: AsyncSession) -> dict[str, int]:
    """Minutes saved per occurrence of each kind: the routing file's, else the defaults."""
    stored = await read_file_setting(session, MINUTES_SAVED) or {}
    return {
        kind: int(stored[kind])
        if isinstance(stored.get(kind), int)
        else DEFAULT_MINUTES_SAVED[kind]
        for kind in SAVING_KINDS
    }


async def all_file_settings(session: AsyncSession) -> dict[str, dict[str, Any]]:
    rows = await session.execute(select(FileSetting.name, FileSetting.value))
    return {row.name: dict(row.value) for row in rows}
