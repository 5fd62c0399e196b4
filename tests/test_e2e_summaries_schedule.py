"""End to end: weekly summaries posted on schedule, exactly once per subscription and week.

The scheduler's job (`JerryApp.run_summaries(now)`) runs with the test's clock; the bot posts
through the real slack_sdk client to the fake Slack; every test runs on SQLite and
PostgreSQL. Restarts are new JerryApps on the same database; two processes are two
JerryApps ticking at once.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from bot.app import JerryApp, create_app
from bot.config import Settings
from bot.summaries.cli import import_file
from bot.summaries.cli import preview as cli_preview
from bot.summaries.posting import (
    TAKEN_OVER,
    PostResult,
    SummaryError,
    parse_week,
    post_summary,
    slot_of_week,
    week_of,
)
from bot.summaries.replies import REPLY
from models.deliveries import Delivery
from models.routing import Area
from models.summaries import SummaryPost, SummarySubscription
from models.updates import ProductUpdate
from tests.fakeslack import FakeSlack
from tests.french import spaced
from tests.harness import SlackDriver
from tests.test_cli import InProcessJerry, Jerry, assert_plain_text

pytestmark = pytest.mark.usefixtures("routed")

SALES = "C0SALES"
PARIS_MONDAY = """\
subscriptions:
  - name: sales-weekly
    channel: C0SALES
    areas: [Billing]
    weekday: monday
    time: "09:00"
    timezone: Europe/Paris
    language: en
