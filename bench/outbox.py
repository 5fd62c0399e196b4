"""What one outbox delivery costs in CPU, against the floor of posting the same message.

Starts the fake Slack Web API (bot/sandbox/slack_api.py) in a process of its own (its CPU is not
counted), migrates a database, and in this process, in the same run:

1. the floor: N chat.postMessage calls with the outbox's client and its pooled HTTP session
   (what any app must spend to post N messages);
2. the same N calls with a new HTTP session per call (slack_sdk's default without `session=`,
   which is what Jerry's outbox did before);
3. Jerry's outbox draining N owed messages (triage alerts to 50 people: claim, load, render,
   post, record), with the same client.

It reports CPU milliseconds per message (time.process_time) and messages per second, each
the median of --rounds rounds, and the ratio of (3) to (1). Numbers: BENCHMARKS.md.

    .venv/bin/python bench/outbox.py [--messages 500] [--rounds 3] [--database-url URL]

Without --database-url it uses a new SQLite file in a temporary directory; a PostgreSQL URL
must name a database the script may empty.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import delete  # noqa: E402

from bot.app import create_app  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.db import upgrade_sync  # noqa: E402
from bot.outbox.store import enqueue  # noqa: E402
from bot.slack import outbox_client  # noqa: E402
from models.deliveries import Delivery  # noqa: E402
from tests.fakeslack import TOKEN  # noqa: E402

PEOPLE = [f"U0BENCH{n:03d}" for n in range(50)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_for_port(port: int) -> None:
    for _ in range(200):
        with contextlib.suppress(OSError):
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        await asyncio.sleep(0.05)
    raise RuntimeError("the fake Slack did not start")


async def measure(n: int, work: object) -> tuple[float, float]:
    """(CPU ms per message, messages per second) of `await work()`."""
    cpu, wall = time.process_time(), time.perf_counter()
    await work()  # type: ignore[operator]
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return cpu * 1000 / n, n / wall


async def run(n: int, rounds: int, url: str, port: int) -> None:
    await wait_for_port(port)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token=TOKEN,
        slack_signing_secret="bench",
        slack_api_url=f"http://127.0.0.1:{port}/api/",
        database_url=url,
        jerry_reminder_seconds=0,
        jerry_summary_check_seconds=0,
        jerry_feed_minutes=0,
        jerry_survey_check_seconds=0,
        jerry_outbox_alert_minutes=0,
    )
    app = create_app(settings)
    await app.start()
    await app.worker.stop()  # only the measured drains send
    async with app.sessions() as session:
        await session.execute(delete(Delivery))
        await session.commit()
    pooled = app.outbox_client
    unpooled = outbox_client(settings)

    async def posts(client: object) -> None:
        for i in range(n):
            await client.chat_postMessage(  # type: ignore[attr-defined]
                channel=PEOPLE[i % len(PEOPLE)], text=f"message {i}"
            )

    async def outbox() -> None:
        await app.worker.drain()

    async def owe() -> None:
        async with app.sessions() as session:
            for i in range(n):
                delivery = enqueue(session, "triage_alert", recipient=PEOPLE[i % len(PEOPLE)])
                # `item` in an alert's params is the item's number, not enqueue's Item.
                delivery.params = {
                    "alert": "undeliverable",
                    "item": i,
                    "who": "U0SOMEONE",
                    "error": "bench",
                }
            await session.commit()

    # Warm up: the people's languages are cached, connections open.
    await owe()
    await outbox()
    results: dict[str, list[tuple[float, float]]] = {"floor": [], "unpooled": [], "jerry": []}
    for _ in range(rounds):
        results["floor"].append(await measure(n, lambda: posts(pooled)))
        results["unpooled"].append(await measure(n, lambda: posts(unpooled)))
        await owe()
        results["jerry"].append(await measure(n, outbox))
    await app.stop()
    print(f"{n} messages × {rounds} rounds, {url.split(':')[0]}")
    print("| what | CPU ms / message | messages/s |")
    print("|---|---:|---:|")
    medians = {}
    for name, label in [
        ("floor", "chat.postMessage, pooled session (the floor)"),
        ("unpooled", "chat.postMessage, a new session per call"),
        ("jerry", "Jerry's outbox (claim, render, post, record)"),
    ]:
        cpu = statistics.median(r[0] for r in results[name])
        rate = statistics.median(r[1] for r in results[name])
        medians[name] = cpu
        print(f"| {label} | {cpu:.2f} | {rate:.0f} |")
    print(f"ratio Jerry / floor (CPU): {medians['jerry'] / medians['floor']:.2f}")
    print(f"ratio unpooled / floor (CPU): {medians['unpooled'] / medians['floor']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url")
    options = parser.parse_args()
    port = free_port()
    fake = subprocess.Popen(
        [sys.executable, "-m", "tests.fakeslack", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = options.database_url or f"sqlite+aiosqlite:///{tmp}/bench.db"
            upgrade_sync(url)
            asyncio.run(run(options.messages, options.rounds, url, port))
    finally:
        fake.terminate()
        fake.wait()


if __name__ == "__main__":
    main()
