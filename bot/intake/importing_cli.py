"""What `jerry items import` does: a backlog spreadsheet (CSV) into Jerry (bot/intake/importing.py).

jerry items import FILE.csv [--skip-invalid] [--route] [--no-check]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError

from bot.admin_files import CommandError, in_session, print_for_terminal
from bot.config import MissingSettingError, Settings
from bot.i18n import t, tn
from bot.intake.importing import (
    COLUMNS,
    ImportReport,
    ParsedFile,
    People,
    Problem,
    needs_slack,
    parse_file,
    resolve_reporters,
    store_rows,
)
from bot.intake.routing_store import load_routing_model

ACTIONS = ("import",)


def add_actions(actions: Any) -> None:
    """`jerry items import` in the CLI's parser (`actions` is the `items` command's
    subparsers object)."""
    imp = actions.add_parser(
        "import",
        help="import a backlog spreadsheet (CSV): one item per row, routed silently",
        description="Import a backlog from a CSV file with a header row. Columns: "
        f"{', '.join(COLUMNS)} (only text is required; kind is pain_point or question). "
        "Importing the same file again adds only the rows whose external_id is new. "
        "Nothing is imported when a row is invalid, unless --skip-invalid.",
    )
    imp.add_argument("file", type=Path, help="a CSV file (UTF-8; commas or semicolons)")
    imp.add_argument(
        "--skip-invalid",
        action="store_true",
        help="import the valid rows and list each invalid line with its reason",
    )
    imp.add_argument(
        "--route",
        action="store_true",
        help="send each item's lead the usual DM (default: nobody is told; reporters never are)",
    )
    imp.add_argument(
        "--no-check",
        action="store_true",
        help="do not ask Slack (users.info) whether each reporter's user id exists "
        "(reporters given by email are always looked up)",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the `jerry items` action parsed into `args` (import)."""
    return asyncio.run(
        import_command(
            settings,
            args.file,
            skip_invalid=args.skip_invalid,
            route=args.route,
            check_ids=not args.no_check,
        )
    )


async def import_command(
    settings: Settings,
    path: Path,
    *,
    skip_invalid: bool = False,
    route: bool = False,
    check_ids: bool = True,
) -> int:
    """Check the whole file, then import it in one transaction; the exit status (1: the
    file has problems and nothing was imported)."""
    lang = settings.jerry_language
    data = await _read(path, lang)
    model = await in_session(settings, load_routing_model)
    if model is None:
        raise CommandError(t("cli.items_import.no_model", lang))
    parsed = parse_file(data, model, lang)
    if not parsed.unreadable:
        parsed.drop_invalid()
        if needs_slack(parsed.rows, check_ids=check_ids):
            await resolve_reporters(parsed, _slack_people(settings, check_ids, lang), lang)
        else:
            await resolve_reporters(parsed, People(email=None), lang)
    problems = parsed.sorted_problems()
    if problems and (parsed.unreadable or not skip_invalid):
        _print_problems(path, problems, lang, unreadable=parsed.unreadable)
        return 1
    parsed.drop_invalid()

    async def store(session: Any) -> ImportReport:
        # The model again, in the import's transaction: its ids as they are now.
        stored = await load_routing_model(session)
        if stored is None:
            raise CommandError(t("cli.items_import.no_model", lang))
        report = await store_rows(
            session, parsed.rows, stored, source=path.name, route=route, language=lang
        )
        await session.commit()
        return report

    try:
        report = await in_session(settings, store)
    except IntegrityError as exc:
        raise CommandError(t("cli.items_import.raced", lang, path=path)) from exc
    await _print_report(settings, path, report, problems, parsed, lang)
    return 0


async def _read(path: Path, lang: str) -> bytes:
    try:
        return await asyncio.to_thread(path.read_bytes)
    except FileNotFoundError as exc:
        raise CommandError(t("cli.items_import.missing", lang, path=path)) from exc
    except OSError as exc:
        raise CommandError(
            t("cli.items_import.unreadable", lang, path=path, error=exc.strerror or exc)
        ) from exc