"""
# Wednesday of 2026-W47, when product ops imports the file.
IMPORTED = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
# Monday 2026-11-23 09:00 in Paris (winter time, UTC+1): 08:00 UTC, week 2026-W48.
SLOT_W48 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


# --- helpers --------------------------------------------------------------------------------


async def subscribe(
    settings: Settings, tmp_path: Path, text: str = PARIS_MONDAY, *, now: datetime = IMPORTED
) -> None:
    path = tmp_path / "summaries.yml"
    path.write_text(text, encoding="utf-8")
    assert await import_file(settings, path, now=now) == 0


async def shipped(
    jerry: JerryApp,
    title: str,
    day: date,
    area: str = "Billing",
    *,
    recorded: datetime | None = None,
) -> None:
    """A /shipped update, recorded (by default) at noon UTC on the day it shipped."""
    async with jerry.sessions() as session:
        area_id = (await session.execute(select(Area.id).where(Area.name == area))).scalar_one()
        session.add(
            ProductUpdate(
                kind="shipped",
                title=title,
                customer_impact="Customers can download their invoices.",
                area_id=area_id,
                shipped_on=day,
                audience="customer",
                author_id="U0PAYLEAD",
                status="active",
                created_at=recorded or datetime.combine(day, time(12), tzinfo=UTC),
            )
        )
        await session.commit()


def main_posts(fake: FakeSlack, channel: str = SALES) -> list[dict[str, Any]]:
    """The summaries in the channel (not their thread replies)."""
    return [m for m in fake.messages.get(channel, []) if not m.get("thread_ts")]


def text_of(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks") or [], ensure_ascii=False) + message.get("text", "")


async def posts(jerry: JerryApp, name: str = "sales-weekly") -> list[SummaryPost]:
    async with jerry.sessions() as session:
        statement = (
            select(SummaryPost)
            .join(SummarySubscription, SummarySubscription.id == SummaryPost.subscription_id)
            .where(SummarySubscription.name == name)
            .order_by(SummaryPost.week, SummaryPost.sequence)
        )
        return list((await session.execute(statement)).scalars())


async def subscription(jerry: JerryApp, name: str = "sales-weekly") -> SummarySubscription:
    async with jerry.sessions() as session:
        statement = select(SummarySubscription).where(SummarySubscription.name == name)
        return (await session.execute(statement)).scalar_one()


def statuses(results: list[Any]) -> list[tuple[str, str, str]]:
    return [(r.subscription, r.week, r.status) for r in results]


# --- the slot -------------------------------------------------------------------------------


async def test_posted_at_its_slot_not_before_and_once_per_week(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp, settings: Settings, tmp_path: Path
) -> None:
    await subscribe(settings, tmp_path)
    await shipped(jerry, "Invoices in PDF", date(2026, 11, 19))
    await shipped(jerry, "Old news", date(2026, 11, 10))  # before the period

    assert await jerry.run_summaries(SLOT_W48 - timedelta(minutes=1)) == []
    assert main_posts(fake_slack) == []

    results = await jerry.run_summaries(SLOT_W48)
    assert statuses(results) == [("sales-weekly", "2026-W48", "posted")]
    [message] = main_posts(fake_slack)
    assert "Invoices in PDF" in text_of(message)
    assert "Old news" not in text_of(message)
    actions = [b for b in message["blocks"] if b["type"] == "actions"]
    sub = await subscription(jerry)
    assert {e["action_id"]: e["value"] for e in actions[0]["elements"]} == {
        "summary_download_csv": f"{sub.id}:2026-W48",
        "summary_download_md": f"{sub.id}:2026-W48",
    }
    [post] = await posts(jerry)
    assert (post.week, post.sequence, post.status, post.channel, post.ts) == (
        "2026-W48",
        0,
        "posted",
        SALES,
        message["ts"],
    )
    assert (post.period_start, post.period_end) == (SLOT_W48 - timedelta(days=7), SLOT_W48)

    # Later ticks that week post nothing more.
    for later in (timedelta(minutes=1), timedelta(hours=5), timedelta(days=6, hours=23)):
        assert await jerry.run_summaries(SLOT_W48 + later) == []
    assert len(main_posts(fake_slack)) == 1

    # The next week's picks up where this one stopped.
    await shipped(jerry, "Refunds in one click", date(2026, 11, 26))
    results = await jerry.run_summaries(SLOT_W48 + timedelta(days=7))
    assert statuses(results) == [("sales-weekly", "2026-W49", "posted")]
    second = main_posts(fake_slack)[-1]
    assert "Refunds in one click" in text_of(second)
    assert "Invoices in PDF" not in text_of(second)
    w49 = (await posts(jerry))[-1]
    assert (w49.period_start, w49.period_end) == (SLOT_W48, SLOT_W48 + timedelta(days=7))


async def test_nothing_is_owed_for_slots_before_the_subscription_existed(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp, settings: Settings, tmp_path: Path
) -> None:
    # Imported on Monday at 09:30 in Paris: this week's 09:00 slot is not owed.
    await subscribe(settings, tmp_path, now=SLOT_W48 + timedelta(minutes=30))
    assert await jerry.run_summaries(SLOT_W48 + timedelta(minutes=31)) == []
    assert main_posts(fake_slack) == []
    results = await jerry.run_summaries(SLOT_W48 + timedelta(days=7))
    assert statuses(results) == [("sales-weekly", "2026-W49", "posted")]


# --- exactly once ---------------------------------------------------------------------------


async def test_not_twice_after_a_restart(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp, settings: Settings, tmp_path: Path
) -> None:
    await subscribe(settings, tmp_path)
    assert statuses(await jerry.run_summaries(SLOT_W48)) == [("sales-weekly", "2026-W48", "posted")]
    await jerry.stop()

    restarted = create_app(settings)
    await restarted.start()
    try:
        assert await restarted.run_summaries(SLOT_W48 + timedelta(minutes=2)) == []
        assert await restarted.run_summaries(SLOT_W48 + timedelta(days=1)) == []
    finally:
        await restarted.stop()
    assert len(main_posts(fake_slack)) == 1
    assert [p.status for p in await posts(jerry)] == ["posted"]


async def test_a_post_cut_by_a_crash_is_retried_once_after_ten_minutes(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp, settings: Settings, tmp_path: Path
) -> None:
    await subscribe(settings, tmp_path)
    sub = await subscription(jerry)
    # A process claimed the week at the slot and died before posting.
    async with jerry.sessions() as session:
        session.add(
            SummaryPost(
                subscription_id=sub.id,
                week="2026-W48",
                sequence=0,
                status="claimed",
                claimed_at=SLOT_W48,
                channel=SALES,
            )
        )
        await session.commit()
    restarted = create_app(settings)
    await restarted.start()
    try:
        # Still being posted, as far as anyone can tell.
        assert await restarted.run_summaries(SLOT_W48 + timedelta(minutes=5)) == []
        assert main_posts(fake_slack) == []
        results = await restarted.run_summaries(SLOT_W48 + timedelta(minutes=11))
        assert statuses(results) == [("sales-weekly", "2026-W48", "posted")]
        assert len(main_posts(fake_slack)) == 1
        [post] = await posts(jerry)
        assert (post.sequence, post.status) == (0, "posted")

        # Dying a second time at the same place: the week is given up, not retried forever.
        async with jerry.sessions() as session:
            await session.execute(
                update(SummaryPost)
                .where(SummaryPost.id == post.id)
                .values(status="claimed", ts=None, claimed_at=SLOT_W48, error=TAKEN_OVER)
            )
            await session.commit()
        results = await restarted.run_summaries(SLOT_W48 + timedelta(minutes=30))
        assert statuses(results) == [("sales-weekly", "2026-W48", "failed")]
        assert await restarted.run_summaries(SLOT_W48 + timedelta(minutes=31)) == []
        assert len(main_posts(fake_slack)) == 1
    finally:
        await restarted.stop()


async def test_a_crash_after_the_summary_reached_slack_does_not_post_it_twice(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp, settings: Settings, tmp_path: Path
) -> None:
    await subscribe(settings, tmp_path)
    assert statuses(await jerry.run_summaries(SLOT_W48)) == [("sales-weekly", "2026-W48", "posted")]
    [summary] = main_posts(fake_slack)
    assert summary["metadata"]["event_type"] == "jerry_summary"
    await jerry.stop()
    # The process died after Slack took the summary, before it recorded the ts.
    [post] = await posts(jerry)
    async with jerry.sessions() as session:
        await session.execute(
            update(SummaryPost)
            .where(SummaryPost.id == post.id)
            .values(status="claimed", ts=None, posted_at=None, claimed_at=SLOT_W48, error=None)
        )
        await session.commit()

    restarted = create_app(settings)
    await restarted.start()
    try:
        results = await restarted.run_summaries(SLOT_W48 + timedelta(minutes=11))
        assert statuses(results) == [("sales-weekly", "2026-W48", "posted")]
    finally:
        await restarted.stop()
    assert main_posts(fake_slack) == [summary]  # found in the channel, not posted again
    [post] = await posts(jerry)
    assert (post.status, post.ts) == ("posted", summary["ts"])
    [looked] = fake_slack.calls_to("conversations.history")
    assert looked["channel"] == SALES and looked["include_all_metadata"] in {"1", "true"}


async def test_two_processes_at_the_same_slot_post_once(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp, settings: Settings, tmp_path: Path
) -> None:
    two = PARIS_MONDAY + PARIS_MONDAY.split("subscriptions:\n")[1].replace(
        "sales-weekly", "cs-weekly"
    ).replace("C0SALES", "C0CS")
    await subscribe(settings, tmp_path, two)
    other = create_app(settings)
    await other.start()
    try:
        for offset in (timedelta(0), timedelta(seconds=30), timedelta(minutes=1)):
            first, second = await asyncio.gather(
                jerry.run_summaries(SLOT_W48 + offset), other.run_summaries(SLOT_W48 + offset)
            )
            assert all(r.status == "posted" for r in first + second)
    finally:
        await other.stop()
    assert len(main_posts(fake_slack, SALES)) == 1
    assert len(main_posts(fake_slack, "C0CS")) == 1
    for name in ("sales-weekly", "cs-weekly"):
        assert [(p.week, p.sequence, p.status) for p in await posts(jerry, name)] == [
            ("2026-W48", 0, "posted")
        ]


async def test_after_a_three_week_downtime_one_post_covers_the_whole_gap(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp, settings: Settings, tmp_path: Path
) -> None:
    await subscribe(settings, tmp_path)
    assert statuses(await jerry.run_summaries(SLOT_W48)) == [("sales-weekly", "2026-W48", "posted")]
    await jerry.stop()
    await shipped(jerry, "Shipped while Jerry was down", date(2026, 12, 2))

    # Down for W49, W50 and W51; back on Wednesday of W51.
    back = SLOT_W48 + timedelta(weeks=3, days=2)
    restarted = create_app(settings)
    await restarted.start()
    try:
        results = await restarted.run_summaries(back)
        assert statuses(results) == [("sales-weekly", "2026-W51", "posted")]
        assert await restarted.run_summaries(back + timedelta(minutes=1)) == []
    finally:
        await restarted.stop()
    assert len(main_posts(fake_slack)) == 2
    assert "Shipped while Jerry was down" in text_of(main_posts(fake_slack)[-1])
    w51 = (await posts(jerry))[-1]
    # Shipped since the last summary: from W48's slot to W51's.
    assert (w51.period_start, w51.period_end) == (SLOT_W48, SLOT_W48 + timedelta(weeks=3))
    assert [p.week for p in await posts(jerry)] == ["2026-W48", "2026-W51"]


async def test_the_scheduler_job_catches_up_once_at_start(
    fake_slack: FakeSlack, settings: Settings, tmp_path: Path, jerry: JerryApp
) -> None:
    """The real Scheduler path: the job registered by JerryApp (JERRY_SUMMARY_CHECK_SECONDS)
    runs at start for what was missed, with the scheduler's clock."""
    await subscribe(settings, tmp_path)
    clock = [SLOT_W48 - timedelta(hours=1)]
    ticking = settings.model_copy(update={"jerry_summary_check_seconds": 60})
    first = create_app(ticking)
    first.scheduler.clock = lambda: clock[0]
    await first.start()  # registers the job (first time anywhere: nothing owed yet)
    await first.stop()
    clock[0] = SLOT_W48 + timedelta(hours=2)
    second = create_app(ticking)
    second.scheduler.clock = lambda: clock[0]
    await second.start()  # catches up: the W48 slot passed while it was down
    await second.scheduler.settle()
    try:
        assert len(main_posts(fake_slack)) == 1
        assert "summaries" in second.scheduler.jobs
    finally:
        await second.stop()


