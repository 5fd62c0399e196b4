"""End to end: a weekly summary's thread replies are owed through the outbox.

A reply Slack rate limits or cannot take for a while (an outage) is retried until it is
posted, in order, once; a process that died after Slack took the summary leaves no reply
missing and none posted twice. Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import JerryApp, create_app
from bot.config import Settings
from bot.outbox import worker as outbox_worker
from bot.summaries import posting
from bot.summaries.replies import REPLY
from models.deliveries import Delivery
from tests.fakeslack import FakeSlack
from tests.harness import SlackDriver
from tests.test_cli import Jerry
from tests.test_e2e_summaries_schedule import (
    SALES,
    SLOT_W48,
    main_posts,
    posts,
    shipped,
    statuses,
    subscribe,
)

pytestmark = pytest.mark.usefixtures("routed")


async def huge_week(jerry: JerryApp) -> None:
    """More shipped than the summary's message holds: the rest goes in thread replies."""
    for n in range(150):
        await shipped(jerry, f"Improvement number {n} " + "x" * 200, date(2026, 11, 19))


async def replies_owed(jerry: JerryApp) -> list[Delivery]:
    async with jerry.sessions() as session:
        statement = select(Delivery).where(Delivery.purpose == REPLY).order_by(Delivery.id)
        return list((await session.execute(statement)).scalars())


async def until_sent(jerry: JerryApp, seconds: float = 60.0) -> None:
    """Send what the outbox owes (waiting out Retry-After and backoffs) until nothing is."""
    deadline = time.monotonic() + seconds
    while True:
        await jerry.drain()
        async with jerry.sessions() as session:
            owed = await session.execute(
                select(Delivery.id).where(Delivery.status.in_(("pending", "sending")))
            )
            if owed.first() is None:
                return
        assert time.monotonic() < deadline, "deliveries still owed"
        await asyncio.sleep(0.05)


def thread_texts(fake: FakeSlack, ts: str) -> list[str]:
    return [m.get("text", "") for m in fake.thread(SALES, ts)]


def in_thread(args: dict[str, Any]) -> bool:
    return bool(args.get("thread_ts"))


async def test_a_reply_rate_limited_many_times_in_a_row_is_still_posted_in_order_once(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp, settings: Settings, tmp_path: Path
) -> None:
    await subscribe(settings, tmp_path)
    await huge_week(jerry)
    # More 429s in a row than slack_sdk's own retries inside one call (3).
    fake_slack.rate_limit_next("chat.postMessage", times=6, retry_after=1, when=in_thread)
    [result] = await jerry.run_summaries(SLOT_W48)
    assert (result.status, result.error) == ("posted", None)
    assert result.replies >= 2
    await until_sent(jerry)

    [main] = main_posts(fake_slack)
    owed = await replies_owed(jerry)
    assert [d.params["part"] for d in owed] == list(range(1, result.replies + 1))
    assert all(d.status == "sent" for d in owed)
    # Every reply once, in the summary's order.
    assert thread_texts(fake_slack, main["ts"]) == [d.params["message"]["text"] for d in owed]
    limited = [c for c in fake_slack.calls_to("chat.postMessage") if c.status == 429]
    assert len(limited) == 6
    [post] = await posts(jerry)
    assert (post.status, post.error) == ("posted", None)
    assert not fake_slack.violations


async def test_replies_owed_during_an_outage_arrive_once_slack_is_back(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp, settings: Settings, tmp_path: Path
) -> None:
    await subscribe(settings, tmp_path)
    await huge_week(jerry)
    await jerry.worker.stop()  # only the drains below send
    # Slack goes down right after taking the summary: every post in its thread answers 503
    # (for longer than slack_sdk's own retries inside one call).
    fake_slack.server_error_next("chat.postMessage", status=503, times=1000, when=in_thread)
    [result] = await jerry.run_summaries(SLOT_W48)
    assert (result.status, result.error) == ("posted", None)
    assert result.replies >= 2
    [main] = main_posts(fake_slack)

    fake_slack.outage_status = 503  # and then down altogether
    await jerry.drain()
    assert thread_texts(fake_slack, main["ts"]) == []
    owed = await replies_owed(jerry)
    assert [d.status for d in owed] == ["pending"] * result.replies
    assert owed[0].last_error == "http_503"  # the first waits on a retry, the rest behind it

    fake_slack.outage_status = None
    fake_slack.failures["chat.postMessage"].clear()  # Slack is back
    await until_sent(jerry)
    owed = await replies_owed(jerry)
    assert thread_texts(fake_slack, main["ts"]) == [d.params["message"]["text"] for d in owed]
    assert len(owed) == result.replies and all(d.status == "sent" for d in owed)
    assert len(main_posts(fake_slack)) == 1
    [post] = await posts(jerry)
    assert (post.status, post.error) == ("posted", None)


