"""End to end: the outbox under long outages, rate limits, slow answers and restarts.

Owed messages are retried until Slack takes them (product ops told once when the backlog is
old, once when it drains); a rate limit holds back only the recipient it is about; messages
to one person arrive in the order they were owed; a send whose answer was lost is looked for
in Slack (by its metadata) instead of being posted twice. Everything goes through the real
app, its real slack_sdk client and the fake Slack, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, update

from bot.app import JerryApp, create_app
from bot.config import Settings
from bot.outbox import worker as outbox_worker
from models.base import utcnow
from models.deliveries import Delivery, OutboxAlert
from models.items import Item
from tests.fakeslack import Call, FakeSlack
from tests.harness import SlackDriver

LEAD, MOBILE_LEAD, TRIAGE_CHANNEL = "U0PAYLEAD", "U0MOBLEAD", "C0PRODOPS"

pytestmark = pytest.mark.usefixtures("routed")


def to(channel: str) -> Any:
    return lambda args: args.get("channel") == channel


async def deliveries(jerry: JerryApp, *where: Any) -> list[Delivery]:
    async with jerry.sessions() as session:
        statement = select(Delivery).where(*where).order_by(Delivery.id)
        return list((await session.execute(statement)).scalars())


def item_numbers_in(calls: list[Call]) -> list[int]:
    """Which item each lead DM was about (its title: "New painpoint #12 …")."""
    return [int(re.search(r"#(\d+)", call["blocks"][0]["text"]["text"]).group(1)) for call in calls]  # type: ignore[union-attr]


def alerts(fake: FakeSlack, word: str) -> list[Call]:
    return [c for c in fake.posts(TRIAGE_CHANNEL) if word in (c.get("text") or "")]


# --- 1. long outages: retried until delivered; product ops told once, and once when over ----


async def test_a_lead_dm_failing_for_longer_than_eight_attempts_is_still_delivered(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    routed.worker.max_backoff = timedelta(seconds=0.02)  # hours of backoff, in a blink
    fake_slack.fail_next("chat.postMessage", "internal_error", times=12, when=to(LEAD))

    await slack.command("/painpoint", "the invoice is wrong")
    await fake_slack.wait_for(lambda: fake_slack.dms_to(LEAD), message="the lead DM")
    await slack.settle()

    [lead_dm] = await deliveries(routed, Delivery.purpose == "lead_dm")
    assert (lead_dm.status, lead_dm.attempts, lead_dm.last_error) == ("sent", 13, None)
    assert len(fake_slack.dms_to(LEAD)) == 1
    assert not fake_slack.posts(TRIAGE_CHANNEL)  # nothing was given up


async def test_backoff_is_capped_and_a_permanent_error_still_fails_at_once(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    fake_slack.server_error_next("chat.postMessage", status=503, times=1000, when=to(LEAD))
    routed.worker.retry_seconds = 60.0
    await slack.command("/painpoint", "the invoice is wrong")
    for _ in range(12):
        await slack.settle()
        # Time travel: the delivery is due again now.
        async with routed.sessions() as session:
            await session.execute(
                update(Delivery)
                .where(Delivery.purpose == "lead_dm")
                .values(next_attempt_at=utcnow() - timedelta(seconds=1))
            )
            await session.commit()
    [lead_dm] = await deliveries(routed, Delivery.purpose == "lead_dm")
    assert lead_dm.status == "pending" and lead_dm.last_error == "http_503"
    await slack.settle()
    [lead_dm] = await deliveries(routed, Delivery.purpose == "lead_dm")
    wait = lead_dm.next_attempt_at - utcnow()
    # 60 s × 2^11 uncapped; the cap (15 min by default) holds.
    assert timedelta(minutes=14) < wait <= timedelta(minutes=15)


async def test_product_ops_is_told_once_of_an_old_backlog_and_once_when_it_drains(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp, settings: Settings
) -> None:
    """Two replicas share the outbox: the alert and its all-clear are each posted once."""
    other = create_app(settings)  # a second replica on the same database (not started)
    try:
        for worker in (routed.worker, other.worker):
            worker.alert_after = timedelta(seconds=1)
            worker.max_backoff = timedelta(seconds=0.05)
        fake_slack.server_error_next("chat.postMessage", status=503, times=10_000, when=to(LEAD))

        await slack.command("/painpoint", "the invoice is wrong")
        await slack.settle()
        # The lead DM has waited longer than the threshold.
        async with routed.sessions() as session:
            await session.execute(
                update(Delivery).values(created_at=utcnow() - timedelta(minutes=5))
            )
            await session.commit()
        for _ in range(5):
            await asyncio.gather(routed.drain(), other.drain())
            await asyncio.sleep(0.06)
        await slack.settle()
        [told] = alerts(fake_slack, "not taking")
        assert "1 owed" in told["text"] and "http_503" in told["text"]
        assert not fake_slack.dms_to(LEAD)
        async with routed.sessions() as session:
            assert await session.get(OutboxAlert, "backlog") is not None

        fake_slack.failures.clear()  # Slack is back
        await fake_slack.wait_for(lambda: fake_slack.dms_to(LEAD), message="the lead DM")
        for _ in range(5):
            await asyncio.gather(routed.drain(), other.drain())
            await asyncio.sleep(0.06)
        await slack.settle()
        assert len(fake_slack.dms_to(LEAD)) == 1
        assert len(alerts(fake_slack, "not taking")) == 1
        [drained] = alerts(fake_slack, "again")
        assert "backlog is sent" in drained["text"]
        async with routed.sessions() as session:
            assert await session.get(OutboxAlert, "backlog") is None
    finally:
        await other.stop()


# --- 2. rate limits belong to the outbox: per recipient, never slept on inside a call -------


async def test_another_leads_dm_is_not_held_back_by_one_leads_rate_limited_backlog(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    fake_slack.channel_post_interval = 1.0  # Slack's pace: one message a second per channel
    routed.lead_digest.threshold = 0  # one DM each: the pacing of a backlog is what is tested
    backlog = 30
    for _ in range(backlog):
        await slack.command("/painpoint", "the invoice is wrong")
    await slack.command("/painpoint", "the ios app crashes at launch")

    await fake_slack.wait_for(
        lambda: fake_slack.dms_to(MOBILE_LEAD), timeout=8, message="the other lead's DM"
    )
    # The other lead did not wait behind the backlog (which goes at one a second).
    assert len(fake_slack.dms_to(LEAD)) < backlog
    assert len(fake_slack.dms_to(MOBILE_LEAD)) == 1
    # The backlog meets its channel's pace (the outbox steps aside while the commands are
    # answered, so that may come only after the other lead's DM went): only that lead's.
    await fake_slack.wait_for(
        lambda: [c for c in fake_slack.calls_to("chat.postMessage") if c.status == 429],
        message="a 429 for the lead with the backlog",
    )
    limited = [c for c in fake_slack.calls_to("chat.postMessage") if c.status == 429]
    assert all(c["channel"] == LEAD for c in limited)
    # The backlog goes out in the order it was owed.
    sent = item_numbers_in(fake_slack.dms_to(LEAD))
    assert sent == sorted(sent)


async def test_each_outbox_call_uses_one_pooled_connection_to_slack(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    for _ in range(4):
        await slack.command("/painpoint", "the invoice is wrong")
    await slack.settle()

    posts = fake_slack.calls_to("chat.postMessage", ok=True)
    assert len(posts) == 4
    # One kept-alive connection (same client port), not a new TCP connection per call.
    assert len({c.peer for c in posts}) == 1


async def test_a_delivery_costs_few_statements(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    """Claiming returns the row (UPDATE … RETURNING): the delivery is not read again, and
    the claim and the result share one session."""
    await routed.worker.stop()  # only the drain below sends
    routed.lead_digest.threshold = 0  # one DM each: the cost of one delivery is measured
    for _ in range(5):
        await slack.command("/painpoint", "the invoice is wrong")
    await slack.listeners_done()
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split())[:60])

    event.listen(routed.engine.sync_engine, "before_cursor_execute", count)
    try:
        await routed.worker.drain()
    finally:
        event.remove(routed.engine.sync_engine, "before_cursor_execute", count)
    assert len(fake_slack.dms_to(LEAD)) == 5
    reads_of_deliveries = [s for s in statements if s.startswith("SELECT deliveries.")]
    # One read of what is due per pass; none per delivery.
    assert len(reads_of_deliveries) <= 2, statements
    # Per lead DM: its claim, the item and its card, the lead's language, whether the reporter
    # is still in Slack (the card says where replies go), who else asked for it (its demand:
    # the items merged into it, issue 12), the result and the item's DM ts (11, and a
    # users.info cached once); the pass, and the backlog check. An item without internal
    # notes costs no read of them (`Item.internal_note_count`).
    assert len(statements) <= 5 * 12 + 5, statements


# --- 3. one lead's DMs arrive in the order the items came in ---------------------------------


async def test_after_an_outage_a_leads_dms_arrive_oldest_first(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    routed.worker.retry_seconds = 0.2
    fake_slack.fail_next("chat.postMessage", "internal_error", times=10_000, when=to(LEAD))
    for _ in range(3):
        await slack.command("/painpoint", "the invoice is wrong")
        await slack.settle()
        await asyncio.sleep(0.25)  # the older items' DMs fail more often, back off longer
        await slack.settle()

    fake_slack.failures.clear()
    await fake_slack.wait_for(lambda: len(fake_slack.dms_to(LEAD)) == 3, message="3 lead DMs")
    sent = item_numbers_in(fake_slack.dms_to(LEAD))
    assert sent == [1, 2, 3]


# --- 4. an ambiguous send is looked for in Slack before it is posted again --------------------


@pytest.mark.parametrize("how", ["stopped", "killed"])
async def test_a_dm_whose_answer_was_lost_mid_send_is_not_posted_twice_after_a_restart(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    routed: JerryApp,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    how: str,
) -> None:
    monkeypatch.setattr(outbox_worker, "STOP_GRACE_SECONDS", 0.2)
    # Slack posts the DM but answers late: the process stops (or dies) before the answer.
    fake_slack.slow_next("chat.postMessage", 2.0, when=to(LEAD))
    await slack.command("/painpoint", "the invoice is wrong")
    await fake_slack.wait_for(
        lambda: fake_slack.calls_to("chat.postMessage"), message="the DM sent"
    )
    [posted] = fake_slack.messages[fake_slack.dm_channel(LEAD)]
    assert posted["metadata"]["event_type"] == "jerry_delivery"
    await routed.stop()
    [lead_dm] = await deliveries(routed, Delivery.purpose == "lead_dm")
    if how == "killed":
        # kill -9: nothing was given back; the lease runs out (time travel).
        async with routed.sessions() as session:
            await session.execute(
                update(Delivery)
                .where(Delivery.id == lead_dm.id)
                .values(
                    status="sending",
                    unsure_since=None,
                    lease_until=utcnow() - timedelta(seconds=1),
                )
            )
            await session.commit()
    else:
        assert lead_dm.status == "pending" and lead_dm.unsure_since is not None

    restarted = create_app(settings)
    await restarted.start()
    try:
        await restarted.drain()
        [lead_dm] = await deliveries(restarted, Delivery.purpose == "lead_dm")
        assert lead_dm.status == "sent"
        assert fake_slack.messages[fake_slack.dm_channel(LEAD)] == [posted]  # one DM
        assert lead_dm.result_ts == posted["ts"]
        [looked] = fake_slack.calls_to("conversations.history")
        assert looked["channel"] == fake_slack.dm_channel(LEAD)
        assert looked["include_all_metadata"] in {"1", "true", True}
        async with restarted.sessions() as session:
            item = await session.get(Item, lead_dm.item_id)
            assert item is not None and item.lead_dm_ts == posted["ts"]
    finally:
        await restarted.stop()


async def test_a_send_that_timed_out_is_found_in_slack_not_posted_again(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    routed: JerryApp,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The answer timed out but Slack had posted the DM: the retry finds it."""
    from bot import slack as gateway

    monkeypatch.setattr(gateway, "OUTBOX_TIMEOUT_SECONDS", 0.3)
    await routed.stop()
    app = create_app(settings)
    await app.start()
    try:
        driver = SlackDriver(app, fake_slack)
        app.worker.retry_seconds = 30.0  # the retry waits for the test's time travel
        fake_slack.slow_next("chat.postMessage", 1.0, when=to(LEAD))
        await driver.command("/painpoint", "the invoice is wrong")
        await driver.settle()
        [lead_dm] = await deliveries(app, Delivery.purpose == "lead_dm")
        assert lead_dm.status == "pending" and lead_dm.unsure_since is not None
        await asyncio.sleep(1.0)  # the slow answer is done
        async with app.sessions() as session:
            await session.execute(update(Delivery).values(next_attempt_at=utcnow()))
            await session.commit()
        await driver.settle()
        [lead_dm] = await deliveries(app, Delivery.purpose == "lead_dm")
        assert lead_dm.status == "sent" and lead_dm.unsure_since is None
        assert len(fake_slack.messages[fake_slack.dm_channel(LEAD)]) == 1
        assert len(fake_slack.calls_to("chat.postMessage")) == 1
        await driver.close()
    finally:
        await app.stop()


