"""End to end: asking a survey round goes through the outbox, like every message Jerry owes.

A round started during a Slack outage is asked when Slack is back (and `jerry surveys run`
says who is still queued); a process that dies mid-round leaves a round the next process
finishes, each person asked once and their answers counted; a storm of rate limits delays
people and drops nobody; people are DMed at their user id (no `conversations.open`).
Every test runs on SQLite and PostgreSQL, against the fake Slack over HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.app import JerryApp, create_app
from bot.config import Settings
from bot.surveys.rounds import ask_progress, start_round
from models.base import utcnow
from models.deliveries import Delivery
from models.surveys import Survey, SurveyAnswer, SurveyRound
from tests import payloads
from tests.fakeslack import BOT_USER_ID, FakeSlack
from tests.harness import SIGNING_SECRET, SlackDriver
from tests.test_cli import Jerry

QUESTIONS = [
    {"id": "q1", "kind": "scale5", "text": "Roadmap clear?"},
    {"id": "q2", "kind": "scale5", "text": "Data shaped your decisions?"},
    {"id": "q3", "kind": "scale10", "text": "Recommend product ops?"},
    {"id": "q4", "kind": "text", "text": "Where does your time go?"},
]
MESSAGES_EACH = 1  # one message: every question and the Answer button


def people(fake: FakeSlack, count: int) -> list[str]:
    users = [f"U0ASK{n:03d}" for n in range(count)]
    for user in users:
        fake.add_user(user, f"asked{user[-3:]}")
    return users


async def add_survey(sessions: Any, users: list[str], *, anonymous: bool = False) -> None:
    async with sessions() as session:
        session.add(
            Survey(
                name="pulse",
                title="Pulse",
                owner_channel="C0PRODOPS",
                audience_kind="users",
                audience=users,
                deliver_in="dm",
                schedule={"day_of_week": "mon", "hour": 10},
                timezone="UTC",
                open_for="3d",
                anonymous=anonymous,
                language="en",
                questions=QUESTIONS,
                archived=False,
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )
        await session.commit()


def asked(fake: FakeSlack, user: str) -> list[dict[str, Any]]:
    """Jerry's round message in the person's DM, not its notes in the thread."""
    return [
        m
        for m in fake.messages.get(fake.dm_channel(user), [])
        if m.get("user") == BOT_USER_ID and not m.get("thread_ts")
    ]


async def wait_until(condition: Any, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not await condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_a_round_started_during_an_outage_is_asked_when_slack_is_back(
    fake_slack: FakeSlack, jerry: JerryApp, database_url: str, tmp_path: Any
) -> None:
    users = people(fake_slack, 4)
    await add_survey(jerry.sessions, users)
    cli = Jerry(
        tmp_path, {"DATABASE_URL": database_url, "SLACK_SIGNING_SECRET": SIGNING_SECRET}
    ).with_slack(fake_slack)
    fake_slack.outage_status = 503
    run = await cli("surveys", "run", "pulse", "--wait", "1")
    # Honest: nobody asked yet, all four queued, and the command does not claim success.
    assert run.returncode == 1, str(run)
    assert "pulse round 1 started by DM: 0 of 4 people asked so far" in run.stdout
    assert "4 not asked yet" in run.stderr and "keeps trying" in run.stderr
    assert all(asked(fake_slack, user) == [] for user in users)
    async with jerry.sessions() as session:
        [round_] = (await session.scalars(select(SurveyRound))).all()
    assert round_.invited == 4

    fake_slack.outage_status = None  # Slack is back: the running bot's outbox asks everyone

    async def everyone_asked() -> bool:
        return (await ask_progress(jerry.sessions, round_.id)).asked == 4

    await wait_until(everyone_asked)
    await jerry.drain()
    assert [len(asked(fake_slack, user)) for user in users] == [MESSAGES_EACH] * 4
    assert fake_slack.calls_to("conversations.open") == []  # DMed at their user id


async def test_a_crash_mid_round_resumes_where_it_stopped_and_answers_count(
    fake_slack: FakeSlack, settings: Settings
) -> None:
    users = people(fake_slack, 5)
    third = fake_slack.dm_channel(users[2])
    posts_to_third: list[int] = []

    def third_persons_message(args: dict[str, Any]) -> bool:
        if args.get("channel") in (third, users[2]):
            posts_to_third.append(1)
            return len(posts_to_third) == 1
        return False

    # Slack takes the third person's message but is slow to answer: the process is killed
    # while it waits. (The outbox never sleeps on a rate limit inside a call, so a slow
    # answer is how a send is cut.)
    fake_slack.slow_next("chat.postMessage", 3, when=third_persons_message)
    # The dying process sends one delivery at a time: "killing" it in-process cancels its
    # tasks, and on SQLite a write cancelled mid-statement can leave aiosqlite's connection
    # holding the lock until it is collected (a real kill -9 ends the process and its locks).
    # The restarted process below sends several at once, as configured by default.
    first = create_app(settings.model_copy(update={"jerry_outbox_concurrency": 1}))
    await first.start()
    await add_survey(first.sessions, users)
    starting = asyncio.create_task(start_round(first.services, "pulse", now=utcnow()))

    async def held() -> bool:
        return len(posts_to_third) >= 1

    await wait_until(held)
    # kill -9: nothing finishes, nothing is cleaned up
    for task in (starting, first.worker._task):
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    first.worker._task = None
    await first.stop()
    # Slack has the third person's message; Jerry never heard so.
    assert [len(asked(fake_slack, u)) for u in users[:3]] == [MESSAGES_EACH] * 3

    second = create_app(settings)
    await second.start()
    slack = SlackDriver(second, fake_slack)
    try:
        # The restarted process finds the dead one's lease expired (two minutes later) and
        # finishes the round: each person asked once, the third person's message found in
        # Slack rather than posted twice.
        async with second.sessions() as session:
            await session.execute(
                update(Delivery)
                .where(Delivery.status == "sending")
                .values(lease_until=utcnow() - timedelta(seconds=1))
            )
            await session.commit()
        await slack.settle()
        assert [len(asked(fake_slack, u)) for u in users] == [MESSAGES_EACH] * 5
        # the third person's answers in the thread of the message found count
        [intro] = asked(fake_slack, users[2])
        for text in ("1) 4", "2) 3"):
            ts = fake_slack.add_message(third, users[2], text, thread_ts=intro["ts"])["ts"]
            body = payloads.thread_message(
                text, user=users[2], channel=third, thread_ts=intro["ts"], ts=ts, channel_type="im"
            )
            assert (await slack.event(body)).status_code == 200
            await slack.settle()
        async with second.sessions() as session:
            rows = (await session.scalars(select(SurveyAnswer))).all()
        assert {(r.respondent, r.question_id, r.number) for r in rows} == {
            (users[2], "q1", 4.0),
            (users[2], "q2", 3.0),
        }
    finally:
        await slack.close()
        await second.stop()
    assert not fake_slack.violations, fake_slack.violations


@pytest.mark.parametrize("anonymous", [False, True], ids=["named", "anonymous"])
async def test_a_storm_of_rate_limits_drops_nobody(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp, anonymous: bool
) -> None:
    users = people(fake_slack, 12)
    await add_survey(jerry.sessions, users, anonymous=anonymous)
    fake_slack.rate_limit_next("chat.postMessage", times=16)  # 16 consecutive 429s
    result = await start_round(jerry.services, "pulse", now=utcnow())
    assert (result.status, result.invited) == ("started", 12)
    assert result.round_id is not None
    round_id = result.round_id

    async def everyone_asked() -> bool:
        return (await ask_progress(jerry.sessions, round_id)).asked == 12

    await wait_until(everyone_asked)
    await slack.settle()
    assert [len(asked(fake_slack, user)) for user in users] == [MESSAGES_EACH] * 12
    assert len([c for c in fake_slack.calls_to("chat.postMessage") if c.status == 429]) == 16
    assert fake_slack.calls_to("conversations.open") == []
    async with jerry.sessions() as session:
        round_ = await session.get(SurveyRound, round_id)
        assert round_ is not None and round_.invited == 12


async def test_a_large_round_does_not_ask_slack_about_each_person_first(
    fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    """users.info is a Tier 4 method (about 100 a minute): a round to thousands of people
    Jerry has never met must not wait on one call per person before asking anyone. Past a
    few unknown people, the cache decides and their DM says whether they can be reached."""
    from bot.surveys.rounds import LOOKUP_LIMIT
    from models.users import SlackUser

    users = people(fake_slack, LOOKUP_LIMIT + 10)
    for user in users[:3]:  # their Slack speaks French: so does their survey message
        fake_slack.users[user].locale = "fr-FR"
    fake_slack.add_user("U0GONEASK", "gone", deleted=True)  # users.list says so: left out
    fake_slack.add_user("U0ASKBOT", "asker", is_bot=True)
    async with jerry.sessions() as session:  # known to the cache as a bot: left out
        session.add(SlackUser(id="U0ASKBOT", name="asker", is_bot=True))
        await session.commit()
    await add_survey(jerry.sessions, [*users, "U0GONEASK", "U0ASKBOT"])

    result = await start_round(jerry.services, "pulse", now=utcnow())

    assert (result.status, result.invited, result.skipped) == ("started", len(users), 2)
    assert fake_slack.calls_to("users.info") == []
    # One users.list pass (one page) told Jerry who they are, their language included.
    assert [bool(call["include_locale"]) for call in fake_slack.calls_to("users.list")] == [True]
    assert result.round_id is not None

    async def everyone_asked() -> bool:
        return (await ask_progress(jerry.sessions, result.round_id)).asked == len(users)  # type: ignore[arg-type]

    await wait_until(everyone_asked)
    assert all(len(asked(fake_slack, user)) == MESSAGES_EACH for user in users)
    [french] = asked(fake_slack, users[0])
    assert "Répondre" in json.dumps(french["blocks"], ensure_ascii=False)
    [english] = asked(fake_slack, users[5])
    assert "Answer" in json.dumps(english["blocks"])
