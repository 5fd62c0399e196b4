"""`jerry serve`'s limits: uvicorn's options, and connections that send their request too
slowly (a slow-loris) are dropped instead of being held for as long as they like."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import httpx
import pytest

from bot.http_server import ServerLimits, uvicorn_options
from tests.fakeslack import FakeSlack
from tests.harness import SIGNING_SECRET
from tests.test_cli import Jerry, cli, free_port, wait_healthy

__all__ = ["cli"]  # the fixture, imported

SLOW_CLIENTS = 50


def test_uvicorn_runs_with_limits_and_timeouts() -> None:
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    options = uvicorn_options(ServerLimits())
    assert issubclass(options["http"], AutoHTTPProtocol)
    assert options["timeout_keep_alive"] == ServerLimits.keep_alive_seconds > 0
    assert options["limit_concurrency"] == ServerLimits.max_connections
    assert options["h11_max_incomplete_event_size"] == 16 * 1024
    assert options["timeout_graceful_shutdown"] > 0
    assert options["proxy_headers"] is True


async def dribble(port: int, request: bytes, *, every: float = 0.2) -> bytes:
    """Send `request` a byte at a time; what the server answered when it closed."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for byte in request:
            writer.write(bytes([byte]))
            try:
                await writer.drain()
                # The server closed the connection: read what it said, if anything.
                return await asyncio.wait_for(reader.read(), every)
            except TimeoutError:
                continue
            except ConnectionError:
                return b""
        return await reader.read()  # sent it all: the server answers
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


@pytest.mark.slow
async def test_slow_clients_are_dropped_while_others_are_served(
    cli: Jerry, fake_slack: FakeSlack, database_url: str
) -> None:
    port = free_port()
    jerry = cli.with_slack(fake_slack).with_settings(
        SLACK_SIGNING_SECRET=SIGNING_SECRET, DATABASE_URL=database_url
    )
    proc = await jerry.start(
        "serve",
        "--port",
        str(port),
        "--host",
        "127.0.0.1",
        "--header-timeout",
        "1",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert proc.stdout is not None
    output = asyncio.create_task(proc.stdout.read())
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            await wait_healthy(http, proc, output)
            # Headers that would take 200 × 0.2 s = 40 s to arrive.
            headers = b"POST /slack/events HTTP/1.1\r\nHost: jerry\r\nX-Slow: " + b"a" * 150
            slow = [
                asyncio.create_task(dribble(port, headers + b"\r\n\r\n"))
                for _ in range(SLOW_CLIENTS)
            ]
            await asyncio.sleep(0.5)
            # While they dribble, Slack's requests are served.
            assert (await http.get("/healthz")).status_code == 200
            answers = await asyncio.wait_for(asyncio.gather(*slow), 30)
        # Each was dropped before it could send its headers (no request reached Jerry).
        assert answers == [b""] * SLOW_CLIENTS
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 30)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    log = (await output).decode()
    assert "no complete request headers in 1.0s" in log, log
    assert "Traceback" not in log, log
