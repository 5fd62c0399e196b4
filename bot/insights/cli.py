"""`jerry insights`: the success indicators for admins and scripts.

jerry insights [--period 2026-Q4|2026-11|2026-W48|quarter|month|week] [--team T ...]
               [--format text|json|csv]
jerry insights report [--period 2026-11|2026-Q4|month|quarter] [--format md|csv] [--send [--again]]

Periods are read in the product-ops report's timezone (the summaries file's `report:`), UTC
without one; the default is this quarter, compared with the previous one. The command reads
as an admin reads (customer names included): it runs where the database is, for its owners.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from typing import Any

from bot.admin_files import CommandError, print_for_terminal
from bot.config import Settings
from bot.db import create_engine, session_factory
from bot.i18n import t, tn
from bot.insights.periods import KINDS, Period, PeriodError, current_period, parse_period

FORMATS = ("text", "json", "csv")


def add_options(insights: argparse.ArgumentParser) -> None:
    """`jerry insights`' own options (its sub-actions, such as `themes`, add theirs)."""
    insights.add_argument(
        "--period",
        default="quarter",
        help="2026-Q4, 2026-11, 2026-W48, or quarter|month|week for the current one "
        "(default: this quarter)",
    )
    insights.add_argument(
        "--team",
        action="append",
        metavar="T",
        help="only this team (by name; repeat for several); default: every team",
    )
    insights.add_argument(
        "--format", choices=FORMATS, default="text", help="text (default), json or csv"
    )
    actions = insights.add_subparsers(dest="insights_command", metavar="ACTION", required=False)
    report = actions.add_parser(
        "report",
        help="the product-ops report: print it (Markdown or CSV), or owe it now (--send)",
    )
    report.add_argument(
        "--period",
        dest="report_period",
        default="month",
        help="2026-11 or 2026-Q4 (default: the month before this one; quarter: the quarter "
        "before this one)",
    )
    report.add_argument(
        "--format",
        dest="report_format",
        choices=("md", "csv"),
        default="md",
        help="what is printed: md (default) or csv",
    )
    report.add_argument(
        "--send",
        action="store_true",
        help="post it now to the report's channel and people (once per period)",
    )
    report.add_argument("--again", action="store_true", help="with --send: post another one")
    themes = actions.add_parser(
        "themes", help="each product area's themes for a period (similar items grouped)"
    )
    themes.add_argument(
        "--period",
        dest="themes_period",
        default="quarter",
        help="2026-Q4, 2026-11, 2026-W48, or quarter|month|week (default: this quarter)",
    )
    themes.add_argument("--area", metavar="A", help="only this product area (by name)")
    themes.add_argument(
        "--format",
        dest="themes_format",
        choices=FORMATS,
        default="text",
        help="text (default), json or csv",
    )
    themes.add_argument(
        "--refresh",
        action="store_true",
        help="compute them now (the running bot recomputes them every JERRY_THEMES_MINUTES)",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    if getattr(args, "insights_command", None) == "themes":
        return asyncio.run(
            themes_command(
                settings,
                period=args.themes_period,
                area=args.area,
                fmt=args.themes_format,
                refresh=args.refresh,
            )
        )
    if getattr(args, "insights_command", None) == "report":
        return asyncio.run(
            report_command(
                settings,
                period=args.report_period,
                fmt=args.report_format,
                send=args.send,
                again=args.again,
            )
        )
    return asyncio.run(
        insights_command(settings, period=args.period, teams=args.team, fmt=args.format)
    )


async def report_command(
    settings: Settings,
    *,
    period: str,
    fmt: str,
    send: bool,
    again: bool,
    now: datetime | None = None,
) -> int:
    """`jerry insights report`: the report of a finished month or quarter, printed, or owed
    to its channel and people (the running bot's outbox posts it)."""
    from bot.insights.export import insights_csv
    from bot.insights.numbers import ADMIN, compute_insights
    from bot.insights.report import owe_report, report_settings
    from bot.views.insights_report import report_markdown
    from bot.views.insights_words import period_label

    lang = settings.jerry_language
    now = now or datetime.now(UTC)
    engine = create_engine(settings.database_url)
    try:
        sessions = session_factory(engine)
        async with sessions() as session:
            report = await report_settings(session)
            timezone = report.timezone if report else await report_timezone(session)
        if send and report is None:
            raise CommandError(t("cli.insights.report.none", lang))
        language = report.language if report else lang
        value = period.strip().lower()
        if value in ("month", "quarter"):
            chosen = current_period(value, now, timezone).previous()
        else:
            chosen = period_from(period, timezone, now, lang)
        if chosen.kind == "week":
            raise CommandError(t("insights.period.bad", lang, text=period))
        if send:
            assert report is not None
            result = await owe_report(sessions, report, chosen, now=now, again=again)
            if result.outcome == "taken":
                raise CommandError(
                    t(
                        "cli.insights.report.already",
                        lang,
                        period=period_label(chosen.kind, chosen.key, lang),
                    )
                )
            print(
                tn(
                    "cli.insights.report.sent",
                    len(report.dm),
                    lang,
                    period=period_label(chosen.kind, chosen.key, lang),
                    channel=report.channel,
                )
            )
            return 0
        insights = await compute_insights(sessions, chosen, ADMIN, now=now)
    finally:
        await engine.dispose()
    sys.stdout.write(
        insights_csv(insights) if fmt == "csv" else report_markdown(insights, language)
    )
    return 0


async def report_timezone(session: Any) -> str:
    from bot.insights.file_settings import REPORT, read_file_setting

    report = await read_file_setting(session, REPORT) or {}
    timezone = report.get("timezone")
    return timezone if isinstance(timezone, str) and timezone else "UTC"


def period_from(text: str, timezone: str, now: datetime, lang: str) -> Period:
    """A period as people write it; a clear error (a CommandError) when it is none."""
    try:
        value = text.strip().lower()
        if value in KINDS:
            return current_period(value, now, timezone)
        return parse_period(text, timezone)
    except PeriodError as error:
        raise CommandError(t(error.key, lang, text=error.text)) from error


async def insights_command(
    settings: Settings,
    *,
    period: str,
    teams: list[str] | None,
    fmt: str,
    now: datetime | None = None,
) -> int:
    from bot.insights.export import insights_csv, insights_json, insights_text
    from bot.insights.numbers import ADMIN, UnknownTeamError, compute_insights
    from bot.insights.store import names

    lang = settings.jerry_language
    now = now or datetime.now(UTC)
    engine = create_engine(settings.database_url)
    try:
        sessions = session_factory(engine)
        async with sessions() as session:
            timezone = await report_timezone(session)
        chosen = period_from(period, timezone, now, lang)
        try:
            insights = await compute_insights(sessions, chosen, ADMIN, now=now, teams=teams)
        except UnknownTeamError as error:
            async with sessions() as session:
                all_teams, _ = await names(session)
            listed = ", ".join(
                sorted(team.name for team in all_teams.values() if not team.archived)
            )
            raise CommandError(
                t("cli.insights.unknown_team", lang, name=error.name, teams=listed or "–")
            ) from error
    finally:
        await engine.dispose()
    if fmt == "json":
        sys.stdout.write(insights_json(insights))
    elif fmt == "csv":
        sys.stdout.write(insights_csv(insights))
    else:
        await print_for_terminal(settings, insights_text(insights, lang))
    return 0


async def themes_command(
    settings: Settings,
    *,
    period: str,
    area: str | None,
    fmt: str,
    refresh: bool,
    now: datetime | None = None,
) -> int:
    """`jerry insights themes`: each area's themes for a period (computed now with
    --refresh, else as the running bot last computed them)."""
    import csv
    import io
    import json

    from sqlalchemy import select

    from bot.insights.themes_service import compute_area_themes, themes_of
    from bot.text import csv_cell
    from models.routing import Area

    lang = settings.jerry_language
    now = now or datetime.now(UTC)
    engine = create_engine(settings.database_url)
    try:
        sessions = session_factory(engine)
        async with sessions() as session:
            timezone = await report_timezone(session)
            areas = list(
                (await session.execute(select(Area).where(Area.archived.is_(False)))).scalars()
            )
        chosen = period_from(period, timezone, now, lang)
        if area is not None:
            areas = [a for a in areas if a.name.casefold() == area.strip().casefold()]
            if not areas:
                async with sessions() as session:
                    names = sorted(
                        a.name
                        for a in (
                            await session.execute(select(Area).where(Area.archived.is_(False)))
                        ).scalars()
                    )
                raise CommandError(
                    t("cli.insights.unknown_area", lang, name=area, areas=", ".join(names) or "–")
                )
        if refresh:
            for each in areas:
                await compute_area_themes(sessions, each.id, chosen, now=now)
        async with sessions() as session:
            found = await themes_of(session, chosen, [a.id for a in areas], limit=1000)
    finally:
        await engine.dispose()
    if fmt == "json":
        rows = [
            {
                "id": th.id,
                "area": th.area,
                "label": th.label,
                "items": th.items,
                "previous_items": th.previous_items,
                "examples": [{"id": i, "text": text} for i, text in th.examples],
            }
            for th in found
        ]
        sys.stdout.write(
            json.dumps({"period": chosen.key, "themes": rows}, ensure_ascii=False, indent=2) + "\n"
        )
        return 0
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(("period", "area", "theme", "items", "previous_items", "examples"))
        for th in found:
            writer.writerow(
                [
                    csv_cell(v)
                    for v in (
                        chosen.key,
                        th.area,
                        th.label,
                        th.items,
                        th.previous_items,
                        " ".join(f"#{i}" for i, _ in th.examples),
                    )
                ]
            )
        sys.stdout.write(out.getvalue())
        return 0
    if not found:
        print(t("cli.insights.themes.none", lang, period=chosen.key))
        return 0
    lines = [t("cli.insights.themes.title", lang, period=chosen.key)]
    for th in found:
        lines.append(
            tn(
                "cli.insights.themes.line",
                th.items,
                lang,
                area=th.area,
                label=th.label,
                previous=th.previous_items,
            )
        )
        for item_id, text in th.examples:
            lines.append(f"    #{item_id}  {' '.join(text.split())[:100]}")
    await print_for_terminal(settings, "\n".join(lines))
    return 0
