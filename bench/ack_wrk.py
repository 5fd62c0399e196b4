"""Ack throughput with wrk: Jerry against the durable-ack floor and a bare Bolt app, same run.

Starts, on 127.0.0.1: the fake Slack Web API (bot/sandbox/slack_api.py), `jerry serve` with a
routing model imported, bench/floor_app.py (checks the signature, group-commits one row,
acks: the least an app that acks only what it stored can do) and bench/bare_app.py (a Bolt
app that only acks). The load comes from wrk (Debian's package, C, one thread), replaying
pre-signed /painpoint bodies (a Lua script reads them; each body is distinct so every ack
makes a new item), --connections at a time, for --seconds, in rounds that rotate the order
of the three apps. Between rounds Jerry's outbox is drained (see --drain) so that its
deliveries do not run during the other apps' rounds.

Per app and round: acks per second, p50 and p99 latency (wrk --latency), and CPU per ack
(the server process's user+system time over the round, from /proc, divided by the acks).
Printed: the medians over rounds, and Jerry's ratios to the floor (per round, then the
median). Targets (issue 10): Jerry >= 0.8x the floor's throughput, p99 <= 1.5x the floor's.

    .venv/bin/python bench/ack_wrk.py [--rounds 5] [--seconds 5] [--connections 50]
                                      [--database-url URL] [--apps floor,bare,jerry]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ack import (  # noqa: E402
    BIN,
    ROUTING,
    SECRET,
    TOKEN,
    command_body,
    free_port,
    run_cli,
    start,
    wait_up,
)
from sqlalchemy import text  # noqa: E402

from bot.db import create_engine  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
LUA = r"""
local requests, count, next_one = {}, 0, 0
function init(args)
  local stamp = args[2]
  for line in io.lines(args[1]) do
    local signature, body = line:match("^([^\t]+)\t(.*)$")
    count = count + 1
    requests[count] = wrk.format("POST", "/slack/events", {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["X-Slack-Request-Timestamp"] = stamp,
      ["X-Slack-Signature"] = signature,
    }, body)
  end
end
function request()
  next_one = next_one % count + 1
  return requests[next_one]
