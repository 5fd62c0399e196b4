"""End to end: answering a pulse survey in its private form (the Answer button), in its Slack
thread, and with the one-click buttons of rounds posted before the form.

A round is started with `bot.surveys.rounds.start_round` (one message per person with every
question and the Answer button, through the fake Slack); people then answer with signed Slack
requests (clicks, form submissions, thread messages) sent to the ASGI app. The handler's clock is the scheduler's, which tests set. We look at the database,
at what the fake Slack received and at the logs. Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import JerryApp
from bot.surveys.keys import respondent_key, survey_secret
from bot.surveys.rounds import start_round
from models.base import Base
from models.items import Item
from models.surveys import Survey, SurveyAnswer, SurveyInvite, SurveyRound
from tests import payloads
from tests.fakeslack import BOT_USER_ID, FakeSlack
from tests.french import spaced
from tests.harness import SIGNING_SECRET, SlackDriver

PM1, PM2, STRANGER = "U0PMONE", "U0PMTWO", "U0STRANGER"
# The one confirmation (the round closes Thursday at 10:00 in Paris)
DONE = (
    "Thanks — all 4 answers are in. You can change them until "
    "<!date^1795683600^{date_short_pretty} {time}|2026-11-26 10:00 Europe/Paris>."
)
PM_CHANNEL = "C0PMS"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
QUESTIONS = [
    {"id": "priorities", "kind": "scale5", "text": "Do customer-facing teams know your priorities?",
     "low": "Not at all", "high": "Completely"},
    {"id": "nps", "kind": "scale10", "text": "Would you recommend product ops?"},
    {"id": "focus", "kind": "choice", "text": "Where does your time go?",
     "options": ["Discovery", "Delivery", "Support"]},
    {"id": "tasks", "kind": "text", "text": "Rank your tasks, most time-consuming first."},
]  # fmt: skip


# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def people(fake_slack: FakeSlack) -> None:
    fake_slack.add_user(PM1, "pmone", real_name="Paula Manager")
    fake_slack.add_user(PM2, "pmtwo", real_name="Pierre Produit", locale="fr-FR")
    fake_slack.add_channel(PM_CHANNEL, "product-managers", members=[PM1, PM2, STRANGER])


@pytest.fixture
def clock(jerry: JerryApp) -> list[datetime]:
    now = [NOW + timedelta(hours=1)]
    jerry.scheduler.clock = lambda: now[0]
    return now


async def start(
    jerry: JerryApp,
    *,
    anonymous: bool = False,
    language: str = "en",
    deliver_in: str = "dm",
    name: str = "pm-pulse",
    questions: list[dict[str, Any]] | None = None,
) -> SurveyRound:
    async with jerry.sessions() as session:
        session.add(
            Survey(
                name=name,
                title="PM pulse",
                owner_channel="C0PRODOPS",
                audience_kind="users",
                audience=[PM1, PM2],
                deliver_in=deliver_in,
                schedule={"day_of_week": "mon", "hour": 10},
                timezone="Europe/Paris",
                open_for="3d",
                remind_before="1d",
                anonymous=anonymous,
                language=language,
                questions=questions or QUESTIONS,
                archived=False,
            )
        )
        await session.commit()
    result = await start_round(jerry.services, name, now=NOW)
    assert result.status == "started" and result.invited == 2, result
    await jerry.drain()  # the outbox asks everyone
    async with jerry.sessions() as session:
        round_ = await session.get(SurveyRound, result.round_id)
    assert round_ is not None
    return round_


def dm(user: str) -> str:
    return "D" + user[1:]


def intro_ts(fake: FakeSlack, channel: str) -> str:
    """The intro of the round: Jerry's first top-level message there."""
    return next(
        m["ts"]
        for m in fake.messages[channel]
        if m.get("user") == BOT_USER_ID and not m.get("thread_ts")
    )


async def reply(
    slack: SlackDriver,
    text: str,
    *,
    user: str,
    channel: str | None = None,
    thread_ts: str | None = None,
    headers: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`user` writes `text` in the round's thread (their DM's by default); the event body."""
    channel = channel or dm(user)
    thread_ts = thread_ts or intro_ts(slack.fake, channel)
    if body is None:
        ts = slack.fake.add_message(channel, user, text, thread_ts=thread_ts)["ts"]
        body = payloads.thread_message(
            text,
            user=user,
            channel=channel,
            thread_ts=thread_ts,
            ts=ts,
            channel_type="im" if channel.startswith("D") else "channel",
        )
    response = await slack.event(body, headers=headers)
    assert response.status_code == 200, response.text
    await slack.settle()
    return body


async def edit(slack: SlackDriver, body: dict[str, Any], text: str) -> dict[str, Any]:
    event = body["event"]
    edited = payloads.message_changed(
        user=event["user"],
        channel=event["channel"],
        ts=event["ts"],
        text=text,
        thread_ts=event["thread_ts"],
        channel_type=event["channel_type"],
    )
    response = await slack.event(edited)
    assert response.status_code == 200
    await slack.settle()
    return edited


async def answers(jerry: JerryApp, respondent: str | None = None) -> dict[str, Any]:
    """question id → number, choice or text (of `respondent`, or of everyone when alone)."""
    async with jerry.sessions() as session:
        query = select(SurveyAnswer)
        if respondent is not None:
            query = query.where(SurveyAnswer.respondent == respondent)
        rows = (await session.scalars(query)).all()
    found: dict[str, Any] = {}
    for row in rows:
        value = row.number if row.number is not None else row.choice or row.text
        found[row.question_id] = int(value) if isinstance(value, float) else value
    return found


async def answers_by_respondent(jerry: JerryApp) -> dict[str, dict[str, Any]]:
    """What each answer row's respondent value answered (question id → value)."""
    async with jerry.sessions() as session:
        rows = (await session.scalars(select(SurveyAnswer))).all()
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        value = row.number if row.number is not None else row.choice or row.text
        value = int(value) if isinstance(value, float) else value
        found.setdefault(row.respondent, {})[row.question_id] = value
    return found


