"""How fast Jerry acks /painpoint, compared with a bare Bolt app that only acks.

Starts, on 127.0.0.1: a fake Slack Web API (bot/sandbox/slack_api.py), `jerry serve` with a
routing model imported, and bench/bare_app.py; then sends the same signed /painpoint
requests to each, CONCURRENCY at a time, and reports acks per second and p50/p99 ack
latency, and Jerry's ratios to the bare app. Targets: throughput ratio >= 0.8 and
p99 <= 1.5 x the bare app's p99. Numbers are recorded in BENCHMARKS.md.

    .venv/bin/python bench/ack.py [--requests 2000] [--concurrency 50] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SECRET = "bench-signing-secret"
TOKEN = "xoxb-test"
ROUTING = """\
triage:
  lead: U0PRODOPS
teams:
  - name: Payments
    lead: U0PAYLEAD
    areas:
      - name: Billing
        keywords: [invoice, billing, refund, facture]
  - name: Mobile
    lead: U0MOBLEAD
    areas:
      - name: iOS app
        keywords: [ios, iphone, crash]
"""
TEXTS = ["the invoice total is wrong for Acme", "iOS app crash on login", "where is the roadmap?"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def signed(body: str) -> dict[str, str]:
    ts = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
    }


def command_body(n: int) -> str:
    return urlencode(
        {
            "token": "legacy",
            "team_id": "T0JERRY",
            "team_domain": "bench",
            "channel_id": "C0GENERAL",
            "channel_name": "general",
            "user_id": f"U0USER{n % 97}",
            "user_name": "bench",
            "command": "/painpoint",
            "text": f"{TEXTS[n % len(TEXTS)]} #{n}",
            "api_app_id": "A0JERRY",
            "response_url": "http://127.0.0.1:9/response",
            "trigger_id": f"bench.{n}.{time.time_ns()}",
        }
    )


async def wait_up(url: str, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with session.get(url) as response:
                    if response.status < 500:
                        return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


async def load(url: str, total: int, concurrency: int, offset: int) -> tuple[float, list[float]]:
    """Send `total` requests, `concurrency` at a time; return (seconds, latencies)."""
    latencies: list[float] = []
    counter = iter(range(total))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            for n in counter:
                body = command_body(offset + n)
                start = time.perf_counter()
                async with session.post(url, data=body.encode(), headers=signed(body)) as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"{url} answered {response.status}")
                latencies.append(time.perf_counter() - start)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, latencies


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(name: str, seconds: float, latencies: list[float]) -> dict[str, float | str]:
    return {
        "app": name,
        "requests": len(latencies),
        "acks_per_second": len(latencies) / seconds,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
    }


async def run_cli(args: list[str], env: dict[str, str]) -> None:
    process = await asyncio.create_subprocess_exec(
        str(BIN / "jerry"),
        *args,
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    if process.returncode:
        raise RuntimeError(f"jerry {' '.join(args)} failed: {output.decode()}")


def start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT)


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternating rounds; the best of each is kept"
    )
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary folder")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="jerry-bench-"))
    slack_port, jerry_port, bare_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": f"http://127.0.0.1:{slack_port}/api/",
        "DATABASE_URL": args.database_url or f"sqlite+aiosqlite:///{work / 'jerry.db'}",
        "PYTHONPATH": str(ROOT),
    }
    (work / "routing.yml").write_text(ROUTING)
    processes = [
        start(
            [str(BIN / "python"), "-m", "tests.fakeslack", "--port", str(slack_port)],
            env,
            work / "fakeslack.log",
        )
    ]
    try:
        await wait_up(f"http://127.0.0.1:{slack_port}/api/api.test")
        await run_cli(["db", "upgrade"], env)
        await run_cli(["routing", "import", str(work / "routing.yml")], env)
        processes.append(
            start(
                [
                    str(BIN / "jerry"),
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(jerry_port),
                    "--log-level",
                    "warning",
                    "--no-migrate",
                ],
                env,
                work / "jerry.log",
            )
        )
        processes.append(
            start(
                [str(BIN / "python"), "bench/bare_app.py", "--port", str(bare_port)],
                env,
                work / "bare.log",
            )
        )
        await wait_up(f"http://127.0.0.1:{jerry_port}/healthz")
        await wait_up(f"http://127.0.0.1:{bare_port}/slack/events")
        targets = {
            "bare": f"http://127.0.0.1:{bare_port}/slack/events",
            "jerry": f"http://127.0.0.1:{jerry_port}/slack/events",
        }
        for name, url in targets.items():  # warm up both (imports, auth.test, connection pools)
            await load(url, 200, args.concurrency, offset=10_000_000 if name == "jerry" else 0)
        best: dict[str, dict[str, float | str]] = {}
        offset = 0
        for _ in range(args.rounds):
            for name, url in targets.items():
                seconds, latencies = await load(url, args.requests, args.concurrency, offset)
                offset += args.requests
                result = summary(name, seconds, latencies)
                if name not in best or result["acks_per_second"] > best[name]["acks_per_second"]:  # type: ignore[operator]
                    best[name] = result
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
    bare, jerry = best["bare"], best["jerry"]
    ratio_throughput = float(jerry["acks_per_second"]) / float(bare["acks_per_second"])
    ratio_p99 = float(jerry["p99_ms"]) / float(bare["p99_ms"])
    report = {
        "bare": bare,
        "jerry": jerry,
        "throughput_ratio": ratio_throughput,
        "p99_ratio": ratio_p99,
        "requests": args.requests,
        "concurrency": args.concurrency,
        "database": "postgresql" if args.database_url else "sqlite",
        "meets_targets": ratio_throughput >= 0.8 and ratio_p99 <= 1.5,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{'app':<6} {'acks/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
        for row in (bare, jerry):
            rate, p50, p99 = row["acks_per_second"], row["p50_ms"], row["p99_ms"]
            print(f"{row['app']:<6} {rate:>8.0f} {p50:>8.1f} {p99:>8.1f}")
        print(
            f"throughput ratio {ratio_throughput:.2f} (target >= 0.80); "
            f"p99 ratio {ratio_p99:.2f} (target <= 1.50)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
