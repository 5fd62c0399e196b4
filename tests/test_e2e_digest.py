"""End to end: a lead with many items waiting gets one digest DM instead of one DM each.

After an outage (or in a burst) a lead's DMs would drain at Slack's one message a second per
channel; with JERRY_DIGEST_THRESHOLD (5) or more owed to one lead, Jerry sends one message
listing them, each with an "Open" button that brings the item's card (with its actions) as
a new DM, which is the item's lead DM from then on. Nothing is lost: whatever needs the
card (a reporter's reply, a reminder) posts it first. Everything goes through the real app,
its real slack_sdk client and the fake Slack, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from bot.app import JerryApp, create_app
from bot.config import Settings
from bot.relay.digest import DIGEST_THRESHOLD
from bot.views.items import MAX_DIGEST_ITEMS, OPEN_FROM_DIGEST
from models.base import utcnow
from models.deliveries import Delivery
from models.items import Item
from tests import payloads
from tests.fakeslack import BOT_USER_ID, Call, FakeSlack
from tests.harness import SlackDriver

LEAD, MOBILE_LEAD, REPORTER = "U0PAYLEAD", "U0MOBLEAD", "U0REPORTER"

pytestmark = pytest.mark.usefixtures("routed")


# --- helpers ------------------------------------------------------------------------------------


def to(channel: str) -> Any:
    return lambda args: args.get("channel") == channel


def is_digest(call: Call) -> bool:
    return any(
        (block.get("accessory") or {}).get("action_id") == OPEN_FROM_DIGEST
        for block in call.get("blocks") or []
    )


def action_ids(message: dict[str, Any]) -> list[str]:
    return [
        element["action_id"]
        for block in message.get("blocks") or []
        if block.get("type") == "actions"
        for element in block["elements"]
    ]


def listed(call: Call) -> list[int]:
    """The items a digest lists, by their "Open" buttons."""
    return [
        int(block["accessory"]["value"])
        for block in call["blocks"]
        if (block.get("accessory") or {}).get("action_id") == OPEN_FROM_DIGEST
    ]


def cards_of(calls: list[Call]) -> list[Call]:
    """Top-level item cards (the lead's DM with the item's actions)."""
    return [c for c in calls if not c.get("thread_ts") and "item_answer" in action_ids(c.args)]


async def items_of(jerry: JerryApp) -> list[Item]:
    async with jerry.sessions() as session:
        rows = await session.execute(select(Item).order_by(Item.id))
        return list(rows.scalars())


async def lead_dms(jerry: JerryApp) -> list[Delivery]:
    async with jerry.sessions() as session:
        statement = select(Delivery).where(Delivery.purpose == "lead_dm").order_by(Delivery.id)
        return list((await session.execute(statement)).scalars())


async def until_delivered(slack: SlackDriver, jerry: JerryApp) -> None:
    """Drain until nothing is owed any more (retries after an outage come back quickly)."""
    for _ in range(200):
        await slack.settle()
        async with jerry.sessions() as session:
            owed = await session.execute(
                select(Delivery.id).where(Delivery.status.in_(("pending", "sending")))
            )
            if not owed.first():
                return
        await asyncio.sleep(0.02)
    raise AssertionError("deliveries still owed")


async def open_from(slack: SlackDriver, digest: Call, item_id: int, *, user: str = LEAD) -> None:
    """The lead clicks "Open #item_id" in the digest."""
    channel, ts = digest.response["channel"], digest.response["ts"]
    message = slack.fake.message(channel, ts)
    assert message is not None
    payload = payloads.block_action(
        user=user,
        action_id=OPEN_FROM_DIGEST,
        value=str(item_id),
        channel=channel,
        message=message,
        response_url=slack.fake.response_url(),
    )
    response = await slack.interactive(payload)
    assert response.status_code == 200, response.text
    await slack.settle()


async def burst(slack: SlackDriver, count: int) -> None:
    for n in range(count):
        response = await slack.command("/painpoint", f"the invoice {n} is wrong\nsecond line")
        assert response.status_code == 200


# --- 1, 2. after an outage: one digest for the lead with many, a card for the one with one ---


async def test_after_an_outage_a_lead_with_twelve_items_gets_a_digest_not_twelve_dms(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    routed.worker.max_backoff = timedelta(seconds=0.05)  # the outage's backoff, in a blink
    fake_slack.server_error_next("chat.postMessage", status=503, times=100_000)
    await burst(slack, 12)
    await slack.command("/painpoint", "the ios app crashes at launch")  # the other lead's one
    await slack.settle()
    assert not fake_slack.calls_to("chat.postMessage", ok=True)  # Slack is down

    fake_slack.failures.clear()  # Slack is back
    await until_delivered(slack, routed)

    # One DM for the twelve: the digest listing them all, oldest first.
    [digest] = digests = fake_slack.dms_to(LEAD)
    items = await items_of(routed)
    payments = [i.id for i in items if i.assignee_id == LEAD]
    assert len(payments) == 12 and listed(digest) == payments
    assert digest["text"] == "12 new items for you"
    # Each item's delivery is recorded: sent, with the digest that carried it.
    digest_of = {n: d for d in digests for n in listed(d)}
    for delivery in await lead_dms(routed):
        if delivery.recipient != LEAD:
            continue
        digest = digest_of[delivery.item_id or 0]
        assert delivery.status == "sent"
        assert (delivery.result_channel, delivery.result_ts) == (
            digest.response["channel"],
            digest.response["ts"],
        )
    for item in items:
        if item.assignee_id == LEAD:
            digest = digest_of[item.id]
            assert (item.lead_digest_channel, item.lead_digest_ts) == (
                digest.response["channel"],
                digest.response["ts"],
            )
            assert item.lead_dm_ts is None  # no card until it is opened or needed
    # The other lead's one item: the ordinary card, recorded as its lead DM.
    [mobile] = fake_slack.dms_to(MOBILE_LEAD)
    assert not is_digest(mobile) and "item_acknowledge" in action_ids(mobile.args)
    [mobile_item] = [i for i in items if i.assignee_id == MOBILE_LEAD]
    assert mobile_item.lead_dm_ts == mobile.response["ts"] and mobile_item.lead_digest_ts is None


async def test_two_replicas_draining_a_backlog_list_each_item_once(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp, settings: Settings
) -> None:
    await routed.worker.stop()  # only the drains below send
    other = create_app(settings)  # a second replica on the same database (not started)
    try:
        await burst(slack, 12)
        await slack.listeners_done()
        await asyncio.gather(routed.worker.drain(), other.worker.drain())
        await asyncio.gather(routed.worker.drain(), other.worker.drain())
    finally:
        await other.stop()

    to_lead = fake_slack.dms_to(LEAD)
    numbers = [n for c in to_lead for n in (listed(c) if is_digest(c) else [0])]
    assert 0 not in numbers  # no card: every DM is a digest
    assert sorted(numbers) == [i.id for i in await items_of(routed)]
    assert len(to_lead) < 12
    assert {d.status for d in await lead_dms(routed)} == {"sent"}


# --- 3. "Open" brings the card, whose buttons work ----------------------------------------------


async def test_open_posts_the_items_card_which_then_works_as_its_lead_dm(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    await routed.worker.stop()
    await burst(slack, DIGEST_THRESHOLD)
    await slack.settle()
    [digest] = fake_slack.dms_to(LEAD)
    assert listed(digest) == [1, 2, 3, 4, 5]

    await open_from(slack, digest, 3)

    [card] = cards_of(fake_slack.dms_to(LEAD))
    assert re.search(r"#3\b", card["blocks"][0]["text"]["text"])
    assert {"item_answer", "item_acknowledge", "item_reassign", "item_resolve"} <= set(
        action_ids(card.args)
    )
    [item] = [i for i in await items_of(routed) if i.id == 3]
    assert (item.lead_dm_channel, item.lead_dm_ts) == (
        card.response["channel"],
        card.response["ts"],
    )

    # Acknowledge from that card: the item is acknowledged and the card re-rendered.
    channel, ts = card.response["channel"], card.response["ts"]
    message = fake_slack.message(channel, ts)
    assert message is not None
    response = await slack.click(message, channel, "item_acknowledge", user=LEAD)
    assert response.status_code == 200
    await slack.settle()
    [item] = [i for i in await items_of(routed) if i.id == 3]
    assert item.status == "acknowledged" and item.acknowledged_by == LEAD
    [update] = [c for c in fake_slack.calls_to("chat.update", ok=True) if c["ts"] == ts]
    assert "item_acknowledge" not in action_ids(update.args)

    # Opening it again brings no second card: a line in the card's thread points at it.
    await open_from(slack, digest, 3)
    assert len(cards_of(fake_slack.dms_to(LEAD))) == 1
    [pointer] = [c for c in fake_slack.dms_to(LEAD) if c.get("thread_ts") == ts]
    assert "#3" in pointer["text"]
    # Someone who may not act on it gets no card.
    await open_from(slack, digest, 4, user=MOBILE_LEAD)
    assert not fake_slack.dms_to(MOBILE_LEAD)


# --- 4. a reporter's reply to an item in a digest reaches the lead ----------------------------


async def test_a_reporters_reply_to_an_item_in_a_digest_brings_its_card_then_the_reply(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    await routed.worker.stop()
    threads = []
    for n in range(DIGEST_THRESHOLD):
        _, body = await slack.mention(f"<@{BOT_USER_ID}> the invoice {n} is wrong")
        threads.append(body["event"]["ts"])
    await slack.settle()
    [digest] = [c for c in fake_slack.dms_to(LEAD) if is_digest(c)]
    assert len(listed(digest)) == DIGEST_THRESHOLD
    assert not cards_of(fake_slack.dms_to(LEAD))

    # The reporter writes in the thread of their second mention.
    text = "It is INV-2024-042, thanks"
    ts = fake_slack.add_message("C0GENERAL", REPORTER, text, thread_ts=threads[1])["ts"]
    body = payloads.thread_message(
        text,
        user=REPORTER,
        channel="C0GENERAL",
        thread_ts=threads[1],
        ts=ts,
        channel_type="channel",
    )
    assert (await slack.event(body)).status_code == 200
    await slack.settle()

    [item] = [i for i in await items_of(routed) if i.message_ts == threads[1]]
    [card] = cards_of(fake_slack.dms_to(LEAD))
    assert re.search(rf"#{item.id}\b", card["blocks"][0]["text"]["text"])
    assert (item.lead_dm_channel, item.lead_dm_ts) == (
        card.response["channel"],
        card.response["ts"],
    )
    copies = [m for m in fake_slack.thread(card.response["channel"], card.response["ts"])]
    assert any(f"> {text}" in str(m.get("blocks")) for m in copies)
    async with routed.sessions() as session:
        owed = await session.execute(select(Delivery).where(Delivery.status != "sent"))
        assert list(owed.scalars()) == []

    # The lead answers under the card: it reaches the reporter in their thread.
    reply = fake_slack.add_message(
        item.lead_dm_channel or "", LEAD, "Fixed tomorrow", thread_ts=item.lead_dm_ts
    )
    body = payloads.thread_message(
        "Fixed tomorrow",
        user=LEAD,
        channel=item.lead_dm_channel or "",
        thread_ts=item.lead_dm_ts,
        ts=reply["ts"],
        channel_type="im",
    )
    assert (await slack.event(body)).status_code == 200
    await slack.settle()
    in_reporter_thread = fake_slack.thread("C0GENERAL", threads[1])
    assert any("Fixed tomorrow" in str(m.get("blocks")) for m in in_reporter_thread)


# --- 5. below the threshold nothing changes ---------------------------------------------------


async def test_below_the_threshold_each_item_gets_its_card(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    await routed.worker.stop()
    await burst(slack, DIGEST_THRESHOLD - 1)
    await slack.settle()

    to_lead = fake_slack.dms_to(LEAD)
    assert not [c for c in to_lead if is_digest(c)]
    assert len(cards_of(to_lead)) == DIGEST_THRESHOLD - 1
    for item, card in zip(await items_of(routed), to_lead, strict=True):
        assert item.lead_dm_ts == card.response["ts"] and item.lead_digest_ts is None


# --- a digest whose answer was lost is found in Slack, with what it listed -----------------


async def test_a_digest_that_timed_out_is_found_in_slack_and_marks_what_it_listed(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    routed: JerryApp,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot import slack as gateway

    monkeypatch.setattr(gateway, "OUTBOX_TIMEOUT_SECONDS", 0.3)
    await routed.stop()
    app = create_app(settings)
    await app.start()
    try:
        await app.worker.stop()  # only the drains below send
        driver = SlackDriver(app, fake_slack)
        fake_slack.slow_next("chat.postMessage", 1.0, when=to(LEAD))
        await burst(driver, DIGEST_THRESHOLD)
        await driver.listeners_done()
        await app.worker.drain()
        first = (await lead_dms(app))[0]
        assert first.status == "pending" and first.unsure_since is not None
        await burst(driver, 2)  # owed while the digest's fate is unknown
        await driver.listeners_done()
        await asyncio.sleep(1.0)  # the slow answer is done: the digest is in Slack
        async with app.sessions() as session:
            await session.execute(
                update(Delivery).values(next_attempt_at=utcnow() - timedelta(seconds=1))
            )
            await session.commit()
        await app.worker.drain()
        await app.worker.drain()

        posted = fake_slack.messages[fake_slack.dm_channel(LEAD)]
        digests = [m for m in posted if any(b.get("accessory") for b in m.get("blocks") or [])]
        # Posted once, found again: it lists the first five, which are marked sent with it.
        assert len(digests) == 1
        assert [int(b["accessory"]["value"]) for b in digests[0]["blocks"][2:]] == [1, 2, 3, 4, 5]
        rows = await lead_dms(app)
        assert [r.status for r in rows] == ["sent"] * (DIGEST_THRESHOLD + 2)
        assert {r.result_ts for r in rows[:DIGEST_THRESHOLD]} == {digests[0]["ts"]}
        # The two owed meanwhile were fewer than the threshold: their cards.
        assert len(posted) == 3
        await driver.close()
    finally:
        await app.stop()


# --- what needs the card before it is opened --------------------------------------------------


async def test_a_change_before_the_card_is_opened_updates_nothing_and_the_card_shows_it(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    await routed.worker.stop()
    await burst(slack, DIGEST_THRESHOLD)
    await slack.settle()
    [digest] = fake_slack.dms_to(LEAD)
    # Acknowledged from elsewhere (the App Home's button) before the card is out.
    message = fake_slack.message(digest.response["channel"], digest.response["ts"])
    assert message is not None
    payload = payloads.block_action(
        user=LEAD,
        action_id="item_acknowledge",
        value="2",
        channel=digest.response["channel"],
        message=message,
        response_url=fake_slack.response_url(),
    )
    assert (await slack.interactive(payload)).status_code == 200
    await slack.settle()
    async with routed.sessions() as session:
        statuses = await session.execute(select(Delivery.purpose, Delivery.status))
        assert {status for _, status in statuses} == {"sent"}  # the update waits on nothing
    assert not fake_slack.calls_to("chat.update")

    await open_from(slack, digest, 2)
    [card] = cards_of(fake_slack.dms_to(LEAD))
    assert "item_acknowledge" not in action_ids(card.args)  # shown as it is now
    assert "item_answer" in action_ids(card.args)


async def test_a_reminder_for_an_item_in_a_digest_brings_its_card_with_the_reminder_under_it(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    await routed.worker.stop()
    await burst(slack, DIGEST_THRESHOLD)
    await slack.settle()
    assert [c for c in fake_slack.dms_to(LEAD) if is_digest(c)]
    # Item 1 came in on a Tuesday morning in New York; a business day later it is late.
    tuesday = datetime(2025, 3, 4, 10, 0, tzinfo=ZoneInfo("America/New_York"))
    async with routed.sessions() as session:
        item = await session.get(Item, 1)
        assert item is not None
        item.created_at = item.assigned_at = tuesday.astimezone(UTC)
        await session.commit()
    summary = await routed.run_reminders((tuesday + timedelta(days=1)).astimezone(UTC))
    await slack.settle()
    assert summary.reminders == 1

    [item] = [i for i in await items_of(routed) if i.id == 1]
    [card] = [c for c in cards_of(fake_slack.dms_to(LEAD)) if c.response["ts"] == item.lead_dm_ts]
    assert re.search(r"#1\b", card["blocks"][0]["text"]["text"])
    thread = fake_slack.thread(item.lead_dm_channel or "", item.lead_dm_ts or "")
    assert any("#1" in m["text"] for m in thread)


async def test_more_items_than_a_message_holds_go_in_the_next_digest(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    await routed.worker.stop()
    await burst(slack, MAX_DIGEST_ITEMS + DIGEST_THRESHOLD)
    await slack.settle()

    first, second = fake_slack.dms_to(LEAD)
    assert listed(first) == list(range(1, MAX_DIGEST_ITEMS + 1))
    assert (
        len(first["blocks"]) <= 50 and "next message" in first["blocks"][-1]["elements"][0]["text"]
    )
    assert listed(second) == list(range(MAX_DIGEST_ITEMS + 1, MAX_DIGEST_ITEMS + 6))
    assert second["blocks"][-1]["type"] == "section"  # nothing more to come
