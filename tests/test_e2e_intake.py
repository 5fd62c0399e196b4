"""End to end: every way an item comes in, and every routing step, through the real stack.

Signed Slack requests go to Jerry's ASGI app; its real Slack client talks to the fake Slack;
every test runs on SQLite and on PostgreSQL. Assertions look at what Slack received (acks,
posts, response_url bodies, views) and at what the database holds.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import JerryApp
from bot.config import Settings
from bot.intake.routing_cli import import_file
from models.deliveries import Delivery
from models.items import Item, ItemEvent
from models.routing import Area, Team
from tests import payloads
from tests.fakeslack import BOT_USER_ID, Call, FakeSlack
from tests.harness import ROUTING_YAML, SlackDriver

BOT = f"<@{BOT_USER_ID}>"


# --- helpers -----------------------------------------------------------------------------------


def texts(message: dict[str, Any]) -> str:
    """A message's fallback text and every text inside its blocks, one per line."""
    found = [message.get("text") or ""]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(message.get("blocks") or [])
    return "\n".join(found)


def call_text(call: Call) -> str:
    return texts(call.args)


async def all_items(app: JerryApp) -> list[Item]:
    async with app.sessions() as session:
        return list((await session.execute(select(Item).order_by(Item.id))).scalars())


async def only_item(app: JerryApp) -> Item:
    items = await all_items(app)
    assert len(items) == 1, [(i.id, i.text[:50]) for i in items]
    return items[0]


async def item_events(app: JerryApp, item_id: int) -> list[ItemEvent]:
    async with app.sessions() as session:
        statement = select(ItemEvent).where(ItemEvent.item_id == item_id).order_by(ItemEvent.id)
        return list((await session.execute(statement)).scalars())


async def deliveries(app: JerryApp) -> list[Delivery]:
    async with app.sessions() as session:
        return list((await session.execute(select(Delivery).order_by(Delivery.id))).scalars())


async def team_of(app: JerryApp, item: Item) -> tuple[str | None, str | None]:
    async with app.sessions() as session:
        team = await session.get(Team, item.team_id) if item.team_id else None
        area = await session.get(Area, item.area_id) if item.area_id else None
        return (team.name if team else None, area.name if area else None)


async def area_id(app: JerryApp, name: str) -> int:
    async with app.sessions() as session:
        return (await session.execute(select(Area.id).where(Area.name == name))).scalar_one()


def option_values(block: dict[str, Any]) -> list[str]:
    return [o["value"] for o in block["element"].get("options") or []]


def option_labels(block: dict[str, Any]) -> list[str]:
    return [o["text"]["text"] for o in block["element"].get("options") or []]


def blocks_by_id(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b for b in view["blocks"] if b.get("block_id")}


def form_values(
    text: str | None,
    *,
    area: str | None = "not_sure",
    impact: str | None = None,
    customer: str | None = None,
    flags: tuple[str, ...] = (),
) -> dict[str, dict[str, Any]]:
    """What Slack sends as view.state.values for the intake modal."""
    return {
        "text": {"value": payloads.input_value(text) if text is not None else {"value": None}},
        "area": {"value": payloads.selected(area)},
        "impact": {"value": payloads.selected(impact)},
        "customer": {"value": {"type": "plain_text_input", "value": customer}},
        "flags": {"value": payloads.checked(*flags)},
    }


async def painpoint(
    slack: SlackDriver, text: str, *, channel: str = "C0GENERAL", user: str = "U0REPORTER"
) -> dict[str, Any]:
    """/painpoint TEXT; returns the ack's body (the ephemeral receipt)."""
    response = await slack.command("/painpoint", text, user=user, channel=channel)
    assert response.status_code == 200, response.text
    await slack.settle()
    return response.json()


async def answer_as_lead(slack: SlackDriver, fake: FakeSlack, lead: str, text: str) -> None:
    """The lead clicks Answer on the DM Jerry sent and sends `text`."""
    dm = fake.dms_to(lead)[-1]
    channel = dm.response["channel"]
    message = fake.message(channel, dm.response["ts"])
    assert message is not None
    response = await slack.click(message, channel, "item_answer", user=lead)
    assert response.status_code == 200
    await slack.settle()
    response = await slack.submit(
        slack.last_view(), {"answer": {"value": payloads.input_value(text)}}, user=lead
    )
    assert response.status_code == 200, response.text
    await slack.settle()


# --- /painpoint and /ask with text ------------------------------------------------------------