async def test_every_outbox_post_carries_its_delivery_in_metadata(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    await slack.command("/painpoint", "the invoice is wrong")
    await slack.settle()
    [lead_dm] = await deliveries(routed, Delivery.purpose == "lead_dm")
    [call] = fake_slack.dms_to(LEAD)
    metadata = call["metadata"]
    if isinstance(metadata, str):
        metadata = json.loads(metadata)
    assert metadata == {
        "event_type": "jerry_delivery",
        "event_payload": {"delivery": lead_dm.id, "part": 1},
    }


# --- 4. many recipients: sent several at once; a workspace rate limit slows every send -------

PEOPLE = ["U0ALERTA", "U0ALERTB", "U0ALERTC", "U0ALERTD", "U0ALERTE", "U0ALERTF"]


async def owe_alerts(jerry: JerryApp, fake: FakeSlack, people: list[str]) -> None:
    """A triage alert to each of `people` (each its own lane)."""
    from bot.outbox.store import enqueue

    async with jerry.sessions() as session:
        for n, person in enumerate(people):
            fake.add_user(person)
            delivery = enqueue(session, "triage_alert", recipient=person)
            delivery.params = {"alert": "undeliverable", "item": n, "who": LEAD, "error": "x"}
        await session.commit()
    jerry.worker.kick()


async def test_deliveries_to_different_people_are_sent_at_once_with_a_slow_slack(
    fake_slack: FakeSlack, routed: JerryApp
) -> None:
    slowness = 3.0
    fake_slack.slow_next("chat.postMessage", slowness, times=len(PEOPLE[:4]))
    await owe_alerts(routed, fake_slack, PEOPLE[:4])

    posts = await fake_slack.wait_for_call("chat.postMessage", count=4, timeout=20)
    # Each call arrived before the first one was answered: they were in flight together
    # (one at a time, each would arrive only after the one before was answered).
    arrivals = sorted(call.at for call in posts)
    assert arrivals[-1] - arrivals[0] < slowness
    await fake_slack.wait_for(lambda: all(fake_slack.dms_to(p) for p in PEOPLE[:4]), timeout=20)


async def test_a_workspace_rate_limit_holds_back_every_next_send(
    fake_slack: FakeSlack, routed: JerryApp
) -> None:
    """429s for several people Jerry has not posted to lately are not their channels' pace:
    it is the workspace's limit, and every send waits for its Retry-After."""
    retry_after = 2
    signs = outbox_worker.WORKSPACE_SIGNS  # how many such 429s it takes
    for person in PEOPLE[:signs]:
        fake_slack.rate_limit_next("chat.postMessage", retry_after=retry_after, when=to(person))
    await owe_alerts(routed, fake_slack, PEOPLE[:signs])
    limited = await fake_slack.wait_for(
        lambda: [c for c in fake_slack.calls_to("chat.postMessage") if c.status == 429][signs - 1 :]
    )
    others = PEOPLE[signs : signs + 3]
    await owe_alerts(routed, fake_slack, others)

    everyone = PEOPLE[: signs + 3]
    await fake_slack.wait_for(lambda: all(fake_slack.dms_to(p) for p in everyone), timeout=20)
    later = [c for c in fake_slack.calls_to("chat.postMessage") if c.at > limited[0].at]
    assert len(later) == len(everyone)  # the three others, and the limited ones again
    # None went before the Retry-After was over (a lower bound: a slow machine only adds).
    assert min(c.at for c in later) >= limited[0].at + retry_after - 0.05


async def test_one_rate_limit_for_a_quiet_person_holds_back_only_them(
    fake_slack: FakeSlack, routed: JerryApp
) -> None:
    """A lone 429 (Slack's noise) does not stop every send."""
    fake_slack.rate_limit_next("chat.postMessage", retry_after=10, when=to(PEOPLE[0]))
    await owe_alerts(routed, fake_slack, PEOPLE[:1])
    await fake_slack.wait_for(
        lambda: [c for c in fake_slack.calls_to("chat.postMessage") if c.status == 429]
    )
    await owe_alerts(routed, fake_slack, PEOPLE[1:3])

    await fake_slack.wait_for(lambda: all(fake_slack.dms_to(p) for p in PEOPLE[1:3]), timeout=8)
    assert fake_slack.dms_to(PEOPLE[0]) == []  # still waiting its 10 s


async def test_a_rate_limit_on_a_busy_channel_holds_back_only_that_channel(
    fake_slack: FakeSlack, routed: JerryApp
) -> None:
    """Right after a message to a person, a 429 for them is their channel's pace: the
    others are not held back."""
    fake_slack.channel_post_interval = 10.0  # one message per 10 s per channel
    async with routed.sessions() as session:
        from bot.outbox.store import enqueue

        fake_slack.add_user(PEOPLE[0])
        for n in range(2):
            delivery = enqueue(session, "triage_alert", recipient=PEOPLE[0])
            delivery.params = {"alert": "undeliverable", "item": n, "who": LEAD, "error": "x"}
        await session.commit()
    routed.worker.kick()
    limited = await fake_slack.wait_for(
        lambda: [c for c in fake_slack.calls_to("chat.postMessage") if c.status == 429]
    )
    await owe_alerts(routed, fake_slack, PEOPLE[1:3])

    await fake_slack.wait_for(lambda: all(fake_slack.dms_to(p) for p in PEOPLE[1:3]), timeout=8)
    # The others went while the busy channel still waits (its second message 10 s later).
    assert len(fake_slack.dms_to(PEOPLE[0])) == 1
    assert limited[0]["channel"] == PEOPLE[0]


# --- acks first: the outbox steps aside while requests are in flight -------------------------


async def test_the_outbox_waits_for_a_request_in_flight_before_sending(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    """A delivery owed during a burst goes out once no request is in flight (bounded)."""
    routed.pressure.max_yield = 30.0  # long enough that only the request's end releases it
    routed.pressure.quiet_after = 0.0
    with routed.pressure.request():  # a request Slack is waiting on (held open by the test)
        await slack.command("/painpoint", "the invoice is wrong")
        await slack.listeners_done()
        routed.worker.kick()
        await asyncio.sleep(0.3)
        assert not fake_slack.dms_to(LEAD)  # owed, but the request in flight comes first
        [lead_dm] = await deliveries(routed, Delivery.purpose == "lead_dm")
        assert lead_dm.status == "pending"
    await fake_slack.wait_for(lambda: fake_slack.dms_to(LEAD), message="the lead DM")
    await slack.settle()
    assert len(fake_slack.dms_to(LEAD)) == 1


# --- 6. when an idle outbox looks again ------------------------------------------------------


async def idling_every(jerry: JerryApp, seconds: float) -> None:
    """The outbox restarted to idle `seconds` between two looks from now on."""
    await jerry.worker.stop()
    jerry.worker.poll_seconds = seconds
    await jerry.worker.start()


async def sent(jerry: JerryApp, purpose: str) -> Delivery:
    """The one delivery of `purpose`, once the outbox recorded it sent (10 s at most)."""
    async with asyncio.timeout(10):
        while True:
            rows = await deliveries(jerry, Delivery.purpose == purpose)
            if rows and rows[0].status == "sent":
                [row] = rows
                return row
            await asyncio.sleep(0.02)


async def test_another_process_s_message_is_found_at_the_next_look_without_a_kick(
    fake_slack: FakeSlack, routed: JerryApp, settings: Settings
) -> None:
    """What another process queues (a replica, a `jerry` command) rings no bell here: the
    idle outbox finds it when it looks again (JERRY_OUTBOX_POLL_SECONDS)."""
    await idling_every(routed, 0.2)
    other = create_app(settings)  # a second replica on the same database, its outbox off
    driver = SlackDriver(other, fake_slack)
    try:
        await driver.command("/painpoint", "the invoice is wrong")
        await driver.listeners_done()  # not settle(): that would drain with the other's outbox
        assert (await sent(routed, "lead_dm")).attempts == 1
        assert len(fake_slack.dms_to(LEAD)) == 1
    finally:
        await driver.close()
        await other.stop()


async def test_a_retry_is_due_when_its_wait_ends_however_long_the_outbox_idles(
    slack: SlackDriver, fake_slack: FakeSlack, routed: JerryApp
) -> None:
    await idling_every(routed, 3600.0)  # idle, the outbox would look again in an hour
    fake_slack.fail_next("chat.postMessage", "internal_error", times=2, when=to(LEAD))
    await slack.command("/painpoint", "the invoice is wrong")
    # No settle() (it drains the outbox itself): the worker's own loop retries.
    assert (await sent(routed, "lead_dm")).attempts == 3
    assert len(fake_slack.dms_to(LEAD)) == 1
