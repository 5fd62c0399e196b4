"""End to end: a survey whose audience lists several user groups and a channel (each person
asked once, their groups recorded), the results' breakdown by group with small groups merged
and hidden, the trend chart only from the second round, and `jerry surveys run` while Slack
cannot be reached (nothing started, a clear message, exit 1).

The scheduler's ticks run with the test's clock; the bot talks to the fake Slack through the
real slack_sdk client; every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import JerryApp
from bot.config import Settings
from bot.surveys.cli import import_file
from models.surveys import Survey, SurveyAnswer, SurveyInvite, SurveyRound
from tests.fakeslack import FakeSlack
from tests.harness import SIGNING_SECRET, SlackDriver
from tests.test_cli import Jerry

pytestmark = pytest.mark.slow

OWNER = "C0PRODOPS"
PMS = ["U0PMANN", "U0PMBOB", "U0PMCLE", "U0PMDAN"]
LEADS = ["U0LDEVE", "U0LDFAY", "U0LDGUS", "U0PMANN"]  # Ann is a PM and a lead
REVENUE = ["U0RVHAL", "U0PMBOB", "U0JERRYBOT"]  # Bob is in the channel too; Jerry itself
SURVEYS_YAML = """\
surveys:
  - name: mixed
    title: Mixed pulse
    owner_channel: C0PRODOPS
    audience: {usergroups: [S0PMS, S0LEADS], channels: [C0REVENUE]}
    schedule: {cron: "0 9 * * *"}
    timezone: UTC
    open_for: 1d
    questions:
      - {id: notes, kind: text, text: "Anything else?"}
      - {id: q1, kind: scale5, text: "How is it going?"}
