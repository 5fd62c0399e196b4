"""Requests in flight on this process, so that the outbox steps aside while Slack waits.

Slack gives an ack 3 seconds; a delivery has minutes (its recipient's pace is about one
message a second anyway). Both share one event loop, and during a burst of commands the
outbox's sends (each a claim, a call to Slack and a commit) slowed every ack: 649 acks/s with
the outbox sending to eight recipients at once against 1 020 with it idle (BENCHMARKS.md).
So before each send the outbox waits for a moment with no request in flight, for at most
`max_yield` seconds: under a sustained burst it still sends, only slower.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager

# A request that has just ended is often followed by the next one of the same burst.
QUIET_AFTER_SECONDS = 0.002
MAX_YIELD_SECONDS = 0.25


class RequestPressure:
    def __init__(
        self, *, quiet_after: float = QUIET_AFTER_SECONDS, max_yield: float = MAX_YIELD_SECONDS
    ) -> None:
        self.quiet_after = quiet_after
        self.max_yield = max_yield
        self.in_flight = 0
        self._last_end = 0.0
        self._idle: asyncio.Event | None = None  # made on the loop that first waits

    @contextmanager
    def request(self) -> Iterator[None]:
        """Around the handling of one request."""
        self.in_flight += 1
        if self._idle is not None:
            self._idle.clear()
        try:
            yield
        finally:
            self.in_flight -= 1
            self._last_end = time.monotonic()
            if self.in_flight == 0 and self._idle is not None:
                self._idle.set()

    def busy(self) -> bool:
        return self.in_flight > 0 or time.monotonic() - self._last_end < self.quiet_after

    async def step_aside(self) -> None:
        """Return once no request is in flight (and none ended just now), or after max_yield."""
        if not self.busy():
            return
        if self._idle is None:
            self._idle = asyncio.Event()
            if self.in_flight == 0:
                self._idle.set()
        deadline = time.monotonic() + self.max_yield
        while self.busy():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            if self.in_flight:
                try:
                    await asyncio.wait_for(self._idle.wait(), timeout=left)
                except TimeoutError:
                    return
            else:
                await asyncio.sleep(min(left, self.quiet_after))


class NoPressure(RequestPressure):
    """No HTTP requests here (the CLI, Socket Mode's tests): never step aside."""

    def busy(self) -> bool:
        return False