async def invite(jerry: JerryApp, respondent: str) -> SurveyInvite:
    async with jerry.sessions() as session:
        row = await session.scalar(
            select(SurveyInvite).where(SurveyInvite.respondent == respondent)
        )
    assert row is not None
    return row


def notes(fake: FakeSlack, channel: str, thread_ts: str) -> list[str]:
    """Jerry's notes in the thread after its question messages."""
    return [
        m["text"]
        for m in fake.thread(channel, thread_ts)
        if m.get("user") == BOT_USER_ID
        and not m["text"].startswith("*")
        and "Question" not in m["text"][:12]
    ]


def reactions(fake: FakeSlack, channel: str, ts: str) -> list[str]:
    message = fake.message(channel, ts)
    assert message is not None
    return list(message.get("reactions") or [])


def legacy_question(fake: FakeSlack, channel: str, round_id: int, question_id: str, top: int):
    """A scale question's message with one button per value, as rounds posted before the
    answer form have them in their thread: those buttons still answer."""
    thread = intro_ts(fake, channel)
    message = fake.add_message(channel, BOT_USER_ID, f"{question_id}?", thread_ts=thread)
    message["blocks"] = [
        {
            "type": "actions",
            "block_id": f"survey_{round_id}_{question_id}",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": str(n)},
                    "action_id": f"survey_answer_{n}",
                    "value": f"{round_id}:{question_id}:{n}",
                }
                for n in range(0 if top == 10 else 1, top + 1)
            ],
        }
    ]
    return message


def question_message(fake: FakeSlack, channel: str, question_id: str) -> dict[str, Any]:
    for message in fake.messages[channel]:
        for block in message.get("blocks") or []:
            if block.get("type") == "actions" and any(
                f":{question_id}:" in (e.get("value") or "") for e in block["elements"]
            ):
                return message
    raise AssertionError(f"no buttons for {question_id}")


async def click(
    slack: SlackDriver, channel: str, question_id: str, value: int, *, user: str
) -> dict[str, Any]:
    message = question_message(slack.fake, channel, question_id)
    element = next(
        e
        for b in message["blocks"]
        if b.get("type") == "actions"
        for e in b["elements"]
        if e["value"].endswith(f":{question_id}:{value}")
    )
    body = payloads.block_action(
        user=user,
        action_id=element["action_id"],
        value=element["value"],
        channel=channel,
        message=message,
        response_url=slack.fake.response_url(),
    )
    response = await slack.interactive(body)
    assert response.status_code == 200
    await slack.settle()
    return slack.fake.responses[-1]


def round_message(fake: FakeSlack, channel: str) -> dict[str, Any]:
    return next(
        m for m in fake.messages[channel] if m.get("user") == BOT_USER_ID and not m.get("thread_ts")
    )


def initial(view: dict[str, Any], question_id: str) -> str | None:
    """What the form shows as answered to a question ("4", "o2", the text, or "skip")."""
    for block in view["blocks"]:
        element = block.get("element") or {}
        if block.get("block_id") == f"skip:{question_id}" and element.get("initial_options"):
            return "skip"
        if block.get("block_id") == f"q:{question_id}":
            found = element.get("initial_option") or {}
            value = found.get("value") or element.get("initial_value")
            if value is not None or element["type"] != "plain_text_input":
                return value
    return None


def view_round(view: dict[str, Any]) -> int:
    return int(json.loads(view["private_metadata"])["round"])


async def open_form(slack: SlackDriver, *, user: str, channel: str | None = None) -> Any:
    """`user` clicks Answer on the round message (in their DM by default): the form Jerry
    opened, or None when it refused (then its private answer is the last response)."""
    channel = channel or dm(user)
    opened = len(slack.fake.calls_to("views.open", ok=True))
    response = await slack.click(
        round_message(slack.fake, channel), channel, "survey_answer_form", user=user
    )
    assert response.status_code == 200
    await slack.settle()
    if len(slack.fake.calls_to("views.open", ok=True)) == opened:
        return None
    return slack.last_view()


