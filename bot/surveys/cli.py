"""What the `jerry surveys …` commands do: import, export, init and run.

jerry surveys import FILE [--dry-run]
jerry surveys export [FILE]
jerry surveys init [FILE] [--language en|fr]
jerry surveys run NAME
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.admin_files import (
    CommandError,
    change_in_one_transaction,
    in_session,
    print_imported,
    print_problems,
    read_file,
    write_file,
)
from bot.config import MissingSettingError, Settings
from bot.i18n import t, tn
from bot.surveys.file import SurveysFileError, dump, parse, template_file
from bot.surveys.store import ReplaceSummary, load_surveys, replace_surveys
from models.base import utcnow

ACTIONS = ("import", "export", "init", "run")


def add_actions(actions: Any) -> None:
    """`jerry surveys import|export|init|run` in the CLI's parser (`actions` is the `surveys`
    command's subparsers object)."""
    imp = actions.add_parser(
        "import", help="validate FILE and replace the surveys with it, in one transaction"
    )
    imp.add_argument("file", type=Path, help="a surveys file (YAML; format in README.md)")
    imp.add_argument(
        "--dry-run", action="store_true", help="validate and show what would change; change nothing"
    )
    exp = actions.add_parser("export", help="write the surveys in the import format")
    exp.add_argument(
        "file", type=Path, nargs="?", help="where to write it (default: standard output)"
    )
    init = actions.add_parser(
        "init", help="write the two template surveys (product managers, revenue teams) to edit"
    )
    init.add_argument(
        "file", type=Path, nargs="?", help="where to write them (default: standard output)"
    )
    init.add_argument(
        "--language", choices=["en", "fr"], default="en", help="the surveys' language (default en)"
    )
    run_ = actions.add_parser(
        "run",
        help="start a round of a survey now; the running bot asks everyone (its outbox)",
    )
    run_.add_argument("name", help="the survey's name")
    run_.add_argument(
        "--wait",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="how long to wait for everyone to be asked before saying who is not yet (default 60)",
    )


def run(args: argparse.Namespace, settings: Settings) -> int | None:
    """Run the `jerry surveys` action parsed into `args` (None: not one of these actions)."""
    action = args.surveys_command
    if action == "import":
        return asyncio.run(import_file(settings, args.file, dry_run=args.dry_run))
    if action == "export":
        return asyncio.run(export_file(settings, args.file))
    if action == "init":
        return asyncio.run(init_file(args.file, language=args.language))
    if action == "run":
        return asyncio.run(run_now(settings, args.name, wait=args.wait))
    return None


async def import_file(
    settings: Settings, path: Path, *, dry_run: bool = False, now: datetime | None = None
) -> int:
    text = await read_file(path)
    try:
        specs = parse(text, source=str(path))
    except SurveysFileError as exc:
        return print_problems(path, exc, "surveys", settings.jerry_language)

    async def replace(session: AsyncSession) -> ReplaceSummary:
        return await replace_surveys(session, specs, now=now or utcnow())

    summary = await change_in_one_transaction(settings, replace, dry_run=dry_run)
    print_imported(path, summary, dry_run=dry_run)
    return 0


async def export_file(settings: Settings, path: Path | None) -> int:
    specs = await in_session(settings, load_surveys)
    return await write_file(dump(specs), path, "the surveys")


async def init_file(path: Path | None, *, language: str = "en") -> int:
    if path is not None and await asyncio.to_thread(path.exists):
        raise CommandError(f"{path} exists already: choose another file (nothing was written)")
    return await write_file(template_file(language), path, "the template surveys")


async def run_now(
    settings: Settings, name: str, *, now: datetime | None = None, wait: float = 60.0
) -> int:
    """`jerry surveys run NAME`: start a round now, wait (up to `wait` seconds) while the
    running bot's outbox asks everyone, and say honestly who was asked, who is still queued
    (Slack down or rate limiting: the bot keeps trying) and who could not be asked. Exits 1
    unless everyone was asked."""
    from bot.services import build_services
    from bot.surveys.rounds import AskProgress, SurveyError, ask_progress, start_round

    if not settings.slack_bot_token:
        raise MissingSettingError("SLACK_BOT_TOKEN", "Jerry asks the survey in Slack")
    services = build_services(settings)
    progress = AskProgress()
    try:
        result = await start_round(services, name, now=now or utcnow())
        if result.status == "started" and result.round_id is not None:
            deadline = time.monotonic() + max(wait, 0.0)
            while True:
                progress = await ask_progress(services.sessions, result.round_id)
                if progress.done or time.monotonic() >= deadline:
                    break
                await asyncio.sleep(0.2)
    except SurveyError as exc:
        raise CommandError(str(exc)) from exc
    finally:
        await services.engine.dispose()
    lang = settings.jerry_language
    if result.status in {"exists", "audience_unreachable", "audience_failed"}:
        raise CommandError(
            t(f"cli.surveys_run.{result.status}", lang, survey=result.survey, error=result.error)
        )
    if result.status == "audience_empty":
        skipped = tn("cli.surveys_run.skipped", result.skipped, lang) if result.skipped else ""
        raise CommandError(
            t("cli.surveys_run.audience_empty", lang, survey=result.survey, skipped=skipped)
        )
    said = {
        "survey": result.survey,
        "number": result.number,
        "left_out": tn("cli.surveys_run.left_out", result.skipped, lang) if result.skipped else "",
    }
    if result.channel:
        state = t(
            "cli.surveys_run.posted" if progress.asked else "cli.surveys_run.not_posted", lang
        )
        line = tn(
            "cli.surveys_run.in_channel",
            result.invited,
            lang,
            channel=result.channel,
            state=state,
            **said,
        )
    elif progress.asked == result.invited and progress.done and not progress.failed:
        line = tn("cli.surveys_run.by_dm", result.invited, lang, **said)
    else:
        line = tn(
            "cli.surveys_run.by_dm_so_far", result.invited, lang, asked=progress.asked, **said
        )
    print(line)
    reasons = ", ".join(f"{error} ×{n}" for error, n in sorted(progress.errors.items()))
    reasons = f" ({reasons})" if reasons else ""
    if progress.queued:
        print(tn("cli.surveys_run.queued", progress.queued, lang, reasons=reasons), file=sys.stderr)
    if progress.failed:
        print(tn("cli.surveys_run.failed", progress.failed, lang, reasons=reasons), file=sys.stderr)
    return 0 if progress.done and not progress.failed else 1