# --- daylight saving ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timezone", "weeks"),
    [
        # Monday 09:00 in Paris: winter time (UTC+1) until Mar 29, summer time (UTC+2) until
        # Oct 25, winter time after.
        (
            "Europe/Paris",
            [
                ("2026-W13", datetime(2026, 3, 23, 8, 0, tzinfo=UTC)),
                ("2026-W14", datetime(2026, 3, 30, 7, 0, tzinfo=UTC)),
                ("2026-W43", datetime(2026, 10, 19, 7, 0, tzinfo=UTC)),
                ("2026-W44", datetime(2026, 10, 26, 8, 0, tzinfo=UTC)),
            ],
        ),
        # Monday 09:00 in New York: standard time (UTC-5) until Mar 8, daylight time (UTC-4)
        # until Nov 1, standard after.
        (
            "America/New_York",
            [
                ("2026-W10", datetime(2026, 3, 2, 14, 0, tzinfo=UTC)),
                ("2026-W11", datetime(2026, 3, 9, 13, 0, tzinfo=UTC)),
                ("2026-W44", datetime(2026, 10, 26, 13, 0, tzinfo=UTC)),
                ("2026-W45", datetime(2026, 11, 2, 14, 0, tzinfo=UTC)),
            ],
        ),
    ],
)
async def test_nine_in_the_morning_stays_nine_across_daylight_saving_changes(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    jerry: JerryApp,
    settings: Settings,
    tmp_path: Path,
    timezone: str,
    weeks: list[tuple[str, datetime]],
) -> None:
    text = PARIS_MONDAY.replace("Europe/Paris", timezone)
    await subscribe(settings, tmp_path, text, now=weeks[0][1] - timedelta(days=2))
    sub = await subscription(jerry)
    for week, slot in weeks:
        assert slot_of_week(sub, week) == slot
        assert week_of(slot, timezone) == week
        # Whatever was owed before (the week before, after the gap in this list) goes first.
        await jerry.run_summaries(slot - timedelta(hours=2))
        # One hour early in UTC terms is not 09:00 there yet.
        assert await jerry.run_summaries(slot - timedelta(minutes=1)) == [], week
        assert statuses(await jerry.run_summaries(slot)) == [("sales-weekly", week, "posted")]
    ends = {p.week: p.period_end for p in await posts(jerry)}
    assert {week: ends[week] for week, _ in weeks} == dict(weeks)
    assert len(main_posts(fake_slack)) == len(ends)