def form_values(view: dict[str, Any], **answers: str) -> dict[str, dict[str, Any]]:
    """The form's state as Slack submits it: question id → "4", "o2", text, or "skip"
    (a free-text question's skip is its box). Questions not named are left as shown."""
    values: dict[str, dict[str, Any]] = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        element = block["element"]
        kind, _, question_id = block["block_id"].partition(":")
        wanted = answers.get(question_id)
        if kind == "skip":
            chosen = [o for o in element["options"] if wanted == "skip"]
            if wanted is None:
                chosen = element.get("initial_options") or []
            state = {"type": "checkboxes", "selected_options": chosen}
        elif element["type"] == "plain_text_input":
            text = element.get("initial_value") if wanted is None else wanted
            state = {"type": "plain_text_input", "value": None if text == "skip" else text}
        else:
            option = next((o for o in element["options"] if o["value"] == wanted), None)
            if wanted is None:
                option = element.get("initial_option")
            state = {"type": element["type"], "selected_option": option}
        values[block["block_id"]] = {element["action_id"]: state}
    return values


async def submit_form(
    slack: SlackDriver, view: dict[str, Any], *, user: str, **answers: str
) -> dict[str, Any]:
    """Submit the form with `answers` (see form_values); Jerry's answer to the submission."""
    response = await slack.submit(view, form_values(view, **answers), user=user)
    assert response.status_code == 200
    await slack.settle()
    return response.json() if response.content else {}


# --- answering in the thread ----------------------------------------------------------------


@pytest.mark.usefixtures("people")
async def test_one_by_one_in_order(slack: SlackDriver, jerry: JerryApp, clock: list) -> None:
    round_ = await start(jerry)
    thread = intro_ts(slack.fake, dm(PM1))
    first = await reply(slack, "I'd say 4", user=PM1)
    assert await answers(jerry, PM1) == {"priorities": 4}
    assert reactions(slack.fake, dm(PM1), first["event"]["ts"]) == ["white_check_mark"]
    assert notes(slack.fake, dm(PM1), thread) == []  # understood: the ✓ says it, nothing more
    await reply(slack, ":nine:", user=PM1)
    await reply(slack, "delivery", user=PM1)
    assert (await invite(jerry, PM1)).finished_at is None
    clock[0] += timedelta(minutes=5)
    await reply(slack, "1) roadmap reviews 2) support escalations", user=PM1)
    assert await answers(jerry, PM1) == {
        "priorities": 4,
        "nps": 9,
        "focus": "Delivery",
        "tasks": "1) roadmap reviews 2) support escalations",
    }
    assert (await invite(jerry, PM1)).finished_at == clock[0]
    # one confirmation, after the last question; none before
    assert notes(slack.fake, dm(PM1), thread) == [DONE]
    # PM2 has answered nothing; the round counts nobody else
    assert await answers(jerry, PM2) == {}
    assert round_.status == "open"


@pytest.mark.usefixtures("people")
async def test_all_at_once_in_french_and_out_of_order(
    slack: SlackDriver, jerry: JerryApp, clock: list
) -> None:
    await start(jerry, language="fr")
    thread = intro_ts(slack.fake, dm(PM2))
    await reply(slack, "3) support\n1) quatre\n2) :keycap_ten:", user=PM2)
    assert await answers(jerry, PM2) == {"priorities": 4, "nps": 10, "focus": "Support"}
    assert notes(slack.fake, dm(PM2), thread) == []
    await reply(slack, "plus de découverte, moins de réunions", user=PM2)
    assert (await answers(jerry, PM2))["tasks"] == "plus de découverte, moins de réunions"
    assert (await invite(jerry, PM2)).finished_at is not None
    [done] = notes(slack.fake, dm(PM2), thread)
    assert done.startswith("Merci — vos 4 réponses sont bien reçues. Vous pouvez les modifier")


@pytest.mark.usefixtures("people")
async def test_what_is_not_understood_is_said_with_why(
    slack: SlackDriver, jerry: JerryApp, clock: list
) -> None:
    await start(jerry)
    thread = intro_ts(slack.fake, dm(PM1))
    nothing = await reply(slack, "no idea", user=PM1)
    assert await answers(jerry, PM1) == {}
    assert reactions(slack.fake, dm(PM1), nothing["event"]["ts"]) == ["question"]
    note = notes(slack.fake, dm(PM1), thread)[-1]
    assert "Question 1: I found no number (5-point scale: 1 to 5)." in note
    assert "4 questions left" in note and "like “2) 4”" in note
    partly = await reply(slack, "1) 7  2) 8  3) marketing", user=PM1)
    assert await answers(jerry, PM1) == {"nps": 8}
    assert reactions(slack.fake, dm(PM1), partly["event"]["ts"]) == ["white_check_mark"]
    note = notes(slack.fake, dm(PM1), thread)[-1]
    assert note.startswith("Got it: 2 → 8.\nNot understood:")
    assert "Question 1: 7 is not on the scale (5-point scale: 1 to 5)." in note
    assert "Choose one of: 1. Discovery, 2. Delivery, 3. Support." in note
    assert note.endswith("3 questions left (1, 3, 4).")


