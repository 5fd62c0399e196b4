"""End to end: first contact. `/jerry`, `/painpoint help`, `/ask aide`, `/painpoint liste`, a DM
of "hi" or "thanks", a mention "@Jerry hi" get an answer and never become an item nor reach a
lead or triage; a DM of a few words is filed only when the person clicks (a mention of a few
words is filed at once); the Home welcomes a person once, and every replica agrees on how
its welcome is shown.

Every test runs on SQLite and PostgreSQL, in English (U0REPORTER) and, where the text
matters, French (U0FRENCH, whose Slack locale is fr-FR).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import JerryApp, create_app
from bot.config import Settings
from models.deliveries import Delivery
from models.items import Item
from tests import payloads
from tests.fakeslack import BOT_USER_ID, FakeSlack
from tests.french import spaced
from tests.harness import SlackDriver

pytestmark = pytest.mark.slow

REPORTER, FRENCH = "U0REPORTER", "U0FRENCH"
LEADS = ("U0PAYLEAD", "U0PAYBACK", "U0MOBLEAD", "U0PRODOPS")
CARD = {"en": "*Hi, I'm Jerry.*", "fr": "*Bonjour, je suis Jerry.*"}
PERSON = {"en": REPORTER, "fr": FRENCH}


async def count(app: JerryApp, table: Any) -> int:
    async with app.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(table))).scalar_one())


async def items(app: JerryApp) -> list[Item]:
    async with app.sessions() as session:
        return list((await session.execute(select(Item).order_by(Item.id))).scalars())


async def nothing_filed(app: JerryApp, fake: FakeSlack) -> None:
    """No item, and nothing said to any lead or to product ops' triage."""
    assert await items(app) == []
    for lead in LEADS:
        assert fake.dms_to(lead) == []
    assert fake.posts("C0PRODOPS") == []


def action_ids(message: dict[str, Any]) -> list[str]:
    return [
        element.get("action_id")
        for block in message.get("blocks") or []
        for element in block.get("elements") or []
        if block.get("type") == "actions"
    ]


def blocks_text(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks") or [], ensure_ascii=False)


def posted(fake: FakeSlack, user: str) -> list[dict[str, Any]]:
    """The messages Jerry posted in `user`'s DM, as Slack holds them now (edits included)."""
    found = []
    for call in fake.dms_to(user):
        message = fake.message(call.response["channel"], call.response["ts"])
        assert message is not None
        found.append(message)
    return found


# --- commands ---------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize(
    ("command", "text"),
    [
        ("/jerry", ""),
        ("/jerry", "help"),
        ("/jerry", "aide"),
        ("/painpoint", "help"),
        ("/painpoint", "Aide"),
        ("/ask", "help"),
        ("/ask", "aide"),
        ("/painpoint", "hi"),
        ("/painpoint", "liste"),
        ("/ask", "hlep"),
    ],
)
async def test_help_commands_answer_the_card_and_file_nothing(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp, command: str, text: str, lang: str
) -> None:
    response = await slack.command(command, text, user=PERSON[lang])
    assert response.status_code == 200
    answer = response.json()
    await slack.settle()
    assert answer["response_type"] == "ephemeral"
    assert CARD[lang] in blocks_text(answer)
    buttons = action_ids(answer)
    assert {"help_painpoint", "help_question", "help_my_items"} <= set(buttons)
    my_items = [
        e
        for b in answer["blocks"]
        for e in b.get("elements") or []
        if e.get("action_id") == "help_my_items"
    ]
    assert (
        my_items[0]["url"] == f"slack://app?team={payloads.TEAM_ID}&id={payloads.APP_ID}&tab=home"
    )
    if text in {"liste", "hlep"}:
        assert "help_file_anyway" in buttons
        said = {
            "en": f"Jerry did not file “{text}”",
            "fr": spaced(f"Jerry n’a pas transmis « {text} »"),
        }
        assert said[lang] in answer["text"]
    await nothing_filed(routed, fake_slack)
    assert fake_slack.posts() == []
    assert fake_slack.calls_to("views.open") == []


