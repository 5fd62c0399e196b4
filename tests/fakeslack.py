"""The tests' Slack: the local Slack Web API of the sandbox (bot/sandbox/slack_api.py), which
the real `slack_sdk` client talks to over HTTP on 127.0.0.1.

Also runs alone, for benchmarks and trying the bot by hand:

    .venv/bin/python -m tests.fakeslack --port 3001
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from bot.sandbox.slack_api import (  # noqa: F401  (re-exported for the tests)
    BOT_ID,
    BOT_USER_ID,
    METHOD_TIERS,
    TEAM_ID,
    TOKEN,
    Call,
    Channel,
    LocalSlack,
    SlackError,
    User,
    manifest_bot_scopes,
)

FakeSlack = LocalSlack
SAMPLES = Path(__file__).resolve().parent / "slack_samples" / "api"


def sample(name: str) -> dict[str, Any]:
    """A Slack-written response body (tests/slack_samples/api/)."""
    path = SAMPLES / f"{name}.json"
    if path.exists():
        return json.loads(path.read_text())
    return {"ok": True}


def default_workspace(fake: FakeSlack) -> FakeSlack:
    """People and channels for running Jerry by hand or in a benchmark."""
    for user_id, name in [
        ("U0PRODOPS", "olga"),
        ("U0PAYLEAD", "pat"),
        ("U0PAYBACK", "bea"),
        ("U0MOBLEAD", "mo"),
        ("U0REPORTER", "rita"),
    ]:
        fake.add_user(user_id, name)
    fake.add_user("U0FRENCH", "francois", locale="fr-FR")  # reads Jerry in French
    fake.add_channel("C0GENERAL", "general")
    fake.add_channel("C0PRODOPS", "product-ops")  # the triage channel of tests.harness.ROUTING_YAML
    fake.auto_users = True
    return fake


async def _serve(port: int) -> None:
    fake = default_workspace(FakeSlack())
    fake.echo = True
    await fake.start(port)
    print(f"fake Slack Web API on {fake.api_url} (token {fake.token})", flush=True)
    await asyncio.Event().wait()  # serve until interrupted


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Run the fake Slack Web API.")
    parser.add_argument("--port", type=int, default=3001)
    options = parser.parse_args()
    asyncio.run(_serve(options.port))
