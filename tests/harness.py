"""Fixtures for end-to-end tests: the fake Slack server, the running app, signed requests.

    async def test_something(slack, fake_slack, jerry):
        response = await slack.command("/painpoint", "the invoice is wrong", user="U0REPORTER")
        await slack.settle()               # let the bot finish what it does after the ack
        assert fake_slack.dms_to("U0PAYLEAD")

`slack` sends requests the way Slack does (signed, form-encoded or JSON) to Jerry's ASGI
app; the app's real `slack_sdk` client talks over HTTP to `fake_slack` on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from bot.app import JerryApp, create_app
from bot.config import Settings
from bot.intake.routing_cli import import_file
from tests import payloads
from tests.fakeslack import TOKEN, FakeSlack

SIGNING_SECRET = "test-signing-secret"
ADMIN = "U0ADMIN"
ROUTING_YAML = """\
triage:
  lead: U0PRODOPS
  channel: C0PRODOPS
teams:
  - name: Payments
    lead: U0PAYLEAD
    backup: U0PAYBACK
    channel: C0PAYTEAM
    areas:
      - name: Billing
        keywords: [invoice, billing, refund, facture]
      - name: Checkout
        keywords: [checkout, cart, payment]
  - name: Mobile
    lead: U0MOBLEAD
    areas:
      - name: iOS app
        keywords: [ios, iphone, crash]
      - name: Android app
        keywords: [android, pixel]
rules:
  - name: support crashes go to Mobile
    when: {channel: C0SUPPORT, pattern: "crash|freeze"}
    team: Mobile
