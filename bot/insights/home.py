"""The App Home's Insights tab: who may see it, which period, the numbers (reused for five
minutes: bot/insights/numbers.py cached_insights) and the charts, uploaded to Slack once per
content (files.getUploadURLExternal and files.completeUploadExternal without a channel: the
image blocks name the file) and remembered in `insight_charts`, so a Home published again
with the same numbers uploads nothing."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.insights.charts import ChartSpec, chart_filename, chart_specs, draw
from bot.insights.domain import Audience, Insights
from bot.insights.numbers import ADMIN, THEMES_TOP, audience_of, cached_insights, may_read
from bot.insights.periods import Period, current_period
from bot.insights.report import report_settings
from bot.insights.store import lead_ids
from bot.insights.themes_service import themes_of
from bot.slack import SLACK_FAILURES, AsyncWebClient, classify
from bot.views.insights import PERIOD_CHOICES, ShownChart, insights_home_view
from models.base import utcnow
from models.insights import InsightChart

log = logging.getLogger("jerry.insights")


def chosen_period(choice: str | None, now: datetime, timezone: str) -> tuple[str, Period]:
    """The period a Home's choice names ("quarter", "previous_month" …; unknown: quarter)."""
    choice = choice if choice in PERIOD_CHOICES else "quarter"
    kind = choice.removeprefix("previous_")
    period = current_period(kind, now, timezone)
    return choice, period.previous() if choice.startswith("previous_") else period


async def reader(
    sessions: async_sessionmaker[AsyncSession], user_id: str, admins: Collection[str]
) -> Audience | None:
    """What `user_id` may read, or None when the Insights tab is not theirs."""
    async with sessions() as session:
        audience = await audience_of(session, user_id, admins)
    return audience if may_read(audience) else None


def chart_key(spec: ChartSpec) -> str:
    return hashlib.sha256(repr(spec).encode("utf-8")).hexdigest()


async def shown_charts(
    sessions: async_sessionmaker[AsyncSession],
    client: AsyncWebClient,
    insights: Insights,
    lang: str,
) -> list[ShownChart]:
    """Each chart as an uploaded file: drawn and uploaded only the first time its content is
    shown. A chart Slack will not take is left out (its words are in the numbers)."""
    shown = []
    for spec in chart_specs(insights, lang):
        key = chart_key(spec)
        async with sessions() as session:
            known = await session.get(InsightChart, key)
        file_id = known.file_id if known is not None else None
        if file_id is None:
            file_id = await _upload(client, spec, insights)
            if file_id is None:
                continue
            async with sessions() as session:
                session.add(InsightChart(content_key=key, file_id=file_id, created_at=utcnow()))
                try:
                    await session.commit()
                except IntegrityError:  # another replica uploaded it meanwhile: either file works
                    await session.rollback()
        shown.append(ShownChart(file_id=file_id, title=spec.title, alt_text=spec.alt_text))
    return shown


async def _upload(client: AsyncWebClient, spec: ChartSpec, insights: Insights) -> str | None:
    png = await asyncio.to_thread(draw, spec)
    try:
        response = await client.files_upload_v2(
            content=png,
            filename=chart_filename(spec, insights),
            title=spec.title,
            alt_txt=spec.alt_text[:1000],
        )
    except SLACK_FAILURES as exc:
        log.warning("insights chart %s not uploaded: %s", spec.name, classify(exc).code)
        return None
    files = response.get("files") or []
    file_id = files[0].get("id") if files and isinstance(files[0], dict) else None
    return str(file_id) if file_id else None


async def _areas_of(session: AsyncSession, team_ids: Collection[int]) -> list[int]:
    from sqlalchemy import select

    from models.routing import Area

    statement = select(Area.id).where(Area.team_id.in_(list(team_ids)))
    return list((await session.execute(statement)).scalars())


async def insights_view(
    sessions: async_sessionmaker[AsyncSession],
    client: AsyncWebClient,
    audience: Audience,
    lang: str,
    *,
    period_choice: str | None,
    now: datetime,
) -> dict[str, Any]:
    """The Insights tab for `audience` (who may read it: see `reader`)."""
    async with sessions() as session:
        settings = await report_settings(session)
    timezone = settings.timezone if settings else "UTC"
    choice, period = chosen_period(period_choice, now, timezone)
    insights = await cached_insights(sessions, period, audience, now=now)
    # The themes afresh (one query): a lead's rename or merge shows at once, cache or not.
    async with sessions() as session:
        area_ids = None if audience.is_admin else await _areas_of(session, audience.team_ids)
        themes = await themes_of(session, period, area_ids, THEMES_TOP)
    insights = replace(insights, themes=tuple(themes))
    charts = await shown_charts(sessions, client, insights, lang)
    return insights_home_view(insights, lang, period_choice=choice, charts=charts)


@dataclass(frozen=True)
class WarmResult:
    scopes: int  # the readers' scopes computed (admins' one, and each lead's teams)
    charts: int  # charts drawn and uploaded (0 when their content was known)


async def warm(
    sessions: async_sessionmaker[AsyncSession],
    client: AsyncWebClient,
    admins: Collection[str],
    now: datetime,
    language_of: Callable[[str], Awaitable[str]],
    default_language: str,
) -> WarmResult:
    """Keep the Insights tab's default period (this quarter) ready for every reader: its
    numbers computed afresh into the cache (admins' scope, each lead's and backup's teams)
    and its charts uploaded in each reader's language, so that opening the tab only
    publishes (BENCHMARKS.md: ≤ 1 s needs the numbers ready). Run more often than the
    cache's five minutes by the scheduler's `insights_warm` job."""
    async with sessions() as session:
        settings = await report_settings(session)
        leads = await lead_ids(session)
    timezone = settings.timezone if settings else "UTC"
    _, period = chosen_period("quarter", now, timezone)
    readers: dict[tuple[object, ...], tuple[Audience, set[str]]] = {}
    for user in [*admins, *leads]:
        async with sessions() as session:
            audience = await audience_of(session, user, admins)
        if not may_read(audience):
            continue
        scope = ("admin",) if audience.is_admin else tuple(sorted(audience.team_ids))
        language = await language_of(user) if user else default_language
        readers.setdefault(scope, (audience, set()))[1].add(language)
    if not readers:
        readers[("admin",)] = (ADMIN, {default_language})
    uploaded = 0
    for audience, languages in readers.values():
        insights = await cached_insights(sessions, period, audience, now=now, max_age=0)
        async with sessions() as session:
            area_ids = None if audience.is_admin else await _areas_of(session, audience.team_ids)
            themes = await themes_of(session, period, area_ids, THEMES_TOP)
        insights = replace(insights, themes=tuple(themes))
        for language in sorted(languages):
            before = await _known_charts(sessions)
            await shown_charts(sessions, client, insights, language)
            uploaded += await _known_charts(sessions) - before
    return WarmResult(scopes=len(readers), charts=uploaded)


async def _known_charts(sessions: async_sessionmaker[AsyncSession]) -> int:
    from sqlalchemy import func, select

    async with sessions() as session:
        return int(
            (await session.execute(select(func.count()).select_from(InsightChart))).scalar_one()
        )
