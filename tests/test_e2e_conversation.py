"""End to end: the conversation through Jerry, and "Ask for details".

The lead writes under their DM, the reporter in their thread (the mention's thread, the
shared message's thread, their DM with Jerry); Jerry relays each way through the outbox.
Every test drives the real app with signed Slack requests; the bot's real Web API client
talks to the fake Slack. We look at what the fake Slack received and at the database.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import JerryApp
from bot.outbox import worker as worker_module
from bot.relay.conversation_store import open_questions
from bot.text import WORD_JOINER
from models.conversation import RelayedMessage
from models.items import Item
from tests import payloads
from tests.fakeslack import BOT_USER_ID, FakeSlack
from tests.harness import SlackDriver
from tests.test_e2e_relay import (
    events,
    from_modal,
    from_shortcut,
    lead_dm,
    load_item,
    painpoint,
    reassign,
    undelivered,
    updates_of,
)

LEAD, BACKUP, MOBILE_LEAD = "U0PAYLEAD", "U0PAYBACK", "U0MOBLEAD"
REPORTER, STRANGER = "U0REPORTER", "U0STRANGER"
REPORTER_DM = "D0REPORTER"

pytestmark = pytest.mark.usefixtures("routed")


# --- helpers --------------------------------------------------------------------------------


async def write(
    slack: SlackDriver,
    text: str,
    *,
    user: str,
    channel: str,
    thread_ts: str | None,
    channel_type: str,
    files: list[dict[str, Any]] | None = None,
    event_id: str | None = None,
    headers: dict[str, str] | None = None,
    ts: str | None = None,
) -> dict[str, Any]:
    """`user` writes `text` in `channel` (a reply under `thread_ts`); returns the event body."""
    if ts is None:
        ts = slack.fake.add_message(channel, user, text, thread_ts=thread_ts)["ts"]
    body = payloads.thread_message(
        text,
        user=user,
        channel=channel,
        thread_ts=thread_ts,
        ts=ts,
        channel_type=channel_type,
        files=files,
        event_id=event_id,
    )
    response = await slack.event(body, headers=headers)
    assert response.status_code == 200, response.text
    await slack.settle()
    return body


async def lead_writes(slack: SlackDriver, item: Item, text: str, **kwargs: Any) -> dict[str, Any]:
    """The item's lead replies under Jerry's DM about it."""
    assert item.lead_dm_channel and item.lead_dm_ts
    return await write(
        slack,
        text,
        user=kwargs.pop("user", item.assignee_id),
        channel=item.lead_dm_channel,
        thread_ts=item.lead_dm_ts,
        channel_type="im",
        **kwargs,
    )


async def reporter_writes_in_dm(
    slack: SlackDriver, item: Item, text: str, **kwargs: Any
) -> dict[str, Any]:
    """The reporter replies under Jerry's DM about the item."""
    assert item.reporter_dm_ts
    return await write(
        slack,
        text,
        user=kwargs.pop("user", REPORTER),
        channel=REPORTER_DM,
        thread_ts=item.reporter_dm_ts,
        channel_type="im",
        **kwargs,
    )


def jerry_in_thread(fake: FakeSlack, channel: str, thread_ts: str) -> list[dict[str, Any]]:
    """What Jerry posted in a thread, in order."""
    return [m for m in fake.thread(channel, thread_ts) if m.get("user") == BOT_USER_ID]


def shown(message: dict[str, Any]) -> str:
    """A message's fallback text and blocks, as one string."""
    return message.get("text", "") + json.dumps(message.get("blocks"), ensure_ascii=False)


async def relayed_rows(jerry: JerryApp) -> list[RelayedMessage]:
    async with jerry.sessions() as session:
        rows = await session.execute(select(RelayedMessage).order_by(RelayedMessage.id))
        return list(rows.scalars())


async def item_count(jerry: JerryApp) -> int:
    async with jerry.sessions() as session:
        return (await session.execute(select(func.count(Item.id)))).scalar_one()