@pytest.mark.usefixtures("people")
async def test_edits_replace_and_the_latest_answer_wins(
    slack: SlackDriver, jerry: JerryApp, clock: list
) -> None:
    await start(jerry)
    thread = intro_ts(slack.fake, dm(PM1))
    first = await reply(slack, "1) 4 2) 7", user=PM1)
    assert await answers(jerry, PM1) == {"priorities": 4, "nps": 7}
    edited = await edit(slack, first, "1) 5")  # the edit no longer answers question 2
    assert await answers(jerry, PM1) == {"priorities": 5}
    count = len(notes(slack.fake, dm(PM1), thread))
    # Slack retrying the edit event changes nothing and says nothing again
    await slack.event(edited, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "timeout"})
    await slack.settle()
    assert len(notes(slack.fake, dm(PM1), thread)) == count
    # answering again: the latest answer wins
    await reply(slack, "2) 3", user=PM1)
    await reply(slack, "Q2: 6", user=PM1)
    assert await answers(jerry, PM1) == {"priorities": 5, "nps": 6}
    # an unnumbered reply, edited, stays about the question it answered
    third = await reply(slack, "Support", user=PM1)
    await reply(slack, "meetings", user=PM1)
    assert (await invite(jerry, PM1)).finished_at is not None
    await edit(slack, third, "discovery")
    assert (await answers(jerry, PM1))["focus"] == "Discovery"
    assert (await answers(jerry, PM1))["tasks"] == "meetings"
    # an edit that loses an answer reopens the person's round
    await edit(slack, third, "hmm")
    assert "focus" not in await answers(jerry, PM1)
    assert (await invite(jerry, PM1)).finished_at is None


@pytest.mark.usefixtures("people")
async def test_deleting_a_reply_takes_its_answers_back(
    slack: SlackDriver, jerry: JerryApp, clock: list
) -> None:
    await start(jerry)
    thread = intro_ts(slack.fake, dm(PM1))
    body = await reply(slack, "1) 2 2) 3", user=PM1)
    await reply(slack, "3) delivery", user=PM1)
    count = len(notes(slack.fake, dm(PM1), thread))
    deleted = payloads.message_deleted(
        channel=dm(PM1), ts=body["event"]["ts"], user=PM1, thread_ts=thread, channel_type="im"
    )
    assert (await slack.event(deleted)).status_code == 200
    await slack.settle()
    assert await answers(jerry, PM1) == {"focus": "Delivery"}
    assert len(notes(slack.fake, dm(PM1), thread)) == count  # nothing said


@pytest.mark.usefixtures("people")
async def test_slack_retries_never_double_count(
    slack: SlackDriver, jerry: JerryApp, clock: list
) -> None:
    await start(jerry)
    thread = intro_ts(slack.fake, dm(PM1))
    body = await reply(slack, "4", user=PM1)
    for retry in ("1", "2"):
        headers = {"X-Slack-Retry-Num": retry, "X-Slack-Retry-Reason": "http_timeout"}
        await reply(slack, "", user=PM1, body=body, headers=headers)
    async with jerry.sessions() as session:
        rows = (await session.scalars(select(SurveyAnswer))).all()
    assert [(r.question_id, r.number) for r in rows] == [("priorities", 4.0)]
    assert len(notes(slack.fake, dm(PM1), thread)) == 0  # understood: the ✓ only
    assert reactions(slack.fake, dm(PM1), body["event"]["ts"]) == ["white_check_mark"]
    # the next reply is about question 2, not question 1 again
    await reply(slack, "8", user=PM1)
    assert await answers(jerry, PM1) == {"priorities": 4, "nps": 8}


@pytest.mark.usefixtures("people")
async def test_strangers_bots_and_jerry_are_ignored(
    slack: SlackDriver, jerry: JerryApp, clock: list
) -> None:
    await start(jerry, deliver_in=PM_CHANNEL)
    thread = intro_ts(slack.fake, PM_CHANNEL)
    stranger = await reply(slack, "1) 1 2) 1", user=STRANGER, channel=PM_CHANNEL)
    other_bot = payloads.other_bot_message("1) 1", channel=PM_CHANNEL, thread_ts=thread)
    assert (await slack.event(other_bot)).status_code == 200
    own = payloads.thread_message("1) 1", user=BOT_USER_ID, channel=PM_CHANNEL, thread_ts=thread)
    own["event"]["bot_id"] = "B0JERRY"
    assert (await slack.event(own)).status_code == 200
    await slack.settle()
    async with jerry.sessions() as session:
        assert (await session.scalars(select(SurveyAnswer))).all() == []
    assert reactions(slack.fake, PM_CHANNEL, stranger["event"]["ts"]) == []
    assert slack.fake.calls_to("chat.postEphemeral") == []
    assert slack.fake.calls_to("reactions.add") == []
    # no item came of the thread either (intake and conversation left it alone)
    async with jerry.sessions() as session:
        assert (await session.scalars(select(Item))).all() == []


@pytest.mark.usefixtures("people")
async def test_channel_round_each_member_answers_in_the_one_thread(
    slack: SlackDriver, jerry: JerryApp, clock: list
) -> None:
    await start(jerry, deliver_in=PM_CHANNEL)
    thread = intro_ts(slack.fake, PM_CHANNEL)
    one = await reply(slack, "1) 4 2) 9", user=PM1, channel=PM_CHANNEL)
    await reply(slack, "1) 2", user=PM2, channel=PM_CHANNEL)
    assert await answers(jerry, PM1) == {"priorities": 4, "nps": 9}
    assert await answers(jerry, PM2) == {"priorities": 2}
    assert reactions(slack.fake, PM_CHANNEL, one["event"]["ts"]) == ["white_check_mark"]
    assert slack.fake.calls_to("chat.postEphemeral") == []  # understood: the ✓ only
    # the last answer gets the one confirmation, only to that person
    await reply(slack, "3) support 4) fewer meetings", user=PM1, channel=PM_CHANNEL)
    [done] = slack.fake.calls_to("chat.postEphemeral", ok=True)
    assert (done.args["user"], done.args["thread_ts"], done.args["text"]) == (PM1, thread, DONE)
    assert notes(slack.fake, PM_CHANNEL, thread) == []  # nothing posted for everyone


