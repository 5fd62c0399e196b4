"""`jerry sandbox`: Jerry, a local Slack and a web page, on 127.0.0.1, in one process.

    local Slack + page (aiohttp, --port)  ──signed events──▶  Jerry (uvicorn, as `jerry serve`)
                     ▲                                              │
                     └──────────── Web API calls (slack_sdk) ◀──────┘

Jerry runs exactly as in production: the same ASGI app behind uvicorn, the same signature
check, the same database code on its own SQLite file, its Web API calls over HTTP. Only
the clock is the sandbox's (skip ahead), and the workspace is a demo company.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
import socket
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.app import JerryApp, create_app
from bot.config import Settings
from bot.sandbox import demo
from bot.sandbox.clock import SandboxClock
from bot.sandbox.platform import SlackPlatform
from bot.sandbox.sandbox import Sandbox
from bot.sandbox.workspace import SandboxSlack
from bot.schema import ensure_schema
from models.base import use_clock

log = logging.getLogger("jerry.sandbox")

TOKEN = "xoxb-sandbox-local"
DATABASE = "jerry.sqlite3"
SEEDED = "seeded"  # written once the demo history is in the database


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def sandbox_settings(directory: Path, port: int, signing_secret: str) -> Settings:
    """Jerry's settings in the sandbox: the local Slack, its own database, the demo's admins.

    The tracker connections are left out even if the environment sets them: the sandbox
    must never reach a real Jira or Linear.
    """
    return Settings(
        slack_bot_token=TOKEN,
        slack_signing_secret=signing_secret,
        slack_app_token=None,
        slack_api_url=f"http://127.0.0.1:{port}/api/",
        database_url=f"sqlite+aiosqlite:///{directory / DATABASE}",
        jerry_admins=list(demo.ADMINS),
        jerry_jira_url=None,
        jerry_jira_token=None,
        jerry_linear_api_key=None,
        # DMs in a row become one item once the person stops: a short wait, in a demo.
        jerry_dm_group_seconds=20,
    )


def prepare(directory: Path, *, fresh: bool) -> None:
    """The sandbox's directory; --fresh forgets its database, clock and files."""
    if fresh and directory.exists():
        for path in directory.iterdir():
            if path.is_file():
                path.unlink()
    directory.mkdir(parents=True, exist_ok=True)


async def start_sandbox(directory: Path, port: int, *, fresh: bool = False) -> Sandbox:
    from bot.sandbox.page import add_page_routes

    prepare(directory, fresh=fresh)
    clock = SandboxClock(directory / "clock.json")
    slack = SandboxSlack(token=TOKEN)
    slack.clock = clock.timestamp
    demo.add_workspace(slack)
    slack.keep_in(directory / "slack.json")

    web_app = web.Application(client_max_size=8 * 1024 * 1024)
    slack.add_routes(web_app)
    page = add_page_routes(web_app, slack)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    slack.base_url = f"http://127.0.0.1:{port}"

    fresh_history = not (directory / SEEDED).exists()
    if fresh_history:  # Jerry starts when the demo's week begins (bot/sandbox/demo.py)
        clock.set(demo.history_start(clock.now()))
    signing_secret = secrets.token_hex(16)
    settings = sandbox_settings(directory, port, signing_secret)
    await ensure_schema(settings.database_url)
    app = create_app(settings)
    app.scheduler.clock = clock.now
    use_clock(clock.now)  # what Jerry stores (created_at …) follows the sandbox clock too
    jerry_port = free_port()
    server, server_task = await _serve_jerry(app, jerry_port)
    platform = SlackPlatform(slack, f"http://127.0.0.1:{jerry_port}", signing_secret)
    sandbox = Sandbox(
        directory=directory,
        settings=settings,
        app=app,
        slack=slack,
        platform=platform,
        clock=clock,
        port=port,
        jerry_port=jerry_port,
        _server=server,
        _server_task=server_task,
        _site=runner,
    )
    page.attach(sandbox)
    await sandbox.settle()
    if fresh_history:
        await demo.seed(sandbox)
        await sandbox.settle()
        (directory / SEEDED).write_text(clock.now().isoformat(), encoding="utf-8")
    slack.changed()
    return sandbox


async def _serve_jerry(app: JerryApp, port: int) -> tuple[Any, asyncio.Task[Any]]:
    """Jerry behind uvicorn as `jerry serve` runs it (same limits), on 127.0.0.1."""
    import uvicorn

    from bot.http_server import ServerLimits, uvicorn_options

    config = uvicorn.Config(
        app.asgi,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        **uvicorn_options(ServerLimits()),
    )
    server = uvicorn.Server(config)
    # The sandbox's own process handles Ctrl-C; uvicorn must not take the signals.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 30
    while not server.started:
        if task.done():
            task.result()  # raises what stopped it (a port taken, say)
            raise RuntimeError("Jerry's server stopped at start")
        if time.monotonic() > deadline:
            raise RuntimeError("Jerry's server did not start within 30 s")
        await asyncio.sleep(0.02)
    return server, task


async def run_sandbox(directory: Path, port: int, *, fresh: bool) -> int:
    """Start everything, say where to look, and serve until interrupted."""
    # One line per request between the page, the local Slack and Jerry is noise here.
    for name in ("httpx", "aiohttp.access"):
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        sandbox = await start_sandbox(directory, port, fresh=fresh)
    except OSError as exc:
        print(f"jerry: cannot start the sandbox on 127.0.0.1:{port}: {exc}", flush=True)
        return 1
    print(
        f"Jerry sandbox: open {sandbox.url} in your browser "
        f"(a demo company; its data in {directory}; Ctrl-C stops it)",
        flush=True,
    )
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        # Ctrl-C or a service manager's stop: Jerry finishes its requests, the local Slack
        # writes what it shows (slack.json), then the process ends.
        loop.add_signal_handler(signal_number, stopping.set)
    try:
        await stopping.wait()
    finally:
        await sandbox.stop()
    print("jerry: the sandbox stopped; `jerry sandbox` takes up where it was", flush=True)
    return 0