# --- channels Jerry cannot post to, Slack trouble -------------------------------------------


async def test_an_unpostable_channel_is_reported_once_marked_and_not_retried(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp, settings: Settings, tmp_path: Path
) -> None:
    fake_slack.add_channel("C0ARCHIVED", "old-sales", archived=True)
    fake_slack.add_channel("C0NOTIN", "cs", member=False)
    text = PARIS_MONDAY.replace("C0SALES", "C0ARCHIVED") + PARIS_MONDAY.split("subscriptions:\n")[
        1
    ].replace("sales-weekly", "cs-weekly").replace("C0SALES", "C0NOTIN")
    await subscribe(settings, tmp_path, text)

    results = await jerry.run_summaries(SLOT_W48)
    assert sorted((r.subscription, r.status, r.error) for r in results) == [
        ("cs-weekly", "unpostable", "not_in_channel"),
        ("sales-weekly", "unpostable", "is_archived"),
    ]
    await slack.settle()
    alerts = fake_slack.posts("C0PRODOPS")
    assert len(alerts) == 2
    assert any("sales-weekly" in a["text"] and "is_archived" in a["text"] for a in alerts)
    assert any("cs-weekly" in a["text"] and "<#C0NOTIN>" in a["text"] for a in alerts)
    for name, error in (("sales-weekly", "is_archived"), ("cs-weekly", "not_in_channel")):
        sub = await subscription(jerry, name)
        assert (sub.status, sub.status_reason) == ("unpostable", error)
        assert [(p.status, p.error) for p in await posts(jerry, name)] == [("failed", error)]

    attempts = len(fake_slack.calls_to("chat.postMessage"))
    for later in (timedelta(minutes=1), timedelta(days=7), timedelta(days=14)):
        assert await jerry.run_summaries(SLOT_W48 + later) == []
    await slack.settle()
    assert len(fake_slack.calls_to("chat.postMessage")) == attempts  # not retried, no new alert
    with pytest.raises(SummaryError, match="paused"):
        await post_summary(jerry.services, "sales-weekly", now=SLOT_W48 + timedelta(days=14))

    # Jerry is invited; product ops imports the file again: the week is posted.
    fake_slack.add_channel("C0NOTIN", "cs", member=True)
    await subscribe(settings, tmp_path, text, now=SLOT_W48 + timedelta(days=14, hours=1))
    assert (await subscription(jerry, "cs-weekly")).status == "active"
    results = await jerry.run_summaries(SLOT_W48 + timedelta(days=14, hours=1))
    assert sorted((r.subscription, r.week, r.status) for r in results) == [
        ("cs-weekly", "2026-W50", "posted"),
        ("sales-weekly", "2026-W50", "unpostable"),  # still archived: told again, once
    ]
    await slack.settle()
    assert len(fake_slack.posts("C0PRODOPS")) == 3
    assert len(main_posts(fake_slack, "C0NOTIN")) == 1


