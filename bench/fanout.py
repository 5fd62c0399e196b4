"""A survey to 5 000 people and a weekly summary to 50 channels, under Slack's limits.

The fake Slack Web API (bot/sandbox/slack_api.py) runs in a process of its own and enforces:

- chat.postMessage about 1 per second per channel, with short bursts (`--channel-burst`);
- a workspace-wide ceiling on chat.postMessage (`--workspace-rate`, default 50 messages/s).
  Slack publishes no number for it: this is an ASSUMPTION, a parameter of the benchmark;
- the per-method tiers of the methods Jerry calls (Tier 2 20/min, Tier 3 50/min, Tier 4
  100/min: bot/sandbox/slack_api.py METHOD_TIERS);
- random 429s on `--random-429` of all calls (default 2 %);
- `--latency` seconds per call (a network round trip to Slack, default 50 ms).

Every limit answers HTTP 429 with Retry-After, as Slack does. In this process Jerry (its
real app: outbox worker, survey rounds, summaries) starts a round of a survey of
`--questions` questions to `--people` people by DM and posts the week's summary to
`--channels` channels (its scheduler job, run again every `--summary-tick` seconds, as the
scheduler would, until every channel has it), both at once. The run ends when every ask is
sent and every summary posted.

The script then checks, from what the fake Slack holds, that each person's DM has exactly
one message (every question and the Answer button, in the person's language), and each
channel the summary exactly once (each of its parts once); and reports the time against the
bound those limits set:

    bound = max(posts / workspace ceiling, the busiest channel's posts at 1 a second)

(less the bursts the fake allows), with the ratio, the 429s seen and the calls made.

    .venv/bin/python bench/fanout.py [--people 5000] [--channels 50] [--database-url URL]

Without --database-url it uses a new SQLite file in a temporary directory; a PostgreSQL URL
must name a database the script may empty (e.g. jerry_bench_fanout). Numbers: BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiohttp import ClientSession, web  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from bot.app import create_app  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.db import upgrade_sync  # noqa: E402
from bot.summaries.posting import run_due_summaries  # noqa: E402
from bot.surveys.rounds import ASK, start_round  # noqa: E402
from models import Base  # noqa: E402
from models.deliveries import Delivery  # noqa: E402
from models.summaries import SummaryPost, SummarySubscription  # noqa: E402
from models.surveys import Survey  # noqa: E402
from tests.fakeslack import BOT_USER_ID, METHOD_TIERS, TOKEN, FakeSlack  # noqa: E402

QUESTIONS = [
    {"id": "q1", "kind": "scale5", "text": "Do customer-facing teams know your priorities?"},
    {"id": "q2", "kind": "scale5", "text": "Has product ops given you data that shaped it?"},
    {"id": "q3", "kind": "scale5", "text": "Do you know what customer-facing teams need?"},
    {"id": "q4", "kind": "text", "text": "Where does your time go?"},
]
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)  # a Monday; summaries are due at 09:00
SURVEY_EVENT, SUMMARY_EVENT = "jerry_delivery", "jerry_summary"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the fake Slack, in its own process ---------------------------------------------------------


def report(fake: FakeSlack) -> dict[str, Any]:
    """What the benchmark checks, computed where the messages are."""
    calls: collections.Counter[str] = collections.Counter()
    limited: collections.Counter[str] = collections.Counter()
    for call in fake.calls:
        calls[call.method] += 1
        if call.status == 429:
            limited[call.method] += 1
    intros: dict[str, int] = {}  # DM channel → intros posted
    french = 0  # round messages in French (to the people whose Slack speaks it)
    parts: dict[str, collections.Counter[int]] = {}  # channel → message part → times
    summary_parts: dict[str, collections.Counter[int]] = {}
    for channel, messages in fake.messages.items():
        for message in messages:
            if message.get("user") != BOT_USER_ID:
                continue
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == SURVEY_EVENT:
                part = int(payload.get("part") or 0)
                parts.setdefault(channel, collections.Counter())[part] += 1
                if not message.get("thread_ts"):
                    intros[channel] = intros.get(channel, 0) + 1
                    if "Répondre" in json.dumps(message.get("blocks"), ensure_ascii=False):
                        french += 1
            elif metadata.get("event_type") == SUMMARY_EVENT:
                part = int(payload.get("part") or 0)
                summary_parts.setdefault(channel, collections.Counter())[part] += 1
    posts = [c for c in fake.calls if c.method == "chat.postMessage" and c.ok]
    per_channel = collections.Counter(str(c.response.get("channel")) for c in posts)
    return {
        "calls": dict(calls),
        "limited": dict(limited),
        "intros": intros,
        "french": french,
        "parts": {k: dict(v) for k, v in parts.items()},
        "summary_parts": {k: dict(v) for k, v in summary_parts.items()},
        "posts": len(posts),
        "busiest_channel_posts": max(per_channel.values(), default=0),
        "first_post": min((c.at for c in posts), default=0.0),
        "last_post": max((c.at for c in posts), default=0.0),
    }


async def serve_fake(config: dict[str, Any]) -> None:
    fake = FakeSlack()
    fake.auto_users = True
    fake.channel_post_interval = 1.0
    fake.channel_post_burst = config["channel_burst"]
    fake.workspace_post_rate = config["workspace_rate"]
    fake.method_limits = dict(METHOD_TIERS)
    fake.random_429_rate = config["random_429"]
    fake.latency = config["latency"]
    # The workspace knows the people (users.list lists them): half speak French, so each
    # person's message is in their language, read from one users.list pass at round start.
    for n in range(config["people"]):
        fake.add_user(f"U{n:07d}", locale="fr-FR" if n % 2 else "en-US")
    await fake.start(config["port"])

    async def give_report(_request: web.Request) -> web.Response:
        return web.json_response(report(fake))

    app = web.Application()
    app.router.add_get("/report", give_report)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", config["report_port"]).start()
    print("ready", flush=True)
    await asyncio.Event().wait()


# --- Jerry, in this process ---------------------------------------------------------------------


async def prepare(app: Any, people: list[str], channels: list[str], questions: int) -> None:
    async with app.sessions() as session:
        if session.bind.dialect.name == "postgresql":
            tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            await session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        session.add(
            Survey(
                name="pulse",
                title="PM pulse",
                owner_channel="C0PRODOPS",
                audience_kind="users",
                audience=people,
                deliver_in="dm",
                schedule={"day_of_week": "mon", "hour": 10},
                timezone="UTC",
                open_for="3d",
                anonymous=False,
                language="en",
                questions=QUESTIONS[:questions],
                archived=False,
                created_at=NOW - timedelta(days=30),
            )
        )
        for n, channel in enumerate(channels):
            session.add(
                SummarySubscription(
                    name=f"revenue-{n}",
                    channel=channel,
                    weekday=0,
                    time="09:00",
                    timezone="UTC",
                    language="en",
                    created_at=NOW - timedelta(days=30),
                )
            )
        await session.commit()


async def owed(app: Any) -> tuple[int, int]:
    """(asks not sent yet, summaries not posted yet)."""
    async with app.sessions() as session:
        asks = await session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.purpose == ASK, Delivery.status != "sent")
        )
        posted = await session.scalar(
            select(func.count()).select_from(SummaryPost).where(SummaryPost.status == "posted")
        )
        subscriptions = await session.scalar(select(func.count()).select_from(SummarySubscription))
    return int(asks or 0), int(subscriptions or 0) - int(posted or 0)


async def run(options: argparse.Namespace, url: str, port: int, report_port: int) -> dict:
    people = [f"U{n:07d}" for n in range(options.people)]
    channels = [f"C0REV{n:04d}" for n in range(options.channels)]
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token=TOKEN,
        slack_signing_secret="bench",
        slack_api_url=f"http://127.0.0.1:{port}/api/",
        database_url=url,
        jerry_reminder_seconds=0,
        jerry_summary_check_seconds=0,  # the benchmark runs the summaries' job itself
        jerry_feed_minutes=0,
        jerry_survey_check_seconds=0,
        jerry_outbox_alert_minutes=0,
        jerry_outbox_concurrency=options.concurrency,
    )
    app = create_app(settings)
    await prepare(app, people, channels, options.questions)
    await app.start()
    started = time.monotonic()
    result = await start_round(app.services, "pulse", now=NOW)
    round_started = time.monotonic() - started
    assert result.status == "started", result

    async def summaries() -> None:
        while (await owed(app))[1]:
            await run_due_summaries(app.services, NOW)
            if (await owed(app))[1]:
                await asyncio.sleep(options.summary_tick)

    summaries_task = asyncio.create_task(summaries())
    while True:
        asks, _ = await owed(app)
        if not asks and summaries_task.done():
            break
        await asyncio.sleep(0.1)
    await summaries_task
    elapsed = time.monotonic() - started
    await app.stop()
    async with (
        ClientSession() as http,
        http.get(f"http://127.0.0.1:{report_port}/report") as response,
    ):
        fake = await response.json()
    return {"elapsed": elapsed, "round_started": round_started, "fake": fake}


def check(options: argparse.Namespace, fake: dict[str, Any]) -> None:
    """Everyone asked exactly once (one message: the questions and the Answer button); each
    channel the summary exactly once."""
    wanted = {"1": 1}  # JSON keys
    dms = [f"D{n:07d}" for n in range(options.people)]
    wrong = [dm for dm in dms if fake["intros"].get(dm) != 1 or fake["parts"].get(dm) != wanted]
    assert not wrong, f"{len(wrong)} people not asked exactly once, e.g. {wrong[:3]}"
    french = options.people // 2
    assert fake["french"] == french, f"{fake['french']} asked in French, not {french}"
    summaries = fake["summary_parts"]
    assert len(summaries) == options.channels, f"{len(summaries)} channels got a summary"
    bad = [c for c, parts in summaries.items() if set(parts.values()) != {1} or "0" not in parts]
    assert not bad, f"summaries posted more or less than once: {bad[:3]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--questions", type=int, default=2, choices=range(1, 5))
    parser.add_argument("--channels", type=int, default=50)
    parser.add_argument("--workspace-rate", type=float, default=50.0, help="messages/s (assumed)")
    parser.add_argument("--channel-burst", type=int, default=3)
    parser.add_argument("--random-429", type=float, default=0.02)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per Slack call")
    parser.add_argument("--concurrency", type=int, default=8, help="JERRY_OUTBOX_CONCURRENCY")
    parser.add_argument("--summary-tick", type=float, default=10.0)
    parser.add_argument("--database-url")
    parser.add_argument("--fake", help=argparse.SUPPRESS)  # the fake Slack's process
    options = parser.parse_args()
    if options.fake:
        asyncio.run(serve_fake(json.loads(options.fake)))
        return
    port, report_port = free_port(), free_port()
    config = {
        "port": port,
        "report_port": report_port,
        "channel_burst": options.channel_burst,
        "workspace_rate": options.workspace_rate,
        "random_429": options.random_429,
        "latency": options.latency,
        "people": options.people,
    }
    fake = subprocess.Popen(
        [sys.executable, __file__, "--fake", json.dumps(config)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert fake.stdout is not None and fake.stdout.readline().strip() == "ready"
        with tempfile.TemporaryDirectory() as tmp:
            url = options.database_url or f"sqlite+aiosqlite:///{tmp}/bench.db"
            upgrade_sync(url)
            outcome = asyncio.run(run(options, url, port, report_port))
    finally:
        fake.terminate()
        fake.wait()
    data = outcome["fake"]
    check(options, data)
    posts = data["posts"]
    workspace_bound = max(0.0, posts - options.workspace_rate) / options.workspace_rate
    channel_bound = max(0, data["busiest_channel_posts"] - options.channel_burst) / 1.0
    bound = max(workspace_bound, channel_bound)
    elapsed = outcome["elapsed"]
    limited = sum(data["limited"].values())
    calls = sum(data["calls"].values())
    concurrency = options.concurrency
    print(
        f"{options.people} people × 1 message, {options.channels} "
        f"summaries; {url.split(':')[0]}; ceiling {options.workspace_rate:g}/s, latency "
        f"{options.latency * 1000:.0f} ms, random 429 {options.random_429:.0%}, "
        f"outbox concurrency {concurrency}"
    )
    print("everyone asked exactly once; each channel's summary posted exactly once")
    print(
        f"posts {posts}; bound {bound:.1f} s (workspace {workspace_bound:.1f} s, busiest "
        f"channel {channel_bound:.1f} s); measured {elapsed:.1f} s (round started in "
        f"{outcome['round_started']:.1f} s); ratio {elapsed / bound if bound else 0:.2f}"
    )
    print(f"calls {calls}, 429s {limited}")
    print("calls per method:", json.dumps(data["calls"], sort_keys=True))
    print("429s per method:", json.dumps(data["limited"], sort_keys=True))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