async def test_a_one_word_pain_point_is_still_filed(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    response = await slack.command("/painpoint", "SSO")
    await slack.settle()
    [item] = await items(routed)
    assert item.text == "SSO"
    assert f"#{item.id}" in response.json()["text"]
    assert len(fake_slack.dms_to("U0PRODOPS")) == 1  # nothing routes "SSO": triage has it


async def test_a_word_taken_for_a_command_can_be_filed_anyway_once(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    response = await slack.command("/painpoint", "liste")
    card = {**response.json(), "ts": "1710425520.000100"}
    for _ in range(2):
        await slack.click(card, "C0GENERAL", "help_file_anyway", user=REPORTER)
        await slack.settle()
    [item] = await items(routed)
    assert (item.kind, item.text, item.source) == ("painpoint", "liste", "command")
    assert len(fake_slack.dms_to("U0PRODOPS")) == 1
    [receipt] = fake_slack.responses
    assert f"#{item.id}" in receipt["text"]


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_an_unknown_jerry_subcommand_lists_what_exists(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp, lang: str
) -> None:
    response = await slack.command("/jerry", "stats", user=PERSON[lang])
    answer = response.json()
    await slack.settle()
    text = blocks_text(answer)
    unknown = {"en": "Jerry does not know `/jerry stats`.", "fr": "Jerry ne connaît pas"}
    assert unknown[lang] in answer["text"]
    assert "`/jerry help`" in text and "`/jerry summary preview [NAME]`" in text
    described = {"en": "see a weekly summary", "fr": "voir un résumé hebdomadaire"}
    assert described[lang] in text
    typo = (await slack.command("/jerry", "sumary preview", user=PERSON[lang])).json()
    assert "`/jerry summary preview`" in typo["text"]
    await nothing_filed(routed, fake_slack)
    assert fake_slack.responses == []  # no summary preview was started


# --- direct messages ----------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize(
    "text", ["hi", "Hello!! 👋", "BONJOUR :wave:", "salut jerry", "help", "aide ?"]
)
async def test_a_greeting_or_help_by_dm_gets_the_card_once(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp, text: str, lang: str
) -> None:
    user = PERSON[lang]
    message = fake_slack.add_message("D" + user[1:], user, text)
    body = payloads.direct_message(text, user=user, ts=message["ts"])
    await slack.event(body)
    await slack.event(body, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "timeout"})
    await slack.settle()
    [card] = posted(fake_slack, user)
    assert CARD[lang] in blocks_text(card)
    assert "help_painpoint" in action_ids(card)
    await nothing_filed(routed, fake_slack)


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_thanks_by_dm_gets_a_friendly_word_not_a_prompt(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp, lang: str
) -> None:
    await slack.dm({"en": "thanks!", "fr": "Merci 🙏"}[lang], user=PERSON[lang])
    await slack.dm("ok", user=PERSON[lang])
    await slack.settle()
    replies = posted(fake_slack, PERSON[lang])
    assert len(replies) == 2
    said = {"en": "You're welcome!", "fr": spaced("Avec plaisir !")}
    assert all(said[lang] in r["text"] and action_ids(r) == [] for r in replies)
    await nothing_filed(routed, fake_slack)


