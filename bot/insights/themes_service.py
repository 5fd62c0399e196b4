"""Themes in the database: computed per area and period in the background (the scheduler's
"insights_themes" job, and `jerry insights themes --refresh`), read by the insights views,
and edited by leads (rename, merge, move an item out), each edit kept and applied again to
every recomputation (bot/insights/themes.py `apply_edits`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.insights.domain import ThemeSummary
from bot.insights.periods import Period, current_period
from bot.insights.themes import Cluster, Edit, ThemeInput, apply_edits, cluster
from models.base import utcnow
from models.insights import InsightTheme, InsightThemeEdit
from models.items import Item
from models.routing import Area, Team

log = logging.getLogger("jerry.insights")

# What the background job keeps fresh: the periods the App Home offers.
REFRESHED = ("quarter", "month", "week")
LABEL_LIMIT = 80
EXAMPLE_CHARS = 300


def period_key(period: Period) -> str:
    return f"{period.kind}:{period.key}"


class ThemeRefused(Exception):
    """`key` (i18n) says why; nothing changed."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


async def _inputs(
    session: AsyncSession, area_id: int, start: datetime, end: datetime
) -> list[ThemeInput]:
    from bot.similar import service as similar_service
    from bot.similar import store as similar_store

    rows = (
        await session.execute(
            select(Item.id, Item.kind, Item.area_id, Item.text)
            .where(Item.area_id == area_id, Item.created_at >= start, Item.created_at < end)
            .order_by(Item.id)
        )
    ).all()
    if not rows:
        return []
    entries = await similar_store.entries_for(session, [r.id for r in rows])
    missing = [
        similar_store.ItemText(r.id, r.kind, r.area_id, r.text) for r in rows if r.id not in entries
    ]
    for entry in await similar_service.encode_items(missing) if missing else []:
        entries[entry.item_id] = entry
    return [
        ThemeInput(
            r.id,
            r.text,
            entries[r.id].encoded.vector,
            entries[r.id].encoded.terms,
            entries[r.id].encoded.counts,
        )
        for r in rows
        if r.id in entries
    ]


def _edit(row: InsightThemeEdit) -> Edit:
    return Edit(
        kind=row.kind,
        members=tuple(row.members or ()),
        other=tuple(row.other or ()),
        item_id=row.item_id,
        label=row.label,
    )


async def _edits(session: AsyncSession, area_id: int) -> list[Edit]:
    rows = await session.execute(
        select(InsightThemeEdit)
        .where(InsightThemeEdit.area_id == area_id)
        .order_by(InsightThemeEdit.at, InsightThemeEdit.id)
    )
    return [_edit(row) for row in rows.scalars()]


async def _store(
    session: AsyncSession, area_id: int, key: str, clusters: Sequence[Cluster], now: datetime
) -> None:
    """The area's themes of a period, as computed. A theme keeps its row (and its id, which
    the Home's menus name) when the new one holds most of its items."""
    existing = list(
        (
            await session.execute(
                select(InsightTheme).where(
                    InsightTheme.period == key, InsightTheme.area_id == area_id
                )
            )
        ).scalars()
    )
    unused = {row.id: row for row in existing}
    for position, found in enumerate(clusters):
        members = set(found.members)
        best = max(
            unused.values(),
            key=lambda row: (len(members & set(row.members or ())), -row.id),
            default=None,
        )
        row = best if best is not None and members & set(best.members or ()) else None
        if row is None:
            row = InsightTheme(area_id=area_id, period=key)
            session.add(row)
        else:
            del unused[row.id]
        row.position = position
        row.label = found.label[:200]
        row.custom_label = found.custom_label
        row.items = len(found.members)
        row.previous_items = found.previous
        row.members = list(found.members)
        row.examples = [[i, text[:EXAMPLE_CHARS]] for i, text in found.examples]
        row.computed_at = now
    if unused:
        await session.execute(delete(InsightTheme).where(InsightTheme.id.in_(list(unused))))


async def compute_area_themes(
    sessions: async_sessionmaker[AsyncSession], area_id: int, period: Period, *, now: datetime
) -> int:
    """(Re)compute one area's themes for one period, the leads' edits applied; how many."""
    previous = period.previous()
    async with sessions() as session:
        items = await _inputs(session, area_id, period.start, period.end)
        earlier = await _inputs(session, area_id, previous.start, previous.end)
        edits = await _edits(session, area_id)
    clusters = await asyncio.to_thread(cluster, items, earlier)
    clusters = apply_edits(clusters, edits)
    async with sessions() as session:
        await _store(session, area_id, period_key(period), clusters, now)
        await session.commit()
    return len(clusters)


@dataclass(frozen=True)
class RefreshResult:
    areas: int
    periods: int
    themes: int


async def refresh_themes(
    sessions: async_sessionmaker[AsyncSession],
    now: datetime,
    *,
    timezone: str = "UTC",
    periods: Sequence[Period] | None = None,
    area_ids: Collection[int] | None = None,
) -> RefreshResult:
    """Every active area's themes for `periods` (default: this quarter, month and week)."""
    chosen = (
        list(periods)
        if periods is not None
        else [current_period(kind, now, timezone) for kind in REFRESHED]
    )
    async with sessions() as session:
        statement = select(Area.id).where(Area.archived.is_(False)).order_by(Area.id)
        areas = [a for a in (await session.execute(statement)).scalars()]
    if area_ids is not None:
        areas = [a for a in areas if a in set(area_ids)]
    themes = 0
    for area_id in areas:
        for period in chosen:
            themes += await compute_area_themes(sessions, area_id, period, now=now)
    return RefreshResult(len(areas), len(chosen), themes)


