"""End to end: the product-ops report posted on schedule, once per period, to product ops'
channel and by DM, with its thread, chart, method note and downloads.

The scheduler's job (`JerryApp.run_insights_report(now)`) runs with the test's clock; the bot
posts through the real slack_sdk client to the fake Slack; every test runs on SQLite and
PostgreSQL. Two processes are two JerryApps ticking at once; a restart is a new JerryApp.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import JerryApp, create_app
from bot.config import Settings
from bot.insights.cli import report_command
from bot.insights.periods import parse_period
from bot.insights.report import owe_report, report_settings
from bot.summaries.cli import import_file
from models.insights import InsightReport
from tests.fakeslack import FakeSlack
from tests.harness import SlackDriver
from tests.test_insights_numbers import _history

OPS = "C0OPS"
REPORT = """\
subscriptions: []
report:
  channel: C0OPS
  dm: [U0CPO, cpo@example.com]
  timezone: Europe/Paris
  language: en
  monthly: {day: 1, time: "09:00"}
  quarterly: {day: 2, time: "09:00"}
"""
IMPORTED = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
# December 1st, 09:00 in Paris (UTC+1): November's report.
MONTHLY_SLOT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
async def reporting(
    jerry: JerryApp, fake_slack: FakeSlack, settings: Settings, tmp_path: Path
) -> JerryApp:
    fake_slack.add_channel(OPS, "product-ops-reports")
    fake_slack.add_user("U0CPO", "carla")
    fake_slack.add_user("U0CPO2", "cpo", email="cpo@example.com")
    async with jerry.sessions() as session:
        await _history(session)
    path = tmp_path / "summaries.yml"
    path.write_text(REPORT, encoding="utf-8")
    assert await import_file(settings, path, now=IMPORTED) == 0
    return jerry


def posts(fake: FakeSlack, channel: str) -> list[dict[str, Any]]:
    return [m for m in fake.messages.get(channel, []) if not m.get("thread_ts")]


def thread(fake: FakeSlack, channel: str, ts: str) -> list[dict[str, Any]]:
    return [m for m in fake.messages.get(channel, []) if m.get("thread_ts") == ts]


def text_of(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks") or [], ensure_ascii=False) + message.get("text", "")


async def reports(jerry: JerryApp) -> list[tuple[str, int, str]]:
    async with jerry.sessions() as session:
        rows = await session.execute(
            select(InsightReport).order_by(InsightReport.period, InsightReport.sequence)
        )
        return [(r.period, r.sequence, r.status) for r in rows.scalars()]


async def test_posted_at_its_slot_once_with_thread_chart_method_note_and_dms(
    reporting: JerryApp, slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    jerry = reporting
    assert await jerry.run_insights_report(MONTHLY_SLOT - timedelta(minutes=1)) == []
    [result] = await jerry.run_insights_report(MONTHLY_SLOT)
    assert (result.period, result.outcome, result.recipients) == ("month:2026-11", "owed", 3)
    await slack.settle()
    [post] = posts(fake_slack, OPS)
    body = text_of(post)
    assert "Product-ops report, November 2026" in body
    # November in Paris: items 3, 4, 5, 7 came in; 4 and 7 were resolved, one past answer reused.
    assert "4 items in" in body and "2 pain points (2 bugs), 2 questions" in body
    assert "insights_report_download_csv" in body and "insights_report_download_md" in body
    replies = thread(fake_slack, OPS, post["ts"])
    assert "How each number is computed" in text_of(replies[-1])  # the method note, last
    assert any("By team" in text_of(reply) for reply in replies)
    [chart] = [f for f in fake_slack.files.values() if f.get("thread_ts") == post["ts"]]
    assert chart["name"].endswith(".png") and "Bug trend" in (chart["initial_comment"] or "")
    # By DM: the person listed by id, and the one listed by email (users.lookupByEmail).
    for user in ("U0CPO", "U0CPO2"):
        [dm] = posts(fake_slack, fake_slack.dm_channel(user))
        assert "Product-ops report, November 2026" in text_of(dm)
        assert "How each number is computed" in text_of(
            thread(fake_slack, fake_slack.dm_channel(user), dm["ts"])[-1]
        )
    # Later ticks, and the quarterly slot before the report existed, owe nothing more.
    for later in (MONTHLY_SLOT + timedelta(minutes=1), MONTHLY_SLOT + timedelta(days=1)):
        assert await jerry.run_insights_report(later) == []
    await slack.settle()
    assert len(posts(fake_slack, OPS)) == 1
    assert await reports(jerry) == [("month:2026-11", 0, "posted")]
    # January: December's report (1st) and the fourth quarter's (2nd).
    [december] = await jerry.run_insights_report(datetime(2027, 1, 1, 8, 0, tzinfo=UTC))
    [quarter] = await jerry.run_insights_report(datetime(2027, 1, 2, 8, 0, tzinfo=UTC))
    assert (december.period, quarter.period) == ("month:2026-12", "quarter:2026-Q4")
    await slack.settle()
    titles = [post["text"] for post in posts(fake_slack, OPS)]
    assert titles == [
        "Product-ops report, November 2026",
        "Product-ops report, December 2026",
        "Product-ops report, Q4 2026",
    ]


async def test_two_processes_at_the_same_slot_post_once(
    reporting: JerryApp, slack: SlackDriver, fake_slack: FakeSlack, settings: Settings
) -> None:
    other = create_app(settings)
    await other.start()
    try:
        for offset in (timedelta(0), timedelta(seconds=30)):
            await asyncio.gather(
                reporting.run_insights_report(MONTHLY_SLOT + offset),
                other.run_insights_report(MONTHLY_SLOT + offset),
            )
        await other.drain()
    finally:
        await other.stop()
    await slack.settle()
    assert len(posts(fake_slack, OPS)) == 1
    assert len(posts(fake_slack, fake_slack.dm_channel("U0CPO"))) == 1
    assert await reports(reporting) == [("month:2026-11", 0, "posted")]


async def test_a_restart_after_the_claim_posts_it_once(
    reporting: JerryApp, fake_slack: FakeSlack, settings: Settings
) -> None:
    # Claimed and owed, then the process stops before its outbox sent anything.
    async with reporting.sessions() as session:
        stored = await report_settings(session)
    assert stored is not None
    period = parse_period("2026-11", "Europe/Paris")
    await owe_report(reporting.sessions, stored, period, now=MONTHLY_SLOT)
    await reporting.stop()
    assert posts(fake_slack, OPS) == []
    restarted = create_app(settings)
    await restarted.start()
    try:
        assert await restarted.run_insights_report(MONTHLY_SLOT + timedelta(minutes=1)) == []
        await restarted.drain()
    finally:
        await restarted.stop()
    assert len(posts(fake_slack, OPS)) == 1


async def test_downloads_for_listed_people_and_admins_only(
    reporting: JerryApp, slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    await reporting.run_insights_report(MONTHLY_SLOT)
    await slack.settle()
    [post] = posts(fake_slack, OPS)
    before = len(fake_slack.files)
    await slack.click(post, OPS, "insights_report_download_md", user="U0REPORTER")
    await slack.settle()
    assert len(fake_slack.files) == before  # refused, in words
    [refused] = fake_slack.responses
    assert refused["response_type"] == "ephemeral"
    assert "Only product-ops admins and the people the report is sent to" in refused["text"]
    await slack.click(post, OPS, "insights_report_download_csv", user="U0CPO")
    await slack.click(post, OPS, "insights_report_download_md", user="U0CPO")
    await slack.settle()
    uploaded = [f for f in fake_slack.files.values() if f["name"].startswith("product-ops-report")]
    assert sorted(f["name"] for f in uploaded) == [
        "product-ops-report-2026-11.csv",
        "product-ops-report-2026-11.md",
    ]
    csv_file = next(f for f in uploaded if f["name"].endswith(".csv"))
    content = bytes(csv_file["content"]).decode("utf-8")
    assert content.startswith("period,scope,name,metric,value,previous\n")
    assert "2026-11,all,,items,4," in content
    markdown = bytes(next(f for f in uploaded if f["name"].endswith(".md"))["content"]).decode()
    assert markdown.startswith("# Product-ops report, November 2026")
    assert "## By team" in markdown and "## How each number is computed" in markdown
    assert sorted(r["text"] for r in fake_slack.responses[1:]) == [
        "Here is the report for November 2026 (CSV).",
        "Here is the report for November 2026 (Markdown).",
    ]


async def test_send_from_the_cli_once_unless_again(
    reporting: JerryApp, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.admin_files import CommandError

    now = MONTHLY_SLOT + timedelta(days=3)
    assert (
        await report_command(settings, period="2026-11", fmt="md", send=True, again=False, now=now)
        == 0
    )
    assert "November 2026 report is owed to C0OPS and 2 people" in capsys.readouterr().out
    with pytest.raises(CommandError, match="posted already"):
        await report_command(settings, period="2026-11", fmt="md", send=True, again=False, now=now)
    assert (
        await report_command(settings, period="2026-11", fmt="md", send=True, again=True, now=now)
        == 0
    )
    assert [r[:2] for r in await reports(reporting)] == [("month:2026-11", 0), ("month:2026-11", 1)]
    # The scheduler finds the month taken.
    assert await reporting.run_insights_report(MONTHLY_SLOT + timedelta(days=4)) == []
