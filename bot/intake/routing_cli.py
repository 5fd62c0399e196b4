"""What the `jerry routing …` commands do: import, export and test the routing model."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

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
from bot.i18n import t
from bot.intake.routing import RoutingModel, decide, explain
from bot.intake.routing_file import RoutingFileError, dump, parse, resolve_emails
from bot.intake.routing_store import ReplaceSummary, load_routing_model, replace_routing_model


class RoutingCommandError(Exception):
    pass


def _needs_lookup(model: RoutingModel) -> bool:
    teams = (model.triage, *model.teams)
    return any("@" in (team.lead or "") or "@" in (team.backup or "") for team in teams)


async def import_file(settings: Settings, path: Path, *, dry_run: bool = False) -> int:
    from bot.intake.service import route_waiting_items

    text = await read_file(path)
    try:
        model = parse(text, source=str(path))
        if _needs_lookup(model):
            model = await resolve_emails(model, await _email_lookup(settings))
    except RoutingFileError as exc:
        return print_problems(path, exc, "the routing model was not changed")

    async def replace(session: AsyncSession) -> tuple[ReplaceSummary, int]:
        summary = await replace_routing_model(session, model)
        await session.flush()
        stored = await load_routing_model(session)
        routed = await route_waiting_items(session, stored) if stored is not None else 0
        return summary, routed

    summary, routed = await change_in_one_transaction(settings, replace, dry_run=dry_run)
    print_imported(path, summary, dry_run=dry_run)
    if routed:
        print(
            f"jerry: {routed} waiting item(s) {'would be' if dry_run else 'were'} routed; "
            "the running bot sends their DMs within a minute"
        )
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