end
"""


def write_bodies(path: Path, first: int, count: int) -> str:
    """`count` distinct signed /painpoint bodies, one per line; returns their timestamp."""
    stamp = str(int(time.time()))
    key = SECRET.encode()
    with path.open("w") as out:
        for n in range(first, first + count):
            body = command_body(n)
            digest = hmac.new(key, f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
            out.write(f"v0={digest}\t{body}\n")
    return stamp


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def parse_wrk(output: str) -> dict[str, float]:
    def latency(label: str) -> float:
        match = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        if not match:
            raise RuntimeError(f"no {label} latency in wrk's output:\n{output}")
        return float(match.group(1)) * _UNITS[match.group(2)]

    requests = re.search(r"(\d+) requests in ([\d.]+)(ms|s)", output)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    if not requests:
        raise RuntimeError(f"no request count in wrk's output:\n{output}")
    seconds = float(requests.group(2)) / (1000 if requests.group(3) == "ms" else 1)
    return {
        "requests": int(requests.group(1)),
        "acks_per_second": int(requests.group(1)) / seconds,
        "p50_ms": latency("50%"),
        "p99_ms": latency("99%"),
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": 1 if socket_errors else 0,
    }


async def outbox_waiting(engine: Any) -> int:
    async with engine.connect() as conn:
        statement = text("SELECT count(*) FROM deliveries WHERE status IN ('pending', 'sending')")
        return int((await conn.execute(statement)).scalar_one())


async def drain(engine: Any, how: str, within: float = 600.0) -> tuple[int, float]:
    """Empty Jerry's outbox before the next round: (deliveries left at the end of the round,
    seconds it took)."""
    started = time.monotonic()
    left = await outbox_waiting(engine)
    if how == "mark":
        # Not sent: marked so, for the measurement only (the fake Slack is not what is
        # measured); then wait for the rows the worker holds.
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE deliveries SET status = 'sent' WHERE status = 'pending'")
            )
    while await outbox_waiting(engine):
        if time.monotonic() - started > within:
            raise RuntimeError("Jerry's outbox did not drain")
        await asyncio.sleep(0.5)
    return left, time.monotonic() - started


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--bodies", type=int, default=40_000, help="distinct bodies per round")
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary folder")
    parser.add_argument("--apps", default="floor,bare,jerry")
    parser.add_argument(
        "--drain",
        choices=["wait", "mark"],
        default="wait",
        help="wait for Jerry's worker to deliver everything (default), or mark what is "
        "left as sent (quicker; the deliveries are then not made)",
    )
    parser.add_argument("--json", type=Path, help="also write every round's figures here")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2

    work = Path(tempfile.mkdtemp(prefix="jerry-wrk-"))
    database_url = args.database_url or f"sqlite+aiosqlite:///{work / 'jerry.db'}"
    slack_port = free_port()
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": f"http://127.0.0.1:{slack_port}/api/",
        "DATABASE_URL": database_url,
        "PYTHONPATH": str(ROOT),
    }
    (work / "routing.yml").write_text(ROUTING)
    (work / "bodies.lua").write_text(LUA)
    apps = args.apps.split(",")
    ports = {name: free_port() for name in apps}
    commands = {
        "jerry": [
            *(str(BIN / "jerry"), "serve", "--host", "127.0.0.1"),
            *("--port", str(ports.get("jerry", 0)), "--log-level", "warning", "--no-migrate"),
        ],
        "floor": [str(BIN / "python"), "bench/floor_app.py", "--port", str(ports.get("floor", 0))],
        "bare": [str(BIN / "python"), "bench/bare_app.py", "--port", str(ports.get("bare", 0))],
    }
    processes: dict[str, subprocess.Popen[bytes]] = {}
    processes["slack"] = start(
        [str(BIN / "python"), "-m", "tests.fakeslack", "--port", str(slack_port)],
        env,
        work / "fakeslack.log",
    )
    engine = create_engine(database_url)
    results: dict[str, list[dict[str, float]]] = {name: [] for name in apps}
    offset = 0
    try:
        await wait_up(f"http://127.0.0.1:{slack_port}/api/api.test")
        await run_cli(["db", "upgrade"], env)
        await run_cli(["routing", "import", str(work / "routing.yml")], env)
        for name in apps:
            processes[name] = start(commands[name], env, work / f"{name}.log")
        for name in apps:
            await wait_up(
                f"http://127.0.0.1:{ports[name]}/{'healthz' if name == 'jerry' else 'slack/events'}"
            )

        async def one_round(name: str, seconds: int) -> dict[str, float]:
            nonlocal offset
            bodies = work / "bodies.txt"
            stamp = write_bodies(bodies, offset, args.bodies)
            offset += args.bodies
            pid = processes[name].pid
            cpu_before = cpu_seconds(pid)
            wrk = await asyncio.create_subprocess_exec(
                "wrk", "-t1", f"-c{args.connections}", f"-d{seconds}s", "--latency",
                "-s", str(work / "bodies.lua"),
                f"http://127.0.0.1:{ports[name]}/slack/events", "--", str(bodies), stamp,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
            output = (await wrk.communicate())[0].decode()
            cpu = cpu_seconds(pid) - cpu_before
            figures = parse_wrk(output)
            figures["cpu_ms_per_ack"] = cpu * 1000 / max(figures["requests"], 1)
            if name == "jerry":
                left, took = await drain(engine, args.drain)
                figures["outbox_left"], figures["drain_seconds"] = left, took
            return figures

        for name in apps:  # warm up: imports, caches, connection pools
            await one_round(name, 2)
        for round_number in range(args.rounds):
            order = apps[round_number % len(apps) :] + apps[: round_number % len(apps)]
            for name in order:
                figures = await one_round(name, args.seconds)
                results[name].append(figures)
                print(
                    f"round {round_number + 1} {name:<5} {figures['acks_per_second']:7.0f} acks/s"
                    f"  p50 {figures['p50_ms']:6.1f} ms  p99 {figures['p99_ms']:6.1f} ms"
                    f"  cpu {figures['cpu_ms_per_ack']:.2f} ms/ack"
                    + (f"  non-2xx {figures['non_2xx']:.0f}" if figures["non_2xx"] else "")
                    + (
                        f"  outbox left {figures['outbox_left']:.0f}, drained in "
                        f"{figures['drain_seconds']:.0f} s"
                        if name == "jerry"
                        else ""
                    ),
                    flush=True,
                )
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        await engine.dispose()

    database = "postgresql" if "postgresql" in database_url else "sqlite"
    print(
        f"\n{database}, {args.connections} connections, "
        f"{args.seconds} s x {args.rounds} rounds (medians)"
    )
    print(f"{'app':<6} {'acks/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'cpu ms/ack':>11}")
    for name in apps:
        rows = results[name]

        def median(key: str, rows: list[dict[str, float]] = rows) -> float:
            return statistics.median(row[key] for row in rows)

        print(
            f"{name:<6} {median('acks_per_second'):>8.0f} {median('p50_ms'):>8.1f} "
            f"{median('p99_ms'):>8.1f} {median('cpu_ms_per_ack'):>11.2f}"
        )
    if "jerry" in results and "floor" in results:
        pairs = list(zip(results["jerry"], results["floor"], strict=True))
        throughput = statistics.median(
            j["acks_per_second"] / f["acks_per_second"] for j, f in pairs
        )
        p99 = statistics.median(j["p99_ms"] / f["p99_ms"] for j, f in pairs)
        print(
            f"Jerry / floor: throughput {throughput:.2f} (target >= 0.80), "
            f"p99 {p99:.2f} (target <= 1.50)"
        )
    if args.json:
        args.json.write_text(json.dumps({"database": database, "rounds": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
