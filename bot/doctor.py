"""`jerry doctor`: every setup check, each with what to fix when it fails.

The checks take the settings and return plain data (`Check`), one per line of the report;
the CLI prints them. Nothing is changed anywhere: Slack is only asked (auth.test,
conversations.info, users.info) and the database only read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.db import create_engine, session_factory
from bot.i18n import t, tn
from bot.intake.routing_store import load_routing_model
from bot.scheduler_store import get_job
from bot.slack import (
    ACTIVE,
    BAD_TOKEN_ERRORS,
    SLACK_FAILURES,
    AsyncWebClient,
    classify,
    granted_scopes,
    user_standing,
)
from bot.trackers.connection import Trackers
from bot.trackers.domain import TrackerError
from models.base import utcnow
from models.routing import Team
from models.summaries import SummarySubscription
from models.surveys import Survey

# manifest.yml, the scopes Jerry asks for: at the top of a source checkout, else the copy
# the Docker image installs inside the `bot` package (Dockerfile, pyproject's package-data).
MANIFEST = Path(__file__).resolve().parents[1] / "manifest.yml"
PACKAGED_MANIFEST = Path(__file__).resolve().parent / "manifest.yml"
# A scheduled run claimed this long ago and never finished: its process died mid-run.
STUCK_AFTER = timedelta(hours=1)
DOCTOR_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Check:
    ok: bool
    what: str  # what was checked and found
    fix: str = ""  # what to do about it, when not ok


@dataclass(frozen=True)
class Setup:
    """What the checks need to know besides Slack: the settings, and the jobs a running Jerry
    schedules (name → seconds between runs)."""

    settings: Settings
    jobs: dict[str, float]
    lang: str


def manifest_scopes(path: Path | None = None) -> set[str] | None:
    """The bot scopes manifest.yml asks for; None when the file is not there."""
    if path is None:
        path = MANIFEST if MANIFEST.exists() else PACKAGED_MANIFEST
    try:
        manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    scopes = (((manifest or {}).get("oauth_config") or {}).get("scopes") or {}).get("bot") or []
    return {str(scope) for scope in scopes}


async def run_checks(setup: Setup) -> list[Check]:
    settings, lang = setup.settings, setup.lang
    checks = [_signing_secret(settings, lang)]
    client = AsyncWebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=DOCTOR_TIMEOUT_SECONDS,
    )
    token_ok = await _token_and_scopes(client, settings, lang, checks)
    database_ok = await _database(settings, lang, checks)
    if not database_ok:
        return checks
    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine)() as session:
            if token_ok:
                checks += await _channels(session, client, lang)
                checks += await _people(session, client, lang)
            checks += await _scheduler(session, setup.jobs, lang)
            checks += await _trackers(session, settings, lang)
    finally:
        await engine.dispose()
    return checks


async def _trackers(session: AsyncSession, settings: Settings, lang: str) -> list[Check]:
    """Each team's Jira project or Linear team: its tracker connected, and the project there
    for Jerry's service account."""
    trackers = Trackers(settings)
    teams = (
        await session.execute(
            select(Team).where(
                Team.archived.is_(False),
                (Team.jira_project.is_not(None)) | (Team.linear_team.is_not(None)),
            )
        )
    ).scalars()
    checks: list[Check] = []
    for team in teams:
        tracker = "jira" if team.jira_project else "linear"
        project = team.jira_project or team.linear_team or ""
        name = "Jira" if tracker == "jira" else "Linear"
        if not trackers.is_connected(tracker):
            checks.append(
                Check(
                    False,
                    t("doctor.tracker.not_connected", lang, team=team.name, tracker=name),
                    t(f"doctor.tracker.{tracker}_fix", lang),
                )
            )
            continue
        try:
            async with trackers.client(tracker) as tracker_api:
                await tracker_api.check_project(project)
        except TrackerError as exc:
            checks.append(
                Check(
                    False,
                    t(
                        "doctor.tracker.refused",
                        lang,
                        team=team.name,
                        tracker=name,
                        project=project,
                        error=f"{exc.code} {exc.message}".strip(),
                    ),
                    t("doctor.tracker.refused_fix", lang, tracker=name),
                )
            )
            continue
        checks.append(
            Check(True, t("doctor.tracker.ok", lang, team=team.name, tracker=name, project=project))
        )
    return checks


