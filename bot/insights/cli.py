"""`jerry insights`: the success indicators for admins and scripts.

jerry insights [--period 2026-Q4|2026-11|2026-W48|quarter|month|week] [--team T ...]
               [--format text|json|csv]

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
from bot.i18n import t
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


def run(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(
        insights_command(settings, period=args.period, teams=args.team, fmt=args.format)
    )


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
