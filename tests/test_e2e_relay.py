"""End to end: the relay between the reporter and the team lead.

Every test drives the real app with signed Slack requests; the bot's real Web API client
talks to the fake Slack. We look at what the fake Slack received and at the database.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import JerryApp
from bot.text import WORD_JOINER
from models.deliveries import Delivery
from models.items import Item, ItemEvent
from models.routing import Team
from tests import payloads
from tests.fakeslack import Call, FakeSlack
from tests.french import spaced
from tests.harness import ADMIN, SlackDriver

LEAD, BACKUP, MOBILE_LEAD, TRIAGE_LEAD = "U0PAYLEAD", "U0PAYBACK", "U0MOBLEAD", "U0PRODOPS"
REPORTER, STRANGER = "U0REPORTER", "U0STRANGER"
ACTIONS = (
    "item_answer",
    "item_acknowledge",
    "item_reassign",
    "item_ask_details",
    "item_resolve",
    "item_note",
)
BROADCASTS_TEXT = "<!channel> <!here> <!everyone> <!subteam^S123|@team>"
DEFUSED = [f"@{WORD_JOINER}{name}" for name in ("channel", "here", "everyone", "team")]

pytestmark = pytest.mark.usefixtures("routed")


# --- helpers --------------------------------------------------------------------------------


async def load_item(jerry: JerryApp, item_id: int | None = None) -> Item:
    """The item `item_id`, or the latest one."""
    async with jerry.sessions() as session:
        statement = select(Item).order_by(Item.id.desc()).limit(1)
        if item_id is not None:
            statement = select(Item).where(Item.id == item_id)
        item = (await session.execute(statement)).scalar_one()
        session.expunge(item)
        return item


async def event_kinds(jerry: JerryApp, item_id: int) -> list[str]:
    async with jerry.sessions() as session:
        statement = select(ItemEvent.kind).where(ItemEvent.item_id == item_id)
        return list((await session.execute(statement.order_by(ItemEvent.id))).scalars())


async def events(jerry: JerryApp, item_id: int, kind: str) -> list[ItemEvent]:
    async with jerry.sessions() as session:
        statement = select(ItemEvent).where(ItemEvent.item_id == item_id, ItemEvent.kind == kind)
        return list((await session.execute(statement.order_by(ItemEvent.id))).scalars())


async def undelivered(jerry: JerryApp) -> list[tuple[str, str, str | None]]:
    """Outbox rows not sent: (purpose, status, last error)."""
    async with jerry.sessions() as session:
        rows = await session.execute(
            select(Delivery.purpose, Delivery.status, Delivery.last_error).where(
                Delivery.status != "sent"
            )
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def team_id(jerry: JerryApp, name: str) -> int:
    async with jerry.sessions() as session:
        return (await session.execute(select(Team.id).where(Team.name == name))).scalar_one()


def lead_dm(fake: FakeSlack, user: str = LEAD) -> tuple[str, str, dict[str, Any]]:
    """The last DM Jerry posted to `user`: channel, ts and the message as it is now."""
    call = fake.dms_to(user)[-1]
    channel, ts = call.response["channel"], call.response["ts"]
    message = fake.message(channel, ts)
    assert message is not None
    return channel, ts, message


def everything(message: dict[str, Any]) -> str:
    """All the text of a message or view, as one JSON string (unescaped unicode)."""
    return json.dumps(message, ensure_ascii=False)


def section_text(block: dict[str, Any]) -> str:
    """A section's text, or a context's first element's (the line that quotes the item)."""
    if isinstance(block.get("text"), dict):
        return str(block["text"]["text"])
    return str((block.get("elements") or [{}])[0].get("text", ""))


def block_texts(blocks: list[dict[str, Any]]) -> list[str]:
    texts: list[str] = []
    for block in blocks:
        if isinstance(block.get("text"), dict):
            texts.append(block["text"]["text"])
        texts += [f["text"] for f in block.get("fields") or []]
        texts += [
            e["text"]
            for e in block.get("elements") or []
            if "text" in e and e["type"] in {"mrkdwn", "plain_text"}
        ]
    return texts


def button_ids(message: dict[str, Any]) -> list[str]:
    return [
        element["action_id"]
        for block in message.get("blocks") or []
        if block.get("type") == "actions"
        for element in block["elements"]
    ]


def updates_of(fake: FakeSlack, channel: str, ts: str) -> list[Call]:
    return [
        c
        for c in fake.calls_to("chat.update", ok=True)
        if c["channel"] == channel and c["ts"] == ts
    ]


async def painpoint(slack: SlackDriver, text: str, *, user: str = REPORTER, **kwargs: Any) -> Item:
    response = await slack.command("/painpoint", text, user=user, **kwargs)
    assert response.status_code == 200
    await slack.settle()
    return await load_item(slack.app)


async def from_modal(
    slack: SlackDriver,
    text: str,
    *,
    command: str = "/painpoint",
    area: str | None = None,
    impact: str | None = None,
    customer: str | None = None,
    flags: tuple[str, ...] = (),
    user: str = REPORTER,
) -> Item:
    """An item sent through the intake form (/painpoint with no text opens it)."""
    await slack.command(command, "", user=user)
    view = slack.last_view()
    assert view["callback_id"] == "jerry_intake"
    area_value = "not_sure"
    if area is not None:
        options = next(b for b in view["blocks"] if b["block_id"] == "area")["element"]["options"]
        area_value = next(o["value"] for o in options if o["text"]["text"].startswith(area))
    values: dict[str, dict[str, Any]] = {
        "text": {"value": payloads.input_value(text)},
        "area": {"value": payloads.selected(area_value)},
        "impact": {"value": payloads.selected(impact)},
        "customer": {"value": payloads.input_value(customer or "")},
        "flags": {"value": payloads.checked(*flags)},
    }
    response = await slack.submit(view, values, user=user)
    assert response.status_code == 200 and not response.content, response.text
    await slack.settle()
    return await load_item(slack.app)


