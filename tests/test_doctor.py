"""`jerry doctor`: each check passing and failing against the fake Slack and a real database
(SQLite and PostgreSQL), and the command's output and exit status."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import scheduled_jobs
from bot.config import Settings
from bot.doctor import Check, Setup, run_checks
from bot.intake.routing_cli import import_file
from bot.scheduler_store import finish_job_run, register_job
from models.base import utcnow
from models.summaries import SummarySubscription
from models.surveys import Survey
from tests.fakeslack import FakeSlack
from tests.harness import ROUTING_YAML

JOBS = {"reminders": 60.0, "summaries": 60.0}


async def doctor(settings: Settings, lang: str = "en") -> list[Check]:
    return await run_checks(Setup(settings, JOBS, lang))


def found(checks: list[Check], needle: str) -> Check:
    matching = [check for check in checks if needle in check.what]
    assert len(matching) == 1, f"{needle!r} in {checks}"
    return matching[0]


async def set_up_everything(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    path = tmp_path / "routing.yml"
    path.write_text(ROUTING_YAML, encoding="utf-8")
    assert await import_file(settings, path) == 0
    async with sessions() as session:
        session.add(SummarySubscription(name="sales weekly", channel="C0SALES"))
        session.add(
            Survey(
                name="pm pulse",
                title="PM pulse",
                owner_channel="C0PRODOPS",
                audience_kind="users",
                audience=["U0PAYLEAD"],
                deliver_in="C0PMS",
            )
        )
        for name in JOBS:
            await register_job(session, name, utcnow() - timedelta(minutes=5))
            await finish_job_run(session, name, utcnow() - timedelta(minutes=3), None)
        await session.commit()


async def test_every_check_passes_on_a_complete_setup(
    settings: Settings,
    fake_slack: FakeSlack,
    sessions: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    fake_slack.add_channel("C0SALES", "sales")
    fake_slack.add_channel("C0PMS", "product-managers")
    await set_up_everything(settings, sessions, tmp_path)
    checks = await doctor(settings)
    assert all(check.ok for check in checks), checks
    assert found(checks, "SLACK_SIGNING_SECRET is set")
    assert found(checks, "Slack accepts SLACK_BOT_TOKEN: Jerry is jerry in Jerry Test")
    assert found(checks, "scopes manifest.yml asks for")
    assert found(checks, "schema is up to date")
    assert found(checks, "Jerry is in #product-ops (triage channel)")
    assert found(checks, "Jerry is in #sales (summary sales weekly)")
    assert found(checks, "Jerry is in #product-managers (rounds of the survey pm pulse)")
    assert found(checks, "4 people named in the routing model are active")
    scheduler = found(checks, "scheduled jobs are registered")
    assert "reminders ran 3 minutes ago" in scheduler.what, scheduler
    # Slack was only asked, never told anything.
    assert not fake_slack.posts()


async def test_each_failing_check_says_what_to_fix(
    settings: Settings,
    fake_slack: FakeSlack,
    sessions: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    fake_slack.add_channel("C0SALES", "sales", member=False)
    fake_slack.add_channel("C0PMS", "product-managers", archived=True)
    await set_up_everything(settings, sessions, tmp_path)
    fake_slack.scopes = [s for s in fake_slack.scopes if s not in ("files:write", "im:write")]
    fake_slack.users["U0PAYBACK"].deleted = True
    fake_slack.users["U0MOBLEAD"].is_bot = True
    del fake_slack.users["U0PRODOPS"]
    async with sessions() as session:
        await finish_job_run(session, "summaries", utcnow(), "ValueError: the feed is gone")
        await session.commit()
    no_secret = settings.model_copy(update={"slack_signing_secret": None})
    checks = await doctor(no_secret)

    expected = {
        "SLACK_SIGNING_SECRET is not set": "Signing Secret",
        "the token lacks 2 scopes of manifest.yml: files:write, im:write": "reinstall the app",
        "Jerry is not in #sales (summary sales weekly)": "/invite @Jerry in #sales",
        "#product-managers (rounds of the survey pm pulse) is archived": "unarchive it",
        "Slack knows no user U0PRODOPS (lead of Triage)": "jerry routing import",
        "U0PAYBACK (backup of Payments) is deactivated": "name an active person",
        "U0MOBLEAD (lead of Mobile) is a bot": "name an active person",
        "the last run of the job summaries failed: ValueError: the feed is gone": "log",
    }
    for what, fix in expected.items():
        check = found(checks, what)
        assert not check.ok and fix in check.fix, check
    assert found(checks, "Jerry is in #product-ops").ok
    # No mrkdwn or Slack markup in what a terminal shows.
    for check in checks:
        assert "<#" not in check.what + check.fix and "<@" not in check.what + check.fix


async def test_a_refused_token_unreachable_slack_and_missing_schema_fail(
    settings: Settings, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    refused = await doctor(settings.model_copy(update={"slack_bot_token": "xoxb-wrong"}))
    token = found(refused, "Slack refuses SLACK_BOT_TOKEN (auth.test: invalid_auth)")
    assert not token.ok and "OAuth & Permissions" in token.fix
    # The other Slack checks are not run with a refused token; the database still is.
    assert not any("Jerry is in" in check.what for check in refused)
    assert found(refused, "schema is up to date").ok

    fake_slack.outage_status = 503
    down = await doctor(settings)
    assert not found(down, "Slack could not be reached").ok
    fake_slack.outage_status = None

    fresh = settings.model_copy(
        update={"database_url": f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"}
    )
    empty = await doctor(fresh)
    schema = found(empty, "no Jerry tables yet")
    assert not schema.ok and schema.fix == "run `jerry db upgrade`"


async def test_jobs_not_registered_yet_and_a_run_that_never_finished(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        await register_job(session, "reminders", utcnow() - timedelta(hours=3))
        job = await session.get(
            type(await register_job(session, "reminders", utcnow())), "reminders"
        )
        assert job is not None
        job.runs = 1  # claimed three hours ago, never finished
        await session.commit()
    checks = await doctor(settings)
    stuck = found(checks, "the job reminders started 3 hours ago and never finished")
    assert not stuck.ok
    unregistered = found(checks, "scheduled jobs not registered yet: summaries")
    assert not unregistered.ok and "jerry serve" in unregistered.fix


def test_the_jobs_doctor_checks_are_the_ones_jerry_schedules(settings: Settings) -> None:
    on = settings.model_copy(update={"jerry_reminder_seconds": 60, "jerry_feed_minutes": 30})
    assert scheduled_jobs(on) == {"reminders": 60.0, "feeds": 1800.0}


@pytest.mark.slow
async def test_jerry_doctor_prints_one_line_per_check_and_exits_1_on_a_failure(
    settings: Settings, fake_slack: FakeSlack, database_url: str, tmp_path: Path
) -> None:
    from tests.harness import SIGNING_SECRET
    from tests.test_cli import Jerry, assert_no_traceback

    path = tmp_path / "routing.yml"
    path.write_text(ROUTING_YAML, encoding="utf-8")
    assert await import_file(settings, path) == 0
    jerry = Jerry(
        tmp_path,
        {
            "DATABASE_URL": database_url,
            "JERRY_REMINDER_SECONDS": "0",
            "JERRY_SUMMARY_CHECK_SECONDS": "0",
            "JERRY_FEED_MINUTES": "0",
            "JERRY_SURVEY_CHECK_SECONDS": "0",
            "JERRY_THEMES_MINUTES": "0",
            "JERRY_INSIGHTS_WARM_MINUTES": "0",
        },
    ).with_slack(fake_slack)
    good, missing_secret, french = await asyncio.gather(
        jerry.with_settings(SLACK_SIGNING_SECRET=SIGNING_SECRET)("doctor"),
        jerry("doctor"),
        jerry.with_settings(JERRY_LANGUAGE="fr")("doctor"),
    )
    assert good.ok, str(good)
    lines = good.stdout.strip().splitlines()
    assert all(line.startswith("✓ ") for line in lines[:-1]), str(good)
    assert lines[-1] == "Everything Jerry needs is in place."
    assert "#product-ops" in good.stdout and "<#" not in good.stdout

    assert missing_secret.returncode == 1, str(missing_secret)
    assert "✗ SLACK_SIGNING_SECRET is not set" in missing_secret.stdout
    assert ". Fix: copy the Signing Secret" in missing_secret.stdout
    assert missing_secret.stdout.strip().endswith(
        "1 check failed: fix it and run jerry doctor again."
    )
    assert french.returncode == 1, str(french)
    assert "✗ SLACK_SIGNING_SECRET n’est pas défini" in french.stdout
    assert "1 vérification a échoué" in french.stdout
    for run in (good, missing_secret, french):
        assert_no_traceback(run)


async def test_trackers_named_by_teams_are_checked(
    settings: Settings,
    fake_slack: FakeSlack,
    sessions: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    """A team's Jira project: Jira connected and the project there; a team's Linear team
    without Linear connected says what to set."""
    from tests.faketrackers import FakeJira
    from tests.test_e2e_trackers import TRACKED_ROUTING

    jira = await FakeJira().start()
    try:
        jira.add_project("PAY")
        path = tmp_path / "routing.yml"
        path.write_text(TRACKED_ROUTING, encoding="utf-8")
        assert await import_file(settings, path) == 0
        connected = settings.model_copy(
            update={
                "jerry_jira_url": jira.base,
                "jerry_jira_email": jira.email,
                "jerry_jira_token": jira.token,
            }
        )
        checks = await doctor(connected)
        assert found(checks, "Team Payments files its work in Jira project PAY").ok
        linear = found(checks, "Team Mobile files its work in Linear, but Jerry is not connected")
        assert not linear.ok and "JERRY_LINEAR_API_KEY" in linear.fix
        jira.projects.clear()
        refused = found(await doctor(connected), "Team Payments: Jira refused project PAY")
        assert not refused.ok and "routing file" in refused.fix
        french = await doctor(connected, "fr")
        assert found(french, "L’équipe Mobile suit son travail dans Linear")
    finally:
        await jira.stop()