async def test_painpoint_command_acks_a_receipt_stores_routes_and_dms_the_lead(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    response = await slack.command("/painpoint", "The invoice total is wrong for Acme")
    assert response.status_code == 200
    body = response.json()
    assert body["response_type"] == "ephemeral"

    # Stored (and routed) before Slack got its ack.
    item = await only_item(routed)
    receipt = texts(body)
    assert f"#{item.id}" in receipt
    assert "> The invoice total is wrong for Acme" in receipt  # which item, in one line
    # What happens next, in human terms; where it went and why is the lead's to read.
    assert "A product lead will look at it; Jerry will tell you when someone takes it." in receipt
    assert "Payments" not in receipt and "matched the keyword" not in receipt
    assert "Jerry will send you the answer in a direct message" in receipt

    assert item.kind == "painpoint"
    assert item.source == "command"
    assert item.status == "open"
    assert item.text == "The invoice total is wrong for Acme"
    assert item.reporter_id == "U0REPORTER"
    assert item.channel_id == "C0GENERAL"
    assert item.route_step == "keywords"
    assert item.route_detail == {"area": "Billing", "keywords": ["invoice"]}
    assert item.assignee_id == "U0PAYLEAD"
    assert await team_of(routed, item) == ("Payments", "Billing")
    assert item.reply_channel is None  # the answer comes as a DM
    events = await item_events(routed, item.id)
    assert [e.kind for e in events] == ["created", "routed"]
    assert events[0].actor == "U0REPORTER"
    assert events[1].detail["team"] == "Payments"
    assert events[1].detail["step"] == "keywords"
    assert events[1].detail["lead"] == "U0PAYLEAD"

    await slack.settle()
    [dm] = fake_slack.dms_to("U0PAYLEAD")
    shown = call_text(dm)
    assert f"#{item.id}" in shown
    assert "The invoice total is wrong for Acme" in shown
    assert "<@U0REPORTER>" in shown
    assert "<#C0GENERAL>" in shown
    assert "matched the keyword “invoice” of Billing" in shown
    actions = [b for b in dm["blocks"] if b["type"] == "actions"]
    assert [e["action_id"] for e in actions[0]["elements"]] == [
        "item_answer",
        "item_acknowledge",
        "item_reassign",
        "item_ask_details",
        "item_resolve",
        "item_note",
    ]
    # The receipt was the ack itself: nothing else went to the reporter, nobody else was DMed.
    assert fake_slack.dms_to("U0REPORTER") == []
    assert fake_slack.responses == []
    assert len(fake_slack.posts()) == 1
    item = await only_item(routed)
    assert (item.lead_dm_channel, item.lead_dm_ts) == (dm.response["channel"], dm.response["ts"])
    assert all(d.status == "sent" for d in await deliveries(routed))


async def test_ask_command_stores_a_question(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    response = await slack.command("/ask", "Do we support Android 9 on the Pixel 3?")
    assert response.status_code == 200
    receipt = texts(response.json())
    item = await only_item(routed)
    assert item.kind == "question"
    assert item.source == "command"
    assert f"Your question is *#{item.id}*" in receipt
    assert "Mobile" not in receipt
    assert item.route_step == "keywords"
    assert item.route_detail == {"area": "Android app", "keywords": ["android", "pixel"]}
    await slack.settle()
    [dm] = fake_slack.dms_to("U0MOBLEAD")
    assert "matched the keywords “android”, “pixel” of Android app" in call_text(dm)
    assert "Question" in call_text(dm)
    assert "Do we support Android 9 on the Pixel 3?" in call_text(dm)


# --- the intake modal -------------------------------------------------------------------------


async def test_painpoint_alone_opens_the_intake_modal(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    response = await slack.command("/painpoint", "")
    assert response.status_code == 200
    assert response.text == ""  # a plain ack: the form does the talking
    await slack.settle()
    [call] = fake_slack.calls_to("views.open", ok=True)
    assert call["trigger_id"].startswith("trigger.")
    view = slack.last_view()
    assert view["type"] == "modal"
    assert view["callback_id"] == "jerry_intake"
    assert view["title"]["text"] == "Report a pain point"
    blocks = blocks_by_id(view)
    assert list(blocks) == ["text", "area", "category", "impact", "customer", "flags"]
    assert blocks["text"]["element"]["type"] == "plain_text_input"
    assert blocks["text"]["optional"] is False
    area = blocks["area"]
    assert option_labels(area) == [
        "Not sure",
        "Billing (Payments)",
        "Checkout (Payments)",
        "iOS app (Mobile)",
        "Android app (Mobile)",
    ]
    values = option_values(area)
    assert values[0] == "not_sure"
    assert values[1:] == [f"area:{await area_id(routed, n)}" for n in ("Billing", "Checkout")] + [
        f"area:{await area_id(routed, n)}" for n in ("iOS app", "Android app")
    ]
    assert area["element"]["initial_option"]["value"] == "not_sure"
    assert option_values(blocks["impact"]) == ["low", "medium", "high", "blocking"]
    assert blocks["customer"]["optional"] is True
    assert option_values(blocks["flags"]) == ["at_risk", "anonymous"]
    assert await all_items(routed) == []  # nothing stored until the form is sent


async def test_modal_submission_stores_routes_and_answers_on_the_response_url(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    await slack.command("/painpoint", "", channel="C0SALES")
    await slack.settle()
    view = slack.last_view()
    response = await slack.submit(
        view,
        form_values(
            "Refunds take two weeks & customers <complain>",
            impact="high",
            customer="Acme Corp",
            flags=("at_risk",),
        ),
    )
    assert response.status_code == 200
    assert response.text == ""  # the modal closes
    item = await only_item(routed)
    assert item.kind == "painpoint"
    assert item.source == "modal"
    # Typed text arrives raw; Jerry keeps Slack's format.
    assert item.text == "Refunds take two weeks &amp; customers &lt;complain&gt;"
    assert item.channel_id == "C0SALES"
    assert item.impact == "high"
    assert item.customer == "Acme Corp"
    assert item.customer_at_risk is True
    assert item.anonymous is False
    assert item.route_step == "triage"  # "Refunds" is not the keyword "refund"
    await slack.settle()

    [receipt] = fake_slack.responses
    assert receipt["response_type"] == "ephemeral"
    assert receipt["replace_original"] is False
    assert f"#{item.id}" in texts(receipt)
    assert "Triage" not in texts(receipt) and "nothing else matched" not in texts(receipt)
    [dm] = fake_slack.dms_to("U0PRODOPS")
    shown = call_text(dm)
    assert "nothing else matched" in shown
    assert "Refunds take two weeks &amp; customers &lt;complain&gt;" in shown
    assert "High" in shown
    assert "Acme Corp" in shown
    assert "at risk of leaving" in shown
    assert fake_slack.dms_to("U0REPORTER") == []


async def test_an_expired_response_url_sends_the_receipt_by_dm(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    command = payloads.slash_command(
        "/painpoint", "", user="U0REPORTER", response_url=fake_slack.response_url("gone")
    )
    await slack.form(command)
    await slack.settle()
    fake_slack.expired_response_urls.add("gone")
    await slack.submit(slack.last_view(), form_values("the invoice is late"))
    await slack.settle()
    item = await only_item(routed)
    assert [r["url"].rsplit("/", 1)[1] for r in fake_slack.responses] == ["gone"]
    [receipt] = fake_slack.dms_to("U0REPORTER")
    assert f"#{item.id}" in call_text(receipt)
    assert len(fake_slack.dms_to("U0PAYLEAD")) == 1


async def test_the_area_chosen_in_the_form_wins_over_keywords(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    await slack.command("/painpoint", "")
    await slack.settle()
    android = await area_id(routed, "Android app")
    await slack.submit(
        slack.last_view(),
        form_values("invoice billing refund all broken", area=f"area:{android}"),
    )
    await slack.settle()
    item = await only_item(routed)
    assert item.route_step == "chosen_area"
    assert item.route_detail == {"area": "Android app"}
    assert item.chosen_area_id == android
    assert await team_of(routed, item) == ("Mobile", "Android app")
    assert item.assignee_id == "U0MOBLEAD"
    [dm] = fake_slack.dms_to("U0MOBLEAD")
    assert "the reporter chose the area Android app" in call_text(dm)
    assert fake_slack.dms_to("U0PAYLEAD") == []


async def test_not_sure_in_the_form_falls_back_to_keywords(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    await slack.command("/painpoint", "")
    await slack.settle()
    await slack.submit(slack.last_view(), form_values("The cart loses items", area="not_sure"))
    await slack.settle()
    item = await only_item(routed)
    assert item.chosen_area_id is None
    assert item.route_step == "keywords"
    assert await team_of(routed, item) == ("Payments", "Checkout")


async def test_anonymous_submission_hides_the_reporter_from_the_lead(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    await slack.command("/painpoint", "")
    await slack.settle()
    await slack.submit(
        slack.last_view(), form_values("My invoice is wrong", flags=("anonymous", "at_risk"))
    )
    await slack.settle()
    item = await only_item(routed)
    assert item.anonymous is True
    assert item.customer_at_risk is True
    assert item.reporter_id == "U0REPORTER"  # kept, never shown
    [dm] = fake_slack.dms_to("U0PAYLEAD")
    assert "U0REPORTER" not in str(dm.args)
    assert "anonymous" in call_text(dm)
    [receipt] = fake_slack.responses
    assert "Your name is kept from the team lead." in texts(receipt)


@pytest.mark.parametrize(
    "text", ["", "   \n  ", None, "\u200b\u200d\ufeff", "\x00\x00", "\u2060 \u200b\n"]
)
async def test_an_empty_form_is_refused_and_stores_nothing(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp, text: str | None
) -> None:
    await slack.command("/painpoint", "")
    await slack.settle()
    response = await slack.submit(slack.last_view(), form_values(text))
    assert response.status_code == 200
    assert response.json() == {
        "response_action": "errors",
        "errors": {"text": "Please describe it in a few words."},
    }
    await slack.settle()
    assert await all_items(routed) == []
    assert await deliveries(routed) == []
    assert fake_slack.responses == []
    assert fake_slack.posts() == []


@pytest.mark.parametrize("text", ["\u200b\u200b", "\x00", "\ufeff \u2060"])
async def test_a_command_with_only_invisible_text_opens_the_form_and_stores_nothing(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp, text: str
) -> None:
    response = await slack.command("/painpoint", text)

    assert response.status_code == 200 and response.text == ""
    await slack.settle()
    assert slack.last_view()["callback_id"] == "jerry_intake"
    assert await all_items(routed) == []
    assert fake_slack.posts() == []


async def test_ask_alone_opens_the_question_form_and_stores_a_question(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    response = await slack.command("/ask", "")
    assert response.status_code == 200
    await slack.settle()
    view = slack.last_view()
    assert view["title"]["text"] == "Ask a question"
    assert blocks_by_id(view)["text"]["label"]["text"] == "What is your question?"
    await slack.submit(view, form_values("Is the iPhone app getting dark mode?"))
    await slack.settle()
    item = await only_item(routed)
    assert item.kind == "question"
    assert item.source == "modal"
    assert item.route_detail == {"area": "iOS app", "keywords": ["iphone"]}
    [receipt] = fake_slack.responses
    assert f"Your question is *#{item.id}*" in texts(receipt)
    assert "> Is the iPhone app getting dark mode?" in texts(receipt)
    assert len(fake_slack.dms_to("U0MOBLEAD")) == 1


async def test_the_same_form_submitted_twice_stores_one_item(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    await slack.command("/painpoint", "")
    await slack.settle()
    view = slack.last_view()
    for _ in range(2):
        response = await slack.submit(view, form_values("invoice broken"))
        assert response.status_code == 200
    await slack.settle()
    await only_item(routed)
    assert len(fake_slack.responses) == 1
    assert len(fake_slack.dms_to("U0PAYLEAD")) == 1


# --- @Jerry -----------------------------------------------------------------------------------


async def test_mention_stores_a_question_and_answers_in_its_thread(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    response, body = await slack.mention(f"{BOT} how do refunds work for an invoice?")
    assert response.status_code == 200
    await slack.settle()
    item = await only_item(routed)
    mention_ts = body["event"]["ts"]
    assert item.kind == "question"
    assert item.source == "mention"
    assert item.text == "how do refunds work for an invoice?"  # the bot mention is gone
    assert item.channel_id == "C0GENERAL"
    assert item.message_ts == mention_ts
    assert (item.reply_channel, item.reply_thread_ts) == ("C0GENERAL", mention_ts)
    # Keyed by the message (issue 10: an edit comes with a new event id, not a new item).
    assert item.intake_key == f"message:C0GENERAL:{mention_ts}"
    assert item.route_step == "keywords"
    assert item.permalink == (
        f"https://jerry-test.slack.com/archives/C0GENERAL/p{mention_ts.replace('.', '')}"
    )

    [receipt] = fake_slack.posts("C0GENERAL")
    assert receipt["thread_ts"] == mention_ts
    assert f"#{item.id}" in call_text(receipt)
    assert "Payments" not in call_text(receipt)
    assert "The answer will come in this thread." in call_text(receipt)
    assert [m["ts"] for m in fake_slack.thread("C0GENERAL", mention_ts)] == [receipt.response["ts"]]
    [dm] = fake_slack.dms_to("U0PAYLEAD")
    assert item.permalink in call_text(dm)
    assert "U0JERRYBOT" not in call_text(dm)


async def test_mention_inside_a_thread_answers_in_that_thread(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    parent = fake_slack.add_message("C0GENERAL", "U0STRANGER", "the checkout is down")
    await slack.mention(f"{BOT} is anyone on this?", thread_ts=parent["ts"])
    await slack.settle()
    item = await only_item(routed)
    assert item.reply_thread_ts == parent["ts"]
    [receipt] = fake_slack.posts("C0GENERAL")
    assert receipt["thread_ts"] == parent["ts"]


@pytest.mark.parametrize(
    "text", [BOT, f"{BOT}   ", f"<@{BOT_USER_ID}|jerry>\n", f"{BOT} \u200b\u2060\x00"]
)
async def test_an_empty_mention_gets_a_friendly_prompt_and_no_item(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp, text: str
) -> None:
    response, body = await slack.mention(text)
    assert response.status_code == 200
    await slack.settle()
    assert await all_items(routed) == []
    [prompt] = fake_slack.posts("C0GENERAL")
    assert prompt["thread_ts"] == body["event"]["ts"]
    assert "Write your question after mentioning me" in call_text(prompt)
    assert fake_slack.dms_to("U0PRODOPS") == []


# --- the "Send to Jerry" shortcut -------------------------------------------------------------


async def test_shortcut_opens_a_prefilled_form_and_replies_in_the_message_thread(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    response, message = await slack.shortcut(
        "Customers say the checkout & cart crash", user="U0REPORTER", author="U0STRANGER"
    )
    assert response.status_code == 200
    await slack.settle()
    view = slack.last_view()
    assert view["callback_id"] == "jerry_intake"
    assert view["title"]["text"] == "Report a pain point"
    text_input = blocks_by_id(view)["text"]["element"]
    # plain_text fields show the text as people read it.
    assert text_input["initial_value"] == "Customers say the checkout & cart crash"
    assert await all_items(routed) == []

    # Slack sends back what the form holds (here, the prefilled text as it is).
    await slack.submit(view, form_values(text_input["initial_value"]))
    await slack.settle()
    item = await only_item(routed)
    assert item.source == "shortcut"
    assert item.kind == "painpoint"
    assert item.text == "Customers say the checkout &amp; cart crash"
    assert item.reporter_id == "U0REPORTER"
    assert item.channel_id == "C0GENERAL"
    assert item.message_ts == message["ts"]
    assert (item.reply_channel, item.reply_thread_ts) == ("C0GENERAL", message["ts"])
    assert item.route_detail == {"area": "Checkout", "keywords": ["checkout", "cart"]}
    [permalink] = fake_slack.calls_to("chat.getPermalink", ok=True)
    assert permalink["message_ts"] == message["ts"]
    assert item.permalink == permalink.response["permalink"]
    [dm] = fake_slack.dms_to("U0PAYLEAD")
    assert item.permalink in call_text(dm)

    # The receipt is for the reporter's eyes only (the message may be a colleague's) …
    [receipt] = fake_slack.responses
    assert receipt["response_type"] == "ephemeral"
    assert f"#{item.id}" in texts(receipt)
    assert "Payments" not in texts(receipt)
    assert "The answer will come in the thread of that message." in texts(receipt)
    assert fake_slack.posts("C0GENERAL") == []
    # … and the answer comes in the message's thread.
    await answer_as_lead(slack, fake_slack, "U0PAYLEAD", "Fixed in 4.2")
    [reply] = fake_slack.posts("C0GENERAL")
    assert reply["thread_ts"] == message["ts"]
    assert f"answered your pain point *#{item.id}*" in call_text(reply)
    assert "Fixed in 4.2" in call_text(reply)
    assert fake_slack.dms_to("U0REPORTER") == []


async def test_shortcut_on_a_thread_reply_replies_in_that_thread(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    parent = fake_slack.add_message("C0GENERAL", "U0STRANGER", "payments question")
    reply = fake_slack.add_message(
        "C0GENERAL", "U0STRANGER", "the refund never arrived", thread_ts=parent["ts"]
    )
    body = payloads.message_shortcut(
        user="U0REPORTER",
        channel="C0GENERAL",
        message=reply,
        response_url=fake_slack.response_url(),
    )
    await slack.interactive(body)
    await slack.settle()
    await slack.submit(slack.last_view(), form_values("the refund never arrived"))
    await slack.settle()
    item = await only_item(routed)
    assert item.message_ts == reply["ts"]
    assert item.reply_thread_ts == parent["ts"]
    await answer_as_lead(slack, fake_slack, "U0PAYLEAD", "Sent again today.")
    [answer] = fake_slack.posts("C0GENERAL")
    assert answer["thread_ts"] == parent["ts"]


async def test_a_shortcut_where_jerry_is_not_a_member_answers_by_dm(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    fake_slack.add_channel("C0PRIVATE", "private", member=False)
    await slack.shortcut("the invoice is late", channel="C0PRIVATE")
    await slack.settle()
    await slack.submit(slack.last_view(), form_values("the invoice is late"))
    await slack.settle()
    item = await only_item(routed)
    assert item.reply_channel == "C0PRIVATE"
    assert len(fake_slack.responses) == 1  # the receipt needs no membership
    assert len(fake_slack.dms_to("U0PAYLEAD")) == 1

    await answer_as_lead(slack, fake_slack, "U0PAYLEAD", "It went out this morning.")
    [refused] = fake_slack.calls_to("chat.postMessage", ok=False)
    assert refused.response["error"] == "not_in_channel"
    [answer] = fake_slack.dms_to("U0REPORTER")
    assert f"#{item.id}" in call_text(answer)
    assert "It went out this morning." in call_text(answer)
    assert "Jerry could not reply in <#C0PRIVATE>, so it wrote here." in call_text(answer)


# --- direct messages --------------------------------------------------------------------------


async def test_a_direct_message_is_a_question_answered_in_the_dm(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    response = await slack.dm("Who owns the iOS app?")
    assert response.status_code == 200
    await slack.settle()
    item = await only_item(routed)
    assert item.kind == "question"
    assert item.source == "dm"
    assert item.text == "Who owns the iOS app?"
    assert item.channel_id == "D0REPORTER"
    assert item.reply_channel == "D0REPORTER"
    assert await team_of(routed, item) == ("Mobile", "iOS app")
    [receipt] = fake_slack.dms_to("U0REPORTER")
    assert receipt["thread_ts"] == item.message_ts
    assert f"#{item.id}" in call_text(receipt)
    assert "Mobile" not in call_text(receipt)
    [dm] = fake_slack.dms_to("U0MOBLEAD")
    assert "Who owns the iOS app?" in call_text(dm)
    assert "<#D0REPORTER>" not in call_text(dm)  # a DM is no channel to link to


async def test_an_empty_direct_message_gets_a_prompt(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    await slack.dm("   ")
    await slack.settle()
    assert await all_items(routed) == []
    [prompt] = fake_slack.dms_to("U0REPORTER")
    assert "Write your question and Jerry will find who can answer it." in call_text(prompt)


async def test_what_is_not_a_person_writing_to_jerry_is_not_intake(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    first = fake_slack.add_message("D0REPORTER", "U0REPORTER", "the invoice question")
    not_intake = [
        payloads.bot_message_im("invoice from a bot", channel="D0REPORTER"),
        payloads.message_changed_im(user="U0REPORTER", text="invoice, edited"),
        payloads.message_deleted_im(user="U0REPORTER"),
        payloads.direct_message(
            "and one more invoice thing", user="U0REPORTER", thread_ts=first["ts"]
        ),
    ]
    # Jerry's own messages in the DM come back as events too.
    own = payloads.direct_message("Thanks! Your invoice", user=BOT_USER_ID)
    own["event"].update(bot_id="B0JERRY", channel="D0REPORTER")
    not_intake.append(own)
    for body in not_intake:
        response = await slack.event(body)
        assert response.status_code == 200
    await slack.settle()
    assert await all_items(routed) == []
    assert fake_slack.posts() == []


# --- Slack's retries --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["mention", "dm"])
async def test_a_retried_event_makes_one_item_and_one_receipt(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp, kind: str
) -> None:
    if kind == "mention":
        message = fake_slack.add_message("C0GENERAL", "U0REPORTER", f"{BOT} invoice?")
        body = payloads.app_mention(f"{BOT} invoice?", user="U0REPORTER", ts=message["ts"])
        channel = "C0GENERAL"
    else:
        # More than a few words: a DM of one or two is asked about before it is filed.
        text = "where is my invoice?"
        message = fake_slack.add_message("D0REPORTER", "U0REPORTER", text)
        body = payloads.direct_message(text, user="U0REPORTER", ts=message["ts"])
        channel = "D0REPORTER"
    first = await slack.event(body)
    retry_headers = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    again = await slack.event(body, headers=retry_headers)
    assert first.status_code == again.status_code == 200
    await slack.settle()
    late = await slack.event(body, headers={**retry_headers, "X-Slack-Retry-Num": "2"})
    assert late.status_code == 200
    await slack.settle()
    item = await only_item(routed)
    assert item.intake_key == f"message:{channel}:{message['ts']}"  # one item per message
    assert len(fake_slack.posts(channel)) == 1
    assert len(fake_slack.dms_to("U0PAYLEAD")) == 1
    assert [e.kind for e in await item_events(routed, item.id)] == ["created", "routed"]


@pytest.mark.parametrize("kind", ["mention", "dm"])
async def test_an_event_and_its_retry_racing_make_one_item(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp, kind: str
) -> None:
    channel = "C0GENERAL" if kind == "mention" else "D0REPORTER"
    text = f"{BOT} refund?" if kind == "mention" else "when is my refund?"
    message = fake_slack.add_message(channel, "U0REPORTER", text)
    if kind == "mention":
        body = payloads.app_mention(text, user="U0REPORTER", ts=message["ts"])
    else:
        body = payloads.direct_message(text, user="U0REPORTER", ts=message["ts"])
    retry_headers = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    responses = await asyncio.gather(slack.event(body), slack.event(body, headers=retry_headers))
    assert [r.status_code for r in responses] == [200, 200]
    await slack.settle()
    await only_item(routed)
    assert len(fake_slack.posts(channel)) == 1
    assert len(fake_slack.dms_to("U0PAYLEAD")) == 1


async def test_a_retried_slash_command_makes_one_item(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    body = payloads.slash_command(
        "/painpoint", "invoice again", user="U0REPORTER", response_url=fake_slack.response_url()
    )
    first = await slack.form(body)
    again = await slack.form(
        body, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    )
    await slack.settle()
    item = await only_item(routed)
    assert f"#{item.id}" in texts(first.json())
    assert f"#{item.id}" in texts(again.json())
    assert len(fake_slack.dms_to("U0PAYLEAD")) == 1


# --- routing, step by step --------------------------------------------------------------------


KEYWORD_CASES = [
    # text, team, area, keywords
    ("INVOICE is wrong", "Payments", "Billing", ["invoice"]),
    ("La Facturé est fausse", "Payments", "Billing", ["facture"]),
    ("la FACTURE n'arrive pas", "Payments", "Billing", ["facture"]),
    # most distinct keywords wins, however often one is repeated
    (
        "invoice invoice invoice: the cart and checkout",
        "Payments",
        "Checkout",
        ["checkout", "cart"],
    ),
    # a tie goes to the area that comes first in the file, not in the text
    ("android then invoice", "Payments", "Billing", ["invoice"]),
    ("pixel billing", "Payments", "Billing", ["billing"]),
    # phrases and link labels count; link targets and mentions do not
    ("see <https://example.com/android|the iPhone page>", "Mobile", "iOS app", ["iphone"]),
]


@pytest.mark.parametrize(("text", "team", "area", "keywords"), KEYWORD_CASES)
async def test_keywords_route_whole_words_case_and_accent_insensitively(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    routed: JerryApp,
    text: str,
    team: str,
    area: str,
    keywords: list[str],
) -> None:
    await painpoint(slack, text)
    item = await only_item(routed)
    assert item.route_step == "keywords"
    assert item.route_detail == {"area": area, "keywords": keywords}
    assert await team_of(routed, item) == (team, area)
    lead = {"Payments": "U0PAYLEAD", "Mobile": "U0MOBLEAD"}[team]
    [dm] = fake_slack.dms_to(lead)
    assert f"of {area}" in call_text(dm)


@pytest.mark.parametrize(
    "text",
    [
        "refunds and invoices are slow",  # no stems, no plurals
        "the billingsystem is down",  # whole words only
        "ping <@U0PAYLEAD> about <#C0PAYTEAM|invoice>",  # mentions never match
        "the coffee machine is broken",
    ],
)
async def test_nothing_matching_goes_to_triage(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp, text: str
) -> None:
    await painpoint(slack, text)
    item = await only_item(routed)
    assert item.route_step == "triage"
    assert item.route_detail == {}
    assert item.assignee_id == "U0PRODOPS"
    assert await team_of(routed, item) == ("Triage", None)
    [dm] = fake_slack.dms_to("U0PRODOPS")
    assert "nothing else matched, so product ops triages it" in call_text(dm)


async def test_a_rule_wins_over_keywords(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    # Keywords say Billing (invoice, billing); the support-channel rule says Mobile.
    await painpoint(slack, "The invoice billing page: CRASH on save", channel="C0SUPPORT")
    item = await only_item(routed)
    assert item.route_step == "rule"
    assert item.route_detail == {
        "rule": "support crashes go to Mobile",
        "channel": "C0SUPPORT",
        "pattern": "crash|freeze",
    }
    assert await team_of(routed, item) == ("Mobile", None)
    assert item.assignee_id == "U0MOBLEAD"
    [dm] = fake_slack.dms_to("U0MOBLEAD")
    assert "rule “support crashes go to Mobile”" in call_text(dm)
    assert "<#C0SUPPORT>" in call_text(dm)
    assert fake_slack.dms_to("U0PAYLEAD") == []


async def test_a_rule_needs_all_its_conditions(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    await painpoint(slack, "The invoice page freezes", channel="C0GENERAL")
    await painpoint(slack, "The invoice page is slow", channel="C0SUPPORT")
    first, second = await all_items(routed)
    assert (first.route_step, await team_of(routed, first)) == ("keywords", ("Payments", "Billing"))
    assert (second.route_step, await team_of(routed, second)) == (
        "keywords",
        ("Payments", "Billing"),
    )
    assert len(fake_slack.dms_to("U0PAYLEAD")) == 2


async def test_a_rule_also_routes_mentions_by_their_channel(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    fake_slack.add_channel("C0SUPPORT", "support")
    await slack.mention(
        f"{BOT} the app froze? no: it freezes on the refund screen", channel="C0SUPPORT"
    )
    await slack.settle()
    item = await only_item(routed)
    assert item.route_step == "rule"
    assert item.assignee_id == "U0MOBLEAD"
    [dm] = fake_slack.dms_to("U0MOBLEAD")
    assert "rule “support crashes go to Mobile”" in call_text(dm)


# --- no routing model yet ---------------------------------------------------------------------


async def test_without_a_routing_model_items_wait_and_the_first_import_routes_them(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    jerry: JerryApp,
    settings: Settings,
    tmp_path: Path,
) -> None:
    # The form works without areas: only "Not sure".
    await slack.command("/ask", "")
    await slack.settle()
    area = blocks_by_id(slack.last_view())["area"]
    assert option_values(area) == ["not_sure"]

    response = await slack.command("/painpoint", "the invoice is wrong")
    assert response.status_code == 200
    receipt = texts(response.json())
    await slack.mention(f"{BOT} who owns the iPhone app?")
    await slack.settle()
    painpoint_item, question = await all_items(jerry)
    assert "Product ops will find who owns it" in receipt
    assert f"#{painpoint_item.id}" in receipt
    assert "routing model" not in receipt
    for item in (painpoint_item, question):
        assert item.route_step == "unrouted"
        assert item.team_id is None
        assert item.assignee_id is None
    [thread_receipt] = fake_slack.posts("C0GENERAL")
    assert "Product ops will find who owns it" in call_text(thread_receipt)
    assert f"#{question.id}" in call_text(thread_receipt)
    assert [c.response["channel"] for c in fake_slack.posts()] == ["C0GENERAL"]  # no lead DM

    path = tmp_path / "routing.yml"
    path.write_text(ROUTING_YAML, encoding="utf-8")
    assert await import_file(settings, path) == 0
    await slack.settle()

    painpoint_item, question = await all_items(jerry)
    assert painpoint_item.route_step == "keywords"
    assert painpoint_item.assignee_id == "U0PAYLEAD"
    assert await team_of(jerry, painpoint_item) == ("Payments", "Billing")
    assert question.assignee_id == "U0MOBLEAD"
    assert await team_of(jerry, question) == ("Mobile", "iOS app")
    [pay_dm] = fake_slack.dms_to("U0PAYLEAD")
    assert "the invoice is wrong" in call_text(pay_dm)
    [mobile_dm] = fake_slack.dms_to("U0MOBLEAD")
    assert "who owns the iPhone app?" in call_text(mobile_dm)
    # Where each went is the leads' business: the reporters hear when a person takes it.
    assert fake_slack.dms_to("U0REPORTER") == []
    assert fake_slack.posts("C0GENERAL") == [thread_receipt]
    assert [e.kind for e in await item_events(jerry, painpoint_item.id)] == ["created", "routed"]

    # A second import routes nothing again.
    assert await import_file(settings, path) == 0
    await slack.settle()
    assert len(fake_slack.dms_to("U0PAYLEAD")) == 1


# --- text that is hard to carry ---------------------------------------------------------------


async def test_unicode_and_emoji_are_stored_and_shown_whole(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    text = "Facture 🧾 en double pour 東京 — l’app 💥 plante :fire: 👩🏽‍💻 Ω≈ç√"
    await painpoint(slack, text)
    item = await only_item(routed)
    assert item.text == text
    assert item.route_detail == {"area": "Billing", "keywords": ["facture"]}
    [dm] = fake_slack.dms_to("U0PAYLEAD")
    assert text in call_text(dm)


@pytest.mark.parametrize("shape", ["one line", "many lines", "emoji"])
async def test_a_40_kb_text_is_stored_whole_and_the_lead_dm_cut_cleanly(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp, shape: str
) -> None:
    unit = {"one line": "invoice wrong again ", "many lines": "invoice\n", "emoji": "facture 💥 "}
    text = ("The invoice is wrong. " + unit[shape] * 5000)[:40_000].strip()
    receipt = await painpoint(slack, text)
    # The receipt quotes the item in one short line (its first line, cut).
    assert "> The invoice is wrong." in texts(receipt)
    assert len(texts(receipt)) < 1000
    item = await only_item(routed)
    assert item.text == text
    [dm] = fake_slack.dms_to("U0PAYLEAD")
    assert dm.ok
    assert len(dm["text"]) < 1000
    quoted = dm["blocks"][1]["text"]["text"]
    assert len(quoted) <= 3000
    assert quoted.startswith("> The invoice is wrong.")
    assert quoted.endswith("…")
    assert "\ufffd" not in quoted
    assert "…" in dm["text"]


# --- French -----------------------------------------------------------------------------------


async def test_a_french_reporter_gets_a_french_receipt_from_the_first_command(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    response = await slack.command("/painpoint", "la facture est fausse", user="U0FRENCH")
    item = await only_item(routed)
    assert item.language == "fr"
    shown = texts(response.json())
    assert f"C’est noté sous le *n° {item.id}*." in shown
    assert "Un responsable produit va l’examiner" in shown
    assert "Jerry vous enverra la réponse en message privé." in shown
    await slack.settle()
    [dm] = fake_slack.dms_to("U0PAYLEAD")  # the lead reads English
    assert "matched the keyword “facture” of Billing" in call_text(dm)


async def test_a_french_reporter_gets_french_forms_and_thread_receipts(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    await slack.mention(f"{BOT} la facture est fausse", user="U0FRENCH")
    await slack.settle()
    item = await only_item(routed)
    [thread_receipt] = fake_slack.posts("C0GENERAL")
    shown = call_text(thread_receipt)
    assert f"C’est noté sous le *n° {item.id}*." in shown
    assert "> la facture est fausse" in shown
    assert "La réponse arrivera dans ce fil." in shown

    await slack.command("/ask", "", user="U0FRENCH")
    await slack.settle()
    view = slack.last_view()
    assert view["title"]["text"] != "Ask a question"
    assert option_labels(blocks_by_id(view)["area"])[0] != "Not sure"
    response = await slack.submit(view, form_values(" "), user="U0FRENCH")
    assert response.json()["errors"]["text"] != "Please describe it in a few words."

    await slack.mention(BOT, user="U0FRENCH")
    await slack.settle()
    prompt = fake_slack.posts("C0GENERAL")[-1]
    assert "Écrivez votre question" in call_text(prompt)


async def test_a_command_retried_by_slack_makes_one_item_and_another_persons_never_shares_it(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    """A command's retry (same trigger_id) answers with its item; the same trigger_id from
    someone else (ids that clash) is that person's own item, never the other's receipt."""
    body = payloads.slash_command(
        "/ask", "how do refunds work on the legacy plan?", user="U0REPORTER"
    )
    first = await slack.form(body)
    again = await slack.form(body)
    assert first.json()["text"] == again.json()["text"]
    clash = {**body, "user_id": "U0FRENCH", "user_name": "francois", "text": "l’export plante"}
    other = await slack.form(clash)
    assert other.status_code == 200
    assert "refunds" not in json.dumps(other.json())
    async with routed.sessions() as session:
        items = (await session.execute(select(Item).order_by(Item.id))).scalars().all()
    assert [(i.reporter_id, i.text) for i in items] == [
        ("U0REPORTER", "how do refunds work on the legacy plan?"),
        ("U0FRENCH", "l’export plante"),
    ]