@pytest.mark.parametrize("trouble", ["server_error", "rate_limited"])
async def test_slack_trouble_gives_the_week_back_and_the_next_tick_posts_it(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    jerry: JerryApp,
    settings: Settings,
    tmp_path: Path,
    trouble: str,
) -> None:
    await subscribe(settings, tmp_path)
    # More failures in a row than the client's own retries (2 for 5xx, 3 for 429).
    if trouble == "server_error":
        fake_slack.server_error_next("chat.postMessage", status=503, times=3)
    else:
        fake_slack.rate_limit_next("chat.postMessage", times=4, retry_after=0)
    results = await jerry.run_summaries(SLOT_W48)
    assert [(r.status, r.error) for r in results] == [
        ("retry", "http_503" if trouble == "server_error" else "ratelimited")
    ]
    assert main_posts(fake_slack) == []
    assert await posts(jerry) == []  # the claim was given back
    assert (await subscription(jerry)).status == "active"

    results = await jerry.run_summaries(SLOT_W48 + timedelta(minutes=1))
    assert statuses(results) == [("sales-weekly", "2026-W48", "posted")]
    assert len(main_posts(fake_slack)) == 1
    await slack.settle()
    assert fake_slack.posts("C0PRODOPS") == []  # trouble that passes is nobody's business