def _slack_people(settings: Settings, check_ids: bool, lang: str) -> People:
    """Slack's answers about reporters, through the client other commands build; a failure
    to ask stops the command in one line (nothing imported)."""
    if not settings.slack_bot_token:
        raise MissingSettingError(
            "SLACK_BOT_TOKEN",
            "the file names reporters, and Jerry asks Slack who they are "
            "(users.lookupByEmail, users.info; --no-check skips user ids)",
        )
    from bot.slack import (
        SLACK_FAILURES,
        UNKNOWN,
        classify,
        slack_client,
        user_id_by_email,
        user_standing,
    )

    client = slack_client(settings)

    async def email(address: str) -> str | None:
        try:
            return await user_id_by_email(client, address)
        except SLACK_FAILURES as exc:
            raise CommandError(
                t("cli.items_import.slack_failed", lang, who=address, code=classify(exc).code)
            ) from exc

    async def user(user_id: str) -> bool:
        try:
            return await user_standing(client, user_id) != UNKNOWN
        except SLACK_FAILURES as exc:
            raise CommandError(
                t("cli.items_import.slack_failed", lang, who=user_id, code=classify(exc).code)
            ) from exc

    return People(email=email, user=user if check_ids else None)


def _problem_line(path: Path, problem: Problem, lang: str) -> str:
    if not problem.line:
        return t("cli.items_import.file_problem", lang, path=path, message=problem.message)
    if not problem.column:
        return t(
            "cli.items_import.line_problem",
            lang,
            path=path,
            line=problem.line,
            message=problem.message,
        )
    return t(
        "cli.items_import.cell_problem",
        lang,
        path=path,
        line=problem.line,
        column=problem.column,
        message=problem.message,
    )


def _print_problems(path: Path, problems: list[Problem], lang: str, *, unreadable: bool) -> None:
    lines = [_problem_line(path, problem, lang) for problem in problems]
    if unreadable:  # not a backlog at all: skipping rows would not help
        lines.append(t("cli.items_import.nothing_imported", lang, path=path))
    else:
        lines.append(tn("cli.items_import.refused", len(problems), lang, path=path))
    sys.stderr.write("\n".join(lines) + "\n")


def grouped(count: int, lang: str) -> str:
    """A count with its thousands marked as the language does: 9,998 / 9 998."""
    text = f"{count:,}"
    return text.replace(",", "\u202f") if lang == "fr" else text


async def _print_report(
    settings: Settings,
    path: Path,
    report: ImportReport,
    problems: list[Problem],
    parsed: ParsedFile,
    lang: str,
) -> None:
    lines = []
    skipped_lines = sorted({problem.line for problem in problems})
    if skipped_lines:
        for problem in problems:
            lines.append(
                t("cli.items_import.skipped_line", lang, problem=_problem_line(path, problem, lang))
            )
    imported = tn(
        "cli.items_import.imported",
        report.imported,
        lang,
        n=grouped(report.imported, lang),
        path=path,
    )
    if report.already:
        imported += tn(
            "cli.items_import.already", report.already, lang, n=grouped(report.already, lang)
        )
    if skipped_lines:
        imported += tn(
            "cli.items_import.skipped",
            len(skipped_lines),
            lang,
            n=grouped(len(skipped_lines), lang),
        )
    lines.append(imported)
    if report.routed:
        where = ", ".join(
            t("cli.items_import.routed_to", lang, n=grouped(count, lang), where=name)
            for name, count in report.routed.items()
        )
        key = (
            "cli.items_import.routed_told"
            if report.told_leads
            else "cli.items_import.routed_silently"
        )
        lines.append(t(key, lang, where=where))
    await print_for_terminal(settings, "\n".join(lines))