def _signing_secret(settings: Settings, lang: str) -> Check:
    if settings.slack_signing_secret:
        return Check(True, t("doctor.secret.ok", lang))
    if settings.slack_app_token:
        return Check(True, t("doctor.secret.socket", lang))
    return Check(False, t("doctor.secret.missing", lang), t("doctor.secret.fix", lang))


async def _token_and_scopes(
    client: AsyncWebClient, settings: Settings, lang: str, checks: list[Check]
) -> bool:
    if not settings.slack_bot_token:
        checks.append(Check(False, t("doctor.token.missing", lang), t("doctor.token.fix", lang)))
        return False
    try:
        response = await client.auth_test()
    except SLACK_FAILURES as exc:
        failure = classify(exc)
        if failure.code in BAD_TOKEN_ERRORS:
            checks.append(
                Check(
                    False,
                    t("doctor.token.refused", lang, code=failure.code),
                    t("doctor.token.fix", lang),
                )
            )
        else:
            checks.append(
                Check(
                    False,
                    t("doctor.token.unreachable", lang, code=failure.code),
                    t("doctor.token.unreachable_fix", lang, url=settings.slack_api_url),
                )
            )
        return False
    checks.append(
        Check(
            True,
            t(
                "doctor.token.ok",
                lang,
                user=response.get("user") or response.get("user_id"),
                team=response.get("team") or response.get("team_id"),
            ),
        )
    )
    checks.append(_scopes(granted_scopes(response.headers), manifest_scopes(), lang))
    return True


def _scopes(granted: set[str] | None, wanted: set[str] | None, lang: str) -> Check:
    if wanted is None:  # an installed package (the Docker image) has no manifest beside it
        return Check(True, t("doctor.scopes.no_manifest", lang, path=MANIFEST))
    if granted is None:
        return Check(False, t("doctor.scopes.unknown", lang), t("doctor.scopes.fix", lang))
    missing = sorted(wanted - granted)
    if missing:
        return Check(
            False,
            tn("doctor.scopes.missing", len(missing), lang, scopes=", ".join(missing)),
            t("doctor.scopes.fix", lang),
        )
    return Check(True, tn("doctor.scopes.ok", len(wanted), lang))


async def _database(settings: Settings, lang: str, checks: list[Check]) -> bool:
    from bot.schema import code_heads, schema_is_current

    state = await schema_is_current(settings.database_url, code_heads(settings.database_url))
    if state is None:
        checks.append(
            Check(False, t("doctor.database.unreachable", lang), t("doctor.database.url_fix", lang))
        )
    elif not state:
        checks.append(
            Check(False, t("doctor.database.behind", lang), t("doctor.database.upgrade_fix", lang))
        )
    else:
        checks.append(Check(True, t("doctor.database.ok", lang)))
    return bool(state)


async def _channels_jerry_must_be_in(session: AsyncSession, lang: str) -> dict[str, str]:
    """Channel id → what Jerry posts there (the first reason found)."""
    channels: dict[str, str] = {}
    model = await load_routing_model(session)
    if model is not None and model.triage.channel:
        channels.setdefault(model.triage.channel, t("doctor.channel.triage", lang))
    subscriptions = await session.scalars(
        select(SummarySubscription).where(SummarySubscription.status != "archived")
    )
    for subscription in subscriptions:
        channels.setdefault(
            subscription.channel, t("doctor.channel.summary", lang, name=subscription.name)
        )
    for survey in await session.scalars(select(Survey).where(Survey.archived.is_(False))):
        channels.setdefault(
            survey.owner_channel, t("doctor.channel.survey_results", lang, name=survey.name)
        )
        if survey.deliver_in != "dm":
            channels.setdefault(
                survey.deliver_in, t("doctor.channel.survey_round", lang, name=survey.name)
            )
    return channels