"""
PEOPLE = {
    "U0PRODOPS": ("olga", "Europe/Paris", "en-US"),
    "U0PAYLEAD": ("pat", "America/New_York", "en-US"),
    "U0PAYBACK": ("bea", "Europe/Paris", "en-US"),
    "U0MOBLEAD": ("mo", "Europe/Berlin", "en-US"),
    "U0REPORTER": ("rita", "Europe/Paris", "en-US"),
    "U0FRENCH": ("francois", "Europe/Paris", "fr-FR"),
    "U0STRANGER": ("sam", "Europe/London", "en-GB"),
    ADMIN: ("ada", "Europe/Paris", "en-US"),
}


def sign(
    body: bytes, *, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + digest.hexdigest()}


class SlackDriver:
    """Sends Slack's requests to Jerry, signed, and remembers what Jerry answered."""

    def __init__(self, app: JerryApp, fake: FakeSlack) -> None:
        self.app = app
        self.fake = fake
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app.asgi), base_url="http://jerry.test", timeout=30
        )

    async def close(self) -> None:
        await self.http.aclose()

    async def post(
        self,
        body: bytes,
        content_type: str,
        *,
        headers: dict[str, str] | None = None,
        signed: bool = True,
    ) -> httpx.Response:
        all_headers = {"Content-Type": content_type, **(sign(body) if signed else {})}
        all_headers.update(headers or {})
        return await self.http.post("/slack/events", content=body, headers=all_headers)

    async def form(self, fields: dict[str, Any], **kwargs: Any) -> httpx.Response:
        return await self.post(
            urlencode(fields).encode(), "application/x-www-form-urlencoded", **kwargs
        )

    async def interactive(self, payload: dict[str, Any], **kwargs: Any) -> httpx.Response:
        return await self.form({"payload": json.dumps(payload)}, **kwargs)

    async def event(self, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
        return await self.post(json.dumps(body).encode(), "application/json", **kwargs)

    # --- what people do ----------------------------------------------------------------------

    async def command(
        self, command: str, text: str = "", *, user: str = "U0REPORTER", channel: str = "C0GENERAL"
    ) -> httpx.Response:
        body = payloads.slash_command(
            command, text, user=user, channel=channel, response_url=self.fake.response_url()
        )
        return await self.form(body)

    async def mention(
        self, text: str, *, user: str = "U0REPORTER", channel: str = "C0GENERAL", **kwargs: Any
    ) -> tuple[httpx.Response, dict[str, Any]]:
        """@Jerry in a channel; the message also exists in the fake Slack (for its thread)."""
        message = self.fake.add_message(channel, user, text)
        body = payloads.app_mention(text, user=user, channel=channel, ts=message["ts"], **kwargs)
        return await self.event(body), body

    async def dm(self, text: str, *, user: str = "U0REPORTER", **kwargs: Any) -> httpx.Response:
        message = self.fake.add_message("D" + user[1:], user, text)
        body = payloads.direct_message(text, user=user, ts=message["ts"], **kwargs)
        return await self.event(body)

    async def shortcut(
        self,
        text: str,
        *,
        user: str = "U0REPORTER",
        author: str = "U0STRANGER",
        channel: str = "C0GENERAL",
    ) -> tuple[httpx.Response, dict[str, Any]]:
        message = self.fake.add_message(channel, author, text)
        body = payloads.message_shortcut(
            user=user, channel=channel, message=message, response_url=self.fake.response_url()
        )
        return await self.interactive(body), message

    async def submit(
        self, view: dict[str, Any], values: dict[str, dict[str, Any]], *, user: str = "U0REPORTER"
    ) -> httpx.Response:
        return await self.interactive(payloads.view_submission(view, values, user=user))

    async def click(
        self, message: dict[str, Any], channel: str, action_id: str, *, user: str
    ) -> httpx.Response:
        """Click the button `action_id` on a message Jerry posted (as stored by the fake)."""
        value = None
        for block in message.get("blocks") or []:
            for element in block.get("elements") or []:
                if element.get("action_id") == action_id:
                    value = element.get("value")
        assert value is not None, f"no {action_id} button on {message.get('text')!r}"
        payload = payloads.block_action(
            user=user,
            action_id=action_id,
            value=value,
            channel=channel,
            message=message,
            response_url=self.fake.response_url(),
        )
        return await self.interactive(payload)

    def last_view(self) -> dict[str, Any]:
        call = self.fake.calls_to("views.open", ok=True)[-1]
        return call.response["view"]

    async def settle(self) -> None:
        """Let the bot finish what it does after the ack (Bolt's listeners, the outbox)."""
        await self.listeners_done()
        await self.app.drain()
        await self.listeners_done()
        await self.app.drain()

    async def listeners_done(self) -> None:
        """Wait (up to 10 s) for Bolt's listener functions still running after their ack.

        Bolt may ack first and keep running a listener (or a lazy one) in a task of its own;
        those tasks are recognised by their coroutine's source file.
        """
        deadline = time.monotonic() + 10.0
        while True:
            pending = [task for task in asyncio.all_tasks() if _bolt_task(task)]
            if not pending:
                return
            left = deadline - time.monotonic()
            assert left > 0, f"Bolt listeners still running after 10 s: {pending}"
            await asyncio.wait(pending, timeout=left)


def _bolt_task(task: asyncio.Task[Any]) -> bool:
    if task.done() or task is asyncio.current_task():
        return False
    code = getattr(task.get_coro(), "cr_code", None)
    return code is not None and f"{os.sep}slack_bolt{os.sep}" in code.co_filename


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    for user_id, (name, tz, locale) in PEOPLE.items():
        fake.add_user(user_id, name, tz=tz, locale=locale)
    fake.add_channel("C0GENERAL", "general")
    fake.add_channel("C0PRODOPS", "product-ops")
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def settings(fake_slack: FakeSlack, database_url: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token=TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake_slack.api_url,
        database_url=database_url,
        jerry_admins=[ADMIN],
        jerry_delivery_retry_seconds=0.05,
        # Retries come at once, but an idle outbox looks for other processes' work only twice
        # a second (each look is a few queries: polling at the retry pace cost every test).
        jerry_outbox_poll_seconds=0.5,
        # Tests run the reminders tick with their own clock; a real tick crossing a minute
        # would act at today's date on items they dated in the past.
        jerry_reminder_seconds=0,
        # Likewise feeds: tests run JerryApp.run_feeds(now) themselves.
        jerry_feed_minutes=0,
        # And summaries: tests run JerryApp.run_summaries(now) with their clock.
        jerry_summary_check_seconds=0,
        # And surveys: tests run JerryApp.run_surveys(now) (and the results tick) themselves.
        jerry_survey_check_seconds=0,
        jerry_themes_minutes=0,
        jerry_insights_warm_minutes=0,
        # "Did this help?" after a resolution: asked in tests/test_e2e_csat.py only (the
        # others count the reporter's messages exactly).
        jerry_csat_share=0,
        # DMs filed at once (tests/test_e2e_capture.py groups them with a short window).
        jerry_dm_group_seconds=0,
        # The suite checks what people read, not how fast: on a loaded machine a first
        # users.info can take over the 1 s an ack waits in production.
        jerry_language_lookup_seconds=10,
        # Similar items load a model, check every item at intake and hold its lead's DM while
        # its reporter may pick a similar one, and look items up for every lead card: off,
        # except in the tests about them (tests/test_e2e_similar_intake.py,
        # tests/test_e2e_merge.py turn them on); the others see Jerry as it is without them.
        jerry_similar="off",
    )


@pytest.fixture
async def jerry(settings: Settings, fake_slack: FakeSlack) -> AsyncIterator[JerryApp]:
    app = create_app(settings)
    await app.start()
    # Jerry asks Slack who it is once started, in the background: tests begin once it knows,
    # and count Slack calls from there.
    await fake_slack.wait_for(lambda: app.identity.known, message="auth.test at start")
    fake_slack.calls[:] = [c for c in fake_slack.calls if c.method != "auth.test"]
    yield app
    await app.stop()


@pytest.fixture
async def routed(jerry: JerryApp, settings: Settings, tmp_path: Path) -> JerryApp:
    """Jerry with the test routing model imported (as `jerry routing import` does)."""
    path = tmp_path / "routing.yml"
    path.write_text(ROUTING_YAML, encoding="utf-8")
    assert await import_file(settings, path) == 0
    return jerry


@pytest.fixture
async def slack(jerry: JerryApp, fake_slack: FakeSlack) -> AsyncIterator[SlackDriver]:
    driver = SlackDriver(jerry, fake_slack)
    yield driver
    await driver.close()
    assert not fake_slack.violations, fake_slack.violations
