"""Cheaper listener matching: Bolt's built-in matchers are called with the payload only.

For each request, Bolt tries the listeners in order, and for each built-in matcher (the
command name, the action id, the event type) it first builds every argument a listener could
ask for (the payload parsed into each shape, say, respond, client...), then calls a function
that only reads the payload. With Jerry's forty-odd listeners that was a tenth of an ack's
CPU (py-spy, BENCHMARKS.md). The matchers themselves are Bolt's, unchanged.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from slack_bolt.listener_matcher.async_builtins import AsyncBuiltinListenerMatcher
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse


class PayloadMatcher(AsyncBuiltinListenerMatcher):
    """A built-in matcher whose function takes only `body`, called with it directly."""

    async def async_matches(self, req: AsyncBoltRequest, resp: BoltResponse) -> bool:
        return bool(await self.func(body=req.body))  # type: ignore[misc]


def built_in_matchers(app: AsyncApp) -> list[AsyncBuiltinListenerMatcher]:
    # Bolt keeps its listeners in a private list; tests/test_bolt_matching.py notices if
    # that changes (every built-in matcher must be a PayloadMatcher after `speed_up`).
    return [
        matcher
        for listener in app._async_listeners
        for matcher in listener.matchers
        if isinstance(matcher, AsyncBuiltinListenerMatcher)
    ]


def speed_up(app: AsyncApp) -> None:
    """Make every registered built-in matcher that takes only the payload a PayloadMatcher."""
    for matcher in built_in_matchers(app):
        if type(matcher) is AsyncBuiltinListenerMatcher and matcher.arg_names == ["body"]:
            matcher.__class__ = PayloadMatcher