@pytest.mark.usefixtures("people")
async def test_late_answers_are_not_counted_and_the_person_is_told_once(
    slack: SlackDriver, jerry: JerryApp, clock: list
) -> None:
    await start(jerry)  # open for 3 days
    thread = intro_ts(slack.fake, dm(PM1))
    await reply(slack, "4", user=PM1)
    clock[0] = NOW + timedelta(days=3, seconds=1)
    late = await reply(slack, "2) 9", user=PM1)
    await reply(slack, "", user=PM1, body=late, headers={"X-Slack-Retry-Num": "1"})
    assert await answers(jerry, PM1) == {"priorities": 4}
    closed = [n for n in notes(slack.fake, dm(PM1), thread) if "closed" in n]
    assert closed == [
        "This survey is closed: answers are no longer counted. Thank you all the same!"
    ]
    assert reactions(slack.fake, dm(PM1), late["event"]["ts"]) == ["lock"]
    # an edit after closing changes nothing either
    first = slack.fake.thread(dm(PM1), thread)
    earlier = next(m for m in first if m.get("user") == PM1 and m["text"] == "4")
    body = payloads.thread_message(
        "4", user=PM1, channel=dm(PM1), thread_ts=thread, ts=earlier["ts"]
    )
    await edit(slack, body, "1")
    assert await answers(jerry, PM1) == {"priorities": 4}
    # the form does not open, and a form opened before closing saves nothing
    assert await open_form(slack, user=PM1) is None
    assert "closed" in slack.fake.responses[-1]["text"]
    clock[0] = NOW + timedelta(hours=2)
    view = await open_form(slack, user=PM1)
    clock[0] = NOW + timedelta(days=3, seconds=1)
    refused = await submit_form(slack, view, user=PM1, nps="5")
    assert refused["response_action"] == "errors"
    assert "closed" in json.dumps(refused["errors"])
    # a button of a round posted before the form too
    legacy_question(slack.fake, dm(PM1), view_round(view), "nps", 10)
    response = await click(slack, dm(PM1), "nps", 5, user=PM1)
    assert response["response_type"] == "ephemeral" and "closed" in response["text"]
    assert await answers(jerry, PM1) == {"priorities": 4}


# --- the one-click buttons (rounds posted before the answer form) --------------------------


@pytest.mark.usefixtures("people")
async def test_buttons_answer_and_show_the_choice(
    slack: SlackDriver, jerry: JerryApp, clock: list
) -> None:
    round_ = await start(jerry)
    legacy_question(slack.fake, dm(PM1), round_.id, "priorities", 5)
    legacy_question(slack.fake, dm(PM1), round_.id, "nps", 10)
    response = await click(slack, dm(PM1), "priorities", 3, user=PM1)
    assert await answers(jerry, PM1) == {"priorities": 3}
    assert response["replace_original"] is True
    styles = {
        e["value"].rsplit(":", 1)[1]: e.get("style")
        for b in response["blocks"]
        if b.get("type") == "actions"
        for e in b["elements"]
    }
    assert styles == {"1": None, "2": None, "3": "primary", "4": None, "5": None}
    assert "Your answer: *3*" in json.dumps(response["blocks"], ensure_ascii=False)
    # clicking again: the latest wins; a typed answer later too
    await click(slack, dm(PM1), "priorities", 5, user=PM1)
    await click(slack, dm(PM1), "nps", 0, user=PM1)
    assert await answers(jerry, PM1) == {"priorities": 5, "nps": 0}
    await reply(slack, "1) 2", user=PM1)
    assert (await answers(jerry, PM1))["priorities"] == 2
    # someone else clicking PM1's buttons is refused, privately
    refusal = await click(slack, dm(PM1), "priorities", 1, user=STRANGER)
    assert refusal["response_type"] == "ephemeral" and refusal["replace_original"] is False
    assert refusal["text"] == "This survey was not sent to you, so Jerry cannot count your answer."
    assert await answers(jerry, PM1) == {"priorities": 2, "nps": 0}
    assert await answers(jerry, STRANGER) == {}


@pytest.mark.usefixtures("people")
async def test_buttons_in_a_channel_round_confirm_privately(
    slack: SlackDriver, jerry: JerryApp, clock: list
) -> None:
    round_ = await start(jerry, deliver_in=PM_CHANNEL, language="fr")
    legacy_question(slack.fake, PM_CHANNEL, round_.id, "nps", 10)
    response = await click(slack, PM_CHANNEL, "nps", 7, user=PM2)
    assert response["response_type"] == "ephemeral" and response["replace_original"] is False
    assert response["text"] == (
        spaced("Question 2 : votre réponse *7* est enregistrée. Il reste 3 questions (1, 3, 4).")
    )
    assert await answers(jerry, PM2) == {"nps": 7}
    refusal = await click(slack, PM_CHANNEL, "nps", 7, user=STRANGER)
    assert "ne vous a pas été envoyé" in refusal["text"]


