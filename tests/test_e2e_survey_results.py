"""End to end: survey reminders, closing, results (with the trend chart), anonymity, the CLI.

Rounds, invites and answers are inserted directly (as the rounds and answers code stores
them); the results tick (`JerryApp.run_survey_results(now)`) runs with the test's clock; the
bot talks to the fake Slack through the real slack_sdk client. Every test runs on SQLite and
PostgreSQL. Restarts are new JerryApps on the same database; two processes are two JerryApps
ticking at once.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select, update

from bot.app import JerryApp, create_app
from bot.config import Settings
from bot.surveys.keys import respondent_key, survey_secret
from models.deliveries import Delivery
from models.surveys import Survey, SurveyAnswer, SurveyInvite, SurveyRound
from models.users import SlackUser
from tests.fakeslack import BOT_USER_ID, FakeSlack
from tests.harness import PEOPLE, SlackDriver
from tests.test_cli import InProcessJerry, Jerry, assert_plain_text

pytestmark = pytest.mark.usefixtures("routed")

OWNER = "C0PMOPS"
QUESTIONS = [
    {"id": "q1", "kind": "scale5", "text": "Do customer-facing teams know your priorities?",
     "low": "Not at all", "high": "Completely"},
    {"id": "q2", "kind": "scale5", "text": "Has product ops' data shaped your decisions?",
     "low": "Never", "high": "Often"},
    {"id": "q3", "kind": "text", "text": "Rank your tasks, most time-consuming first"},
]  # fmt: skip
# Round 2 opens Monday 2026-03-09 09:00 UTC and closes Thursday 09:00 UTC (10:00 in Paris).
OPENED = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
CLOSES = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)
REMIND_FROM = CLOSES - timedelta(days=1)  # remind_before: 1d


# --- setting up rounds as the rounds and answers code stores them ----------------------------


async def add_survey(jerry: JerryApp, **fields: Any) -> int:
    values: dict[str, Any] = {
        "name": "pm-pulse",
        "title": "PM pulse",
        "owner_channel": OWNER,
        "audience_kind": "users",
        "audience": ["U0PRODOPS", "U0PAYLEAD", "U0MOBLEAD", "U0TOKYO"],
        "deliver_in": "dm",
        "schedule": {"day_of_week": "mon", "hour": 10},
        "timezone": "Europe/Paris",
        "open_for": "3d",
        "remind_before": "1d",
        "anonymous": False,
        "language": "en",
        "questions": QUESTIONS,
    }
    values.update(fields)
    async with jerry.sessions() as session:
        survey = Survey(**values)
        session.add(survey)
        await session.commit()
        return survey.id


async def add_round(
    jerry: JerryApp,
    survey_id: int,
    number: int,
    *,
    opened: datetime = OPENED,
    closes: datetime = CLOSES,
    status: str = "open",
    invited: int = 0,
    anonymous: bool = False,
) -> int:
    async with jerry.sessions() as session:
        round_ = SurveyRound(
            survey_id=survey_id,
            number=number,
            slot=opened,
            opened_at=opened,
            closes_at=closes,
            closed_at=closes if status == "closed" else None,
            status=status,
            questions=QUESTIONS,
            anonymous=anonymous,
            invited=invited,
            results_posted_at=closes if status == "closed" else None,
        )
        session.add(round_)
        await session.commit()
        return round_.id


async def invite(
    jerry: JerryApp,
    fake: FakeSlack,
    round_id: int,
    user: str,
    *,
    finished: bool = False,
    secret: str | None = None,
) -> str:
    """The person's invite (and Jerry's intro DM in the fake Slack); their respondent key."""
    intro = fake.add_message(user, BOT_USER_ID, "PM pulse: 3 quick questions")
    key = respondent_key(user, round_id, anonymous=secret is not None, secret=secret or "")
    async with jerry.sessions() as session:
        session.add(
            SurveyInvite(
                round_id=round_id,
                respondent=key,
                channel=None if secret else fake.dm_channel(user),
                ts=intro["ts"],
                question_ts={},
                finished_at=OPENED + timedelta(hours=1) if finished else None,
            )
        )
        await session.commit()
    return key


async def answer(
    jerry: JerryApp,
    round_id: int,
    respondent: str,
    question: str,
    value: float | str,
    *,
    at: datetime = OPENED + timedelta(hours=1),
) -> None:
    """`respondent` answers `question` (and their invite counts it, as answering does)."""
    async with jerry.sessions() as session:
        session.add(
            SurveyAnswer(
                round_id=round_id,
                respondent=respondent,
                question_id=question,
                number=value if not isinstance(value, str) else None,
                text=value if isinstance(value, str) else None,
                answered_at=at,
            )
        )
        await session.execute(
            update(SurveyInvite)
            .where(SurveyInvite.round_id == round_id, SurveyInvite.respondent == respondent)
            .values(answered=SurveyInvite.answered + 1)
        )
        await session.commit()


async def answer_all(
    jerry: JerryApp, round_id: int, respondent: str, q1: int, q2: int, q3: str, **kw: Any
) -> None:
    await answer(jerry, round_id, respondent, "q1", q1, **kw)
    await answer(jerry, round_id, respondent, "q2", q2, **kw)
    await answer(jerry, round_id, respondent, "q3", q3, **kw)


async def earlier_round(jerry: JerryApp, fake: FakeSlack, survey_id: int) -> None:
    """Round 1, a month earlier: q1 was 2.0 on average, q2 3.0."""
    round_id = await add_round(
        jerry,
        survey_id,
        1,
        opened=OPENED - timedelta(days=28),
        closes=CLOSES - timedelta(days=28),
        status="closed",
        invited=2,
    )
    for user, q1 in (("U0PRODOPS", 1), ("U0MOBLEAD", 3)):
        await answer_all(jerry, round_id, user, q1, 3, "old", at=OPENED - timedelta(days=27))


def reminders_to(fake: FakeSlack, user: str) -> list[Any]:
    return [c for c in fake.dms_to(user) if "reminder" in (c.get("text") or "")]


def results_posts(fake: FakeSlack) -> list[dict[str, Any]]:
    return [m for m in fake.messages.get(OWNER, []) if not m.get("thread_ts")]


def text_of(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks") or [], ensure_ascii=False) + message.get("text", "")


async def survey_round(jerry: JerryApp, round_id: int) -> SurveyRound:
    async with jerry.sessions() as session:
        found = await session.get(SurveyRound, round_id)
        assert found is not None
        return found


@pytest.fixture
def tokyo(fake_slack: FakeSlack) -> str:
    fake_slack.add_user("U0TOKYO", "kenji", tz="Asia/Tokyo", tz_offset=32400)
    return "U0TOKYO"


# --- reminders --------------------------------------------------------------------------------


async def test_reminders_go_to_unfinished_people_in_their_business_hours_once(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp, tokyo: str
) -> None:
    survey_id = await add_survey(jerry)
    round_id = await add_round(jerry, survey_id, 2, invited=4)
    await invite(jerry, fake_slack, round_id, "U0PRODOPS")  # Paris: answered one question
    await answer(jerry, round_id, "U0PRODOPS", "q1", 4)
    await invite(jerry, fake_slack, round_id, "U0PAYLEAD")  # New York: nothing yet
    await invite(jerry, fake_slack, round_id, "U0MOBLEAD", finished=True)  # Berlin: done
    await answer_all(jerry, round_id, "U0MOBLEAD", 5, 4, "discovery")
    await invite(jerry, fake_slack, round_id, tokyo)  # Tokyo: nothing yet

    # Before closes_at − 1d: nobody.
    await jerry.run_survey_results(REMIND_FROM - timedelta(minutes=1))
    assert not any(reminders_to(fake_slack, u) for u in ("U0PRODOPS", "U0PAYLEAD", tokyo))

    # Wednesday 09:30 UTC: 10:30 in Paris (reminded), 05:30 in New York and 18:30 in Tokyo
    # (both wait for their business hours).
    await jerry.run_survey_results(REMIND_FROM + timedelta(minutes=30))
    [paris] = reminders_to(fake_slack, "U0PRODOPS")
    assert "*2 questions* are still unanswered" in paris["text"]
    assert (
        "|2026-03-12 10:00 Europe/Paris>" in paris["text"]
    )  # each reader's time; Paris's fallback
    intro = (await invites_by_key(jerry, round_id))["U0PRODOPS"]
    assert paris.get("thread_ts") == intro.ts  # under their intro
    assert reminders_to(fake_slack, "U0PAYLEAD") == [] and reminders_to(fake_slack, tokyo) == []
    assert reminders_to(fake_slack, "U0MOBLEAD") == []

    # 14:00 UTC is 10:00 in New York.
    await jerry.run_survey_results(datetime(2026, 3, 11, 14, 0, tzinfo=UTC))
    [new_york] = reminders_to(fake_slack, "U0PAYLEAD")
    assert "*3 questions*" in new_york["text"]
    assert "|2026-03-12 05:00 America/New_York>" in new_york["text"]
    assert reminders_to(fake_slack, tokyo) == []  # 23:00 there

    # Thursday 00:30 UTC is 09:30 in Tokyo, and the round is still open.
    await jerry.run_survey_results(datetime(2026, 3, 12, 0, 30, tzinfo=UTC))
    [tokyo_dm] = reminders_to(fake_slack, tokyo)
    assert "|2026-03-12 18:00 Asia/Tokyo>" in tokyo_dm["text"]

    # Later ticks remind nobody again; the finished person was never reminded.
    await jerry.run_survey_results(datetime(2026, 3, 12, 8, 0, tzinfo=UTC))
    assert [len(reminders_to(fake_slack, u)) for u in ("U0PRODOPS", "U0PAYLEAD", tokyo)] == [
        1,
        1,
        1,
    ]
    assert reminders_to(fake_slack, "U0MOBLEAD") == []
    invites = await invites_by_key(jerry, round_id)
    assert invites["U0MOBLEAD"].reminded_at is None
    assert invites["U0PRODOPS"].reminded_at == REMIND_FROM + timedelta(minutes=30)


async def test_two_processes_remind_each_person_once(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp, settings: Settings
) -> None:
    survey_id = await add_survey(jerry, audience=["U0PRODOPS", "U0MOBLEAD"])
    round_id = await add_round(jerry, survey_id, 1, invited=2)
    for user in ("U0PRODOPS", "U0MOBLEAD"):
        await invite(jerry, fake_slack, round_id, user)
    other = create_app(settings)
    await other.start()
    try:
        now = REMIND_FROM + timedelta(hours=1)
        await asyncio.gather(jerry.run_survey_results(now), other.run_survey_results(now))
    finally:
        await other.stop()
    assert [len(reminders_to(fake_slack, u)) for u in ("U0PRODOPS", "U0MOBLEAD")] == [1, 1]


async def test_a_reminder_slack_refuses_for_a_while_is_sent_at_the_next_tick(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    survey_id = await add_survey(jerry, audience=["U0PRODOPS"])
    round_id = await add_round(jerry, survey_id, 1, invited=1)
    await invite(jerry, fake_slack, round_id, "U0PRODOPS")
    fake_slack.fail_next("chat.postMessage", "fatal_error", when=lambda a: a.get("thread_ts"))
    await jerry.run_survey_results(REMIND_FROM + timedelta(minutes=30))
    assert reminders_to(fake_slack, "U0PRODOPS") == []
    await jerry.run_survey_results(REMIND_FROM + timedelta(minutes=31))
    assert len(reminders_to(fake_slack, "U0PRODOPS")) == 1


async def test_a_round_answered_in_a_channel_reminds_by_dm_pointing_to_the_thread(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    survey_id = await add_survey(jerry, audience=["C0PMS"], audience_kind="channel",
                                 deliver_in="C0PMS")  # fmt: skip
    round_id = await add_round(jerry, survey_id, 1, invited=2)
    intro = fake_slack.add_message("C0PMS", BOT_USER_ID, "PM pulse: answer in this thread")
    async with jerry.sessions() as session:
        round_ = await session.get(SurveyRound, round_id)
        assert round_ is not None
        round_.channel, round_.ts = "C0PMS", intro["ts"]
        for user, done in (("U0PRODOPS", False), ("U0MOBLEAD", True)):
            session.add(
                SurveyInvite(
                    round_id=round_id,
                    respondent=user,
                    channel="C0PMS",
                    ts=intro["ts"],
                    question_ts={},
                    finished_at=OPENED if done else None,
                )
            )
        await session.commit()
    await jerry.run_survey_results(REMIND_FROM + timedelta(minutes=30))
    [dm] = reminders_to(fake_slack, "U0PRODOPS")
    assert dm.get("thread_ts") is None and "<#C0PMS>" in dm["text"]
    assert reminders_to(fake_slack, "U0MOBLEAD") == []
    assert [m for m in fake_slack.messages["C0PMS"] if m["ts"] != intro["ts"]] == []


async def invites_by_key(jerry: JerryApp, round_id: int) -> dict[str, SurveyInvite]:
    async with jerry.sessions() as session:
        rows = await session.execute(select(SurveyInvite).where(SurveyInvite.round_id == round_id))
        return {invite.respondent: invite for invite in rows.scalars()}


# --- closing and results ----------------------------------------------------------------------


async def test_closing_posts_results_once_across_two_processes_and_a_restart(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp, settings: Settings
) -> None:
    survey_id = await add_survey(jerry, audience=["U0PRODOPS", "U0PAYLEAD", "U0MOBLEAD"])
    await earlier_round(jerry, fake_slack, survey_id)
    round_id = await add_round(jerry, survey_id, 2, invited=3)
    for user in ("U0PRODOPS", "U0PAYLEAD", "U0MOBLEAD"):
        await invite(jerry, fake_slack, round_id, user, finished=user != "U0PAYLEAD")
    await answer_all(jerry, round_id, "U0PRODOPS", 4, 2, "Discovery, then delivery")
    await answer_all(jerry, round_id, "U0MOBLEAD", 5, 4, "Support <!channel> escalations")
    await answer(jerry, round_id, "U0PAYLEAD", "q1", 3)
    # A late answer (stored after closing time, the tick being late): never counted.
    await answer(jerry, round_id, "U0PAYLEAD", "q2", 1, at=CLOSES + timedelta(minutes=2))

    # Not before its time.
    await jerry.run_survey_results(CLOSES - timedelta(minutes=1))
    await jerry.drain()
    assert (await survey_round(jerry, round_id)).status == "open"
    assert results_posts(fake_slack) == []

    other = create_app(settings)
    await other.start()
    try:
        late = CLOSES + timedelta(minutes=5)
        await asyncio.gather(jerry.run_survey_results(late), other.run_survey_results(late))
        await asyncio.gather(jerry.drain(), other.drain())
    finally:
        await other.stop()
    await slack.settle()

    closed = await survey_round(jerry, round_id)
    assert (closed.status, closed.closed_at) == ("closed", CLOSES + timedelta(minutes=5))
    assert closed.results_posted_at is not None
    [post] = results_posts(fake_slack)
    text = text_of(post)
    assert "PM pulse: results of round 2" in text
    assert "*2 of 3* answered every question (67%)" in text and "1 more answered only some" in text
    assert "Mean *4.0* / 5 (3 answers)" in text  # q1: 4, 5, 3
    assert "↗ +2.0 since round 1" in text and "#1 2.0 → #2 4.0" in text
    assert "Mean *3.0* / 5 (2 answers)" in text  # q2: the late 1 is not counted
    assert "<!channel>" not in json.dumps(fake_slack.messages.get(OWNER))
    thread = fake_slack.thread(OWNER, post["ts"])
    thread_text = " ".join(text_of(m) for m in thread)
    assert "Discovery, then delivery" in thread_text and "— Olga" in thread_text  # named survey
    # The trend chart, a PNG, in the results' thread.
    [upload] = fake_slack.calls_to("files.completeUploadExternal", ok=True)
    assert (upload["channel_id"], upload["thread_ts"]) == (OWNER, post["ts"])
    [chart] = [f for f in fake_slack.files.values() if f["content"]]
    assert chart["content"].startswith(b"\x89PNG") and chart["name"].endswith(".png")

    # A restart, later ticks: nothing more.
    restarted = create_app(settings)
    await restarted.start()
    try:
        await restarted.run_survey_results(CLOSES + timedelta(hours=1))
        await restarted.drain()
    finally:
        await restarted.stop()
    await jerry.run_survey_results(CLOSES + timedelta(days=1))
    await slack.settle()
    assert len(results_posts(fake_slack)) == 1
    assert len(fake_slack.calls_to("files.completeUploadExternal")) == 1
    async with jerry.sessions() as session:
        rows = await session.execute(select(Delivery).where(Delivery.purpose == "survey_results"))
        assert [d.status for d in rows.scalars()] == ["sent"]


async def test_a_results_reply_slack_refuses_for_a_while_is_posted_later_once(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    """The text answers go in the results' thread; Slack refuses that reply (errors, then
    rate limits) more times than any in-call retry: it is retried by the outbox until
    posted, once, under the one main post (it used to be logged and lost)."""
    survey_id = await add_survey(jerry, audience=["U0PRODOPS", "U0MOBLEAD"])
    round_id = await add_round(jerry, survey_id, 1, invited=2)
    for user in ("U0PRODOPS", "U0MOBLEAD"):
        await invite(jerry, fake_slack, round_id, user)
    await answer_all(jerry, round_id, "U0PRODOPS", 4, 2, "Discovery, then delivery")
    await answer_all(jerry, round_id, "U0MOBLEAD", 5, 4, "Support escalations")
    in_thread = lambda a: a.get("channel") == OWNER and bool(a.get("thread_ts"))  # noqa: E731
    fake_slack.fail_next("chat.postMessage", "internal_error", times=3, when=in_thread)
    fake_slack.rate_limit_next("chat.postMessage", retry_after=1, when=in_thread)
    fake_slack.rate_limit_next("chat.postMessage", retry_after=1, when=in_thread)

    await jerry.run_survey_results(CLOSES + timedelta(minutes=5))
    [post] = await fake_slack.wait_for(lambda: results_posts(fake_slack), message="results")
    await fake_slack.wait_for(
        lambda: fake_slack.thread(OWNER, post["ts"]), timeout=20, message="the reply at last"
    )
    await slack.settle()

    assert len(results_posts(fake_slack)) == 1
    replies = [m for m in fake_slack.thread(OWNER, post["ts"]) if "Discovery" in text_of(m)]
    assert len(replies) == 1 and "Support escalations" in text_of(replies[0])
    assert len(fake_slack.calls_to("chat.postMessage", ok=False)) == 5
    assert (await survey_round(jerry, round_id)).results_posted_at is not None


async def test_a_chart_that_fails_never_blocks_the_results(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    survey_id = await add_survey(jerry, audience=["U0PRODOPS"])
    round_id = await add_round(jerry, survey_id, 1, invited=1)
    await invite(jerry, fake_slack, round_id, "U0PRODOPS", finished=True)
    await answer_all(jerry, round_id, "U0PRODOPS", 4, 4, "fine")
    fake_slack.fail_next("files.getUploadURLExternal", "fatal_error", times=5)
    await jerry.run_survey_results(CLOSES)
    await slack.settle()
    [post] = results_posts(fake_slack)
    assert "results of round 1" in text_of(post)
    assert (await survey_round(jerry, round_id)).results_posted_at is not None


async def test_an_owner_channel_jerry_cannot_post_in_tells_triage_once(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    fake_slack.add_channel(OWNER, "pm-ops", member=False)
    survey_id = await add_survey(jerry, audience=["U0PRODOPS"])
    round_id = await add_round(jerry, survey_id, 1, invited=1)
    await invite(jerry, fake_slack, round_id, "U0PRODOPS")
    await jerry.run_survey_results(CLOSES)
    await slack.settle()
    await jerry.run_survey_results(CLOSES + timedelta(minutes=1))
    await slack.settle()
    assert results_posts(fake_slack) == []
    alerts = [c for c in fake_slack.posts("C0PRODOPS") if "pm-pulse" in c.get("text", "")]
    assert len(alerts) == 1
    assert "not_in_channel" in alerts[0]["text"] and "--round 1" in alerts[0]["text"]
    assert (await survey_round(jerry, round_id)).status == "closed"


# --- anonymity --------------------------------------------------------------------------------


async def test_anonymous_round_no_identity_in_database_logs_or_messages(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    jerry: JerryApp,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="jerry")
    fake_slack.usergroups["S0PMS"] = ["U0PRODOPS", "U0MOBLEAD", "U0FRENCH"]
    fake_slack.usergroups["S0REV"] = ["U0PAYLEAD", "U0PAYBACK"]
    people = ["U0PRODOPS", "U0MOBLEAD", "U0FRENCH", "U0PAYLEAD", "U0PAYBACK"]
    survey_id = await add_survey(
        jerry, anonymous=True, audience_kind="usergroup", audience=["S0PMS", "S0REV"]
    )
    round_id = await add_round(jerry, survey_id, 1, invited=5, anonymous=True)
    secret = await survey_secret(jerry.sessions)
    keys = {}
    for user in people:
        keys[user] = await invite(
            jerry, fake_slack, round_id, user, secret=secret, finished=user != "U0PAYBACK"
        )
    for n, user in enumerate(people[:4]):
        await answer_all(jerry, round_id, keys[user], 3 + n % 3, 4, f"idea number {n}")
    sent_before = len(fake_slack.calls)

    await jerry.run_survey_results(REMIND_FROM + timedelta(minutes=30))  # 10:30 in Paris
    assert [u for u in people if reminders_to(fake_slack, u)] == ["U0PAYBACK"]
    [reminder] = reminders_to(fake_slack, "U0PAYBACK")
    # a new DM: the round keeps no ts of their thread, only its keyed hash
    assert reminder.get("thread_ts") is None
    assert "*3 questions*" in reminder["text"]

    await jerry.run_survey_results(CLOSES)
    await slack.settle()
    [post] = results_posts(fake_slack)
    text = text_of(post) + " ".join(text_of(m) for m in fake_slack.thread(OWNER, post["ts"]))
    assert "*4 of 5* answered every question (80%)" in text
    # No breakdown by group for an anonymous round: who answered is known, so a group's
    # answers could name a lone respondent's (S0REV has one).
    assert "S0PMS" not in text and "S0REV" not in text
    assert "idea number 2" in text

    # No identity anywhere: database rows, logs, what Jerry said.
    identities = set(people)
    identities |= {fake_slack.dm_channel(u) for u in people}
    identities |= {PEOPLE[u][0] for u in people if u in PEOPLE}
    identities |= {fake_slack.users[u].real_name for u in people}
    async with jerry.engine.connect() as conn:
        for table in ("survey_rounds", "survey_invites", "survey_answers", "deliveries"):
            rows = (await conn.execute(select(Delivery.__table__) if table == "deliveries"
                    else select(Survey.metadata.tables[table]))).all()  # fmt: skip
            dump = json.dumps([list(map(str, row)) for row in rows])
            assert not named(identities, dump), table
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert logged and not named(identities, logged)
    for call in fake_slack.calls[sent_before:]:
        said = json.dumps({k: v for k, v in call.args.items() if k not in {"channel"}})
        if call.method == "chat.postMessage" or call.method.startswith("files."):
            assert not named(identities, said), call.method


def named(identities: set[str], text: str) -> list[str]:
    """The identities that appear in `text` as whole words."""
    return [i for i in identities if re.search(rf"(?<![\w]){re.escape(i)}(?![\w])", text, re.I)]


# --- the CLI ----------------------------------------------------------------------------------


async def test_cli_results_in_text_csv_and_json(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp, database_url: str, tmp_path: Path
) -> None:
    survey_id = await add_survey(jerry, audience=["U0PRODOPS", "U0MOBLEAD"])
    await earlier_round(jerry, fake_slack, survey_id)
    round_id = await add_round(jerry, survey_id, 2, invited=2)
    await invite(jerry, fake_slack, round_id, "U0PRODOPS", finished=True)
    await answer_all(jerry, round_id, "U0PRODOPS", 5, 4, "Discovery")
    await answer(jerry, round_id, "U0MOBLEAD", "q1", 3, at=CLOSES + timedelta(hours=1))  # late

    # The text as a real `jerry` process prints it; the other runs through the command's own
    # entry point in this process (a process start costs a second of imports).
    real = Jerry(tmp_path, {"DATABASE_URL": database_url})
    cli = InProcessJerry(tmp_path, {"DATABASE_URL": database_url})
    # The round still open: the latest closed one (round 1) by default; round 2 "so far".
    latest, so_far = await asyncio.gather(
        real("surveys", "results", "pm-pulse"),
        cli("surveys", "results", "pm-pulse", "--round", "2"),
    )
    assert latest.ok and "PM pulse: results of round 1" in latest.stdout, str(latest)
    assert so_far.ok and "round 2 so far (still open)" in so_far.stdout, str(so_far)
    assert "Mean 5.0 / 5 (1 answer)" in so_far.stdout  # the late answer is not counted...

    await jerry.run_survey_results(CLOSES + timedelta(hours=2))
    await slack.settle()
    text, table, data, unknown = await asyncio.gather(
        real("surveys", "results", "pm-pulse"),
        cli("surveys", "results", "pm-pulse", "--format", "csv"),
        cli("surveys", "results", "pm-pulse", "--format", "json"),
        cli("surveys", "results", "no-such-survey"),
    )
    assert text.ok and "PM pulse: results of round 2" in text.stdout, str(text)
    assert "1 of 2 answered every question (50%)" in text.stdout
    assert "Mean 5.0 / 5 (1 answer)" in text.stdout  # ...nor after closing
    assert "Discovery (Olga)" in text.stdout
    assert_plain_text(text.stdout)
    rows = list(csv.DictReader(io.StringIO(table.stdout)))
    by = {(r["question"], r["measure"], r["key"]): r["value"] for r in rows}
    assert by[("q1", "mean", "")] == "5.00" and by[("q1", "change", "")] == "'+3.00"
    assert by[("", "invited", "")] == "2" and rows[0]["round"] == "2"
    parsed = json.loads(data.stdout)
    assert (parsed["round"], parsed["status"], parsed["so_far"]) == (2, "closed", False)
    assert parsed["questions"][0]["trend"] == [
        {"round_number": 1, "mean": 2.0, "count": 2},
        {"round_number": 2, "mean": 5.0, "count": 1},
    ]
    assert unknown.returncode == 1 and "No survey is named “no-such-survey”" in unknown.stderr
    assert "pm-pulse" in unknown.stderr and "Traceback" not in unknown.stderr


# --- the whole round, with the rounds and answers code ----------------------------------------


async def test_a_round_started_and_answered_in_slack_closes_with_its_results(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp, settings: Settings
) -> None:
    from bot.surveys.rounds import start_round
    from models.base import utcnow

    people = ["U0PRODOPS", "U0MOBLEAD", "U0PAYBACK", "U0FRENCH"]
    fake_slack.usergroups["S0PMS"] = people
    await add_survey(jerry, anonymous=True, audience_kind="usergroup", audience=["S0PMS"])
    now = utcnow()
    started = await start_round(jerry.services, "pm-pulse", now=now)
    assert (started.status, started.invited) == ("started", 4)
    await slack.settle()  # the outbox asks everyone
    for user in people[:3]:  # three answer everything; the fourth nothing
        dm = fake_slack.dm_channel(user)
        [asked] = [m for m in fake_slack.messages[dm] if not m.get("thread_ts")]
        await slack.click(asked, dm, "survey_answer_form", user=user)  # the scales: the form
        await slack.settle()
        view = slack.last_view()
        values = {
            block["block_id"]: {"answer": {"type": block["element"]["type"], "selected_option": {"value": "5"}}}
            for block in view["blocks"]
            if block["type"] == "input" and block["element"]["type"] != "plain_text_input"
        }  # fmt: skip
        assert (await slack.submit(view, values, user=user)).status_code == 200
        await slack.dm(
            f"focus on discovery ({user[-3:].lower()})", user=user, thread_ts=asked["ts"]
        )  # the free text: the thread; fmt: skip
        await slack.settle()

    await jerry.run_survey_results(now + timedelta(days=3, minutes=1))
    await slack.settle()
    [post] = results_posts(fake_slack)
    text = text_of(post) + " ".join(text_of(m) for m in fake_slack.thread(OWNER, post["ts"]))
    assert "*3 of 4* answered every question (75%)" in text
    assert text.count("Mean *5.0* / 5 (3 answers)") == 2
    assert "focus on discovery (ops)" in text and "focus on discovery (ack)" in text
    assert not named(set(people) | {fake_slack.dm_channel(u) for u in people}, text)
    # the survey's first round: no trend to chart, said in words
    assert "No trend chart yet: it starts with the second round." in text
    assert fake_slack.calls_to("files.completeUploadExternal") == []


# --- scale ------------------------------------------------------------------------------------


async def test_results_cost_the_same_queries_for_10_and_50_answerers(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    """Closing a round and posting its results: a fixed number of SQL statements, however
    many people answered (it was two per answerer: 10 007 for 5 000 people)."""
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # The outbox's background loop (due rows, the next due time, the backlog alert's
        # check) reads when it likes: not counted. Its claims and sends are.
        polling = statement.lstrip().startswith("SELECT") and (
            "FROM deliveries" in statement or "FROM outbox_alerts" in statement
        )
        if not polling:
            statements.append(statement)

    counts = {}
    for week, n in enumerate((10, 50)):
        shift = timedelta(days=7 * week)
        survey_id = await add_survey(jerry, name=f"pulse-{n}")
        round_id = await add_round(
            jerry, survey_id, 1, opened=OPENED + shift, closes=CLOSES + shift, invited=n
        )
        async with jerry.sessions() as session:
            for i in range(n):
                user = f"U0P{n}X{i:03d}"
                session.add(SlackUser(id=user, name=f"p{n}x{i}", real_name=f"Person {n}-{i}"))
                for question, value in (("q1", 1 + i % 5), ("q2", 5 - i % 5), ("q3", f"idea {i}")):
                    session.add(
                        SurveyAnswer(
                            round_id=round_id,
                            respondent=user,
                            question_id=question,
                            number=value if not isinstance(value, str) else None,
                            text=value if isinstance(value, str) else None,
                            answered_at=OPENED + shift + timedelta(hours=1),
                        )
                    )
            await session.commit()
        statements.clear()
        event.listen(jerry.engine.sync_engine, "before_cursor_execute", count)
        try:
            await jerry.run_survey_results(CLOSES + shift)
            await slack.settle()
        finally:
            event.remove(jerry.engine.sync_engine, "before_cursor_execute", count)
        counts[n] = len(statements)
        [post] = [m for m in results_posts(fake_slack) if f"*{n} of {n}*" in text_of(m)]
        assert f"*{n} of {n}* answered every question (100%)" in text_of(post)
    assert counts[10] == counts[50], counts