async def themes_of(
    session: AsyncSession, period: Period, area_ids: Collection[int] | None, limit: int
) -> list[ThemeSummary]:
    """The largest themes of the period (of the areas given; None: every area)."""
    statement = (
        select(InsightTheme, Area.name, Area.team_id)
        .join(Area, Area.id == InsightTheme.area_id)
        .where(InsightTheme.period == period_key(period))
        .order_by(InsightTheme.items.desc(), InsightTheme.id)
        .limit(limit)
    )
    if area_ids is not None:
        statement = statement.where(InsightTheme.area_id.in_(list(area_ids)))
    return [
        ThemeSummary(
            id=row.id,
            area_id=row.area_id,
            area=area,
            label=row.custom_label or row.label,
            items=row.items,
            previous_items=row.previous_items,
            examples=tuple((int(i), str(text)) for i, text in row.examples or ()),
            team_id=team_id,
        )
        for row, area, team_id in (await session.execute(statement)).all()
    ]


# --- edits ---------------------------------------------------------------------------------------


async def _editable(
    session: AsyncSession, theme_id: int, actor: str, admins: Collection[str]
) -> InsightTheme:
    theme = await session.get(InsightTheme, theme_id)
    if theme is None:
        raise ThemeRefused("insights.theme.gone")
    if actor in admins:
        return theme
    team = (
        await session.execute(
            select(Team).join(Area, Area.team_id == Team.id).where(Area.id == theme.area_id)
        )
    ).scalar_one_or_none()
    if team is None or actor not in {team.lead, team.backup}:
        raise ThemeRefused("insights.theme.not_allowed")
    return theme


async def check_editable(
    sessions: async_sessionmaker[AsyncSession], theme_id: int, actor: str, admins: Collection[str]
) -> None:
    """ThemeRefused unless `actor` may change this theme (before a form opens)."""
    async with sessions() as session:
        await _editable(session, theme_id, actor, admins)


async def _record_and_apply(session: AsyncSession, area_id: int, edit: InsightThemeEdit) -> None:
    """Keep the edit, and apply it now to the area's stored themes of every period."""
    session.add(edit)
    rows = (
        (await session.execute(select(InsightTheme).where(InsightTheme.area_id == area_id)))
        .scalars()
        .all()
    )
    by_period: dict[str, list[InsightTheme]] = {}
    for row in rows:
        by_period.setdefault(row.period, []).append(row)
    now = utcnow()
    for key, stored in by_period.items():
        clusters = [
            Cluster(
                members=list(row.members or ()),
                label=row.label,
                examples=[(int(i), str(t)) for i, t in row.examples or ()],
                custom_label=row.custom_label,
                previous=row.previous_items,
            )
            for row in sorted(stored, key=lambda r: r.position)
        ]
        await _store(session, area_id, key, apply_edits(clusters, [_edit(edit)]), now)
    await session.commit()


async def rename_theme(
    sessions: async_sessionmaker[AsyncSession],
    theme_id: int,
    label: str,
    *,
    actor: str,
    admins: Collection[str],
) -> str:
    name = " ".join(label.split())[:LABEL_LIMIT]
    if not name:
        raise ThemeRefused("insights.theme.empty_name")
    async with sessions() as session:
        theme = await _editable(session, theme_id, actor, admins)
        edit = InsightThemeEdit(
            area_id=theme.area_id,
            kind="rename",
            members=list(theme.members or ()),
            label=name,
            actor=actor,
            at=utcnow(),
        )
        await _record_and_apply(session, theme.area_id, edit)
    return name


async def merge_themes(
    sessions: async_sessionmaker[AsyncSession],
    theme_id: int,
    other_id: int,
    *,
    actor: str,
    admins: Collection[str],
) -> None:
    async with sessions() as session:
        theme = await _editable(session, theme_id, actor, admins)
        other = await session.get(InsightTheme, other_id)
        if (
            other is None
            or other.id == theme.id
            or other.area_id != theme.area_id
            or other.period != theme.period
        ):
            raise ThemeRefused("insights.theme.bad_merge")
        edit = InsightThemeEdit(
            area_id=theme.area_id,
            kind="merge",
            members=list(theme.members or ()),
            other=list(other.members or ()),
            actor=actor,
            at=utcnow(),
        )
        await _record_and_apply(session, theme.area_id, edit)


async def move_out(
    sessions: async_sessionmaker[AsyncSession],
    theme_id: int,
    item_id: int,
    *,
    actor: str,
    admins: Collection[str],
) -> None:
    async with sessions() as session:
        theme = await _editable(session, theme_id, actor, admins)
        if item_id not in (theme.members or ()):
            raise ThemeRefused("insights.theme.not_in_theme", id=item_id)
        edit = InsightThemeEdit(
            area_id=theme.area_id,
            kind="move_out",
            members=list(theme.members or ()),
            item_id=item_id,
            actor=actor,
            at=utcnow(),
        )
        await _record_and_apply(session, theme.area_id, edit)


async def theme_with_siblings(
    session: AsyncSession, theme_id: int
) -> tuple[InsightTheme, list[InsightTheme], dict[int, str]] | None:
    """A theme, the other themes of its area and period, and its items' texts (for forms)."""
    theme = await session.get(InsightTheme, theme_id)
    if theme is None:
        return None
    siblings = (
        (
            await session.execute(
                select(InsightTheme)
                .where(
                    InsightTheme.area_id == theme.area_id,
                    InsightTheme.period == theme.period,
                    InsightTheme.id != theme.id,
                )
                .order_by(InsightTheme.position)
            )
        )
        .scalars()
        .all()
    )
    members = list(theme.members or ())[:100]
    texts = {
        row.id: row.text
        for row in (
            await session.execute(select(Item.id, Item.text).where(or_(Item.id.in_(members))))
        ).all()
    }
    return theme, list(siblings), texts
