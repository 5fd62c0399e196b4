"""`jerry`: run the bot, migrate the database, manage the routing model."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from bot.admin_files import CommandError
from bot.config import README_SETTINGS, MissingSettingError, Settings
from bot.http_server import ServerLimits

DESCRIPTION = """Jerry, the product-ops facilitator for Slack.

Settings come from the environment or a .env file (see README.md, section Settings)."""

EPILOG = """all commands:
  serve [--port N] [--host H] [--no-migrate]   serve Slack over HTTP (/slack/events, /healthz)
  socket                                       connect in Socket Mode (needs SLACK_APP_TOKEN)
  db upgrade                                   create or migrate the database schema
  doctor                                       check the setup: token, scopes, channels, people,
                                               database, scheduler; say what to fix
  routing import FILE [--dry-run] [--no-check] validate FILE (people checked with Slack) and
                                               replace the routing model with it
  routing export [FILE]                        write the routing model in the import format
  routing init [FILE] [--language en|fr]       write a commented example routing file, to edit
  routing test TEXT [--channel C] [--area A]   show which team some text would go to, and why
  summaries fetch                              fetch every feed now and say what each brought
  summaries import FILE [--dry-run]            validate FILE and replace the subscriptions and feeds
  summaries export [FILE]                      write them back in the import format
  summaries preview NAME [--week W] [--format text|json]
                                               print a subscription's summary (posts nothing)
  summaries send NAME [--week W] [--again]     post a subscription's summary now (once a week)
  surveys import FILE [--dry-run]              validate FILE and replace the pulse surveys with it
  surveys export [FILE]                        write the surveys back in the import format
  surveys init [FILE] [--language en|fr]       write the two template surveys, to edit
  surveys run NAME [--wait SECONDS]            start a round now; say who was asked, who is queued
  surveys results NAME [--round N] [--format text|csv|json]
                                               print a round's results (default: latest closed)
  items import FILE.csv [--skip-invalid] [--route] [--no-check]
                                               import a backlog spreadsheet: one item per row
                                               (columns text, kind, area, reporter, customer,
                                               created_at, external_id, category), routed
                                               silently
  items reindex                                rebuild the similarity index from every item
  items similar TEXT [--limit N] [--format text|json]
                                               print the items most like TEXT, best first
  insights [--period 2026-Q4|2026-11|2026-W48] [--team T] [--format text|json|csv]
                                               the success indicators of a period (default
                                               this quarter) against the previous one
  insights report [--period 2026-11|2026-Q4] [--format md|csv] [--send [--again]]
                                               the product-ops report of a finished month or
                                               quarter: printed, or posted now (once)

