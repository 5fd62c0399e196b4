"""Idle memory of `jerry serve` against a bare Bolt app (bench/bare_app.py), same run.

Starts the fake Slack Web API, migrates a SQLite database and imports a routing model, then,
--rounds times in turn, starts each app, waits until it answers, lets it idle --idle seconds
(Jerry's scheduler and delivery worker run their first passes) and reads its resident memory
(VmRSS in /proc). Prints each app's median and the ratio. Numbers: BENCHMARKS.md.

    .venv/bin/python bench/idle_memory.py [--rounds 3] [--idle 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

ROOT = Path(__file__).resolve().parent.parent

from ack import BIN, ROUTING, SECRET, TOKEN, free_port, run_cli, start, wait_up  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


async def idle_rss(cmd: list[str], env: dict[str, str], url: str, log: Path, idle: float) -> float:
    process = start(cmd, env, log)
    try:
        await wait_up(url)
        await asyncio.sleep(idle)
        return rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--idle", type=float, default=5.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="jerry-idle-"))
    slack_port = free_port()
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": f"http://127.0.0.1:{slack_port}/api/",
        "DATABASE_URL": f"sqlite+aiosqlite:///{work / 'jerry.db'}",
        "PYTHONPATH": str(ROOT),
    }
    (work / "routing.yml").write_text(ROUTING)
    fake = start(
        [str(BIN / "python"), "-m", "tests.fakeslack", "--port", str(slack_port)],
        env,
        work / "fakeslack.log",
    )
    results: dict[str, list[float]] = {"jerry": [], "bare": []}
    try:
        await wait_up(f"http://127.0.0.1:{slack_port}/api/api.test")
        await run_cli(["db", "upgrade"], env)
        await run_cli(["routing", "import", str(work / "routing.yml")], env)
        for _ in range(args.rounds):
            port = free_port()
            jerry = [str(BIN / "jerry"), "serve", "--host", "127.0.0.1", "--port", str(port)]
            jerry += ["--log-level", "warning", "--no-migrate"]
            results["jerry"].append(
                await idle_rss(
                    jerry, env, f"http://127.0.0.1:{port}/healthz", work / "j.log", args.idle
                )
            )
            port = free_port()
            bare = [str(BIN / "python"), "bench/bare_app.py", "--port", str(port)]
            results["bare"].append(
                await idle_rss(
                    bare, env, f"http://127.0.0.1:{port}/slack/events", work / "b.log", args.idle
                )
            )
    finally:
        fake.terminate()
        fake.wait(timeout=10)
    for name, values in results.items():
        rounded = ", ".join(f"{value:.1f}" for value in values)
        print(f"{name}: idle RSS median {statistics.median(values):.1f} MB ({rounded})")
    ratios = [j / b for j, b in zip(results["jerry"], results["bare"], strict=True)]
    print(f"ratio jerry/bare: median {statistics.median(ratios):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