async def _channels(session: AsyncSession, client: AsyncWebClient, lang: str) -> list[Check]:
    checks = []
    for channel, purpose in (await _channels_jerry_must_be_in(session, lang)).items():
        try:
            info: dict[str, Any] = (await client.conversations_info(channel=channel)).get(
                "channel"
            ) or {}
        except SLACK_FAILURES as exc:
            code = classify(exc).code
            checks.append(
                Check(
                    False,
                    t(
                        "doctor.channel.unreadable",
                        lang,
                        channel=channel,
                        purpose=purpose,
                        code=code,
                    ),
                    t("doctor.channel.unreadable_fix", lang),
                )
            )
            continue
        name = f"#{info.get('name') or channel}"
        if info.get("is_archived"):
            checks.append(
                Check(
                    False,
                    t("doctor.channel.archived", lang, channel=name, purpose=purpose),
                    t("doctor.channel.archived_fix", lang),
                )
            )
        elif not info.get("is_member"):
            checks.append(
                Check(
                    False,
                    t("doctor.channel.not_member", lang, channel=name, purpose=purpose),
                    t("doctor.channel.invite_fix", lang, channel=name),
                )
            )
        else:
            checks.append(Check(True, t("doctor.channel.ok", lang, channel=name, purpose=purpose)))
    return checks


async def _people(session: AsyncSession, client: AsyncWebClient, lang: str) -> list[Check]:
    model = await load_routing_model(session)
    if model is None:
        return [
            Check(False, t("doctor.people.no_model", lang), t("doctor.people.import_fix", lang))
        ]
    named: dict[str, str] = {}
    for team in (model.triage, *model.teams):
        named.setdefault(team.lead, t("doctor.people.lead", lang, team=team.name))
        if team.backup:
            named.setdefault(team.backup, t("doctor.people.backup", lang, team=team.name))
    checks = []
    for user_id, role in named.items():
        try:
            standing = await user_standing(client, user_id)
        except SLACK_FAILURES as exc:
            code = classify(exc).code
            checks.append(
                Check(
                    False,
                    t("doctor.people.unreadable", lang, user=user_id, role=role, code=code),
                    t("doctor.channel.unreadable_fix", lang),
                )
            )
            continue
        if standing != ACTIVE:
            checks.append(
                Check(
                    False,
                    t(f"doctor.people.{standing}", lang, user=user_id, role=role),
                    t("doctor.people.replace_fix", lang),
                )
            )
    if not checks:
        checks.append(Check(True, tn("doctor.people.ok", len(named), lang)))
    return checks


async def _scheduler(session: AsyncSession, jobs: dict[str, float], lang: str) -> list[Check]:
    now = utcnow()
    problems: list[Check] = []
    ran: list[str] = []
    unregistered = []
    for name, seconds in jobs.items():
        row = await get_job(session, name)
        if row is None:
            unregistered.append(name)
            continue
        finished = row.last_finished_at
        if row.runs and (finished is None or finished < row.last_run_at):
            started = _aware(row.last_run_at)
            if now - started > max(STUCK_AFTER, timedelta(seconds=3 * seconds)):
                problems.append(
                    Check(
                        False,
                        t("doctor.scheduler.stuck", lang, job=name, ago=_ago(now - started, lang)),
                        t("doctor.scheduler.stuck_fix", lang),
                    )
                )
                continue
        if row.last_error:
            problems.append(
                Check(
                    False,
                    t("doctor.scheduler.failed", lang, job=name, error=row.last_error[:200]),
                    t("doctor.scheduler.failed_fix", lang),
                )
            )
            continue
        if finished is not None:
            ran.append(
                t(
                    "doctor.scheduler.last_run",
                    lang,
                    job=name,
                    ago=_ago(now - _aware(finished), lang),
                )
            )
        else:
            ran.append(t("doctor.scheduler.not_run_yet", lang, job=name))
    if unregistered:
        problems.append(
            Check(
                False,
                t("doctor.scheduler.unregistered", lang, jobs=", ".join(unregistered)),
                t("doctor.scheduler.unregistered_fix", lang),
            )
        )
    if not problems:
        return [Check(True, t("doctor.scheduler.ok", lang, jobs="; ".join(ran) or "-"))]
    return problems


def _aware(when: datetime) -> datetime:
    from datetime import UTC

    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _ago(delta: timedelta, lang: str) -> str:
    """Relative wording ("5 min ago"), never a clock time (people read it in any timezone)."""
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return tn("doctor.ago.minutes", minutes, lang)
    hours = minutes // 60
    if hours < 48:
        return tn("doctor.ago.hours", hours, lang)
    return tn("doctor.ago.days", hours // 24, lang)