`jerry COMMAND --help` describes each command's options."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jerry",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = commands.add_parser(
        "serve", help="serve Slack's HTTP requests on /slack/events (and /healthz)"
    )
    serve.add_argument("--port", type=int, default=3000, help="port to listen on (default 3000)")
    serve.add_argument("--host", default="0.0.0.0", help="address to bind (default 0.0.0.0)")
    serve.add_argument(
        "--no-migrate",
        action="store_true",
        help="do not migrate the schema first; refuse to start if it is behind",
    )
    serve.add_argument(
        "--header-timeout",
        type=float,
        default=ServerLimits.header_seconds,
        metavar="SECONDS",
        help="close a connection whose request headers take longer than this "
        f"(default {ServerLimits.header_seconds:g})",
    )
    serve.add_argument(
        "--keep-alive",
        type=int,
        default=ServerLimits.keep_alive_seconds,
        metavar="SECONDS",
        help=f"close an idle connection after this (default {ServerLimits.keep_alive_seconds})",
    )
    serve.add_argument(
        "--max-connections",
        type=int,
        default=ServerLimits.max_connections,
        metavar="N",
        help="answer 503 beyond this many connections or requests in flight "
        f"(default {ServerLimits.max_connections})",
    )
    serve.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="how much to log (default info)",
    )

    sandbox = commands.add_parser(
        "sandbox",
        help="try Jerry without a Slack workspace: a local Slack in the browser, a demo company",
    )
    sandbox.add_argument(
        "--port", type=int, default=8080, help="port of the page, on 127.0.0.1 (default 8080)"
    )
    sandbox.add_argument(
        "--fresh", action="store_true", help="start over: a new demo company and a week of history"
    )
    sandbox.add_argument(
        "--dir",
        type=Path,
        default=Path(".jerry-sandbox"),
        help="where the sandbox keeps its database and clock (default .jerry-sandbox)",
    )

    socket = commands.add_parser(
        "socket", help="connect to Slack in Socket Mode (needs SLACK_APP_TOKEN)"
    )
    socket.add_argument("--no-migrate", action="store_true", help="do not migrate the schema first")

    commands.add_parser(
        "doctor",
        help="check the setup (token, scopes, channels, people, database, scheduler) "
        "and say what to fix (exit status 1 if anything fails)",
    )

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    upgrade = db_commands.add_parser(
        "upgrade", help="create or migrate the schema to the latest version"
    )
    upgrade.add_argument("--revision", default="head", help=argparse.SUPPRESS)

    routing = commands.add_parser(
        "routing", help="the routing model: teams, leads, areas, keywords, rules"
    )
    routing_commands = routing.add_subparsers(
        dest="routing_command", metavar="ACTION", required=True
    )
    imp = routing_commands.add_parser(
        "import", help="validate FILE and replace the routing model with it, in one transaction"
    )
    imp.add_argument("file", type=Path, help="a routing file (YAML; format in README.md)")
    imp.add_argument(
        "--dry-run", action="store_true", help="validate and show what would change; change nothing"
    )
    imp.add_argument(
        "--no-check",
        action="store_true",
        help="do not ask Slack (users.info) whether every lead and backup is an active person",
    )
    exp = routing_commands.add_parser("export", help="write the routing model in the import format")
    exp.add_argument(
        "file", type=Path, nargs="?", help="where to write it (default: standard output)"
    )
    init = routing_commands.add_parser(
        "init", help="write a commented example routing file to edit, then import"
    )
    init.add_argument(
        "file", type=Path, nargs="?", help="where to write it (default: standard output)"
    )
    init.add_argument(
        "--language",
        choices=["en", "fr"],
        default="en",
        help="the language of its comments and names (default en)",
    )
    test = routing_commands.add_parser(
        "test", help="show which team some text would go to, and why"
    )
    test.add_argument("text", help="the text of a pain point or question")
    test.add_argument("--channel", help="the channel id it was asked in (for channel rules)")
    test.add_argument("--area", help="the product area the reporter chose, if any")
    test.add_argument("--lang", choices=["en", "fr"], help="language of the explanation")

    summaries = commands.add_parser(
        "summaries", help="weekly product-update summaries: subscriptions and feeds"
    )
    summaries_commands = summaries.add_subparsers(
        dest="summaries_command", metavar="ACTION", required=True
    )
    summaries_commands.add_parser(
        "fetch",
        help="fetch every feed now; print, per feed, its new entries or its error "
        "(exit status 1 if any failed)",
    )
    from bot.summaries import cli as summaries_admin

    summaries_admin.add_actions(summaries_commands)

    surveys = commands.add_parser("surveys", help="pulse surveys: the surveys file, rounds")
    surveys_commands = surveys.add_subparsers(
        dest="surveys_command", metavar="ACTION", required=True
    )
    from bot.surveys import cli as surveys_admin

    surveys_admin.add_actions(surveys_commands)
    from bot.surveys import results_cli as survey_results_admin

    survey_results_admin.add_results_action(surveys_commands)

    items = commands.add_parser("items", help="items: import a backlog, the similarity index")
    items_commands = items.add_subparsers(dest="items_command", metavar="ACTION", required=True)
    from bot.intake import importing_cli as items_admin
    from bot.similar import cli as similar_admin

    items_admin.add_actions(items_commands)
    similar_admin.add_actions(items_commands)

    insights = commands.add_parser(
        "insights", help="the success indicators of a period, per team and area"
    )
    from bot.insights import cli as insights_admin

    insights_admin.add_options(insights)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"]).upper()
            print(
                f"jerry: {name} is not valid: {error['msg']} (got {error.get('input')!r}). "
                f"See {README_SETTINGS}.",
                file=sys.stderr,
            )
        return 2
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Alembic announces each of its autogenerate plugins at INFO on every migration: noise.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    # Bolt logs whole request bodies (what people typed, anonymous or not) at INFO, and
    # slack_sdk a line per retried call: a command says what went wrong in one line instead.
    from bot.logs import keep_people_out_of_logs

    keep_people_out_of_logs()
    try:
        if _needs_schema(args):
            asyncio.run(_require_schema(settings))
        return _dispatch(args, settings) or 0
    except MissingSettingError as exc:
        print(f"jerry: {exc}", file=sys.stderr)
        return 2
    except CommandError as exc:
        from bot.text import plain_for_terminal

        print(f"jerry: {plain_for_terminal(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace, settings: Settings) -> int | None:
    if args.command == "serve":
        limits = ServerLimits(
            header_seconds=args.header_timeout,
            keep_alive_seconds=args.keep_alive,
            max_connections=args.max_connections,
        )
        return _serve(
            settings,
            args.host,
            args.port,
            migrate=not args.no_migrate,
            log_level=args.log_level,
            limits=limits,
        )
    if args.command == "socket":
        return asyncio.run(_socket(settings, migrate=not args.no_migrate))
    if args.command == "sandbox":
        from bot.sandbox.runner import run_sandbox

        return asyncio.run(run_sandbox(args.dir.resolve(), args.port, fresh=args.fresh))
    if args.command == "doctor":
        return asyncio.run(_doctor(settings))
    if args.command == "db":
        from bot.db import upgrade_sync

        upgrade_sync(settings.database_url, args.revision)
        print(f"jerry: database at {_safe_url(settings.database_url)} is up to date")
        return 0
    if args.command == "routing":
        from bot.intake import routing_cli as routing_admin

        if args.routing_command == "import":
            return asyncio.run(
                routing_admin.import_file(
                    settings,
                    args.file,
                    dry_run=args.dry_run,
                    people_check=None
                    if args.no_check
                    else routing_admin.slack_people_check(settings),
                    welcome=True,
                )
            )
        if args.routing_command == "export":
            return asyncio.run(routing_admin.export_file(settings, args.file))
        if args.routing_command == "init":
            return asyncio.run(routing_admin.init_file(args.file, language=args.language))
        if args.routing_command == "test":
            return asyncio.run(
                routing_admin.test_text(
                    settings,
                    args.text,
                    channel=args.channel,
                    area=args.area,
                    lang=args.lang or settings.jerry_language,
                )
            )
    if args.command == "summaries" and args.summaries_command != "fetch":
        from bot.summaries import cli as summaries_admin

        return summaries_admin.run(args, settings)
    if args.command == "surveys" and args.surveys_command == "results":
        from bot.surveys import results_cli as survey_results_admin

        return survey_results_admin.run_results(args, settings)
    if args.command == "surveys" and args.surveys_command in surveys_admin_actions():
        from bot.surveys import cli as surveys_admin

        return surveys_admin.run(args, settings)
    if args.command == "items" and args.items_command == "import":
        from bot.intake import importing_cli as items_admin

        return items_admin.run(args, settings)
    if args.command == "items":
        from bot.similar import cli as similar_admin

        return similar_admin.run(args, settings)
    if args.command == "insights":
        from bot.insights import cli as insights_admin

        return insights_admin.run(args, settings)
    if args.command == "summaries" and args.summaries_command == "fetch":
        from bot.updates.feeds import fetch_command

        return asyncio.run(fetch_command(settings))
    return 2


# Commands that work without Jerry's tables: the schema's own, the ones that check it
# themselves (serve and socket migrate first), and writing a template file.
NO_SCHEMA_NEEDED = {
    ("db",),
    ("serve",),
    ("socket",),
    ("sandbox",),
    ("doctor",),
    ("surveys", "init"),
    ("routing", "init"),
}


def _needs_schema(args: argparse.Namespace) -> bool:
    command = args.command
    action = getattr(args, f"{command}_command", None)
    return (command,) not in NO_SCHEMA_NEEDED and (command, action) not in NO_SCHEMA_NEEDED


async def _require_schema(settings: Settings) -> None:
    """Refuse, in one line, a command whose tables do not exist yet or are older than the
    code (instead of a traceback from the first query)."""
    from bot.i18n import t
    from bot.schema import code_heads, schema_is_current

    lang = settings.jerry_language
    state = await schema_is_current(settings.database_url, code_heads(settings.database_url))
    if state is None:
        raise CommandError(
            t("cli.setup.database_unreachable", lang, url=_safe_url(settings.database_url))
        )
    if not state:
        raise CommandError(t("cli.setup.schema_behind", lang, url=_safe_url(settings.database_url)))


async def _refuse_bad_token(settings: Settings) -> None:
    """Stop at start when Slack says the bot token is bad; an outage does not stop Jerry
    (it keeps asking who it is in the background: bot/app.py, BotIdentity)."""
    from bot.i18n import t
    from bot.slack import token_refused

    refused = await token_refused(settings.slack_bot_token, settings.slack_api_url)
    if refused is not None:
        raise CommandError(t("cli.setup.token_refused", settings.jerry_language, code=refused))


async def _doctor(settings: Settings) -> int:
    from bot.app import scheduled_jobs
    from bot.doctor import Setup, run_checks
    from bot.i18n import t, tn
    from bot.text import plain_for_terminal

    lang = settings.jerry_language
    checks = await run_checks(Setup(settings, scheduled_jobs(settings), lang))
    lines = []
    for check in checks:
        if check.ok:
            lines.append(t("doctor.line_ok", lang, what=check.what))
        elif check.fix:
            lines.append(t("doctor.line_fix", lang, what=check.what, fix=check.fix))
        else:
            lines.append(t("doctor.line_failed", lang, what=check.what))
    failed = sum(not check.ok for check in checks)
    if failed:
        lines.append(tn("doctor.summary_failed", failed, lang))
    else:
        lines.append(t("doctor.summary_ok", lang))
    print("\n".join(plain_for_terminal(line) for line in lines))
    return 1 if failed else 0


def surveys_admin_actions() -> tuple[str, ...]:
    from bot.surveys.cli import ACTIONS

    return ACTIONS


def _safe_url(url: str) -> str:
    """A database URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


async def _check_schema(settings: Settings, *, migrate: bool) -> None:
    from bot.schema import ensure_schema, schema_is_current

    if migrate:
        try:
            await ensure_schema(settings.database_url)
        except OSError as exc:
            raise CommandError(
                f"cannot reach the database at {_safe_url(settings.database_url)}: {exc}"
            ) from exc
    state = await schema_is_current(settings.database_url)
    if state is None:
        raise CommandError(f"cannot reach the database at {_safe_url(settings.database_url)}")
    if not state:
        from bot.i18n import t

        raise CommandError(
            t(
                "cli.setup.schema_behind",
                settings.jerry_language,
                url=_safe_url(settings.database_url),
            )
        )


def _serve(
    settings: Settings,
    host: str,
    port: int,
    *,
    migrate: bool,
    log_level: str = "info",
    limits: ServerLimits | None = None,
) -> int:
    import uvicorn

    from bot.app import create_app
    from bot.http_server import uvicorn_options

    settings.require_http()
    asyncio.run(_refuse_bad_token(settings))
    asyncio.run(_check_schema(settings, migrate=migrate))
    jerry = create_app(settings)
    # Debug shows Jerry's own lines; the libraries' debug output stays off (bot/logs.py).
    logging.getLogger().setLevel(log_level.upper())
    options = uvicorn_options(limits or ServerLimits())
    uvicorn.run(jerry.asgi, host=host, port=port, log_level=log_level, **options)
    return 0


async def _socket(settings: Settings, *, migrate: bool) -> int:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    from bot.app import create_app

    settings.require_socket()
    await _refuse_bad_token(settings)
    await _check_schema(settings, migrate=migrate)
    jerry = create_app(settings)
    await jerry.start()
    try:
        await AsyncSocketModeHandler(jerry.bolt, settings.slack_app_token).start_async()
    finally:
        await jerry.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