async def from_shortcut(
    slack: SlackDriver, text: str, *, user: str = REPORTER, flags: tuple[str, ...] = ()
) -> tuple[Item, dict[str, Any]]:
    """A colleague's message sent to Jerry with the shortcut; the form is submitted as prefilled."""
    _, message = await slack.shortcut(text, user=user, author=STRANGER)
    view = slack.last_view()
    prefill = next(b for b in view["blocks"] if b["block_id"] == "text")["element"]
    values = {
        "text": {"value": payloads.input_value(prefill.get("initial_value", ""))},
        "area": {"value": payloads.selected("not_sure")},
        "flags": {"value": payloads.checked(*flags)},
    }
    response = await slack.submit(view, values, user=user)
    assert response.status_code == 200 and not response.content, response.text
    await slack.settle()
    return await load_item(slack.app), message


async def click(slack: SlackDriver, action_id: str, *, user: str, lead: str = LEAD) -> None:
    """`user` clicks a button on the DM Jerry sent `lead`."""
    channel, _, message = lead_dm(slack.fake, lead)
    response = await slack.click(message, channel, action_id, user=user)
    assert response.status_code == 200
    await slack.settle()


async def open_answer(slack: SlackDriver, *, user: str = LEAD, lead: str = LEAD) -> dict[str, Any]:
    before = len(slack.fake.calls_to("views.open", ok=True))
    await click(slack, "item_answer", user=user, lead=lead)
    assert len(slack.fake.calls_to("views.open", ok=True)) == before + 1
    view = slack.last_view()
    assert view["callback_id"] == "jerry_answer"
    return view


async def submit_answer(
    slack: SlackDriver, view: dict[str, Any], text: str, *, user: str = LEAD
) -> dict[str, Any] | None:
    """Submit the answer modal; returns Slack's view response (errors) if any."""
    response = await slack.submit(
        view, {"answer": {"value": payloads.input_value(text)}}, user=user
    )
    assert response.status_code == 200
    await slack.settle()
    return response.json() if response.content else None


async def answer(slack: SlackDriver, text: str, *, user: str = LEAD, lead: str = LEAD) -> None:
    view = await open_answer(slack, user=user, lead=lead)
    assert await submit_answer(slack, view, text, user=user) is None


async def open_reassign(
    slack: SlackDriver, *, user: str = LEAD, lead: str = LEAD
) -> dict[str, Any]:
    await click(slack, "item_reassign", user=user, lead=lead)
    view = slack.last_view()
    assert view["callback_id"] == "jerry_reassign"
    return view


def reassign_options(view: dict[str, Any]) -> dict[str, dict[str, str]]:
    """{group label: {option label: value}} of the reassign modal's menu."""
    target = next(b for b in view["blocks"] if b.get("block_id") == "target")
    return {
        group["label"]["text"]: {o["text"]["text"]: o["value"] for o in group["options"]}
        for group in target["element"]["option_groups"]
    }


async def reassign(
    slack: SlackDriver,
    target_label: str,
    *,
    note: str = "",
    user: str = LEAD,
    lead: str = LEAD,
) -> None:
    view = await open_reassign(slack, user=user, lead=lead)
    choices = {k: v for group in reassign_options(view).values() for k, v in group.items()}
    values = {
        "target": {"value": payloads.selected(choices[target_label])},
        "note": {"value": payloads.input_value(note)},
    }
    response = await slack.submit(view, values, user=user)
    assert response.status_code == 200 and not response.content, response.text
    await slack.settle()


# --- the lead's DM ----------------------------------------------------------------------------


