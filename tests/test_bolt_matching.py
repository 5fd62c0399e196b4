"""Jerry's Bolt app calls its built-in listener matchers with the payload only (handlers/matching.py).

Behaviour (which listener answers which request) is covered by every end-to-end test; this
one notices if a Bolt upgrade moves the listeners (the speed-up would silently stop).
"""

from __future__ import annotations

from pathlib import Path

from bot.app import create_app
from bot.config import Settings
from handlers.matching import PayloadMatcher, built_in_matchers


def test_every_built_in_matcher_is_called_with_the_payload_only(tmp_path: Path) -> None:
    settings = Settings(
        slack_bot_token="xoxb-test",
        slack_signing_secret="secret",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'jerry.db'}",
    )
    matchers = built_in_matchers(create_app(settings).bolt)
    assert len(matchers) >= 20  # a command, an action, a view, an event... each has one
    assert all(type(matcher) is PayloadMatcher for matcher in matchers)
