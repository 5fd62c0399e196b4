"""End to end: survey rounds start on schedule (once per slot), reach each audience kind, and
post the intro and one thread reply per question; anonymous rounds store nobody.

The scheduler's job (`JerryApp.run_surveys(now)`) runs with the test's clock; the bot talks
to the fake Slack through the real slack_sdk client; every test runs on SQLite and
PostgreSQL. Restarts are new JerryApps on the same database; two processes are two JerryApps
ticking at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import JerryApp, create_app
from bot.config import Settings
from bot.surveys import rounds as surveys_core
from bot.surveys.cli import import_file
from bot.surveys.keys import respondent_key, survey_secret, thread_tag
from bot.surveys.rounds import SurveyError, start_round
from bot.surveys.store import invite_for_thread
from models.surveys import Survey, SurveyInvite, SurveyRound
from tests.fakeslack import FakeSlack
from tests.harness import SIGNING_SECRET, SlackDriver
from tests.test_cli import Jerry

PMS = ["U0PMANN", "U0PMBOB", "U0PMCLE"]
SURVEYS_YAML = """\
surveys:
  - name: pm-pulse
    title: Product manager pulse
    owner_channel: C0PRODOPS
    audience: {usergroup: S0PMS}
    deliver: dm
    schedule: {every: 2 weeks, day: monday, time: "10:00"}
    timezone: Europe/Paris
    open_for: 3d
    remind_before: 1d
    anonymous: true
    language: en
    questions:
      - {id: priorities, kind: scale5, text: "Do customer-facing teams know your priorities?", low: "Not at all", high: "Completely"}
      - {id: nps, kind: scale10, text: "Would you recommend product ops?"}
      - {id: focus, kind: choice, text: "Your focus?", options: [Discovery, Delivery, Support]}
      - {id: time, kind: text, text: "Where does your time go?"}
  - name: named
    title: Named pulse
    owner_channel: C0PRODOPS
    audience: {users: [U0PMANN, U0PMBOB, U0GONE, U0BOTTY, U0NOBODY]}
    schedule: {cron: "0 9 * * *"}
    timezone: UTC
    open_for: 1d
    questions:
      - {id: q1, kind: scale5, text: "How is it going?"}
  - name: team-thread
    title: Team pulse
    owner_channel: C0PRODOPS
    audience: {channel: C0PMTEAM}
    deliver: C0PMTEAM
    schedule: {every: week, day: friday, time: "16:00"}
    timezone: Europe/Paris
    open_for: 2d
    anonymous: false  # answers in a channel thread are public: never anonymous
    questions:
      - {id: q1, kind: scale5, text: "Roadmap clear?"}
      - {id: q2, kind: text, text: "Anything else?"}