async def test_the_cards_buttons_open_the_intake_forms(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    await slack.dm("hey")
    await slack.settle()
    [card] = posted(fake_slack, REPORTER)
    channel = fake_slack.dm_channel(REPORTER)
    await slack.click(card, channel, "help_painpoint", user=REPORTER)
    await slack.click(card, channel, "help_question", user=REPORTER)
    await slack.click(card, channel, "help_my_items", user=REPORTER)  # a link: an ack only
    await slack.settle()
    forms = [call.args["view"] for call in fake_slack.calls_to("views.open", ok=True)]
    assert [f["callback_id"] for f in forms] == ["jerry_intake", "jerry_intake"]
    assert "pain point" in json.dumps(forms[0]).lower()
    assert "question" in json.dumps(forms[1]).lower()
    await nothing_filed(routed, fake_slack)


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_a_few_words_by_dm_are_filed_only_on_a_click_and_once(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp, lang: str
) -> None:
    user = PERSON[lang]
    await slack.dm("pricing page", user=user)
    await slack.settle()
    [prompt] = posted(fake_slack, user)
    asked = {
        "en": "Send “pricing page” to product",
        "fr": spaced("Envoyer « pricing page » au produit"),
    }
    assert asked[lang] in prompt["text"]
    assert action_ids(prompt) == ["dm_send_question", "dm_send_painpoint", "dm_no_thanks"]
    await nothing_filed(routed, fake_slack)

    channel = fake_slack.dm_channel(user)
    await slack.click(prompt, channel, "dm_send_question", user=user)
    await slack.click(prompt, channel, "dm_send_question", user=user)
    await slack.click(prompt, channel, "dm_send_painpoint", user=user)
    await slack.settle()
    [item] = await items(routed)
    assert (item.kind, item.text, item.source) == ("question", "pricing page", "dm")
    assert item.intake_key == f"message:{channel}:{item.message_ts}"
    assert len(fake_slack.dms_to("U0PRODOPS")) == 1  # one item reached triage, once
    number = {"en": f"#{item.id}", "fr": f"n° {item.id}"}
    assert all(number[lang] in r["text"] for r in fake_slack.responses)
    assert all(r.get("replace_original") for r in fake_slack.responses)
    receipts = [p for p in fake_slack.dms_to(user) if p.args.get("thread_ts") == item.message_ts]
    assert len(receipts) == 1


async def test_no_thanks_files_nothing(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    await slack.dm("pricing page")
    await slack.settle()
    [prompt] = posted(fake_slack, REPORTER)
    channel = fake_slack.dm_channel(REPORTER)
    await slack.click(prompt, channel, "dm_no_thanks", user=REPORTER)
    await slack.settle()
    await slack.click(prompt, channel, "dm_send_question", user=REPORTER)  # a stale button
    await slack.settle()
    await nothing_filed(routed, fake_slack)
    assert [r["text"] for r in fake_slack.responses] == [
        "OK, nothing was sent for “pricing page”."
    ] * 2


async def test_a_longer_dm_is_still_a_question_at_once(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    await slack.dm("is the pricing page up to date?")
    await slack.settle()
    [item] = await items(routed)
    assert item.kind == "question"
    assert await count(routed, Delivery) >= 2  # its receipt and the lead's DM


# --- mentions ------------------------------------------------------------------------------

BOT = f"<@{BOT_USER_ID}>"


def ephemerals(fake: FakeSlack) -> list[dict[str, Any]]:
    """What Jerry showed people privately (chat.postEphemeral's arguments)."""
    return [call.args for call in fake.calls_to("chat.postEphemeral", ok=True)]


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("text", [f"{BOT} hi", f"{BOT} Help!", f"Bonjour {BOT} 👋", f"{BOT} aide"])
async def test_a_greeting_or_help_by_mention_gets_the_card_privately_once(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp, text: str, lang: str
) -> None:
    user = PERSON[lang]
    _, body = await slack.mention(text, user=user)
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    await slack.event(body, headers=retry)
    # The same message again under another event id: still answered once.
    await slack.event({**body, "event_id": payloads.unique("Ev")})
    await slack.settle()
    [card] = ephemerals(fake_slack)
    assert (card["channel"], card["user"]) == ("C0GENERAL", user)
    assert not card.get("thread_ts")  # the mention started no thread: none for the card
    assert CARD[lang] in blocks_text(card)
    assert {"help_painpoint", "help_question", "help_my_items"} <= set(action_ids(card))
    await nothing_filed(routed, fake_slack)
    assert fake_slack.posts() == []  # nothing public, in the channel or anywhere


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_a_mention_in_a_thread_is_answered_in_that_thread(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp, lang: str
) -> None:
    user = PERSON[lang]
    parent = fake_slack.add_message("C0GENERAL", "U0STRANGER", "checkout is slow again")
    await slack.mention(f"{BOT} hello", user=user, thread_ts=parent["ts"])
    await slack.mention(
        f"{BOT} {'merci' if lang == 'fr' else 'thanks!'}", user=user, thread_ts=parent["ts"]
    )
    await slack.settle()
    card, thanks = ephemerals(fake_slack)
    assert card["thread_ts"] == thanks["thread_ts"] == parent["ts"]
    assert CARD[lang] in blocks_text(card)
    said = {"en": "You're welcome!", "fr": spaced("Avec plaisir !")}
    assert said[lang] in thanks["text"] and action_ids(thanks) == []
    await nothing_filed(routed, fake_slack)
    assert fake_slack.posts() == []


async def test_the_buttons_of_a_mentions_card_open_the_intake_forms(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    await slack.mention(f"{BOT} help")
    await slack.settle()
    [card] = ephemerals(fake_slack)
    message = {"text": card["text"], "blocks": card["blocks"], "ts": payloads.new_ts()}
    await slack.click(message, "C0GENERAL", "help_painpoint", user=REPORTER)
    await slack.click(message, "C0GENERAL", "help_question", user=REPORTER)
    await slack.settle()
    forms = [call.args["view"] for call in fake_slack.calls_to("views.open", ok=True)]
    assert [f["callback_id"] for f in forms] == ["jerry_intake", "jerry_intake"]
    await nothing_filed(routed, fake_slack)


@pytest.mark.parametrize("error", ["user_not_in_channel", "channel_not_found"])
async def test_a_mentions_card_slack_will_not_show_there_comes_by_dm(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp, error: str
) -> None:
    if error == "user_not_in_channel":  # the person left the channel since
        fake_slack.add_channel("C0SALES", "sales", members=["U0STRANGER"])
    else:  # the channel is gone (deleted, or Jerry was removed from a private one)
        fake_slack.strict_channels = True
    await slack.mention(f"{BOT} hi", user=FRENCH, channel="C0SALES")
    await slack.settle()
    [refused] = fake_slack.calls_to("chat.postEphemeral", ok=False)
    assert refused.response["error"] == error
    [card] = posted(fake_slack, FRENCH)
    assert CARD["fr"] in blocks_text(card)
    async with routed.sessions() as session:
        deliveries = (await session.execute(select(Delivery).order_by(Delivery.id))).scalars()
        assert [(d.purpose, d.status, d.last_error) for d in deliveries] == [
            ("mention_reply", "failed", error),
            ("dm_reply", "sent", None),
        ]
    await nothing_filed(routed, fake_slack)


async def test_a_few_words_by_mention_are_filed_at_once(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    _, body = await slack.mention(f"{BOT} pricing page")
    await slack.settle()
    [item] = await items(routed)
    assert (item.kind, item.text, item.source) == ("question", "pricing page", "mention")
    assert ephemerals(fake_slack) == []
    [receipt] = fake_slack.posts("C0GENERAL")
    assert receipt.args["thread_ts"] == body["event"]["ts"]
    assert len(fake_slack.dms_to("U0PRODOPS")) == 1  # nothing routes it: triage has it


async def test_an_edit_to_a_greeting_neither_answers_nor_changes_the_item(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    _, body = await slack.mention(f"{BOT} the export to CSV times out for big accounts")
    await slack.settle()
    event = {**body["event"], "text": f"{BOT} thanks", "edited": {"user": REPORTER, "ts": "1"}}
    await slack.event({**body, "event": event, "event_id": payloads.unique("Ev")})
    await slack.settle()
    [item] = await items(routed)
    assert item.text == "the export to CSV times out for big accounts"
    assert ephemerals(fake_slack) == []


# --- the App Home welcome -----------------------------------------------------------------


async def open_home(slack: SlackDriver, user: str) -> dict[str, Any]:
    await slack.event(payloads.app_home_opened(user=user))
    await slack.settle()
    return slack.fake.home[user]


def ids(view: dict[str, Any]) -> list[str]:
    return [b.get("block_id", "") for b in view["blocks"]]


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_the_first_home_open_welcomes_once(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp, lang: str
) -> None:
    user = PERSON[lang]
    first = await open_home(slack, user)
    welcome = {"en": "*Welcome to Jerry.*", "fr": "*Bienvenue dans Jerry.*"}
    assert welcome[lang] in blocks_text(first)
    assert "home_welcome_ways" in ids(first)
    assert "home_welcome_lead" not in ids(first)  # leads nothing
    assert "home_welcome_hide" in blocks_text(first)

    again = await open_home(slack, user)
    assert "home_welcome_intro" not in ids(again)
    assert "home_welcome_show" in blocks_text(again)  # "How Jerry works"

    # "How Jerry works" shows it again, without counting as a first open.
    await slack.interactive(
        payloads.home_block_action(user=user, action_id="home_welcome_show", value="show")
    )
    await slack.settle()
    assert "home_welcome_intro" in ids(fake_slack.home[user])
    assert "home_welcome_intro" not in ids(await open_home(slack, user))


async def test_a_lead_is_welcomed_with_what_they_own(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    lead_home = await open_home(slack, "U0PAYLEAD")
    [owned] = [b for b in lead_home["blocks"] if b.get("block_id") == "home_welcome_lead"]
    assert "*Payments* (lead): Billing, Checkout" in owned["text"]["text"]
    backup_home = await open_home(slack, "U0PAYBACK")
    assert "*Payments* (backup)" in blocks_text(backup_home)


async def test_replicas_agree_on_how_the_welcome_is_shown(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp, settings: Settings
) -> None:
    """Two replicas on one database: whichever handles the open or the click, the other one
    publishes the Home with the welcome as the person last left it."""
    other = create_app(settings)
    await other.start()
    driver = SlackDriver(other, fake_slack)
    user = FRENCH

    async def published_by(app: JerryApp) -> list[str]:
        assert await app.home.publish(user)
        return ids(fake_slack.home[user])

    async def click(on: SlackDriver, action: str) -> list[str]:
        await on.interactive(payloads.home_block_action(user=user, action_id=action, value="x"))
        await on.settle()
        return ids(fake_slack.home[user])

    try:
        await fake_slack.wait_for(lambda: other.identity.known, message="auth.test at start")
        assert "home_welcome_intro" in ids(await open_home(slack, user))  # first open, on A
        assert "home_welcome_intro" in await published_by(other)  # B shows it in full too
        assert "home_welcome_intro" not in ids(await open_home(slack, user))  # collapsed
        assert "home_welcome_intro" not in await published_by(other)
        assert "home_welcome_intro" in await click(driver, "home_welcome_show")  # on B
        assert "home_welcome_intro" in await published_by(routed)  # A agrees
        assert "home_welcome_intro" not in await click(slack, "home_welcome_hide")  # on A
        assert "home_welcome_intro" not in await published_by(other)
    finally:
        await driver.close()
        await other.stop()
