"""What the `jerry routing …` commands do: import, export and test the routing model."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

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
from bot.config_file import FileProblem
from bot.i18n import t, tn
from bot.intake.routing import RoutingModel, decide, explain
from bot.intake.routing_file import (
    RoutingFileError,
    dump,
    parse,
    people_named,
    resolve_emails,
)
from bot.intake.routing_store import ReplaceSummary, load_routing_model, replace_routing_model

if TYPE_CHECKING:
    from bot.slack import AsyncWebClient


class RoutingCommandError(Exception):
    pass


def _needs_lookup(model: RoutingModel) -> bool:
    teams = (model.triage, *model.teams)
    return any("@" in (team.lead or "") or "@" in (team.backup or "") for team in teams)


# What Slack says of one person (users.info): bot.slack.ACTIVE, UNKNOWN, DEACTIVATED or A_BOT;
# a failure to ask is raised (one of bot.slack.SLACK_FAILURES).
PersonCheck = Callable[[str], Awaitable[str]]


def slack_people_check(settings: Settings) -> PersonCheck:
    """Ask Slack (users.info) about each person the routing file names. The token is needed
    at the first question only: a file with problems is reported without one."""
    clients: list[AsyncWebClient] = []

    async def check(user_id: str) -> str:
        from bot.slack import slack_client, user_standing

        if not clients:
            if not settings.slack_bot_token:
                raise MissingSettingError(
                    "SLACK_BOT_TOKEN",
                    "the import asks Slack (users.info) whether every person the file names "
                    "is active (or import with --no-check)",
                )
            clients.append(slack_client(settings))
        return await user_standing(clients[0], user_id)

    return check


async def check_people(
    model: RoutingModel, text: str, check: PersonCheck, lang: str, source: str
) -> None:
    """Refuse (RoutingFileError, each person with their line and team) a file naming someone
    Slack does not know, a deactivated account or a bot; a CommandError in one line when
    Slack cannot be asked."""
    from bot.slack import ACTIVE, SLACK_FAILURES, classify

    standing: dict[str, str] = {}
    problems = []
    for person in people_named(model, text):
        if person.user_id not in standing:
            try:
                standing[person.user_id] = await check(person.user_id)
            except SLACK_FAILURES as exc:
                raise CommandError(
                    t(
                        "cli.routing_people.unreachable",
                        lang,
                        user=person.user_id,
                        code=classify(exc).code,
                    )
                ) from exc
        state = standing[person.user_id]
        if state == ACTIVE:
            continue
        role = (
            t("cli.routing_people.role.triage", lang)
            if person.field == "triage.lead"
            else t(f"cli.routing_people.role.{person.role}", lang, team=person.team)
        )
        message = t(f"cli.routing_people.{state}", lang, role=role, user=person.user_id)
        problems.append(FileProblem(person.line, person.field, message))
    if problems:
        raise RoutingFileError(problems, source)


async def import_file(
    settings: Settings,
    path: Path,
    *,
    dry_run: bool = False,
    people_check: PersonCheck | None = None,
    welcome: bool = False,
) -> int:
    """`jerry routing import`: check the file (and with `people_check`, every person it
    names), replace the model in one transaction, route the items waiting for one; with
    `welcome`, owe each lead and backup named for a team for the first time their welcome
    DM (bot/intake/welcome.py). The CLI passes both; tests seeding a model pass neither."""
    from bot.intake.service import route_waiting_items
    from bot.intake.welcome import owe_welcomes

    lang = settings.jerry_language
    text = await read_file(path)
    try:
        model = parse(text, source=str(path))
        if _needs_lookup(model):
            model = await resolve_emails(model, await _email_lookup(settings))
        if people_check is not None:
            await check_people(model, text, people_check, lang, str(path))
    except RoutingFileError as exc:
        return print_problems(path, exc, "routing", lang)

    async def replace(session: AsyncSession) -> tuple[ReplaceSummary, int, int]:
        summary = await replace_routing_model(session, model)
        await session.flush()
        stored = await load_routing_model(session)
        routed = await route_waiting_items(session, stored) if stored is not None else 0
        welcomed = await owe_welcomes(session, stored) if welcome and stored is not None else 0
        return summary, routed, welcomed

    summary, routed, welcomed = await change_in_one_transaction(settings, replace, dry_run=dry_run)
    print_imported(path, summary, dry_run=dry_run)
    if routed:
        key = "cli.routing_import.routed_dry_run" if dry_run else "cli.routing_import.routed"
        print(tn(key, routed, lang))
    if welcomed:
        key = "cli.routing_people.welcome_dry_run" if dry_run else "cli.routing_people.welcome_owed"
        print(tn(key, welcomed, lang))
    return 0


async def _email_lookup(settings: Settings) -> Callable[[str], Awaitable[str | None]]:
    if not settings.slack_bot_token:
        raise MissingSettingError(
            "SLACK_BOT_TOKEN",
            "the routing file names leads by email, "
            "and Jerry asks Slack (users.lookupByEmail) who they are",
        )
    from bot.slack import TRANSPORT_ERRORS, classify, slack_client, user_id_by_email

    client = slack_client(settings)

    async def lookup(email: str) -> str | None:
        from bot.slack import SlackApiError

        try:
            return await user_id_by_email(client, email)
        except SlackApiError as exc:
            raise CommandError(
                f"Slack could not look up {email} (users.lookupByEmail: {classify(exc).code})"
            ) from exc
        except TRANSPORT_ERRORS as exc:
            raise CommandError(f"Slack could not be reached to look up {email}: {exc}") from exc

    return lookup


async def init_file(path: Path | None, *, language: str = "en") -> int:
    """`jerry routing init`: a commented example routing file, never over an existing one."""
    import asyncio

    from bot.intake.routing_file import example_file

    if path is not None and await asyncio.to_thread(path.exists):
        raise CommandError(t("cli.routing_init.exists", language, path=path))
    return await write_file(example_file(language), path, "an example routing file")


async def export_file(settings: Settings, path: Path | None) -> int:
    model = await in_session(settings, load_routing_model)
    if model is None:
        raise CommandError(
            "there is no routing model yet: import one with `jerry routing import FILE`"
        )
    return await write_file(dump(model), path, "the routing model")


async def test_text(
    settings: Settings, text: str, *, channel: str | None, area: str | None, lang: str
) -> int:

    model = await in_session(settings, load_routing_model)
    if model is None:
        raise CommandError(
            "there is no routing model yet: import one with `jerry routing import FILE`"
        )
    if area and model.area(area) is None:
        raise CommandError(f"there is no area named {area!r}")
    decision = decide(model, text, channel=channel, chosen_area=area)
    target = decision.team.name + (f" / {decision.area.name}" if decision.area else "")
    lead = t("cli.routing_test.lead", lang, lead=f"<@{decision.team.lead}>")
    why = explain(decision.step, decision.detail, lang)
    await print_for_terminal(
        settings,
        f"{t('cli.routing_test.team', lang)}: {target} ({lead})\n"
        f"{t('cli.routing_test.why', lang)}: {why}",
    )
    return 0
