"""What the `jerry summaries …` commands do: import, export, preview and send summaries.

jerry summaries import FILE [--dry-run]
jerry summaries export [FILE]
jerry summaries preview NAME [--week 2026-W48] [--format text|json]   (default: the next post)
jerry summaries send NAME [--week 2026-W48] [--again]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.admin_files import (
    CommandError,
    change_in_one_transaction,
    in_session,
    print_for_terminal,
    print_imported,
    print_problems,
    read_file,
    write_file,
)
from bot.config import MissingSettingError, Settings
from bot.db import create_engine, session_factory
from bot.i18n import t, tn
from bot.summaries.file import SummariesFileError, dump, parse
from bot.summaries.store import (
    ReplaceSummary,
    area_names,
    load_summaries_config,
    replace_summaries_config,
)
from models.base import utcnow

ACTIONS = ("import", "export", "preview", "send")


def add_actions(actions: Any) -> None:
    """`jerry summaries import|export|preview|send` in the CLI's parser (`actions` is the
    `summaries` command's subparsers object)."""
    imp = actions.add_parser(
        "import",
        help="validate FILE and replace the subscriptions and feeds with it, in one transaction",
    )
    imp.add_argument("file", type=Path, help="a summaries file (YAML; format in README.md)")
    imp.add_argument(
        "--dry-run", action="store_true", help="validate and show what would change; change nothing"
    )
    exp = actions.add_parser(
        "export", help="write the subscriptions and feeds in the import format"
    )
    exp.add_argument(
        "file", type=Path, nargs="?", help="where to write it (default: standard output)"
    )
    preview = actions.add_parser(
        "preview",
        help="print a subscription's next post as it stands, or a week's "
        "(posts nothing, records nothing)",
    )
    preview.add_argument("name", help="the subscription's name")
    preview.add_argument(
        "--week", help="an ISO week like 2026-W48 (default: the next post, so far)"
    )
    preview.add_argument(
        "--format", choices=["text", "json"], default="text", help="text (default) or json"
    )
    send = actions.add_parser(
        "send", help="post a subscription's summary now (at most once a week unless --again)"
    )
    send.add_argument("name", help="the subscription's name")
    send.add_argument("--week", help="an ISO week like 2026-W48 (default: this week)")
    send.add_argument(
        "--again", action="store_true", help="post it even if this week's was posted already"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the `jerry summaries` action parsed into `args`."""
    action = args.summaries_command
    if action == "import":
        return asyncio.run(import_file(settings, args.file, dry_run=args.dry_run))
    if action == "export":
        return asyncio.run(export_file(settings, args.file))
    if action == "preview":
        return asyncio.run(preview(settings, args.name, week=args.week, fmt=args.format))
    if action == "send":
        return asyncio.run(send(settings, args.name, week=args.week, again=args.again))
    return 2


async def import_file(
    settings: Settings, path: Path, *, dry_run: bool = False, now: datetime | None = None
) -> int:
    text = await read_file(path)
    known: list[str] = []

    async def replace(session: AsyncSession) -> ReplaceSummary:
        # Area names are checked against the routing model, so parsing needs the database.
        known.extend(await area_names(session))
        config = parse(text, source=str(path), areas=known)
        return await replace_summaries_config(session, config, now=now or utcnow())

    try:
        summary = await change_in_one_transaction(settings, replace, dry_run=dry_run)
    except SummariesFileError as exc:
        no_model = not known and "routing model" in str(exc)
        unchanged = "summaries_no_model" if no_model else "summaries"
        return print_problems(path, exc, unchanged, settings.jerry_language)
    print_imported(path, summary, dry_run=dry_run)
    return 0


async def export_file(settings: Settings, path: Path | None) -> int:
    config = await in_session(settings, load_summaries_config)
    return await write_file(dump(config), path, "the summaries")


async def preview(
    settings: Settings,
    name: str,
    *,
    week: str | None = None,
    fmt: str = "text",
    now: datetime | None = None,
) -> int:
    from bot.summaries.posting import SummaryError, preview_summary
    from bot.views.summary import summary_json, summary_text

    engine = create_engine(settings.database_url)
    try:
        found = await preview_summary(session_factory(engine), name, week=week, now=now or utcnow())
    except SummaryError as exc:
        raise CommandError(str(exc)) from exc
    finally:
        await engine.dispose()
    if fmt == "json":
        sys.stdout.write(json.dumps(summary_json(found.summary), ensure_ascii=False, indent=2))
        sys.stdout.write("\n")
    else:
        await print_for_terminal(settings, summary_text(found.summary, found.language))
    return 0


async def send(
    settings: Settings,
    name: str,
    *,
    week: str | None = None,
    again: bool = False,
    now: datetime | None = None,
) -> int:
    from bot.services import build_services
    from bot.summaries.posting import SummaryError, post_summary

    if not settings.slack_bot_token:
        raise MissingSettingError("SLACK_BOT_TOKEN", "Jerry posts the summary to Slack")
    services = build_services(settings)
    try:
        result = await post_summary(services, name, week, again=again, now=now or utcnow())
    except SummaryError as exc:
        raise CommandError(str(exc)) from exc
    finally:
        await services.engine.dispose()
    where = result.channel or "?"
    if result.status == "posted":
        # The replies are the outbox's: the running bot posts them (this command only owes them).
        lang = settings.jerry_language
        replies = tn("cli.summaries_post.replies", result.replies, lang) if result.replies else ""
        said = {"name": result.subscription, "week": result.week, "channel": where}
        print(t("cli.summaries_post.posted", lang, ts=result.ts, replies=replies, **said))
        if result.error:
            print(f"jerry: but {result.error}", file=sys.stderr)
        return 0
    if result.status == "already_posted":
        raise CommandError(
            f"{result.subscription} was already posted for {result.week} (ts {result.ts}); "
            "use --again to post it once more"
        )
    if result.status == "in_progress":
        raise CommandError(
            f"{result.subscription} for {result.week} is being posted by another Jerry right now"
        )
    if result.status == "unpostable":
        raise CommandError(
            f"Jerry cannot post in {result.channel} ({result.error}): {result.subscription} is "
            "paused and product ops' triage channel was told; invite Jerry or change the "
            "channel, then import the summaries file again"
        )
    if result.status == "retry":
        raise CommandError(
            f"Slack could not take the summary now ({result.error}); nothing was posted, "
            "try again (the running bot also retries at the next minute if it is due)"
        )
    raise CommandError(f"{result.subscription} for {result.week} was not posted: {result.error}")