async def test_a_huge_week_overflows_into_thread_replies(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp, settings: Settings, tmp_path: Path
) -> None:
    await subscribe(settings, tmp_path)
    for n in range(150):
        await shipped(jerry, f"Improvement number {n} " + "x" * 200, date(2026, 11, 19))
    [result] = await jerry.run_summaries(SLOT_W48)
    assert result.status == "posted" and result.replies >= 1 and result.error is None
    # Changed with issue 10: the replies are owed through the outbox, which posts them after
    # the run returns (`replies` counts those owed).
    await slack.settle()
    [main] = main_posts(fake_slack)
    replies = fake_slack.thread(SALES, main["ts"])
    assert len(replies) == result.replies
    everything = text_of(main) + "".join(text_of(r) for r in replies)
    assert all(f"Improvement number {n} " in everything for n in range(150))
    assert not fake_slack.violations


# --- sending by hand ----------------------------------------------------------------------


async def test_send_posts_once_a_week_unless_again(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp, settings: Settings, tmp_path: Path
) -> None:
    await subscribe(settings, tmp_path)
    now = SLOT_W48 + timedelta(days=1)
    first = await post_summary(jerry.services, "sales-weekly", now=now)
    assert (first.week, first.status, first.sequence) == ("2026-W48", "posted", 0)
    again = await post_summary(jerry.services, "Sales-Weekly", "2026-W48", now=now)
    assert isinstance(again, PostResult) and again.status == "already_posted"
    assert again.ts == first.ts
    third = await post_summary(jerry.services, "sales-weekly", "2026-W48", again=True, now=now)
    assert (third.status, third.sequence) == ("posted", 1)
    assert third.period == first.period  # the same week, counted the same way
    assert len(main_posts(fake_slack)) == 2
    # The schedule does not post the week a third time.
    assert await jerry.run_summaries(now + timedelta(minutes=1)) == []

    with pytest.raises(SummaryError, match="No weekly summary is named “nope”"):
        await post_summary(jerry.services, "nope", now=now)
    with pytest.raises(SummaryError, match="ISO week"):
        await post_summary(jerry.services, "sales-weekly", "2026-W60", now=now)
    assert parse_week("2026w7") == "2026-W07"


# --- the command line -----------------------------------------------------------------------


async def test_cli_preview_and_send(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    jerry: JerryApp,
    settings: Settings,
    database_url: str,
    tmp_path: Path,
) -> None:
    await subscribe(settings, tmp_path)
    # Stored as Slack writes text (entities); printed as typed.
    await shipped(jerry, "Invoices in PDF &amp; CSV", date(2026, 11, 19))
    # The text and the first send as a real `jerry` process prints them; the other runs
    # through the command's own entry point in this process (a process start costs a second).
    real = Jerry(tmp_path, {"DATABASE_URL": database_url})
    cli = InProcessJerry(tmp_path, {"DATABASE_URL": database_url})
    text, as_json, unknown, bad_week = await asyncio.gather(
        real("summaries", "preview", "sales-weekly", "--week", "2026-W48"),
        cli("summaries", "preview", "sales-weekly", "--week", "2026-W48", "--format", "json"),
        cli("summaries", "preview", "nope"),
        cli("summaries", "preview", "sales-weekly", "--week", "2026-W99"),
    )
    assert text.ok, str(text)
    assert "Invoices in PDF & CSV" in text.stdout
    assert_plain_text(text.stdout)
    assert as_json.ok, str(as_json)
    data = json.loads(as_json.stdout)
    assert "Invoices in PDF" in json.dumps(data, ensure_ascii=False)
    assert "2026-W48" in json.dumps(data)
    assert unknown.returncode == 1 and "No weekly summary is named “nope”" in unknown.stderr
    assert "sales-weekly" in unknown.stderr  # the names there are
    assert bad_week.returncode == 1 and "2026-W99" in bad_week.stderr
    assert "Traceback" not in unknown.stderr + bad_week.stderr
    assert await posts(jerry) == [] and main_posts(fake_slack) == []  # a preview records nothing

    send = cli.with_slack(fake_slack)
    sent = await real.with_slack(fake_slack)(
        "summaries", "send", "sales-weekly", "--week", "2026-W48"
    )
    assert sent.ok, str(sent)
    assert "posted sales-weekly for 2026-W48 in C0SALES" in sent.stdout
    twice = await send("summaries", "send", "sales-weekly", "--week", "2026-W48")
    assert twice.returncode == 1 and "already posted" in twice.stderr and "--again" in twice.stderr
    again = await send("summaries", "send", "sales-weekly", "--week", "2026-W48", "--again")
    assert again.ok, str(again)
    assert len(main_posts(fake_slack)) == 2
    assert "Invoices in PDF" in text_of(main_posts(fake_slack)[0])
    assert [(p.week, p.sequence, p.status) for p in await posts(jerry)] == [
        ("2026-W48", 0, "posted"),
        ("2026-W48", 1, "posted"),
    ]