"""
PM_ONLY = SURVEYS_YAML.split("  - name: named")[0]
TEAM_ONLY = "surveys:\n  - name: team-thread" + SURVEYS_YAML.split("  - name: team-thread")[1]
# Wednesday 2026-01-07 (ISO week 2), when product ops imports the file.
IMPORTED = datetime(2026, 1, 7, 12, 0, tzinfo=UTC)
# Monday 2026-01-12 10:00 in Paris (ISO week 3, odd): 09:00 UTC.
SLOT = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def workspace(fake_slack: FakeSlack) -> None:
    for user in PMS:
        fake_slack.add_user(user, user.lower()[3:], tz="Europe/Paris")
    fake_slack.add_user("U0GONE", "gone", deleted=True)
    fake_slack.add_user("U0BOTTY", "botty", is_bot=True)
    fake_slack.usergroups["S0PMS"] = list(PMS)
    fake_slack.add_channel("C0PMTEAM", "pm-team", members=[*PMS, "U0JERRYBOT"])


async def import_surveys(settings: Settings, tmp_path: Path, text: str = SURVEYS_YAML) -> None:
    path = tmp_path / "surveys.yml"
    path.write_text(text, encoding="utf-8")
    assert await import_file(settings, path, now=IMPORTED) == 0


async def rounds(jerry: JerryApp, name: str) -> list[SurveyRound]:
    async with jerry.sessions() as session:
        statement = (
            select(SurveyRound)
            .join(Survey, Survey.id == SurveyRound.survey_id)
            .where(Survey.name == name)
            .order_by(SurveyRound.number)
        )
        return list((await session.execute(statement)).scalars())


async def invites(jerry: JerryApp, round_id: int) -> list[SurveyInvite]:
    async with jerry.sessions() as session:
        statement = select(SurveyInvite).where(SurveyInvite.round_id == round_id)
        return list((await session.execute(statement)).scalars())


def buttons(message: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (e["action_id"], e["text"]["text"], e["value"])
        for block in message.get("blocks") or []
        if block["type"] == "actions"
        for e in block["elements"]
    ]


def everything_sent(fake: FakeSlack) -> str:
    return json.dumps([c.args for c in fake.calls if c.method.startswith("chat.")])


async def row_values(jerry: JerryApp) -> list[str]:
    """Every value of every column of the survey tables, as text."""
    values = []
    async with jerry.sessions() as session:
        for model in (Survey, SurveyRound, SurveyInvite):
            for row in (await session.execute(select(model))).scalars():
                for column in model.__table__.columns:
                    values.append(json.dumps(getattr(row, column.key), default=str))
    return values


# --- DM delivery, anonymous ----------------------------------------------------------------


async def test_anonymous_dm_round_reaches_the_group_and_stores_nobody(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    jerry: JerryApp,
    settings: Settings,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="jerry")
    await import_surveys(settings, tmp_path, PM_ONLY)
    assert await jerry.run_surveys(SLOT - timedelta(minutes=1)) == []
    results = await jerry.run_surveys(SLOT)
    await slack.settle()  # the outbox asks each person
    [result] = [r for r in results if r.survey == "pm-pulse"]
    assert (result.status, result.number, result.invited, result.failed) == ("started", 1, 3, 0)
    [round_] = await rounds(jerry, "pm-pulse")
    assert (round_.slot, round_.anonymous, round_.invited, round_.channel) == (SLOT, True, 3, None)
    assert round_.closes_at == SLOT + timedelta(days=3)
    assert fake_slack.calls_to("usergroups.users.list")[0]["usergroup"] == "S0PMS"

    stored = await invites(jerry, round_.id)
    secret = await survey_secret(jerry.sessions)
    assert sorted(i.respondent for i in stored) == sorted(
        respondent_key(user, round_.id, anonymous=True, secret=secret) for user in PMS
    )
    for user in PMS:
        [intro] = [
            m for m in fake_slack.messages[fake_slack.dm_channel(user)] if "thread_ts" not in m
        ]
        assert intro["blocks"][0]["text"]["text"] == "Product manager pulse"
        assert "Anonymous" in json.dumps(intro["blocks"])
        # One message: every question, and the Answer button opening the private form.
        assert fake_slack.thread(fake_slack.dm_channel(user), intro["ts"]) == []
        shown = json.dumps(intro["blocks"], ensure_ascii=False)
        assert "*1/4* Do customer-facing teams know your priorities?" in shown
        assert "*4/4*" in shown
        assert buttons(intro) == [("survey_answer_form", "Answer", str(round_.id))]
        assert "1) Discovery" in shown
        invite = next(
            i
            for i in stored
            if i.respondent == respondent_key(user, round_.id, anonymous=True, secret=secret)
        )
        # the invite knows the thread only by its keyed hash (anonymity: no DM ts stored)
        dm = fake_slack.dm_channel(user)
        assert (invite.channel, invite.ts) == (None, thread_tag(secret, dm, intro["ts"]))
        assert invite.question_ts == {}
        # the thread lookup finds the person's invite by the thread's hash then the person's
        async with jerry.sessions() as session:
            found = await invite_for_thread(
                session, fake_slack.dm_channel(user), intro["ts"], user, secret
            )
            assert found is not None and found[1] is not None and found[1].id == invite.id
            other = await invite_for_thread(
                session, fake_slack.dm_channel(user), intro["ts"], "U0STRANGER", secret
            )
            assert other is not None and other[0].id == round_.id and other[1] is None
            assert await invite_for_thread(session, "D0NOPE", "1.000001", user, secret) is None

    # anonymity: no user id, DM channel or name in any survey row, log line or message
    identities = [*PMS, *(fake_slack.dm_channel(u) for u in PMS), "pmann", "pmbob", "pmcle"]
    values = " ".join(await row_values(jerry))
    logs = caplog.text
    sent = everything_sent(fake_slack)
    for identity in identities:
        assert identity not in values
        assert identity not in logs
        # Jerry addresses each DM by its channel, but no message text names anyone
        assert identity not in json.dumps(
            [
                (c.args.get("text"), c.args.get("blocks"))
                for c in fake_slack.calls
                if c.method.startswith("chat.")
            ]
        )
    assert "pm-pulse" in logs and sent
    # each person was DMed at their user id: no conversations.open (Tier 3) per person
    assert fake_slack.calls_to("conversations.open") == []
    assert {
        c["channel"] for c in fake_slack.calls_to("chat.postMessage") if "thread_ts" not in c.args
    } == set(PMS)


# --- users list: deactivated, bots and a DM error ---------------------------------------------


async def test_users_audience_skips_bots_deactivated_and_a_dm_error(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp, settings: Settings, tmp_path: Path
) -> None:
    await import_surveys(settings, tmp_path)
    # U0NOBODY is unknown to Slack; U0PMBOB's DM fails once (a Slack refusal for one person)
    fake_slack.fail_next(
        "chat.postMessage", "user_disabled", when=lambda a: a.get("channel") == "U0PMBOB"
    )
    result = await start_round(jerry.services, "named", now=IMPORTED + timedelta(hours=1))
    # bots, deactivated accounts and people Slack does not know (users.info) are left out
    assert (result.status, result.invited, result.skipped) == ("started", 2, 3)
    await slack.settle()
    assert result.round_id is not None
    progress = await surveys_core.ask_progress(jerry.sessions, result.round_id)
    assert (progress.asked, progress.failed, progress.queued) == (1, 1, 0)
    assert progress.errors == {"user_disabled": 1}
    [round_] = await rounds(jerry, "named")
    assert round_.invited == 1 and not round_.anonymous  # the refused DM is not counted
    [invite] = await invites(jerry, round_.id)
    assert (invite.respondent, invite.channel) == ("U0PMANN", "D0PMANN")
    assert len(fake_slack.dms_to("U0PMANN")) == 1  # one message: its question, Answer
    for user in ("U0PMBOB", "U0GONE", "U0BOTTY", "U0NOBODY"):
        assert fake_slack.dms_to(user) == []
    async with jerry.sessions() as session:
        found = await invite_for_thread(session, "D0PMANN", invite.ts, "U0PMANN", "")
        assert found is not None and found[1] is not None and found[1].id == invite.id


# --- channel audience and channel delivery ------------------------------------------------------


async def test_channel_round_one_thread_paginated_members(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    jerry: JerryApp,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(surveys_core, "MEMBERS_PAGE", 2)
    await import_surveys(settings, tmp_path, TEAM_ONLY)
    friday = datetime(2026, 1, 9, 15, 0, tzinfo=UTC)  # 16:00 in Paris
    results = await jerry.run_surveys(friday)
    await slack.settle()
    [result] = [r for r in results if r.survey == "team-thread"]
    assert (result.status, result.invited, result.skipped, result.channel) == (
        "started",
        3,
        1,  # Jerry itself is a member
        "C0PMTEAM",
    )
    pages = fake_slack.calls_to("conversations.members")
    assert len(pages) == 2 and pages[1]["cursor"] == "next:2"
    [intro] = [m for m in fake_slack.messages["C0PMTEAM"] if "thread_ts" not in m]
    assert fake_slack.thread("C0PMTEAM", intro["ts"]) == []
    assert "visible to the whole channel" in intro["blocks"][1]["text"]["text"]
    [round_] = await rounds(jerry, "team-thread")
    assert buttons(intro) == [("survey_answer_form", "Answer", str(round_.id))]
    [round_] = await rounds(jerry, "team-thread")
    assert (round_.channel, round_.ts) == ("C0PMTEAM", intro["ts"])
    stored = await invites(jerry, round_.id)
    assert len(stored) == 3
    assert {(i.channel, i.ts) for i in stored} == {("C0PMTEAM", intro["ts"])}
    assert sorted(i.respondent for i in stored) == sorted(PMS)  # a named survey
    assert fake_slack.calls_to("conversations.open") == []  # nobody got a DM
    async with jerry.sessions() as session:
        mine = await invite_for_thread(session, "C0PMTEAM", intro["ts"], "U0PMCLE", "")
        assert mine is not None and mine[1] is not None
        stranger = await invite_for_thread(session, "C0PMTEAM", intro["ts"], "U0STRANGER", "")
        assert stranger is not None and stranger[0].id == round_.id and stranger[1] is None


async def test_a_channel_jerry_cannot_post_in_tells_triage(
    routed: JerryApp, slack: SlackDriver, fake_slack: FakeSlack, settings: Settings, tmp_path: Path
) -> None:
    await import_surveys(settings, tmp_path)
    fake_slack.channels["C0PMTEAM"].is_member = False
    result = await start_round(routed.services, "team-thread", now=IMPORTED)
    assert result.status == "started"  # owed: the outbox finds Slack refusing it for good
    await slack.settle()
    [alert] = fake_slack.posts("C0PRODOPS")
    assert "team-thread" in alert["text"] and "not_in_channel" in alert["text"]
    [round_] = await rounds(routed, "team-thread")
    assert round_.invited == 0 and await invites(routed, round_.id) == []


# --- exactly once per slot ----------------------------------------------------------------------


async def test_one_round_per_slot_across_a_restart_and_two_processes(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp, settings: Settings, tmp_path: Path
) -> None:
    await import_surveys(settings, tmp_path, PM_ONLY)
    first, second = create_app(settings), create_app(settings)
    try:
        await asyncio.gather(first.start(), second.start())
        together = await asyncio.gather(first.run_surveys(SLOT), second.run_surveys(SLOT))
        # Three workers share the outbox (the test's Jerry too): each drain waits for its own
        # worker's pass in progress.
        for _ in range(2):
            await asyncio.gather(first.drain(), second.drain(), jerry.drain())
        started = [r for results in together for r in results if r.survey == "pm-pulse"]
        assert [r.status for r in started] == ["started"]
        assert [len(fake_slack.dms_to(user)) for user in PMS] == [1, 1, 1]
        # a restart (a new process on the same database) at the same slot starts nothing
        again = create_app(settings)
        try:
            await again.start()
            assert [
                r
                for r in await again.run_surveys(SLOT + timedelta(minutes=5))
                if r.survey == "pm-pulse"
            ] == []
        finally:
            await again.stop()
        assert [r.number for r in await rounds(jerry, "pm-pulse")] == [1]
        assert [len(fake_slack.dms_to(user)) for user in PMS] == [1, 1, 1]
    finally:
        await first.stop()
        await second.stop()
    # a second start_round for the same slot says so
    result = await start_round(jerry.services, "pm-pulse", now=SLOT, slot=SLOT)
    assert result.status == "exists"


async def test_one_round_after_a_long_downtime_and_none_before_the_import(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp, settings: Settings, tmp_path: Path
) -> None:
    await import_surveys(settings, tmp_path, PM_ONLY)
    # Monday of ISO week 1 (2026-01-05) was before the import: nothing owed for it
    before = [r for r in await jerry.run_surveys(IMPORTED) if r.survey == "pm-pulse"]
    assert before == [] and await rounds(jerry, "pm-pulse") == []
    # Jerry down for five slots (weeks 3, 5, 7, 9, 11): one round, for the latest
    later = datetime(2026, 3, 12, 12, 0, tzinfo=UTC)
    results = [r for r in await jerry.run_surveys(later) if r.survey == "pm-pulse"]
    assert [r.status for r in results] == ["started"]
    [round_] = await rounds(jerry, "pm-pulse")
    assert round_.slot == datetime(2026, 3, 9, 9, 0, tzinfo=UTC)  # week 11, Monday 10:00 Paris
    assert round_.closes_at == later + timedelta(days=3)
    assert [
        r for r in await jerry.run_surveys(later + timedelta(hours=1)) if r.survey == "pm-pulse"
    ] == []
    # the next slot, two weeks on, is a new round
    results = [
        r
        for r in await jerry.run_surveys(datetime(2026, 3, 23, 9, 0, tzinfo=UTC))
        if r.survey == "pm-pulse"
    ]
    assert [(r.status, r.number) for r in results] == [("started", 2)]


async def test_unknown_survey(jerry: JerryApp, settings: Settings, tmp_path: Path) -> None:
    await import_surveys(settings, tmp_path)
    with pytest.raises(SurveyError) as info:
        await start_round(jerry.services, "nope", now=IMPORTED)
    assert "pm-pulse" in str(info.value)


# --- the command ------------------------------------------------------------------------------


async def test_jerry_surveys_run_starts_a_round_now(
    fake_slack: FakeSlack, database_url: str, tmp_path: Path, jerry: JerryApp
) -> None:
    cli = Jerry(
        tmp_path, {"DATABASE_URL": database_url, "SLACK_SIGNING_SECRET": SIGNING_SECRET}
    ).with_slack(fake_slack)
    path = tmp_path / "surveys.yml"
    path.write_text(SURVEYS_YAML, encoding="utf-8")
    imported = await cli("surveys", "import", str(path))
    assert imported.ok, str(imported)
    assert "3 added" in imported.stdout
    run = await cli("surveys", "run", "pm-pulse")
    assert run.ok, str(run)
    assert "pm-pulse round 1 started by DM: 3 people asked" in run.stdout
    for user in PMS:
        assert len(fake_slack.dms_to(user)) == 1
    # its hashes are the running bot's: the same key, the one in the database
    [round_] = await rounds(jerry, "pm-pulse")
    keys = {i.respondent for i in await invites(jerry, round_.id)}
    secret = await survey_secret(jerry.sessions)
    assert keys == {respondent_key(u, round_.id, anonymous=True, secret=secret) for u in PMS}
    unknown = await cli("surveys", "run", "nope")
    assert unknown.returncode == 1 and "No survey is named “nope”" in unknown.stderr


@pytest.mark.usefixtures("routed")  # triage (channel C0PRODOPS) is who hears of it
async def test_an_audience_that_no_longer_exists_is_told_to_triage_once_per_slot(
    jerry: JerryApp, slack: SlackDriver, fake_slack: FakeSlack, settings: Settings, tmp_path: Path
) -> None:
    await import_surveys(settings, tmp_path, PM_ONLY.replace("S0PMS", "S0DELETED"))
    # The tick tries every minute while the slot is due: one alert, not one a minute.
    for minute in range(3):
        await jerry.run_surveys(SLOT + timedelta(minutes=minute))
    await slack.settle()
    assert await rounds(jerry, "pm-pulse") == []
    alerts = [
        c for c in fake_slack.posts("C0PRODOPS") if "could not read its audience" in c.args["text"]
    ]
    assert len(alerts) == 1
    assert "S0DELETED" in alerts[0].args["text"] and "no_such_subteam" in alerts[0].args["text"]
    # Fixed in the file: the next tick starts the round, nothing more is said.
    await import_surveys(settings, tmp_path, PM_ONLY)
    await jerry.run_surveys(SLOT + timedelta(minutes=5))
    await slack.settle()
    assert len(await rounds(jerry, "pm-pulse")) == 1