async def test_a_crash_after_the_summary_reached_slack_owes_each_reply_once(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    jerry: JerryApp,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await subscribe(settings, tmp_path)
    await huge_week(jerry)

    async def dies(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("killed after Slack took the summary, before it was recorded")

    monkeypatch.setattr(posting, "owe_replies", dies)
    assert await jerry.run_summaries(SLOT_W48) == []
    monkeypatch.undo()
    [main] = main_posts(fake_slack)
    [post] = await posts(jerry)
    assert (post.status, post.ts) == ("claimed", None)
    assert await replies_owed(jerry) == []
    # The dead process was an older Jerry, which posted replies inline: it got the first in.
    await jerry.services.client.chat_postMessage(
        channel=SALES,
        thread_ts=main["ts"],
        text="reply 1 (posted before the crash)",
        metadata={"event_type": "jerry_summary", "event_payload": {"post": post.id, "part": 1}},
    )
    await jerry.stop()

    restarted = create_app(settings)
    await restarted.start()
    try:
        [result] = await restarted.run_summaries(SLOT_W48 + timedelta(minutes=11))
        assert statuses([result]) == [("sales-weekly", "2026-W48", "posted")]
        await until_sent(restarted)
        owed = await replies_owed(restarted)
    finally:
        await restarted.stop()
    assert main_posts(fake_slack) == [main]  # found in the channel, not posted again
    # Part 1 was there already: only the others are owed, each posted once, in order.
    assert [d.params["part"] for d in owed] == list(range(2, len(owed) + 2))
    assert result.replies == len(owed) >= 1
    assert thread_texts(fake_slack, main["ts"]) == ["reply 1 (posted before the crash)"] + [
        d.params["message"]["text"] for d in owed
    ]
    [post] = await posts(jerry)
    assert (post.status, post.ts, post.error) == ("posted", main["ts"], None)


async def test_a_reply_owed_while_its_summary_is_being_posted_again_waits_for_it(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp, settings: Settings, tmp_path: Path
) -> None:
    """A reply owed under a summary whose ts is not known (its post is claimed again after a
    restart, and will be found in the channel) waits for it: it was marked undeliverable at
    once ("no_ts"), the summary recorded as incomplete and triage told."""
    await subscribe(settings, tmp_path)
    [result] = await jerry.run_summaries(SLOT_W48)
    [main] = main_posts(fake_slack)
    await until_sent(jerry)
    [post] = await posts(jerry)
    async with jerry.sessions() as session:  # as if the ts had not been recorded
        stored = await session.get(type(post), post.id)
        assert stored is not None
        stored.status, stored.ts = "claimed", None
        reply = Delivery(
            purpose=REPLY,
            recipient=SALES,
            lane=SALES,
            params={
                "post_id": post.id,
                "part": 9,
                "of": 9,
                "message": {"text": "the last part", "blocks": []},
            },
        )
        session.add(reply)
        await session.commit()
        reply_id = reply.id
    jerry.worker.retry_seconds = 0.01
    deadline = time.monotonic() + 30
    while True:  # until well past the short waits' cap
        await jerry.worker.drain()
        async with jerry.sessions() as session:
            waiting = await session.get(Delivery, reply_id)
            assert waiting is not None and waiting.status == "pending", waiting
            if int((waiting.params or {}).get("_defers", 0)) > outbox_worker.MAX_DEFERS + 3:
                break
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    async with jerry.sessions() as session:
        assert (await session.get(type(post), post.id)).error is None  # type: ignore[union-attr]
        stored = await session.get(type(post), post.id)
        assert stored is not None
        stored.status, stored.ts = "posted", main["ts"]  # the summary found in the channel
        await session.commit()
    await until_sent(jerry)
    assert thread_texts(fake_slack, main["ts"])[-1] == "the last part"
    assert result.status == "posted"


async def test_a_reply_slack_will_never_take_is_recorded_and_triage_told_once(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp, settings: Settings, tmp_path: Path
) -> None:
    await subscribe(settings, tmp_path)
    await huge_week(jerry)
    # The channel is archived right after the summary went in.
    fake_slack.fail_next("chat.postMessage", "is_archived", times=20, when=in_thread)
    [result] = await jerry.run_summaries(SLOT_W48)
    assert result.status == "posted" and result.replies >= 2
    await until_sent(jerry)

    owed = await replies_owed(jerry)
    assert [d.status for d in owed] == ["failed"] * result.replies
    [post] = await posts(jerry)
    assert post.status == "posted"
    assert post.error == f"thread reply 1 of {result.replies}: is_archived"
    alerts = [c for c in fake_slack.posts("C0PRODOPS") if "incomplete" in c["text"]]
    assert len(alerts) == 1 and "sales-weekly" in alerts[0]["text"]


async def test_cli_send_says_the_replies_are_queued_and_the_running_bot_posts_them(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    jerry: JerryApp,
    settings: Settings,
    database_url: str,
    tmp_path: Path,
) -> None:
    await subscribe(settings, tmp_path)
    await huge_week(jerry)
    send = Jerry(tmp_path, {"DATABASE_URL": database_url}).with_slack(fake_slack)
    sent = await send("summaries", "send", "sales-weekly", "--week", "2026-W48")
    assert sent.ok, str(sent)
    owed = await replies_owed(jerry)
    assert len(owed) >= 2
    assert "posted sales-weekly for 2026-W48 in C0SALES" in sent.stdout
    assert f"{len(owed)} thread replies queued: the running bot posts them" in sent.stdout
    await until_sent(jerry)  # the running bot (this test's JerryApp) sends what was queued
    [main] = main_posts(fake_slack)
    assert thread_texts(fake_slack, main["ts"]) == [d.params["message"]["text"] for d in owed]
