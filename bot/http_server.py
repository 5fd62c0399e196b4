"""How `jerry serve` runs uvicorn: its limits and timeouts, and a deadline for headers.

uvicorn times out an idle kept-alive connection but not one that is slow to send its
request's headers: 800 connections sending a byte now and then held the server for as long
as they liked. Each connection here must complete its headers within `header_seconds` of
opening (or of its previous response); the body has its own deadline in bot/app.py.
Behind a reverse proxy (README.md, "Running behind a proxy") the proxy does this as well.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("jerry.http")


@dataclass(frozen=True)
class ServerLimits:
    # A request's headers must arrive within this many seconds of the connection opening
    # (or of the previous response on a kept-alive connection).
    header_seconds: float = 10.0
    # An idle kept-alive connection is closed after this many seconds.
    keep_alive_seconds: int = 15
    # Beyond this many connections (or requests in flight), new requests get a 503 at once.
    max_connections: int = 1000
    # The largest request line plus headers h11 buffers before answering 400.
    max_header_bytes: int = 16 * 1024
    # Shutdown waits this long for requests in flight.
    graceful_shutdown_seconds: int = 20


def header_deadline_protocol(seconds: float) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol (httptools when installed, else h11) that closes a
    connection whose request headers are not complete within `seconds`."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol  # only `jerry serve` needs it

    base: Any = AutoHTTPProtocol

    class HeaderDeadlineProtocol(base):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            cycle = self.cycle
            super().data_received(data)
            if self.cycle is not cycle:  # a request's headers are complete
                self._disarm()

        def on_response_complete(self) -> None:
            cycle = self.cycle
            super().on_response_complete()
            # Waiting for the next request's headers (unless a pipelined one has started).
            if self.cycle is cycle and not self.transport.is_closing():
                self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._header_timer = asyncio.get_running_loop().call_later(seconds, self._too_slow)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _too_slow(self) -> None:
            self._header_timer = None
            if self.transport is not None and not self.transport.is_closing():
                log.info(
                    "closed a connection from %s: no complete request headers in %ss",
                    (self.client or ("?",))[0],
                    seconds,
                )
                self.transport.close()

    return HeaderDeadlineProtocol


def uvicorn_options(limits: ServerLimits) -> dict[str, Any]:
    """The keyword arguments for uvicorn.run / uvicorn.Config besides the app and address."""
    return {
        "http": header_deadline_protocol(limits.header_seconds),
        "timeout_keep_alive": limits.keep_alive_seconds,
        "limit_concurrency": limits.max_connections,
        "h11_max_incomplete_event_size": limits.max_header_bytes,
        "timeout_graceful_shutdown": limits.graceful_shutdown_seconds,
        # X-Forwarded-For/-Proto are believed only from these addresses (uvicorn's default,
        # 127.0.0.1, or FORWARDED_ALLOW_IPS): a proxy on the same host.
        "proxy_headers": True,
    }