# --- anonymity ------------------------------------------------------------------------------


@pytest.mark.usefixtures("people")
async def test_anonymous_rounds_store_log_and_say_no_identity(
    slack: SlackDriver, jerry: JerryApp, clock: list, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    round_ = await start(jerry, anonymous=True)
    secret = await survey_secret(jerry.sessions)
    key1 = respondent_key(PM1, round_.id, anonymous=True, secret=secret)
    key2 = respondent_key(PM2, round_.id, anonymous=True, secret=secret)
    thread = intro_ts(slack.fake, dm(PM1))
    first = await reply(slack, "1) 4 2) 7", user=PM1)
    await edit(slack, first, "1) 5 2) 7")
    view = await open_form(slack, user=PM1)  # the form shows what the thread answered
    assert initial(view, "priorities") == "5"
    assert await submit_form(slack, view, user=PM1, priorities="3") == {}
    await reply(slack, "delivery\n<@U0PMTWO> and I spend days on support", user=PM1)
    await reply(slack, "2", user=PM2)
    assert await open_form(slack, user=STRANGER, channel=dm(PM2)) is None  # refused
    clock[0] = NOW + timedelta(days=4)
    await reply(slack, "1) 1", user=PM2)  # too late

    # Answer rows carry no invite's key (anonymity: they cannot be joined to invites), so
    # they are grouped by what they carry instead.
    assert sorted((await answers_by_respondent(jerry)).values(), key=len) == [
        {"priorities": 2},
        {
            "priorities": 3,
            "nps": 7,
            "focus": "Delivery",
            "tasks": "<@U0PMTWO> and I spend days on support",
        },
    ]
    assert await answers(jerry, key1) == {} and await answers(jerry, key2) == {}
    assert (await invite(jerry, key1)).finished_at is not None
    assert (await invite(jerry, key2)).finished_at is None

    identities = [PM1, PM2, dm(PM1), dm(PM2), "pmone", "pmtwo", "Paula", "Pierre", STRANGER]
    # the database: no user id, DM channel or name in any survey row (the free text is the
    # person's own words: a mention they typed is theirs to write, and not who answered)
    async with jerry.sessions() as session:
        for model in (SurveyInvite, SurveyAnswer, SurveyRound):
            for row in (await session.scalars(select(model))).all():
                values = {
                    c.key: getattr(row, c.key)
                    for c in model.__table__.columns  # type: ignore[attr-defined]
                    if not (model is SurveyAnswer and c.key == "text")
                }
                dumped = json.dumps(values, default=str)
                assert not [who for who in identities if who in dumped], (model, dumped)
    assert {table.name for table in Base.metadata.sorted_tables} >= {"survey_answers"}
    # the logs
    for record in caplog.records:
        message = record.getMessage()
        assert not [who for who in identities if who in message], message
    # every message Jerry sent (notes, reactions' targets are the person's own messages)
    # (the form's private_metadata names the DM thread it was opened from: Slack gives it back
    # only to Jerry with the submission, where the ballot key needs it; it is stored nowhere)
    sent = [
        json.dumps({k: c.args.get(k) for k in ("text", "blocks")}, ensure_ascii=False)
        for c in slack.fake.calls
        if c.method in {"chat.postMessage", "chat.postEphemeral", "chat.update"}
    ] + [
        json.dumps({**c.args["view"], "private_metadata": None}, ensure_ascii=False)
        for c in slack.fake.calls_to("views.open")
    ]
    sent += [json.dumps(r, ensure_ascii=False) for r in slack.fake.responses]
    for text in sent:
        assert not [who for who in identities if who in text], text
    assert notes(slack.fake, dm(PM1), thread)  # there were notes to check


@pytest.mark.usefixtures("people")
async def test_replies_at_once_are_all_counted(
    slack: SlackDriver, jerry: JerryApp, clock: list
) -> None:
    """One person's replies arriving together (and a click) each land; the round finishes."""
    await start(jerry)
    thread = intro_ts(slack.fake, dm(PM1))
    bodies = []
    for text in ("1) 4", "2) 5", "3) support", "4) fewer meetings"):
        ts = slack.fake.add_message(dm(PM1), PM1, text, thread_ts=thread)["ts"]
        bodies.append(
            payloads.thread_message(
                text, user=PM1, channel=dm(PM1), thread_ts=thread, ts=ts, channel_type="im"
            )
        )
    responses = await asyncio.gather(*(slack.event(body) for body in bodies))
    assert [r.status_code for r in responses] == [200] * 4
    await slack.settle()
    assert await answers(jerry, PM1) == {
        "priorities": 4,
        "nps": 5,
        "focus": "Support",
        "tasks": "fewer meetings",
    }
    assert (await invite(jerry, PM1)).finished_at is not None
    assert notes(slack.fake, dm(PM1), thread) == [DONE]  # one confirmation, not one each


@pytest.mark.usefixtures("people")
async def test_anonymous_answers_cannot_be_tied_to_who_gave_them_from_the_database(
    slack: SlackDriver, jerry: JerryApp, clock: list, fake_slack: FakeSlack
) -> None:
    """Whoever reads the database learns who was asked and who finished, not which answers
    are whose: no Slack ts of a DM (the intro, the questions, the person's messages), no user
    id or DM channel in the survey tables or the outbox once asked, answer rows keyed by
    nothing an invite holds, ids random, no time of answering; the key is random, not derived
    from the signing secret operators hold. Closing shuffles the answers and drops their keys."""
    round_ = await start(jerry, anonymous=True)
    first = await reply(slack, "1) 4 2) 7", user=PM1)
    await edit(slack, first, "1) 5 2) 7")  # an edit still replaces its answers
    await reply(slack, "delivery\nfewer meetings", user=PM1)
    view = await open_form(slack, user=PM2)  # the form counts, and keeps nobody's id either
    await submit_form(slack, view, user=PM2, priorities="2")
    answered = sorted((await answers_by_respondent(jerry)).values(), key=len)
    assert answered == [
        {"priorities": 2},
        {"priorities": 5, "nps": 7, "focus": "Delivery", "tasks": "fewer meetings"},
    ]

    secret = await survey_secret(jerry.sessions)
    derived = hmac.new(SIGNING_SECRET.encode(), b"jerry-survey-respondent", "sha256").hexdigest()
    assert secret != derived and len(secret) == 64  # random, in the database
    dm_ts = {m["ts"] for user in (PM1, PM2) for m in fake_slack.messages[dm(user)]}
    assert len(dm_ts) >= 5  # 2 round messages, the people's messages
    identities = {PM1, PM2, dm(PM1), dm(PM2), "pmone", "pmtwo", "Paula", "Pierre"}

    async def stored() -> str:
        async with jerry.engine.connect() as conn:
            rows = []
            for table in ("survey_rounds", "survey_invites", "survey_answers", "deliveries"):
                result = await conn.execute(select(Base.metadata.tables[table]))
                rows += [list(map(str, row)) for row in result.all()]
        return json.dumps(rows)

    dump = await stored()
    assert not [ts for ts in dm_ts if ts in dump]
    assert not [who for who in identities if who in dump]
    async with jerry.sessions() as session:
        invites = (await session.scalars(select(SurveyInvite))).all()
        rows = (await session.scalars(select(SurveyAnswer))).all()
    # who was asked and who finished: known (reminders need it), by the key in the database
    keys = {respondent_key(u, round_.id, anonymous=True, secret=secret) for u in (PM1, PM2)}
    assert {i.respondent for i in invites} == keys
    assert {i.respondent for i in invites if i.finished_at} == {
        respondent_key(PM1, round_.id, anonymous=True, secret=secret)
    }
    # which answers are whose: nothing in an answer row an invite also holds
    invite_values = {str(v) for i in invites for v in (i.id, i.respondent, i.ts, i.channel)}
    for row in rows:
        assert row.respondent not in invite_values and row.source_ts not in invite_values
        assert row.answered_at == round_.opened_at  # no time of answering
        assert row.id >= 2**40  # random, not in order of arrival

    clock[0] = NOW + timedelta(days=3, minutes=1)
    await jerry.run_survey_results(clock[0])
    await slack.settle()
    async with jerry.sessions() as session:
        sealed = (await session.scalars(select(SurveyAnswer))).all()
    assert len(sealed) == 5 and {r.id for r in sealed}.isdisjoint({r.id for r in rows})
    assert len({r.respondent for r in sealed}) == 5  # nothing groups them by person any more
    assert {r.source_ts for r in sealed} == {None}
    [post] = [m for m in fake_slack.messages["C0PRODOPS"] if not m.get("thread_ts")]
    assert "*1 of 2* answered every question" in json.dumps(post["blocks"], ensure_ascii=False)


# --- the answer form (the round message's Answer button) ------------------------------------


@pytest.mark.usefixtures("people")
async def test_the_form_records_answers_and_skips_shows_them_again_and_confirms_once(
    slack: SlackDriver, jerry: JerryApp, clock: list
) -> None:
    round_ = await start(jerry)
    thread = intro_ts(slack.fake, dm(PM1))
    view = await open_form(slack, user=PM1)
    assert view["callback_id"] == "survey_answer_form" and view["title"]["text"] == "PM pulse"
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == [
        "q:priorities",
        "q:nps",
        "q:focus",
        "q:tasks",
        "skip:tasks",
    ]
    assert {initial(view, q) for q in ("priorities", "nps", "focus", "tasks")} == {None}
    # some answers and a skip: saved, the form closes, nothing is posted
    assert await submit_form(slack, view, user=PM1, priorities="3", nps="skip") == {}
    async with jerry.sessions() as session:
        rows = (await session.scalars(select(SurveyAnswer))).all()
    assert {(r.question_id, r.number, r.skipped) for r in rows} == {
        ("priorities", 3.0, False),
        ("nps", None, True),  # answered by skipping: no value
    }
    assert (await invite(jerry, PM1)).answered == 2
    assert (await invite(jerry, PM1)).finished_at is None
    assert notes(slack.fake, dm(PM1), thread) == []
    # reopened: what was answered, and the skip, are shown
    view = await open_form(slack, user=PM1)
    assert (initial(view, "priorities"), initial(view, "nps")) == ("3", "skip")
    # the last questions: a choice and a skipped free text; the form says the one thanks
    clock[0] += timedelta(minutes=5)
    done = await submit_form(slack, view, user=PM1, focus="o2", tasks="skip")
    assert done["response_action"] == "update"
    [thanks] = done["view"]["blocks"]
    assert thanks["text"]["text"] == (
        "Thanks — all 4 answers are in. You can change them until "
        "<!date^1795683600^{date_short_pretty} {time}|2026-11-26 10:00 Europe/Paris>. "
        "(2 questions skipped.)"
    )
    assert "submit" not in done["view"]
    skipped = {"nps": None, "tasks": None}  # rows with no value: answered by skipping
    assert await answers(jerry, PM1) == {"priorities": 3, "focus": "Delivery", **skipped}
    finished = await invite(jerry, PM1)
    assert (finished.answered, finished.finished_at) == (4, clock[0])  # no reminder chases it
    # a text answer written later replaces the skip; the thread still answers too
    view = await open_form(slack, user=PM1)
    assert (initial(view, "focus"), initial(view, "tasks")) == ("o2", "skip")
    await reply(slack, "4) fewer meetings", user=PM1)
    assert (await answers(jerry, PM1))["tasks"] == "fewer meetings"
    view = await open_form(slack, user=PM1)
    assert initial(view, "tasks") == "fewer meetings"
    assert notes(slack.fake, dm(PM1), thread) == []  # finished before: no second thanks
    assert round_.status == "open"


@pytest.mark.usefixtures("people")
async def test_the_conflict_of_a_text_and_its_skip_is_refused(
    slack: SlackDriver, jerry: JerryApp, clock: list
) -> None:
    await start(jerry)
    view = await open_form(slack, user=PM1)
    values = form_values(view, tasks="meetings")
    values["skip:tasks"]["skip"]["selected_options"] = view["blocks"][-1]["element"]["options"]
    response = await slack.submit(view, values, user=PM1)
    assert response.json() == {
        "response_action": "errors",
        "errors": {"skip:tasks": "Write an answer or skip the question, not both."},
    }
    assert await answers(jerry, PM1) == {}


@pytest.mark.usefixtures("people")
async def test_each_person_is_asked_in_their_slack_language(
    slack: SlackDriver, jerry: JerryApp, clock: list
) -> None:
    """PM2's Slack speaks French: Jerry's words and the question translated in the surveys
    file are in French for them; PM1 gets the survey's English."""
    translated = {
        **QUESTIONS[0],
        "translations": {
            "fr": {
                "text": "Les équipes client connaissent-elles vos priorités ?",
                "low": "Pas du tout",
            }
        },
    }
    await start(jerry, questions=[translated, *QUESTIONS[1:]])
    french = json.dumps(round_message(slack.fake, dm(PM2))["blocks"], ensure_ascii=False)
    assert "*1/4* Les équipes client connaissent-elles vos priorités ?" in french
    assert "Répondre" in french and "4 questions courtes" in french
    assert "*2/4* Would you recommend product ops?" in french  # not translated: as written
    english = json.dumps(round_message(slack.fake, dm(PM1))["blocks"], ensure_ascii=False)
    assert "*1/4* Do customer-facing teams know your priorities?" in english
    assert "Answer" in english
    view = await open_form(slack, user=PM2)
    assert view["submit"]["text"] == "Enregistrer"
    labels = [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]
    assert labels[0] == "1. Les équipes client connaissent-elles vos priorités ?"
    first = view["blocks"][2]["element"]["options"]
    assert first[0]["text"]["text"] == "1 · Pas du tout"
    assert first[-1]["text"]["text"] == "Passer cette question"
    done = await submit_form(
        slack, view, user=PM2, priorities="4", nps="9", focus="o1", tasks="moins de réunions"
    )
    assert done["view"]["blocks"][0]["text"]["text"].startswith(
        "Merci — vos 4 réponses sont bien reçues."
    )
    # a thread reply PM2 gets wrong is explained in French too
    await reply(slack, "1) 12", user=PM2)
    [note] = notes(slack.fake, dm(PM2), intro_ts(slack.fake, dm(PM2)))
    assert spaced("Question 1 : 12") in note


@pytest.mark.usefixtures("people")
async def test_a_channel_round_offers_the_private_form(
    slack: SlackDriver, jerry: JerryApp, clock: list
) -> None:
    await start(jerry, deliver_in=PM_CHANNEL)
    message = round_message(slack.fake, PM_CHANNEL)
    assert "Replies in this thread are visible to the whole channel." in json.dumps(
        message["blocks"]
    )
    view = await open_form(slack, user=PM1, channel=PM_CHANNEL)
    assert await submit_form(slack, view, user=PM1, priorities="5") == {}
    assert await answers(jerry, PM1) == {"priorities": 5}
    assert notes(slack.fake, PM_CHANNEL, intro_ts(slack.fake, PM_CHANNEL)) == []
    # someone the round did not ask is told so, privately, and gets no form
    assert await open_form(slack, user=STRANGER, channel=PM_CHANNEL) is None
    refusal = slack.fake.responses[-1]
    assert refusal["response_type"] == "ephemeral"
    assert refusal["text"] == "This survey was not sent to you, so Jerry cannot count your answer."