# --- /jerry summary preview -------------------------------------------------------------------


async def test_slash_jerry_summary_preview_is_ephemeral_and_posts_nothing(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp, settings: Settings, tmp_path: Path
) -> None:
    await subscribe(settings, tmp_path)
    await shipped(jerry, "Invoices in PDF", date(2026, 11, 19))
    jerry.scheduler.clock = lambda: SLOT_W48 - timedelta(hours=1)

    # In the subscription's channel, no name needed; anyone may preview.
    response = await slack.command("/jerry", "summary preview", user="U0REPORTER", channel=SALES)
    assert response.status_code == 200
    assert response.json()["response_type"] == "ephemeral"
    assert "Preparing" in response.json()["text"]
    await slack.settle()
    previews = fake_slack.responses
    assert previews and all(r["response_type"] == "ephemeral" for r in previews)
    assert previews[0]["text"] == (
        "Preview of “sales-weekly” for <#C0SALES>, as it stands now. Only you see this."
    )
    assert any("Invoices in PDF" in text_of(r) for r in previews[1:])
    assert main_posts(fake_slack) == [] and await posts(jerry) == []
    # Elsewhere: by name, or the list of names; an unknown name says so; French for French.
    fake_slack.responses.clear()
    await slack.command("/jerry", "summary preview sales-weekly", channel="C0GENERAL")
    await slack.settle()
    assert any("Invoices in PDF" in text_of(r) for r in fake_slack.responses)
    fake_slack.responses.clear()
    await slack.command("/jerry", "summary", channel="C0GENERAL")
    await slack.settle()
    assert [r["text"] for r in fake_slack.responses] == [
        "Which summary? Type `/jerry summary preview NAME` with one of: `sales-weekly`."
    ]
    fake_slack.responses.clear()
    await slack.command("/jerry", "résumé aperçu nope", user="U0FRENCH", channel="C0GENERAL")
    await slack.settle()
    [answer] = fake_slack.responses
    assert answer["text"].startswith(spaced("Aucun résumé hebdomadaire ne s’appelle « nope »"))

    # Anything else: the help, at once, and nothing after.
    fake_slack.responses.clear()
    response = await slack.command("/jerry", "hello")
    assert "/jerry summary preview" in json.dumps(response.json()["blocks"])
    await slack.settle()
    assert fake_slack.responses == []


# --- the next post: what /shipped this morning is in, what the preview shows -----------------


async def record_shipped(
    slack: SlackDriver, monkeypatch: pytest.MonkeyPatch, title: str, at: datetime
) -> None:
    """A PM types /shipped at `at` and fills the form: shipped today, in Billing."""
    from tests.test_e2e_updates import area_value, form_values, open_form, submit

    monkeypatch.setattr("handlers.updates.now", lambda: at)
    view = await open_form(slack, "/shipped")
    today = at.astimezone(ZoneInfo("Europe/Paris")).date().isoformat()
    values = form_values(title=title, when=today, area=area_value(view, "Billing"))
    assert await submit(slack, view, values) is None


