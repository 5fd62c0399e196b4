"""End to end, the reporter's side of an item (issue 11): every message quotes the item in
one line; a reply under a resolved item is not relayed but offers Reopen (within the reopen
window) or Ask a new question; reopening asks what is still wrong, which reaches the lead,
and the messages that said "resolved" are rewritten.

Driven through the ASGI app with signed Slack payloads; the bot talks to the fake Slack.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import JerryApp
from models.base import utcnow
from models.conversation import RelayedMessage
from tests import payloads
from tests.fakeslack import FakeSlack
from tests.harness import SlackDriver
from tests.test_e2e_conversation import write
from tests.test_e2e_lead_actions import reporter_message, resolve, set_resolved_at
from tests.test_e2e_relay import (
    LEAD,
    REPORTER,
    button_ids,
    click,
    event_kinds,
    events,
    everything,
    lead_dm,
    load_item,
    painpoint,
    undelivered,
    updates_of,
)

pytestmark = [pytest.mark.usefixtures("routed"), pytest.mark.slow]
ITEM_LINE = "> the invoice total is wrong"


async def reply_under(slack: SlackDriver, channel: str, thread_ts: str, text: str) -> None:
    """The reporter replies in their DM thread about the item."""
    await write(slack, text, user=REPORTER, channel=channel, thread_ts=thread_ts, channel_type="im")
    await slack.settle()


def jerry_replies(fake: FakeSlack, channel: str, thread_ts: str) -> list[dict[str, Any]]:
    return [m for m in fake.thread(channel, thread_ts) if m.get("bot_id") and m["ts"] != thread_ts]


async def held(jerry: JerryApp) -> list[RelayedMessage]:
    async with jerry.sessions() as session:
        rows = await session.execute(select(RelayedMessage).order_by(RelayedMessage.id))
        return list(rows.scalars())


async def test_acknowledging_tells_the_reporter_who_took_which_item(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    await click(slack, "item_acknowledge", user=LEAD)

    [notice] = fake_slack.dms_to(REPORTER)
    assert notice["text"] == f"<@{LEAD}> (Payments) is on your pain point *#{item.id}*."
    assert ITEM_LINE in everything(notice.args)


async def test_a_reply_under_a_resolved_item_offers_to_reopen_and_reopening_asks_what_is_wrong(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    lead_channel, lead_ts, _ = lead_dm(fake_slack)
    await resolve(slack, "fixed")
    channel, resolution = reporter_message(fake_slack)
    lead_thread = list(fake_slack.thread(lead_channel, lead_ts))

    await reply_under(slack, channel, resolution["ts"], "Still wrong on INV-7 & INV-8")

    # Nothing reaches the lead: the conversation is closed.
    assert fake_slack.thread(lead_channel, lead_ts) == lead_thread
    [row] = await held(jerry)
    assert (row.status, row.copy_ts) == ("held", None)
    assert "reply_after_resolution" in await event_kinds(jerry, item.id)
    # The reporter is offered Reopen or a new question, in their thread.
    [offer] = jerry_replies(fake_slack, channel, resolution["ts"])
    assert offer["text"] == (
        f"Your pain point *#{item.id}* is resolved, so Jerry did not pass your message on. "
        "Still not solved? Reopen it. Something else? Ask a new question."
    )
    assert ITEM_LINE in everything(offer)
    assert button_ids(offer) == ["item_reopen", "item_new_question"]
    assert (await load_item(jerry, item.id)).status == "resolved"

    # Reopen: the form starts from what they wrote.
    await slack.click(offer, channel, "item_reopen", user=REPORTER)
    await slack.settle()
    form = slack.last_view()
    assert form["callback_id"] == "jerry_reopen"
    what = form["blocks"][1]
    assert what["label"]["text"] == "What is still wrong?"
    assert what["optional"] is False
    assert what["element"]["initial_value"] == "Still wrong on INV-7 & INV-8"
    # An empty answer is refused in the form.
    empty = await slack.submit(form, {"what": {"value": payloads.input_value("  ")}}, user=REPORTER)
    assert empty.json()["errors"] == {"what": "Say what is still wrong first."}
    assert (await load_item(jerry, item.id)).status == "resolved"

    values = {"what": {"value": payloads.input_value("Still wrong on INV-7 & INV-8")}}
    assert (await slack.submit(form, values, user=REPORTER)).status_code == 200
    await slack.settle()

    stored = await load_item(jerry, item.id)
    assert (stored.status, stored.assignee_id) == ("open", LEAD)
    [event] = await events(jerry, item.id, "reopened")
    assert event.detail["what"] == "Still wrong on INV-7 &amp; INV-8"
    # The lead reads what is still wrong, under their DM.
    [notice] = [m for m in fake_slack.thread(lead_channel, lead_ts) if m not in lead_thread]
    assert notice["text"] == (
        f"<@{REPORTER}> reopened *#{item.id}*: it is back in your queue.\n"
        "Still wrong on INV-7 &amp; INV-8"
    )
    # Both the "resolved" message and the offer are rewritten: reopened, no buttons left.
    for message in (resolution, offer):
        [rewrite] = updates_of(fake_slack, channel, message["ts"])
        assert rewrite["text"].startswith(f"You reopened your pain point *#{item.id}*")
        now = fake_slack.message(channel, message["ts"])
        assert now is not None and button_ids(now) == []
        assert ITEM_LINE in everything(now)
    assert await undelivered(jerry) == []


async def test_after_the_reopen_window_a_reply_offers_only_a_new_question(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    await resolve(slack, "fixed")
    await set_resolved_at(jerry, item.id, utcnow() - timedelta(days=31))
    channel, resolution = reporter_message(fake_slack)

    await reply_under(slack, channel, resolution["ts"], "How do I export it as CSV?")

    [offer] = jerry_replies(fake_slack, channel, resolution["ts"])
    assert offer["text"] == (
        f"Your pain point *#{item.id}* was resolved more than 30 days ago: it can no longer be "
        "reopened, so Jerry did not pass your message on. Please ask a new question instead."
    )
    assert button_ids(offer) == ["item_new_question"]

    # "Ask a new question": the question form, starting from what they wrote.
    await slack.click(offer, channel, "item_new_question", user=REPORTER)
    await slack.settle()
    form = slack.last_view()
    assert form["callback_id"] == "jerry_intake"
    assert form["title"]["text"] == "Ask a question"
    text_block = next(b for b in form["blocks"] if b.get("block_id") == "text")
    assert text_block["element"]["initial_value"] == "How do I export it as CSV?"
    assert (await load_item(jerry, item.id)).status == "resolved"
    assert "reopened" not in await event_kinds(jerry, item.id)


async def test_a_french_reporter_gets_the_offer_in_french(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "la facture est fausse", user="U0FRENCH")
    await resolve(slack, "fixed")
    channel, resolution = reporter_message(fake_slack, "U0FRENCH")
    await write(
        slack,
        "toujours faux",
        user="U0FRENCH",
        channel=channel,
        thread_ts=resolution["ts"],
        channel_type="im",
    )
    await slack.settle()

    [offer] = jerry_replies(fake_slack, channel, resolution["ts"])
    assert offer["text"].startswith(f"Votre demande *n° {item.id}* est résolue")
    assert "> la facture est fausse" in everything(offer)