async def test_lead_dm_from_a_command_says_what_who_where_and_has_the_buttons(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")

    assert len(fake_slack.dms_to(LEAD)) == 1
    channel, ts, message = lead_dm(fake_slack)
    assert (item.lead_dm_channel, item.lead_dm_ts) == (channel, ts)
    assert item.assignee_id == LEAD and item.status == "open"
    blocks = message["blocks"]
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": f"#{item.id} · Pain point · Billing", "emoji": True},
    }
    assert blocks[1]["text"]["text"] == "> the invoice total is wrong"
    facts = [f["text"] for f in blocks[2]["fields"]]
    assert facts[:4] == [
        f"*Reported by*\n<@{REPORTER}>",
        "*From*\n<#C0GENERAL>",
        "*Team*\nPayments",
        "*Status*\nNew",
    ]
    assert "Why here: matched the keyword “invoice” of Billing" in everything(message)
    assert button_ids(message) == list(ACTIONS)
    values = {e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"]}
    assert values == {str(item.id)}
    assert message["text"].startswith(f"#{item.id} new pain point for Payments:")


async def test_lead_dm_from_the_form_shows_kind_area_impact_and_customer(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await from_modal(
        slack,
        "Can we refund in two parts?",
        command="/ask",
        area="Checkout",
        impact="high",
        customer="Acme & Sons",
        flags=("at_risk",),
    )

    assert (item.kind, item.source, item.impact) == ("question", "modal", "high")
    _, _, message = lead_dm(fake_slack)
    assert message["blocks"][0]["text"]["text"] == (
        f"⚠ Customer at risk (Acme & Sons) · #{item.id} · Question · Checkout"
    )
    assert message["blocks"][1]["text"]["text"] == "> Can we refund in two parts?"
    facts = [f["text"] for f in message["blocks"][2]["fields"]]
    assert f"*Reported by*\n<@{REPORTER}>" in facts
    assert "*From*\n<#C0GENERAL>" in facts
    assert "*Impact*\nHigh" in facts
    assert "*Customer*\nAcme &amp; Sons\n:rotating_light: at risk of leaving" in facts
    assert "the reporter chose the area Checkout" in everything(message)
    assert button_ids(message) == list(ACTIONS)


async def test_lead_dm_from_a_mention_links_the_original_message(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    _, body = await slack.mention("<@U0JERRYBOT> how does a refund work for annual plans?")
    await slack.settle()
    item = await load_item(jerry)
    ts = body["event"]["ts"]
    permalink = f"https://jerry-test.slack.com/archives/C0GENERAL/p{ts.replace('.', '')}"

    assert (item.kind, item.source, item.permalink) == ("question", "mention", permalink)
    _, _, message = lead_dm(fake_slack)
    assert message["blocks"][0]["text"]["text"] == f"#{item.id} · Question · Billing"
    assert message["blocks"][1]["text"]["text"] == "> how does a refund work for annual plans?"
    facts = [f["text"] for f in message["blocks"][2]["fields"]]
    assert f"*Reported by*\n<@{REPORTER}>" in facts
    assert f"*From*\n<#C0GENERAL> · <{permalink}|original message>" in facts
    assert button_ids(message) == list(ACTIONS)


async def test_lead_dm_from_a_direct_message_links_it_without_naming_the_dm(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    await slack.dm("where do I find the billing history?")
    await slack.settle()
    item = await load_item(jerry)

    assert item.source == "dm" and item.permalink
    assert "/archives/D0REPORTER/" in item.permalink
    _, _, message = lead_dm(fake_slack)
    facts = [f["text"] for f in message["blocks"][2]["fields"]]
    assert f"*From*\n<{item.permalink}|original message>" in facts
    assert "<#D0REPORTER>" not in everything(message)
    assert button_ids(message) == list(ACTIONS)


async def test_lead_dm_from_the_shortcut_links_the_message_it_was_used_on(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item, original = await from_shortcut(slack, "the checkout button does nothing on Safari")

    permalink = (
        f"https://jerry-test.slack.com/archives/C0GENERAL/p{original['ts'].replace('.', '')}"
    )
    assert (item.source, item.reporter_id, item.permalink) == ("shortcut", REPORTER, permalink)
    _, _, message = lead_dm(fake_slack)
    assert message["blocks"][0]["text"]["text"] == f"#{item.id} · Pain point · Checkout"
    assert message["blocks"][1]["text"]["text"] == "> the checkout button does nothing on Safari"
    facts = [f["text"] for f in message["blocks"][2]["fields"]]
    assert f"*Reported by*\n<@{REPORTER}>" in facts
    assert f"*From*\n<#C0GENERAL> · <{permalink}|original message>" in facts


# --- answering --------------------------------------------------------------------------------


async def test_answer_opens_a_modal_and_relays_the_answer_to_the_reporter_by_dm(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    channel, ts, _ = lead_dm(fake_slack)

    view = await open_answer(slack)
    assert json.loads(view["private_metadata"]) == {"item": item.id}
    assert [b.get("block_id") for b in view["blocks"] if b["type"] == "input"] == ["answer"]
    assert f"<@{REPORTER}>" in everything(view)
    assert "> the invoice total is wrong" in everything(view)
    assert not fake_slack.dms_to(REPORTER)  # opening the modal tells nobody anything

    assert await submit_answer(slack, view, "Fixed in 4.2 & refunded the difference.") is None

    [to_reporter] = fake_slack.dms_to(REPORTER)
    line = f"<@{LEAD}> (Payments) answered your pain point *#{item.id}*:"
    # The headline, the item in one quoted line, the answer.
    assert [section_text(b) for b in to_reporter["blocks"]] == [
        line,
        "> the invoice total is wrong",
        "> Fixed in 4.2 &amp; refunded the difference.",
    ]
    assert to_reporter["text"] == f"{line}\nFixed in 4.2 &amp; refunded the difference."

    # The lead's DM is updated in place: answered, the answer shown, no acknowledge button.
    assert len(fake_slack.dms_to(LEAD)) == 1
    assert updates_of(fake_slack, channel, ts)
    message = fake_slack.message(channel, ts)
    assert message is not None
    assert "*Status*\nAnswered" in [f["text"] for f in message["blocks"][2]["fields"]]
    assert f"*Answer from <@{LEAD}>:*\n> Fixed in 4.2 &amp; refunded the difference." in (
        block_texts(message["blocks"])
    )
    assert button_ids(message) == [
        "item_answer",
        "item_reassign",
        "item_ask_details",
        "item_resolve",
        "item_note",
    ]

    stored = await load_item(jerry, item.id)
    assert stored.status == "answered"
    assert stored.answer_text == "Fixed in 4.2 &amp; refunded the difference."
    assert stored.answered_by == LEAD and stored.answered_at is not None
    assert stored.acknowledged_by == LEAD and stored.acknowledged_at is not None
    [event] = await events(jerry, item.id, "answered")
    assert event.actor == LEAD
    assert event.detail["text"] == "Fixed in 4.2 &amp; refunded the difference."
    assert await undelivered(jerry) == []


async def test_answer_to_a_form_item_goes_to_the_reporters_dm(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await from_modal(slack, "refund flow is confusing", impact="low")
    receipts = list(fake_slack.responses)  # the receipt came through the response_url

    await answer(slack, "We are redesigning it this quarter.")

    [to_reporter] = fake_slack.dms_to(REPORTER)
    assert [section_text(b) for b in to_reporter["blocks"]] == [
        f"<@{LEAD}> (Payments) answered your pain point *#{item.id}*:",
        "> refund flow is confusing",
        "> We are redesigning it this quarter.",
    ]
    assert fake_slack.responses == receipts  # the answer did not go to the old response_url
    assert (await load_item(jerry, item.id)).status == "answered"


async def test_answer_to_a_mention_goes_into_its_thread(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    _, body = await slack.mention("<@U0JERRYBOT> is there a refund API?")
    await slack.settle()
    ts = body["event"]["ts"]
    item = await load_item(jerry)

    await answer(slack, "Yes: POST /v2/refunds.")

    thread = fake_slack.thread("C0GENERAL", ts)
    assert len(thread) == 2  # the receipt, then the answer
    assert thread[1]["text"].startswith(
        f"<@{LEAD}> (Payments) answered your question *#{item.id}*:\nYes: POST /v2/refunds."
    )
    assert "> Yes: POST /v2/refunds." in everything(thread[1])
    assert not fake_slack.dms_to(REPORTER)


async def test_answer_to_a_shortcut_item_goes_into_the_messages_thread(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item, original = await from_shortcut(slack, "customers cannot pay by card in the cart")

    await answer(slack, "Card payments are back since 10:42.")

    thread = fake_slack.thread("C0GENERAL", original["ts"])
    answers = [m for m in thread if "answered your" in m["text"]]
    assert [m["text"].split("\n")[0] for m in answers] == [
        f"<@{LEAD}> (Payments) answered your pain point *#{item.id}*:"
    ]
    assert thread[-1] is answers[0]
    assert "> Card payments are back since 10:42." in everything(answers[0])
    assert not fake_slack.dms_to(REPORTER)


async def test_answer_to_a_direct_message_goes_into_its_thread(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    await slack.dm("how do I download an invoice?")
    await slack.settle()
    item = await load_item(jerry)

    await answer(slack, "Settings → Billing → Invoices.")

    thread = fake_slack.thread("D0REPORTER", item.message_ts or "")
    assert thread[-1]["text"].startswith(
        f"<@{LEAD}> (Payments) answered your question *#{item.id}*:"
    )
    assert "Settings → Billing → Invoices." in thread[-1]["text"]


async def test_an_empty_answer_is_refused_in_the_modal_and_nothing_is_sent(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    view = await open_answer(slack)
    calls = len(fake_slack.calls)

    errors = await submit_answer(slack, view, "  \n\t ")

    assert errors == {"response_action": "errors", "errors": {"answer": "Write an answer first."}}
    sent = [c.method for c in fake_slack.calls[calls:]]
    assert "chat.postMessage" not in sent and "chat.update" not in sent
    stored = await load_item(jerry, item.id)
    assert (stored.status, stored.answer_text) == ("open", None)
    assert "answered" not in await event_kinds(jerry, item.id)


async def test_an_answer_after_an_answer_replaces_it(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    await answer(slack, "Looking into it.")
    await answer(slack, "Fixed now.")

    first, second = fake_slack.dms_to(REPORTER)
    assert "Fixed now." in second["text"]
    assert second["thread_ts"] == first.response["ts"]  # later news threads under the first
    _, _, message = lead_dm(fake_slack)
    assert f"*Answer from <@{LEAD}>:*\n> Fixed now." in block_texts(message["blocks"])
    assert (await load_item(jerry, item.id)).answer_text == "Fixed now."
    assert (await event_kinds(jerry, item.id)).count("answered") == 2


# --- acknowledging ----------------------------------------------------------------------------


async def test_acknowledge_updates_the_item_the_dm_and_tells_the_reporter(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    channel, ts, _ = lead_dm(fake_slack)

    await click(slack, "item_acknowledge", user=LEAD)

    stored = await load_item(jerry, item.id)
    assert (stored.status, stored.acknowledged_by) == ("acknowledged", LEAD)
    assert stored.acknowledged_at is not None
    [event] = await events(jerry, item.id, "acknowledged")
    assert event.actor == LEAD
    [update] = updates_of(fake_slack, channel, ts)
    message = fake_slack.message(channel, ts)
    assert message is not None and message["blocks"] == update["blocks"]
    facts = [f["text"] for f in message["blocks"][2]["fields"]]
    assert f"*Status*\nAcknowledged by <@{LEAD}>" in facts
    assert button_ids(message) == [
        "item_answer",
        "item_reassign",
        "item_ask_details",
        "item_resolve",
        "item_note",
    ]
    [notice] = fake_slack.dms_to(REPORTER)
    assert notice["text"] == f"<@{LEAD}> (Payments) is on your pain point *#{item.id}*."

    # The answer that follows threads under that first DM to the reporter.
    await answer(slack, "Fixed.")
    _, to_reporter = fake_slack.dms_to(REPORTER)
    assert to_reporter["thread_ts"] == notice.response["ts"]
    assert (await load_item(jerry, item.id)).acknowledged_at == stored.acknowledged_at
    assert await undelivered(jerry) == []


async def test_acknowledging_twice_changes_nothing_more(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    channel, _, message = lead_dm(fake_slack)
    first = copy.deepcopy(message)
    await click(slack, "item_acknowledge", user=LEAD)
    # A second click on the stale message (Slack may show it before the update lands).
    await slack.click(first, channel, "item_acknowledge", user=BACKUP)
    await slack.settle()

    assert (await event_kinds(jerry, item.id)).count("acknowledged") == 1
    assert len(fake_slack.dms_to(REPORTER)) == 1
    assert (await load_item(jerry, item.id)).acknowledged_by == LEAD


# --- reassigning ------------------------------------------------------------------------------


async def test_reassign_modal_offers_triage_teams_and_areas(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")

    view = await open_reassign(slack)

    assert json.loads(view["private_metadata"]) == {"item": item.id}
    assert f"*#{item.id}* is with *Payments*" in everything(view)
    options = reassign_options(view)
    payments, mobile = await team_id(jerry, "Payments"), await team_id(jerry, "Mobile")
    assert options["Triage"] == {"Triage (product ops)": "triage"}
    assert options["Teams"] == {"Payments": f"team:{payments}", "Mobile": f"team:{mobile}"}
    assert list(options["Areas"]) == [
        "Billing (Payments)",
        "Checkout (Payments)",
        "iOS app (Mobile)",
        "Android app (Mobile)",
    ]
    assert [b.get("block_id") for b in view["blocks"] if b["type"] == "input"] == [
        "target",
        "note",
    ]
    assert (await load_item(jerry, item.id)).team_id == payments  # opening it moves nothing


async def test_reassign_to_another_team_hands_the_item_over(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    await click(slack, "item_acknowledge", user=LEAD)
    old_channel, old_ts, _ = lead_dm(fake_slack)

    await reassign(slack, "Mobile", note="It's the iOS app that computes it <3")

    # The new lead gets the item, with who moved it, from where, and the note.
    [new_dm] = fake_slack.dms_to(MOBILE_LEAD)
    channel, ts, message = lead_dm(fake_slack, MOBILE_LEAD)
    assert message["blocks"][0]["text"]["text"] == f"#{item.id} · Pain point"
    assert message["blocks"][1]["text"]["text"] == "> the invoice total is wrong"
    facts = [f["text"] for f in message["blocks"][2]["fields"]]
    assert "*Team*\nMobile" in facts and "*Status*\nNew" in facts
    notes = block_texts(message["blocks"])
    assert f"Why here: reassigned by <@{LEAD}> from Payments" in notes
    assert (
        f"Reassigned to you by <@{LEAD}> (from Payments).\n"
        "Note: It's the iOS app that computes it &lt;3" in notes
    )
    assert button_ids(message) == list(ACTIONS)

    # The old DM says where it went, and has no buttons left.
    old = fake_slack.message(old_channel, old_ts)
    assert old is not None
    assert "*Status*\nReassigned to Mobile" in [f["text"] for f in old["blocks"][2]["fields"]]
    assert button_ids(old) == []

    # The reporter is not told of a move between teams: only of a person taking it.
    assert not [d for d in fake_slack.dms_to(REPORTER) if "Mobile" in everything(d.args)]

    stored = await load_item(jerry, item.id)
    assert stored.team_id == await team_id(jerry, "Mobile")
    assert (stored.area_id, stored.assignee_id, stored.status) == (None, MOBILE_LEAD, "open")
    assert (stored.lead_dm_channel, stored.lead_dm_ts) == (channel, ts)
    assert stored.route_step == "reassigned"
    [event] = await events(jerry, item.id, "reassigned")
    assert event.actor == LEAD
    assert event.detail["from_team"] == "Payments" and event.detail["to_team"] == "Mobile"
    assert new_dm.response["channel"] == "D0MOBLEAD"

    # The new lead answers; the old lead can no longer act.
    await answer(slack, "Fixed in the iOS app 5.1.", user=MOBILE_LEAD, lead=MOBILE_LEAD)
    assert fake_slack.dms_to(REPORTER)[-1]["text"].startswith(
        f"<@{MOBILE_LEAD}> (Mobile) answered your pain point *#{item.id}*:"
    )
    message = fake_slack.message(channel, ts)
    assert message is not None
    assert "*Status*\nAnswered" in [f["text"] for f in message["blocks"][2]["fields"]]
    refused = len(fake_slack.responses)
    await slack.click(new_dm.response["message"], channel, "item_answer", user=LEAD)
    assert len(fake_slack.responses) == refused + 1
    assert await undelivered(jerry) == []


async def test_reassign_to_an_area_sets_the_area(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")

    await reassign(slack, "iOS app (Mobile)")

    _, _, message = lead_dm(fake_slack, MOBILE_LEAD)
    assert message["blocks"][0]["text"]["text"] == f"#{item.id} · Pain point · iOS app"
    stored = await load_item(jerry, item.id)
    assert stored.assignee_id == MOBILE_LEAD and stored.area_id is not None
    [event] = await events(jerry, item.id, "reassigned")
    assert event.detail["area"] == "iOS app"


async def test_reassign_to_triage(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    old_channel, old_ts, _ = lead_dm(fake_slack)

    await reassign(slack, "Triage (product ops)", note="Not ours")

    _, _, message = lead_dm(fake_slack, TRIAGE_LEAD)
    assert "Note: Not ours" in everything(message)
    assert button_ids(message) == list(ACTIONS)
    old = fake_slack.message(old_channel, old_ts)
    assert old is not None and button_ids(old) == []
    assert "*Status*\nReassigned to Triage" in [f["text"] for f in old["blocks"][2]["fields"]]
    stored = await load_item(jerry, item.id)
    async with jerry.sessions() as session:
        team = await session.get(Team, stored.team_id)
    assert team is not None and team.is_triage
    assert stored.assignee_id == TRIAGE_LEAD
    assert not [d for d in fake_slack.dms_to(REPORTER) if team.name in everything(d.args)]


async def test_reassign_without_a_target_is_refused_in_the_modal(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    view = await open_reassign(slack)
    calls = len(fake_slack.calls)

    for target in (None, "team:99999", "area:nope"):
        response = await slack.submit(
            view, {"target": {"value": payloads.selected(target)}}, user=LEAD
        )
        assert response.json()["response_action"] == "errors"
        assert set(response.json()["errors"]) == {"target"}
    await slack.settle()

    assert not [c for c in fake_slack.calls[calls:] if c.method.startswith("chat.")]
    assert (await load_item(jerry, item.id)).assignee_id == LEAD
    assert "reassigned" not in await event_kinds(jerry, item.id)


# --- who may act ------------------------------------------------------------------------------


@pytest.mark.parametrize("action_id", ACTIONS)
async def test_a_stranger_clicking_any_button_is_refused_and_nothing_changes(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp, action_id: str
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    before = await event_kinds(jerry, item.id)
    calls = len(fake_slack.calls)

    await click(slack, action_id, user=STRANGER)

    [refusal] = fake_slack.responses
    assert refusal["response_type"] == "ephemeral"
    assert refusal["replace_original"] is False
    assert refusal["text"] == (
        f"Only the team lead, the backup or a Jerry admin can act on #{item.id}. "
        "Nothing was changed."
    )
    assert [c.method for c in fake_slack.calls[calls:] if c.method != "users.info"] == []
    stored = await load_item(jerry, item.id)
    assert (stored.status, stored.assignee_id, stored.team_id) == (
        "open",
        LEAD,
        item.team_id,
    )
    assert stored.acknowledged_at is None
    assert await event_kinds(jerry, item.id) == before
    assert not fake_slack.dms_to(REPORTER)


async def test_the_backup_may_acknowledge_and_answer(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")

    await click(slack, "item_acknowledge", user=BACKUP)
    await answer(slack, "Fixed by the backup.", user=BACKUP)

    assert not fake_slack.responses
    stored = await load_item(jerry, item.id)
    assert (stored.status, stored.acknowledged_by, stored.answered_by) == (
        "answered",
        BACKUP,
        BACKUP,
    )
    notice, to_reporter = fake_slack.dms_to(REPORTER)
    assert notice["text"] == f"<@{BACKUP}> (Payments) is on your pain point *#{item.id}*."
    assert to_reporter["text"].startswith(f"<@{BACKUP}> (Payments) answered")


async def test_an_admin_may_answer_and_reassign(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")

    await answer(slack, "Answered by an admin.", user=ADMIN)
    await reassign(slack, "Mobile", user=ADMIN)

    assert not fake_slack.responses
    assert fake_slack.dms_to(REPORTER)[0]["text"].startswith(f"<@{ADMIN}> (Payments) answered")
    stored = await load_item(jerry, item.id)
    assert (stored.answered_by, stored.assignee_id) == (ADMIN, MOBILE_LEAD)
    assert [e.actor for e in await events(jerry, item.id, "reassigned")] == [ADMIN]


async def test_a_forged_answer_from_a_stranger_is_refused(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    view = await open_answer(slack)  # the lead's modal, replayed by someone else
    calls = len(fake_slack.calls)

    errors = await submit_answer(slack, view, "I am not the lead <!channel>", user=STRANGER)

    assert errors is not None and errors["response_action"] == "errors"
    assert errors["errors"]["answer"].startswith("Only the team lead")
    assert not [c for c in fake_slack.calls[calls:] if c.method.startswith("chat.")]
    stored = await load_item(jerry, item.id)
    assert (stored.status, stored.answer_text, stored.answered_by) == ("open", None, None)
    assert "answered" not in await event_kinds(jerry, item.id)


async def test_a_forged_reassign_from_a_stranger_is_refused(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    view = await open_reassign(slack)
    calls = len(fake_slack.calls)

    response = await slack.submit(
        view, {"target": {"value": payloads.selected("triage")}}, user=STRANGER
    )
    await slack.settle()

    assert response.json()["response_action"] == "errors"
    assert response.json()["errors"]["target"].startswith("Only the team lead")
    assert not [c for c in fake_slack.calls[calls:] if c.method.startswith("chat.")]
    assert (await load_item(jerry, item.id)).assignee_id == LEAD
    assert "reassigned" not in await event_kinds(jerry, item.id)


# --- anonymity --------------------------------------------------------------------------------


def seen_by_leads(fake: FakeSlack, leads: tuple[str, ...]) -> list[Call]:
    """Every call that put something in front of a lead: DMs, their updates, their modals."""
    channels = {fake.dm_channel(lead) for lead in leads}
    return [
        c
        for c in fake.calls
        if (c.method == "chat.postMessage" and c.response.get("channel") in channels)
        or (c.method == "chat.update" and c.get("channel") in channels)
        or (
            c.method == "views.open"
            and (c.get("view") or {}).get("callback_id") in {"jerry_answer", "jerry_reassign"}
        )
    ]


async def test_an_anonymous_item_never_shows_the_reporter_to_any_lead(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await from_modal(
        slack,
        "My manager keeps overriding invoice discounts",
        impact="medium",
        customer="Globex",
        flags=("anonymous", "at_risk"),
    )
    assert item.anonymous and item.reporter_id == REPORTER

    _, _, message = lead_dm(fake_slack)
    facts = [f["text"] for f in message["blocks"][2]["fields"]]
    assert "*Reported by*\nanonymous" in facts
    assert "*From*\nthe intake form" in facts

    await click(slack, "item_acknowledge", user=LEAD)
    view = await open_answer(slack)
    assert "The reporter asked to stay anonymous" in everything(view)
    assert await submit_answer(slack, view, "We will look at the discount rules.") is None
    await reassign(slack, "Mobile", note="For the mobile team")
    await answer(slack, "The app now keeps discounts.", user=MOBILE_LEAD, lead=MOBILE_LEAD)

    shown = seen_by_leads(fake_slack, (LEAD, MOBILE_LEAD))
    methods = [c.method for c in shown]
    assert methods.count("chat.postMessage") == 2  # the first DM and the new lead's DM
    assert methods.count("chat.update") >= 3 and methods.count("views.open") == 3
    for call in shown:
        dumped = json.dumps(call.args, ensure_ascii=False) + json.dumps(call.response)
        for secret in (REPORTER, "rita", "Rita", "C0GENERAL"):
            assert secret not in dumped, (call.method, secret, dumped[:500])
    _, _, new_dm = lead_dm(fake_slack, MOBILE_LEAD)
    assert "*Reported by*\nanonymous" in [f["text"] for f in new_dm["blocks"][2]["fields"]]

    # The answers still reach the reporter.
    texts = [c["text"] for c in fake_slack.dms_to(REPORTER)]
    assert any("We will look at the discount rules." in text for text in texts)
    assert any("The app now keeps discounts." in text for text in texts)
    assert await undelivered(jerry) == []


# --- mentions never ping ----------------------------------------------------------------------


async def test_broadcasts_in_a_command_and_in_the_answer_are_defused(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    # Slack sends the command text escaped: broadcasts arrive as <!channel> etc.
    item = await painpoint(slack, f"invoice broken {BROADCASTS_TEXT} ask <@{STRANGER}|sam> @here")
    _, _, message = lead_dm(fake_slack)
    shown = everything(message)
    for defused in DEFUSED:
        assert defused in shown
    assert "<!" not in shown and "@here" not in shown

    # The lead types the same things (raw) into the answer modal.
    await answer(slack, f"Done {BROADCASTS_TEXT} <@{STRANGER}> @channel @everyone")

    [to_reporter] = fake_slack.dms_to(REPORTER)
    for text in [to_reporter["text"], *block_texts(to_reporter["blocks"])]:
        assert "<!" not in text and f"<@{STRANGER}>" not in text
    assert (
        "Done &lt;!channel&gt; &lt;!here&gt; &lt;!everyone&gt; &lt;!subteam^S123|@team&gt; "
        f"&lt;@{STRANGER}&gt; @{WORD_JOINER}channel @{WORD_JOINER}everyone"
    ) in to_reporter["text"]
    updated = everything(fake_slack.message(*lead_dm(fake_slack)[:2]) or {})
    assert "<!" not in updated and f"@{WORD_JOINER}everyone" in updated
    assert (await load_item(jerry, item.id)).text.startswith("invoice broken <!channel>")
    assert not fake_slack.violations


async def test_broadcasts_typed_in_the_form_are_escaped_for_the_lead(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    await from_modal(slack, f"refund {BROADCASTS_TEXT} <@{STRANGER}> @channel", customer="<!here>")

    _, _, message = lead_dm(fake_slack)
    shown = everything(message)
    assert "&lt;!channel&gt; &lt;!here&gt; &lt;!everyone&gt; &lt;!subteam^S123|@team&gt;" in shown
    assert f"&lt;@{STRANGER}&gt; @{WORD_JOINER}channel" in shown
    assert "*Customer*\n&lt;!here&gt;" in [f["text"] for f in message["blocks"][2]["fields"]]
    assert "<!" not in shown and f"<@{STRANGER}>" not in shown
    view = await open_answer(slack)
    assert "<!" not in everything(view)
    assert not fake_slack.violations


async def test_broadcasts_in_a_mention_never_reach_its_thread_or_the_lead(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    _, body = await slack.mention(f"<@U0JERRYBOT> {BROADCASTS_TEXT} refund failed")
    await slack.settle()
    await answer(slack, "Retry it <!here> @here")

    _, _, message = lead_dm(fake_slack)
    thread = fake_slack.thread("C0GENERAL", body["event"]["ts"])
    for shown in (everything(message), *(everything(m) for m in thread)):
        assert "<!" not in shown
    assert all(defused in everything(message) for defused in DEFUSED)
    answer_message = everything(thread[-1])
    assert f"Retry it &lt;!here&gt; @{WORD_JOINER}here" in answer_message
    assert f"> {' '.join(DEFUSED)} refund failed" in answer_message  # the item, quoted
    assert not fake_slack.violations


# --- long texts -------------------------------------------------------------------------------


def forty_kb(line: str) -> str:
    text = ""
    while len(text) < 40_000:
        text += line
    return text[:40_000]


@pytest.mark.parametrize(
    "line",
    ["Le remboursement passe par l’API & le back-office <ok> ", "one short line\n", "x" * 997],
    ids=["words", "lines", "no-spaces"],
)
async def test_a_40kb_answer_reaches_the_reporter_cut_cleanly(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp, line: str
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    long_answer = forty_kb(line)
    assert len(long_answer.encode()) >= 40_000

    # Slack's modal would stop at 3000 characters; a forged or future client may not.
    await answer(slack, long_answer)

    assert not fake_slack.calls_to("chat.postMessage", ok=False)
    assert not fake_slack.calls_to("chat.update", ok=False)
    [to_reporter] = fake_slack.dms_to(REPORTER)
    assert len(to_reporter["text"]) <= 40_000 and to_reporter["text"].endswith("…")
    assert section_text(to_reporter["blocks"][0]) == (
        f"<@{LEAD}> (Payments) answered your pain point *#{item.id}*:"
    )
    section = to_reporter["blocks"][2]["text"]["text"]
    assert len(section) <= 3000 and section.endswith("…")
    # Cut cleanly: no half entity or link left before the marker.
    for text in (to_reporter["text"], section):
        tail = text[-12:]
        assert "&" not in tail or ";" in tail[tail.index("&") :]
        assert "<" not in tail
    stored = await load_item(jerry, item.id)
    assert stored.status == "answered" and len(stored.answer_text or "") <= 40_000
    assert (stored.answer_text or "").startswith(long_answer[:20].replace("&", "&amp;")[:20])
    _, _, message = lead_dm(fake_slack)
    assert "*Status*\nAnswered" in [f["text"] for f in message["blocks"][2]["fields"]]
    assert await undelivered(jerry) == []


async def test_a_40kb_mention_and_answer_fit_the_lead_dm_and_the_thread(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    _, body = await slack.mention("<@U0JERRYBOT> refund " + forty_kb("why is this so slow? "))
    await slack.settle()
    item = await load_item(jerry)
    assert len(item.text) >= 40_000  # stored whole

    _, _, message = lead_dm(fake_slack)
    assert message["blocks"][1]["text"]["text"].endswith("…")
    await answer(slack, forty_kb("because of the batch job. "))

    answer_message = fake_slack.thread("C0GENERAL", body["event"]["ts"])[-1]
    assert answer_message["text"].endswith("…") and len(answer_message["text"]) <= 40_000
    assert not fake_slack.calls_to("chat.postMessage", ok=False)
    assert await undelivered(jerry) == []


# --- unicode ----------------------------------------------------------------------------------


async def test_unicode_and_emoji_survive_both_ways(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    question = "Facture en double 🧾💸 — naïve café, 日本語, Ελληνικά, 👩‍👩‍👧 :tada:"
    reply = "Réponse ✅ : c’est corrigé 👍🏽 🇫🇷 — « merci » 🙏 𝔘𝔫𝔦𝔠𝔬𝔡𝔢"
    item = await painpoint(slack, question)

    _, _, message = lead_dm(fake_slack)
    assert message["blocks"][1]["text"]["text"] == f"> {question}"
    await answer(slack, reply)

    [to_reporter] = fake_slack.dms_to(REPORTER)
    assert section_text(to_reporter["blocks"][2]) == f"> {reply}"
    assert to_reporter["text"].endswith(f"\n{reply}")
    assert section_text(to_reporter["blocks"][1]) == f"> {question}"
    stored = await load_item(jerry, item.id)
    assert (stored.text, stored.answer_text) == (question, reply)
    [event] = await events(jerry, item.id, "answered")
    assert event.detail["text"] == reply


async def test_a_french_reporter_gets_the_answer_in_french(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "la facture est fausse", user="U0FRENCH")
    await answer(slack, "C’est réglé 🎉")

    [to_reporter] = fake_slack.dms_to("U0FRENCH")
    assert to_reporter["text"] == (
        spaced(f"<@{LEAD}> (Payments) a répondu à votre demande *n° {item.id}* :")
        + "\nC’est réglé 🎉"
    )


async def test_each_lead_reads_the_item_in_their_own_language_after_a_reassign(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    fake_slack.users[MOBILE_LEAD].locale = "fr-FR"
    item = await painpoint(slack, "the invoice total is wrong")
    old_channel, old_ts, _ = lead_dm(fake_slack)

    await reassign(slack, "Mobile")

    _, _, new_dm = lead_dm(fake_slack, MOBILE_LEAD)
    assert new_dm["blocks"][0]["text"]["text"].startswith(f"n° {item.id} ·")
    old = fake_slack.message(old_channel, old_ts)
    assert old is not None
    # The old lead's DM stays in the old lead's language.
    assert old["blocks"][0]["text"]["text"].startswith(f"#{item.id} · Pain point")
    assert "*Status*\nReassigned to Mobile" in [f["text"] for f in old["blocks"][2]["fields"]]


async def test_an_anonymous_item_routed_by_a_channel_rule_does_not_name_the_channel(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    await slack.command("/painpoint", "", channel="C0SUPPORT")
    view = slack.last_view()
    values = {
        "text": {"value": payloads.input_value("the app freeze on login")},
        "area": {"value": payloads.selected("not_sure")},
        "flags": {"value": payloads.checked("anonymous")},
    }
    assert (await slack.submit(view, values)).status_code == 200
    await slack.settle()
    item = await load_item(jerry)
    assert (item.route_step, item.assignee_id) == ("rule", MOBILE_LEAD)

    _, _, message = lead_dm(fake_slack, MOBILE_LEAD)
    shown = everything(message)
    assert "support crashes go to Mobile" in shown and "`crash|freeze`" in shown
    for secret in ("C0SUPPORT", REPORTER):
        assert secret not in shown


async def test_unicode_and_emoji_survive_the_form_and_the_thread(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await from_modal(
        slack,
        "Le paiement échoue 💳❌ — « urgent » 🙀",
        customer="Société Générale 🏦",
        area="Checkout",
    )
    _, _, message = lead_dm(fake_slack)
    assert message["blocks"][1]["text"]["text"] == "> Le paiement échoue 💳❌ — « urgent » 🙀"
    assert "*Customer*\nSociété Générale 🏦" in [f["text"] for f in message["blocks"][2]["fields"]]
    assert (item.text, item.customer) == (
        "Le paiement échoue 💳❌ — « urgent » 🙀",
        "Société Générale 🏦",
    )

    _, body = await slack.mention("<@U0JERRYBOT> refund 🤔 ¿qué pasa? 🇪🇸")
    await slack.settle()
    await answer(slack, "Tout va bien 👌 — ça marche ✨")
    [reply] = fake_slack.thread("C0GENERAL", body["event"]["ts"])[-1:]
    assert "> Tout va bien 👌 — ça marche ✨" in everything(reply)
    assert "> refund 🤔 ¿qué pasa? 🇪🇸" in everything(reply)