async def test_shipped_before_the_post_is_in_it_after_it_in_the_next_and_the_preview_shows_it(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    jerry: JerryApp,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await subscribe(settings, tmp_path)
    await shipped(jerry, "Invoices in PDF", date(2026, 11, 19))
    assert statuses(await jerry.run_summaries(SLOT_W48)) == [("sales-weekly", "2026-W48", "posted")]

    # Monday Nov 30: typed at 08:30 in Paris, the 09:00 post has it; typed at 10:00, it waits.
    slot_w49 = SLOT_W48 + timedelta(days=7)
    await record_shipped(
        slack, monkeypatch, "Refunds in one click", slot_w49 - timedelta(minutes=30)
    )
    assert statuses(await jerry.run_summaries(slot_w49)) == [("sales-weekly", "2026-W49", "posted")]
    await record_shipped(slack, monkeypatch, "SEPA direct debit", slot_w49 + timedelta(hours=1))
    w48, w49 = main_posts(fake_slack)
    assert "Invoices in PDF" in text_of(w48) and "Refunds in one click" not in text_of(w48)
    assert "Refunds in one click" in text_of(w49)
    assert "Invoices in PDF" not in text_of(w49) and "SEPA direct debit" not in text_of(w49)
    # Each post says its days, both included: Monday 09:00 to Monday 09:00.
    assert "Nov 23 – Nov 30 · areas: Billing" in text_of(w49)

    # On Wednesday, the preview is the next post (Monday Dec 7, 09:00 in Paris) so far.
    wednesday = slot_w49 + timedelta(days=2, hours=5)
    jerry.scheduler.clock = lambda: wednesday
    fake_slack.responses.clear()
    await slack.command("/jerry", "summary preview", user="U0REPORTER", channel=SALES)
    await slack.settle()
    note, post, *replies = fake_slack.responses
    assert "sales-weekly" in note["text"]
    slot_w50 = int((slot_w49 + timedelta(days=7)).timestamp())
    assert post["blocks"][1]["elements"][0]["text"] == (
        f"Next post <!date^{slot_w50}^{{date_short_pretty}} {{time}}|2026-12-07 09:00 "
        "Europe/Paris> — so far: Nov 30 – Dec 2 · areas: Billing"
    )
    assert "SEPA direct debit" in text_of(post) and "Refunds in one click" not in text_of(post)
    sub = await subscription(jerry)
    buttons = next(b for b in post["blocks"] if b["type"] == "actions")["elements"]
    assert {b["value"] for b in buttons} == {f"{sub.id}:2026-W50"}
    assert "How these numbers are counted" in text_of(replies[-1])
    assert len(main_posts(fake_slack)) == 2 and len(await posts(jerry)) == 2

    # `jerry summaries preview` says the same, in plain local time (the CLI's clock: now).
    capsys.readouterr()
    assert await cli_preview(settings, "sales-weekly", now=wednesday) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[1] == "Next post Mon Dec 7, 09:00 — so far: Nov 30 – Dec 2 · areas: Billing"
    assert "- SEPA direct debit (Billing, shipped Nov 30, customer-facing)" in printed

    # At 09:00 on Monday Dec 7, the post has what the preview showed, and only that.
    results = await jerry.run_summaries(slot_w49 + timedelta(days=7))
    assert statuses(results) == [("sales-weekly", "2026-W50", "posted")]
    w50 = main_posts(fake_slack)[-1]
    assert "SEPA direct debit" in text_of(w50) and "Refunds in one click" not in text_of(w50)
    assert [(p.period_start, p.period_end) for p in await posts(jerry)][1:] == [
        (SLOT_W48, slot_w49),
        (slot_w49, slot_w49 + timedelta(days=7)),
    ]


async def test_the_method_note_arrives_as_a_thread_reply_not_in_the_post(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp, settings: Settings, tmp_path: Path
) -> None:
    french = PARIS_MONDAY.replace("language: en", "language: fr")
    await subscribe(settings, tmp_path, french)
    await shipped(jerry, "Factures en PDF", date(2026, 11, 19))
    [result] = await jerry.run_summaries(SLOT_W48)
    assert (result.status, result.replies) == ("posted", 1)  # a quiet week: the note only
    await slack.settle()
    [post] = main_posts(fake_slack)
    assert spaced("Comment ils sont calculés : dans le fil.") in text_of(post)
    assert spaced("Demandes routées : créées pendant la période") not in text_of(post)
    [note] = fake_slack.thread(SALES, post["ts"])
    assert note["thread_ts"] == post["ts"]
    assert "*Comment ces chiffres sont calculés*" in text_of(note)
    assert spaced("Demandes routées : créées pendant la période") in text_of(note)
    # Owed through the outbox like every reply of a summary.
    async with jerry.sessions() as session:
        purposes = (
            await session.execute(
                select(Delivery.purpose, Delivery.status).where(Delivery.purpose == REPLY)
            )
        ).all()
    assert [tuple(row) for row in purposes] == [(REPLY, "sent")]
    assert not fake_slack.violations