"""
IMPORTED = datetime(2026, 1, 7, 12, 0, tzinfo=UTC)
SLOT = datetime(2026, 1, 8, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def workspace(fake_slack: FakeSlack) -> None:
    for user in {*PMS, *LEADS, *REVENUE} - {"U0JERRYBOT"}:
        fake_slack.add_user(user, user.lower()[3:], tz="Europe/Paris")
    fake_slack.usergroups["S0PMS"] = list(PMS)
    fake_slack.usergroups["S0LEADS"] = list(LEADS)
    fake_slack.add_channel("C0REVENUE", "revenue", members=list(REVENUE))
    fake_slack.add_channel(OWNER, "product-ops")


async def import_surveys(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "surveys.yml"
    path.write_text(SURVEYS_YAML, encoding="utf-8")
    assert await import_file(settings, path, now=IMPORTED) == 0


async def rounds(jerry: JerryApp) -> list[SurveyRound]:
    async with jerry.sessions() as session:
        statement = select(SurveyRound).order_by(SurveyRound.number)
        return list((await session.execute(statement)).scalars())


async def invites(jerry: JerryApp, round_id: int) -> dict[str, SurveyInvite]:
    async with jerry.sessions() as session:
        statement = select(SurveyInvite).where(SurveyInvite.round_id == round_id)
        return {i.respondent: i for i in (await session.execute(statement)).scalars()}


async def answer(jerry: JerryApp, round_: SurveyRound, values: dict[str, int]) -> None:
    """Each person answers q1 (as answering stores a named round's answers)."""
    async with jerry.sessions() as session:
        for user, value in values.items():
            session.add(
                SurveyAnswer(
                    round_id=round_.id,
                    respondent=user,
                    question_id="q1",
                    number=float(value),
                    answered_at=round_.opened_at + timedelta(hours=1),
                )
            )
        await session.commit()


def results_text(fake: FakeSlack) -> list[str]:
    return [
        json.dumps(m.get("blocks") or [], ensure_ascii=False)
        for m in fake.messages.get(OWNER, [])
        if not m.get("thread_ts") and "results of round" in m.get("text", "")
    ]


async def test_several_groups_ask_each_person_once_and_results_break_down_by_group(
    jerry: JerryApp, slack: SlackDriver, fake_slack: FakeSlack, settings: Settings, tmp_path: Path
) -> None:
    await import_surveys(settings, tmp_path)
    [started] = await jerry.run_surveys(SLOT)
    await slack.settle()
    assert started.status == "started"
    people = sorted({*PMS, *LEADS, *REVENUE} - {"U0JERRYBOT"})
    assert started.invited == len(people) == 8
    for user in people:  # asked once: one message with every question and the Answer button
        assert len(fake_slack.dms_to(user)) == 1, user
    [round_] = await rounds(jerry)
    found = await invites(jerry, round_.id)
    assert sorted(found) == people
    # each invite says which groups asked them, in the file's order
    assert found["U0PMANN"].groups == ["S0PMS", "S0LEADS"]
    assert found["U0PMBOB"].groups == ["S0PMS", "C0REVENUE"]
    assert found["U0LDEVE"].groups == ["S0LEADS"]
    assert found["U0RVHAL"].groups == ["C0REVENUE"]

    # PMs (Ann, Bob, Cle, Dan: 4) answer 5, leads other than Ann (Eve, Fay, Gus: 3) answer 2;
    # Hal alone from the revenue channel (Bob counts with the PMs, listed first) answers 1.
    await answer(jerry, round_, dict.fromkeys(PMS, 5) | dict.fromkeys(LEADS[:3], 2))
    await answer(jerry, round_, {"U0RVHAL": 1})
    await jerry.run_survey_results(round_.closes_at + timedelta(minutes=1))
    await slack.settle()
    [posted] = results_text(fake_slack)
    assert "S0PMS (4 people): Q2 5.0" in posted
    # the revenue channel's one answer alone would be his, and so would the total minus the
    # two groups shown: the smallest group shown (the leads, 3) is merged with it
    assert (
        "Other groups (S0LEADS, <#C0REVENUE>: too few answers to show alone) (4 people): Q2 1.8"
        in posted
    )
    assert "S0LEADS (3 people)" not in posted
    # one round: no chart, and the message says why
    assert "No trend chart yet: it starts with the second round." in posted
    assert fake_slack.calls_to("files.completeUploadExternal") == []

    # The second round: the trend chart goes with its results.
    [second] = await jerry.run_surveys(SLOT + timedelta(days=1))
    await slack.settle()
    assert (second.status, second.invited) == ("started", 8)
    [_, round_2] = await rounds(jerry)
    await answer(jerry, round_2, dict.fromkeys(people, 4))
    await jerry.run_survey_results(round_2.closes_at + timedelta(minutes=1))
    await slack.settle()
    [_, posted_2] = results_text(fake_slack)
    assert "No trend chart yet" not in posted_2
    assert "S0PMS (4 people): Q2 4.0" in posted_2
    assert (
        "Other groups (S0LEADS, <#C0REVENUE>: too few answers to show alone) (4 people)" in posted_2
    )
    [_upload] = fake_slack.calls_to("files.completeUploadExternal", ok=True)
    [chart] = [f for f in fake_slack.files.values() if f["content"]]
    assert chart["content"].startswith(b"\x89PNG") and chart["name"].endswith(".png")


async def test_surveys_run_with_slack_unreachable_starts_nothing_and_says_so(
    fake_slack: FakeSlack, database_url: str, tmp_path: Path, jerry: JerryApp
) -> None:
    cli = Jerry(
        tmp_path, {"DATABASE_URL": database_url, "SLACK_SIGNING_SECRET": SIGNING_SECRET}
    ).with_slack(fake_slack)
    path = tmp_path / "surveys.yml"
    path.write_text(SURVEYS_YAML, encoding="utf-8")
    assert (await cli("surveys", "import", str(path))).ok
    # Slack answers the user groups, then fails on the channel's members (5xx every time)
    fake_slack.server_error_next("conversations.members", status=503, times=10)
    run = await cli("surveys", "run", "mixed", "--wait", "1")
    assert run.returncode == 1, str(run)
    assert (
        "mixed: Slack could not be reached to list the audience (C0REVENUE: " in run.stderr
        and "nothing was started; run it again when Slack answers" in run.stderr
    ), run.stderr
    assert "people asked" not in run.stdout
    assert await rounds(jerry) == []
    # Slack stopped altogether: refused connections
    await fake_slack.stop()
    run = await cli("surveys", "run", "mixed", "--wait", "1")
    assert run.returncode == 1, str(run)
    assert "Slack could not be reached to list the audience (S0PMS: connection: " in run.stderr
    assert "nothing was started" in run.stderr
    assert await rounds(jerry) == []
    async with jerry.sessions() as session:
        assert (await session.execute(select(SurveyInvite))).first() is None
        assert (await session.execute(select(Survey.name))).scalars().all() == ["mixed"]


async def test_a_channel_audience_that_is_gone_refuses_and_names_it(
    fake_slack: FakeSlack, database_url: str, tmp_path: Path, jerry: JerryApp
) -> None:
    cli = Jerry(
        tmp_path, {"DATABASE_URL": database_url, "SLACK_SIGNING_SECRET": SIGNING_SECRET}
    ).with_slack(fake_slack)
    path = tmp_path / "surveys.yml"
    path.write_text(SURVEYS_YAML, encoding="utf-8")
    assert (await cli("surveys", "import", str(path))).ok
    del fake_slack.channels["C0REVENUE"]
    run = await cli("surveys", "run", "mixed", "--wait", "1")
    assert run.returncode == 1, str(run)
    assert "Slack refused to list the audience (C0REVENUE: channel_not_found)" in run.stderr
    assert await rounds(jerry) == []