def posts_count(fake: FakeSlack) -> int:
    return len(fake.calls_to("chat.postMessage"))


async def with_reporter_dm(slack: SlackDriver) -> Item:
    """A /painpoint item whose lead has written once, so the reporter has a DM thread."""
    item = await painpoint(slack, "the invoice total is wrong")
    await lead_writes(slack, item, "Which invoice number?")
    return await load_item(slack.app, item.id)


# --- lead → reporter ---------------------------------------------------------------------------


async def test_the_leads_reply_under_the_dm_reaches_the_reporter_named_with_the_team(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    body = await lead_writes(slack, item, "Which invoice number? *bold* & <https://x.io|link>")

    [to_reporter] = fake_slack.dms_to(REPORTER)
    blocks = to_reporter["blocks"]
    assert blocks[0]["text"]["text"] == (
        f":speech_balloon: *Pat* (Payments) wrote about your pain point *#{item.id}*:"
    )
    # Which item, in one quoted line (a context), then the message.
    assert blocks[1]["type"] == "context" and blocks[1]["elements"][0]["text"].startswith("> ")
    # A labelled link shows where it really goes (issue 10: labels can disguise an address).
    assert blocks[2]["text"]["text"] == "> Which invoice number? *bold* & link (<https://x.io>)"
    assert "Reply in this thread" in shown(to_reporter.args)
    assert to_reporter["text"].startswith(":speech_balloon: *Pat* (Payments) wrote about")
    assert f"<@{LEAD}>" not in shown(to_reporter.args)  # named, not pinged
    # The first DM becomes the reporter's thread for the item.
    stored = await load_item(jerry, item.id)
    assert (stored.reporter_dm_channel, stored.reporter_dm_ts) == (
        REPORTER_DM,
        to_reporter.response["ts"],
    )
    [row] = await relayed_rows(jerry)
    assert (row.direction, row.author, row.source_channel, row.source_ts) == (
        "to_reporter",
        LEAD,
        item.lead_dm_channel,
        body["event"]["ts"],
    )
    assert (row.copy_channel, row.copy_ts) == (REPORTER_DM, to_reporter.response["ts"])
    [event] = await events(jerry, item.id, "message_relayed")
    assert event.actor == LEAD and event.detail == {"direction": "to_reporter", "message": row.id}
    assert await undelivered(jerry) == []


async def test_the_reporters_reply_in_the_dm_thread_reaches_the_lead_and_makes_no_new_item(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await with_reporter_dm(slack)
    await reporter_writes_in_dm(slack, item, "It is INV-2024-042, thanks")

    assert await item_count(jerry) == 1
    [copy] = jerry_in_thread(fake_slack, item.lead_dm_channel or "", item.lead_dm_ts or "")
    assert copy["blocks"][0]["text"]["text"] == (
        f":speech_balloon: *Rita* (who reported it) wrote about *#{item.id}*:"
    )
    assert copy["blocks"][1]["text"]["text"] == "> It is INV-2024-042, thanks"
    assert len(fake_slack.dms_to(REPORTER)) == 1  # no receipt: it is not a new item
    rows = await relayed_rows(jerry)
    assert [r.direction for r in rows] == ["to_reporter", "to_lead"]
    assert (rows[1].copy_channel, rows[1].copy_ts) == (item.lead_dm_channel, copy["ts"])

    # A new top-level DM is still a new item.
    await slack.dm("another thing: where is the billing history?")
    await slack.settle()
    assert await item_count(jerry) == 2


async def test_a_mention_thread_carries_the_conversation_both_ways(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    _, body = await slack.mention("<@U0JERRYBOT> is there a refund API?")
    await slack.settle()
    thread_ts = body["event"]["ts"]
    item = await load_item(jerry)

    await lead_writes(slack, item, "Which plan are you on?")
    thread = jerry_in_thread(fake_slack, "C0GENERAL", thread_ts)
    assert len(thread) == 2  # the receipt, then the lead's message
    assert thread[1]["blocks"][0]["text"]["text"].startswith(":speech_balloon: *Pat* (Payments)")
    assert not fake_slack.dms_to(REPORTER)

    await write(
        slack,
        "The annual one",
        user=REPORTER,
        channel="C0GENERAL",
        thread_ts=thread_ts,
        channel_type="channel",
    )
    [copy] = jerry_in_thread(fake_slack, item.lead_dm_channel or "", item.lead_dm_ts or "")
    assert "> The annual one" in shown(copy)
    assert await item_count(jerry) == 1


async def test_the_shared_messages_thread_relays_the_reporter_but_not_its_author(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item, original = await from_shortcut(slack, "the checkout button does nothing on Safari")
    assert (item.reply_channel, item.reply_thread_ts) == ("C0GENERAL", original["ts"])

    await write(
        slack,
        "It happens on Safari 17 only",
        user=REPORTER,
        channel="C0GENERAL",
        thread_ts=original["ts"],
        channel_type="channel",
    )
    await write(
        slack,
        "me too!",  # the colleague who wrote the message is not a party
        user=STRANGER,
        channel="C0GENERAL",
        thread_ts=original["ts"],
        channel_type="channel",
    )
    copies = jerry_in_thread(fake_slack, item.lead_dm_channel or "", item.lead_dm_ts or "")
    assert [c["blocks"][1]["text"]["text"] for c in copies] == ["> It happens on Safari 17 only"]
    assert [r.author for r in await relayed_rows(jerry)] == [REPORTER]


async def test_the_direct_messages_own_thread_is_the_reporters_thread(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    await slack.dm("how do I download an invoice?")
    await slack.settle()
    item = await load_item(jerry)

    await write(
        slack,
        "I mean a PDF one",
        user=REPORTER,
        channel=REPORTER_DM,
        thread_ts=item.message_ts,
        channel_type="im",
    )
    assert await item_count(jerry) == 1
    [copy] = jerry_in_thread(fake_slack, item.lead_dm_channel or "", item.lead_dm_ts or "")
    assert "> I mean a PDF one" in shown(copy)

    await lead_writes(slack, item, "Settings → Billing → Invoices → PDF")
    reply = jerry_in_thread(fake_slack, REPORTER_DM, item.message_ts or "")[-1]
    assert "> Settings → Billing → Invoices → PDF" in shown(reply)


async def test_after_a_reassign_the_reporter_reaches_the_new_lead_and_the_old_thread_is_dead(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await with_reporter_dm(slack)
    old_channel, old_ts = item.lead_dm_channel, item.lead_dm_ts
    await reassign(slack, "Mobile")
    moved = await load_item(jerry, item.id)
    assert moved.assignee_id == MOBILE_LEAD

    await reporter_writes_in_dm(slack, moved, "still broken on iOS")
    [copy] = jerry_in_thread(fake_slack, moved.lead_dm_channel or "", moved.lead_dm_ts or "")
    assert moved.lead_dm_channel == fake_slack.dm_channel(MOBILE_LEAD)
    assert "> still broken on iOS" in shown(copy)
    assert len(jerry_in_thread(fake_slack, old_channel or "", old_ts or "")) == 0

    # The old lead writing under the old DM reaches nobody.
    before = len(fake_slack.dms_to(REPORTER))
    await write(
        slack,
        "one more thing",
        user=LEAD,
        channel=old_channel or "",
        thread_ts=old_ts,
        channel_type="im",
    )
    assert len(fake_slack.dms_to(REPORTER)) == before
    # The new lead's reply reaches the reporter, named with the new team.
    await lead_writes(slack, moved, "Fixed in 5.1")
    last = fake_slack.dms_to(REPORTER)[-1]
    assert last["blocks"][0]["text"]["text"].startswith(":speech_balloon: *Mo* (Mobile) wrote")


async def test_the_backup_may_write_to_the_reporter(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    await lead_writes(slack, item, "Bea here, covering for Pat", user=BACKUP)
    [to_reporter] = fake_slack.dms_to(REPORTER)
    assert "*Bea* (Payments)" in to_reporter["blocks"][0]["text"]["text"]


# --- anonymity --------------------------------------------------------------------------------


async def test_an_anonymous_reporter_stays_anonymous_both_ways_text_blocks_files(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await from_modal(slack, "My manager overrides invoice discounts", flags=("anonymous",))
    assert item.anonymous
    await lead_writes(slack, item, "Which customer was it?")
    [to_reporter] = fake_slack.dms_to(REPORTER)
    assert "*Pat* (Payments)" in to_reporter["blocks"][0]["text"]["text"]
    item = await load_item(jerry, item.id)

    file = payloads.shared_file("discounts.csv", user=REPORTER)
    await reporter_writes_in_dm(slack, item, "Globex, see the export", files=[file])
    await reporter_writes_in_dm(slack, item, "and Initech")

    copies = jerry_in_thread(fake_slack, item.lead_dm_channel or "", item.lead_dm_ts or "")
    assert len(copies) == 2
    assert copies[0]["blocks"][0]["text"]["text"] == (
        f":speech_balloon: The reporter wrote about *#{item.id}*:"
    )
    assert ":paperclip: discounts.csv" in shown(copies[0])
    assert "withheld" in shown(copies[0])
    lead_channel = item.lead_dm_channel
    for call in fake_slack.calls:
        if call.get("channel") != lead_channel and call.response.get("channel") != lead_channel:
            continue
        dumped = json.dumps(call.args, ensure_ascii=False) + json.dumps(call.response)
        for secret in (REPORTER, "rita", "Rita", file["permalink"]):
            assert secret not in dumped, (call.method, secret)


# --- Ask for details --------------------------------------------------------------------------


async def ask(slack: SlackDriver, question: str, *, user: str = LEAD) -> dict[str, Any] | None:
    channel, _, message = lead_dm(slack.fake)
    response = await slack.click(message, channel, "item_ask_details", user=user)
    assert response.status_code == 200
    await slack.settle()
    view = slack.last_view()
    if view["callback_id"] != "jerry_ask_details":
        return view
    response = await slack.submit(
        view, {"question": {"value": payloads.input_value(question)}}, user=user
    )
    assert response.status_code == 200
    await slack.settle()
    return response.json() if response.content else None


async def test_ask_for_details_reaches_the_reporter_and_the_reply_comes_back(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    channel, ts, message = lead_dm(fake_slack)
    assert "item_ask_details" in json.dumps(message["blocks"])

    assert await ask(slack, "Which invoice & which customer?") is None

    [question] = fake_slack.dms_to(REPORTER)
    assert question["blocks"][0]["text"]["text"] == (
        f":question: *Pat* (Payments) needs details about your pain point *#{item.id}*:"
    )
    assert question["blocks"][1]["type"] == "context"  # which item, quoted in one line
    assert question["blocks"][2]["text"]["text"] == "> Which invoice &amp; which customer?"
    assert "Reply in this thread" in shown(question.args)
    # The lead's DM says it waits for the reporter; the question is in its thread too.
    updated = fake_slack.message(channel, ts) or {}
    facts = [f["text"] for f in updated["blocks"][2]["fields"]]
    assert f"*Status*\nAcknowledged by <@{LEAD}> · waiting for the reporter" in facts
    assert updates_of(fake_slack, channel, ts)
    [note] = jerry_in_thread(fake_slack, channel, ts)
    assert "You asked the reporter" in shown(note)
    stored = await load_item(jerry, item.id)
    assert stored.awaiting_reporter_since is not None and stored.status == "acknowledged"
    [asked] = await events(jerry, item.id, "details_requested")
    assert asked.actor == LEAD and asked.detail == {
        "question": "Which invoice &amp; which customer?"
    }
    async with jerry.sessions() as session:
        [open_question] = await open_questions(session)
    assert (open_question.item_id, open_question.asked_by) == (item.id, LEAD)
    assert open_question.asked_at == stored.awaiting_reporter_since

    await reporter_writes_in_dm(slack, stored, "INV-42, for Acme")

    copies = jerry_in_thread(fake_slack, channel, ts)
    assert "> INV-42, for Acme" in shown(copies[-1])
    [given] = await events(jerry, item.id, "details_given")
    assert given.actor == REPORTER
    assert (await load_item(jerry, item.id)).awaiting_reporter_since is None
    async with jerry.sessions() as session:
        assert await open_questions(session) == []
    assert "waiting for the reporter" not in shown(fake_slack.message(channel, ts) or {})
    assert await undelivered(jerry) == []


async def test_ask_for_details_goes_into_the_mention_thread(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    _, body = await slack.mention("<@U0JERRYBOT> is there a refund API?")
    await slack.settle()
    assert await ask(slack, "For which product?") is None
    last = jerry_in_thread(fake_slack, "C0GENERAL", body["event"]["ts"])[-1]
    assert "needs details about your question" in shown(last)
    assert not fake_slack.dms_to(REPORTER)


async def test_an_empty_question_or_a_stranger_is_refused_and_nothing_is_sent(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    errors = await ask(slack, "   ")
    assert errors == {
        "response_action": "errors",
        "errors": {"question": "Write a question first."},
    }
    views_before = len(fake_slack.calls_to("views.open"))
    channel, _, message = lead_dm(fake_slack)
    await slack.click(message, channel, "item_ask_details", user=STRANGER)
    await slack.settle()
    [refusal] = fake_slack.responses
    assert refusal["response_type"] == "ephemeral" and f"act on #{item.id}" in refusal["text"]
    assert len(fake_slack.calls_to("views.open")) == views_before

    # A forged submission from a stranger is refused too.
    await slack.click(message, channel, "item_ask_details", user=LEAD)
    view = slack.last_view()
    response = await slack.submit(
        view, {"question": {"value": payloads.input_value("hi")}}, user=STRANGER
    )
    assert response.json()["response_action"] == "errors"
    await slack.settle()
    assert not fake_slack.dms_to(REPORTER)
    assert await events(jerry, item.id, "details_requested") == []


async def test_ask_for_details_works_from_the_app_home(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    body = payloads.home_block_action(user=LEAD, action_id="item_ask_details", value=str(item.id))
    assert "response_url" not in body and body["container"]["type"] == "view"
    assert (await slack.interactive(body)).status_code == 200
    await slack.settle()
    view = slack.last_view()
    assert view["callback_id"] == "jerry_ask_details"
    response = await slack.submit(
        view, {"question": {"value": payloads.input_value("Which invoice?")}}, user=LEAD
    )
    assert response.status_code == 200 and not response.content
    await slack.settle()
    assert "Which invoice?" in fake_slack.dms_to(REPORTER)[0]["text"]

    stranger = payloads.home_block_action(
        user=STRANGER, action_id="item_ask_details", value=str(item.id)
    )
    views_before = len(fake_slack.calls_to("views.open"))
    assert (await slack.interactive(stranger)).status_code == 200
    await slack.settle()
    # Refused as every button refuses from the Home: a DM, and no form opens.
    [refusal] = fake_slack.dms_to(STRANGER)
    assert refusal["text"].startswith(
        f"Only the team lead, the backup or a Jerry admin can act on #{item.id}"
    )
    assert len(fake_slack.calls_to("views.open")) == views_before


# --- edits, deletions, strangers, bots, retries -----------------------------------------------


async def test_an_edit_updates_the_copy_and_relays_nothing_new(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    body = await lead_writes(slack, item, "Whcih invoice?")
    [copy] = fake_slack.dms_to(REPORTER)
    posts = posts_count(fake_slack)

    edit = payloads.message_changed(
        user=LEAD,
        channel=item.lead_dm_channel or "",
        ts=body["event"]["ts"],
        text="Which invoice?",
        thread_ts=item.lead_dm_ts,
        channel_type="im",
    )
    assert (await slack.event(edit)).status_code == 200
    await slack.settle()
    assert posts_count(fake_slack) == posts
    [update] = updates_of(fake_slack, REPORTER_DM, copy.response["ts"])
    assert update["blocks"][2]["text"]["text"] == "> Which invoice?"
    assert "(edited)" in shown(update.args)
    assert (fake_slack.message(REPORTER_DM, copy.response["ts"]) or {})["text"].endswith(
        "Which invoice?"
    )
    # The same edit again (a retry) changes nothing more.
    assert (await slack.event(edit)).status_code == 200
    await slack.settle()
    assert len(updates_of(fake_slack, REPORTER_DM, copy.response["ts"])) == 1
    [row] = await relayed_rows(jerry)
    assert (row.status, row.text) == ("edited", "Which invoice?")

    # The reporter's edits reach the lead's copy the same way.
    item = await load_item(jerry, item.id)
    reply = await reporter_writes_in_dm(slack, item, "INV-41")
    [lead_copy] = jerry_in_thread(fake_slack, item.lead_dm_channel or "", item.lead_dm_ts or "")
    edit = payloads.message_changed(
        user=REPORTER,
        channel=REPORTER_DM,
        ts=reply["event"]["ts"],
        text="INV-42 (sorry)",
        thread_ts=item.reporter_dm_ts,
        channel_type="im",
    )
    await slack.event(edit)
    await slack.settle()
    [update] = updates_of(fake_slack, item.lead_dm_channel or "", lead_copy["ts"])
    assert "> INV-42 (sorry)" in shown(update.args)
    assert posts_count(fake_slack) == posts + 1


async def test_a_deletion_marks_the_copy_deleted_and_forgets_the_text(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    body = await lead_writes(slack, item, "Oops, wrong item: ignore this")
    [copy] = fake_slack.dms_to(REPORTER)
    posts = posts_count(fake_slack)

    deletion = payloads.message_deleted(
        channel=item.lead_dm_channel or "",
        ts=body["event"]["ts"],
        user=LEAD,
        thread_ts=item.lead_dm_ts,
        channel_type="im",
    )
    assert (await slack.event(deletion)).status_code == 200
    await slack.settle()
    [update] = updates_of(fake_slack, REPORTER_DM, copy.response["ts"])
    assert "deleted this message" in shown(update.args)
    assert "ignore this" not in shown(update.args)
    assert posts_count(fake_slack) == posts
    [row] = await relayed_rows(jerry)
    assert (row.status, row.text) == ("deleted", "")
    # An edit after the deletion (or the deletion again) does nothing.
    await slack.event(deletion)
    await slack.settle()
    assert len(updates_of(fake_slack, REPORTER_DM, copy.response["ts"])) == 1
    assert [e.kind for e in await events(jerry, item.id, "relayed_message_deleted")] == [
        "relayed_message_deleted"
    ]


async def test_edits_and_deletions_of_messages_never_relayed_do_nothing(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    _, body = await slack.mention("<@U0JERRYBOT> is there a refund API?")
    await slack.settle()
    item = await load_item(jerry)
    thread_ts = body["event"]["ts"]
    stranger = await write(
        slack,
        "lol",
        user=STRANGER,
        channel="C0GENERAL",
        thread_ts=thread_ts,
        channel_type="channel",
    )
    calls = len(fake_slack.calls)
    for event in (
        payloads.message_changed(
            user=STRANGER, channel="C0GENERAL", ts=stranger["event"]["ts"], text="lol!"
        ),
        payloads.message_deleted(channel="C0GENERAL", ts=stranger["event"]["ts"], user=STRANGER),
        # The edit of the original mention is not a relay either.
        payloads.message_changed(user=REPORTER, channel="C0GENERAL", ts=thread_ts, text="edited"),
    ):
        assert (await slack.event(event)).status_code == 200
    await slack.settle()
    assert [c.method for c in fake_slack.calls[calls:]] == []
    assert await relayed_rows(jerry) == []
    assert await item_count(jerry) == 1 and item.id


async def test_strangers_bots_and_jerry_itself_are_not_relayed_and_get_no_reply(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    _, body = await slack.mention("<@U0JERRYBOT> is there a refund API?")
    await slack.settle()
    item = await load_item(jerry)
    thread_ts = body["event"]["ts"]
    calls = len(fake_slack.calls)

    await write(
        slack,
        "I know the answer!",
        user=STRANGER,
        channel="C0GENERAL",
        thread_ts=thread_ts,
        channel_type="channel",
    )
    for event in (
        payloads.other_bot_message("beep", channel="C0GENERAL", thread_ts=thread_ts),
        payloads.other_bot_message(
            "Jerry's own copy", channel=item.lead_dm_channel or "", thread_ts=item.lead_dm_ts or ""
        ),
    ):
        assert (await slack.event(event)).status_code == 200
    # Jerry's own message, as Slack echoes it.
    own = payloads.thread_message(
        "echo", user=BOT_USER_ID, channel="C0GENERAL", thread_ts=thread_ts
    )
    own["event"]["bot_id"] = "B0JERRY"
    assert (await slack.event(own)).status_code == 200
    # A top-level message in the channel is not conversation either.
    await write(
        slack,
        "hello all",
        user=REPORTER,
        channel="C0GENERAL",
        thread_ts=None,
        channel_type="channel",
    )
    await slack.settle()
    assert [c.method for c in fake_slack.calls[calls:]] == []
    assert await relayed_rows(jerry) == []
    assert await item_count(jerry) == 1


async def test_slack_retries_and_duplicate_events_relay_once(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    body = await lead_writes(slack, item, "Which invoice?", event_id="Ev0RETRY1")
    # The same event again (Slack's retry), then the same message under another event id.
    response = await slack.event(
        body, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    )
    assert response.status_code == 200
    await write(
        slack,
        "Which invoice?",
        user=LEAD,
        channel=item.lead_dm_channel or "",
        thread_ts=item.lead_dm_ts,
        channel_type="im",
        ts=body["event"]["ts"],
    )
    await slack.settle()
    assert len(fake_slack.dms_to(REPORTER)) == 1
    assert len(await relayed_rows(jerry)) == 1
    assert len(await events(jerry, item.id, "message_relayed")) == 1


# --- files, long texts, unicode, broadcasts ---------------------------------------------------


async def test_files_are_relayed_as_links(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await with_reporter_dm(slack)
    files = [
        payloads.shared_file("screenshot.png", user=REPORTER),
        payloads.shared_file("export|2024.csv", user=REPORTER),
    ]
    await reporter_writes_in_dm(slack, item, "", files=files)
    [copy] = jerry_in_thread(fake_slack, item.lead_dm_channel or "", item.lead_dm_ts or "")
    text = shown(copy)
    assert f"<{files[0]['permalink']}|screenshot.png>" in text
    assert f"<{files[1]['permalink']}|export¦2024.csv>" in text
    assert "2 files shared" in copy["text"]
    [row] = [r for r in await relayed_rows(jerry) if r.direction == "to_lead"]
    assert [f["name"] for f in row.files] == ["screenshot.png", "export|2024.csv"]


async def test_a_40kb_message_is_cut_cleanly_with_a_marker_and_a_note(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    line = "Le remboursement passe par l’API &amp; le back-office <https://x.io|ici> ok\n"
    long_text = (line * (40_000 // len(line) + 1))[:40_000]
    await lead_writes(slack, item, long_text)

    assert not fake_slack.calls_to("chat.postMessage", ok=False)
    [copy] = fake_slack.dms_to(REPORTER)
    sections = [b["text"]["text"] for b in copy["blocks"] if b["type"] == "section"]
    assert all(len(s) <= 3000 for s in sections)
    assert len(copy["blocks"]) <= 50 and len(copy["text"]) <= 40_000
    assert sections[-1].endswith("…")
    assert "too long for Slack" in shown(copy.args)
    body = "".join(s for s in sections[1:])
    assert 11_000 < len(body.replace("> ", "")) <= 12_500
    for text in sections:
        tail = text[-14:]
        assert "&" not in tail or ";" in tail[tail.index("&") :]
        assert "<" not in tail or ">" in tail[tail.index("<") :]
    [row] = await relayed_rows(jerry)
    assert len(row.text) >= 39_000  # stored whole (it was only cut for Slack)


async def test_unicode_and_broadcasts_survive_and_never_ping(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await with_reporter_dm(slack)
    text = "Réponse ✅ 日本語 👩‍👩‍👧 <!channel> <!here> @everyone"
    await reporter_writes_in_dm(slack, item, text)
    [copy] = jerry_in_thread(fake_slack, item.lead_dm_channel or "", item.lead_dm_ts or "")
    assert "Réponse ✅ 日本語 👩‍👩‍👧" in shown(copy)
    assert "<!" not in shown(copy)
    assert f"@{WORD_JOINER}everyone" in shown(copy)
    assert not fake_slack.violations


async def test_a_slack_error_on_a_relay_is_retried_and_loses_nothing(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    fake_slack.fail_next("chat.postMessage", "internal_error", times=2)
    await lead_writes(slack, item, "Which invoice?")
    await fake_slack.wait_for(
        lambda: fake_slack.dms_to(REPORTER), message="the relay after Slack's errors"
    )
    assert len(fake_slack.calls_to("chat.postMessage", ok=False)) == 2
    [to_reporter] = fake_slack.dms_to(REPORTER)
    assert "> Which invoice?" in shown(to_reporter.args)
    await slack.settle()
    [row] = await relayed_rows(jerry)
    assert row.copy_ts == to_reporter.response["ts"]
    assert await undelivered(jerry) == []


async def test_a_reply_waiting_for_the_leads_dm_waits_as_long_as_that_dm_is_retried(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reporter writes in the mention thread while Slack keeps refusing the lead's DM: the
    reply waits under it for as long as the DM is retried (it used to give up after a few
    short waits, and the lead never saw it)."""
    monkeypatch.setattr(worker_module, "MAX_DEFERS", 2)
    fake_slack.fail_next(
        "chat.postMessage", "internal_error", times=5, when=lambda a: a.get("channel") == LEAD
    )
    _, body = await slack.mention("<@U0JERRYBOT> is there a refund API?")
    await write(
        slack,
        "We need it for ACME",
        user=REPORTER,
        channel="C0GENERAL",
        thread_ts=body["event"]["ts"],
        channel_type="channel",
    )
    await fake_slack.wait_for(lambda: fake_slack.dms_to(LEAD), message="the lead's DM at last")
    await slack.settle()
    assert len(fake_slack.calls_to("chat.postMessage", ok=False)) == 5
    item = await load_item(jerry)
    assert item.lead_dm_channel and item.lead_dm_ts
    [copy] = await fake_slack.wait_for(
        lambda: jerry_in_thread(fake_slack, item.lead_dm_channel or "", item.lead_dm_ts or ""),
        message="the reply under the lead's DM",
    )
    assert "> We need it for ACME" in shown(copy)
    await slack.settle()
    assert await undelivered(jerry) == []


async def test_a_thread_in_an_archived_channel_falls_back_to_a_dm(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    _, body = await slack.mention("<@U0JERRYBOT> is there a refund API?")
    await slack.settle()
    item = await load_item(jerry)
    fake_slack.channels["C0GENERAL"].is_archived = True
    await lead_writes(slack, item, "Yes, v2")
    [dm] = fake_slack.dms_to(REPORTER)
    assert "> Yes, v2" in shown(dm.args)
    assert "could not reply in <#C0GENERAL>" in shown(dm.args)
    [row] = await relayed_rows(jerry)
    assert row.copy_channel == REPORTER_DM and body
