"""`jerry surveys results NAME [--round N] [--format text|csv|json]`.

The latest closed round by default (else the round still open, whose figures are "so far"
and say so). The breakdown by audience group needs Slack (SLACK_BOT_TOKEN) to read who is in
each group; without it the results come without a breakdown.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from bot.admin_files import CommandError, print_for_terminal
from bot.config import Settings
from bot.db import create_engine, session_factory


def add_results_action(actions: Any) -> None:
    """`jerry surveys results` in the CLI's parser (`actions`: the `surveys` subparsers)."""
    results = actions.add_parser(
        "results",
        help="print a survey round's results (default: the latest closed round)",
    )
    results.add_argument("name", help="the survey's name")
    results.add_argument(
        "--round",
        type=int,
        dest="round_number",
        metavar="N",
        help="the round's number (default: the latest closed one, else the open one, so far)",
    )
    results.add_argument(
        "--format",
        choices=["text", "csv", "json"],
        default="text",
        help="text (default), csv (one row per figure) or json",
    )


def run_results(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(
        results_command(settings, args.name, number=args.round_number, fmt=args.format)
    )


async def results_command(
    settings: Settings, name: str, *, number: int | None = None, fmt: str = "text"
) -> int:
    from bot.surveys.results import ResultsError, SurveyContext, load_results, survey_context
    from bot.views.survey_results import results_csv, results_json, results_text

    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    context, directory = SurveyContext(None), None
    if settings.slack_bot_token:  # Slack names people and reads the groups of the breakdown
        from bot.directory import Directory
        from bot.slack import slack_client

        client = slack_client(settings)
        context, directory = survey_context(settings, client), Directory(sessions, client)
    try:
        results = await load_results(
            sessions,
            name,
            number,
            groups_of=context.groups_of,
            directory=directory,
        )
    except ResultsError as exc:
        raise CommandError(str(exc)) from exc
    finally:
        await engine.dispose()
    if fmt == "json":
        sys.stdout.write(json.dumps(results_json(results), ensure_ascii=False, indent=2) + "\n")
    elif fmt == "csv":
        sys.stdout.write(results_csv(results))
    else:
        await print_for_terminal(settings, results_text(results, results.language))
    return 0
