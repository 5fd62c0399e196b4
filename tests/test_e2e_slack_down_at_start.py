"""End to end: a process that starts while Slack's API is down still takes requests.

Bolt's own authorization asks auth.test on the first request and refuses every request
while that fails ("installation no longer available"), so a deploy or a new replica during
a Slack incident lost every request. Jerry learns who it is in the background instead:
intake works with Slack down, what is owed goes out when Slack is back.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import JerryApp, create_app
from bot.config import Settings
from bot.intake.routing_cli import import_file
from models.items import Item
from tests.fakeslack import BOT_USER_ID, FakeSlack
from tests.harness import ROUTING_YAML, SlackDriver


async def slack_refuses_connections(fake: FakeSlack) -> Callable[[], object]:
    port = fake.port
    await fake.stop()

    async def back() -> None:
        await fake.start(port)

    return back


async def auth_test_fails(fake: FakeSlack, status: int) -> Callable[[], object]:
    if status == 429:
        fake.rate_limit_next("auth.test", times=10**6)
    else:
        fake.server_error_next("auth.test", status=status, times=10**6)

    async def back() -> None:
        fake.failures.pop("auth.test")

    return back


OUTAGES = {
    "connection refused": slack_refuses_connections,
    "auth.test 500": lambda fake: auth_test_fails(fake, 500),
    "auth.test 429": lambda fake: auth_test_fails(fake, 429),
}


@pytest.fixture
async def imported(settings: Settings, tmp_path: Path) -> Settings:
    path = tmp_path / "routing.yml"
    path.write_text(ROUTING_YAML, encoding="utf-8")
    assert await import_file(settings, path) == 0
    return settings


@pytest.fixture
async def started_during_outage(
    request: pytest.FixtureRequest, fake_slack: FakeSlack, imported: Settings
) -> AsyncIterator[tuple[JerryApp, SlackDriver, Callable[[], object]]]:
    back = await OUTAGES[request.param](fake_slack)
    app = create_app(imported)
    await app.start()
    driver = SlackDriver(app, fake_slack)
    try:
        yield app, driver, back
    finally:
        await driver.close()
        await app.stop()


@pytest.mark.parametrize("started_during_outage", list(OUTAGES), indirect=True)
async def test_started_while_slack_is_down_it_stores_and_answers_then_learns_who_it_is(
    started_during_outage: tuple[JerryApp, SlackDriver, Callable[[], object]],
    fake_slack: FakeSlack,
) -> None:
    app, slack, slack_comes_back = started_during_outage

    command = await slack.command("/painpoint", "the invoice total is wrong")
    mention, _ = await slack.mention(f"<@{BOT_USER_ID}> the refund never came")

    assert command.status_code == 200, command.text
    receipt = command.json()
    assert receipt["response_type"] == "ephemeral" and "*#1*" in receipt["text"], receipt
    assert "installation" not in command.text
    assert mention.status_code == 200, mention.text
    async with app.sessions() as session:
        items = list((await session.execute(select(Item).order_by(Item.id))).scalars())
    assert [(i.source, i.text) for i in items] == [
        ("command", "the invoice total is wrong"),
        ("mention", "the refund never came"),  # Jerry's mention stripped, from the event
    ]
    assert not app.identity.known

    await slack_comes_back()  # type: ignore[misc]

    await fake_slack.wait_for(lambda: app.identity.known, message="auth.test answered")
    assert app.identity.user_id == BOT_USER_ID
    # What was owed goes out: both items reach the Payments lead, the mention's receipt its thread.
    await fake_slack.wait_for(lambda: len(fake_slack.dms_to("U0PAYLEAD")) == 2, message="2 DMs")
    await fake_slack.wait_for(
        lambda: any(c.get("thread_ts") for c in fake_slack.posts("C0GENERAL")),
        message="the mention's receipt in its thread",
    )


@pytest.mark.slow
async def test_socket_mode_started_while_slack_is_down_keeps_trying(
    tmp_path: Path, database_url: str
) -> None:
    """`jerry socket` (no signing secret: Socket Mode has none) with Slack's API refusing
    connections: it does not exit, it retries connecting and asking who it is."""
    from tests.test_cli import Jerry, free_port

    jerry = Jerry(
        tmp_path,
        {
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_APP_TOKEN": "xapp-test",
            "SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/",
            "DATABASE_URL": database_url,
        },
    )
    proc = await jerry.start(
        "socket", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    assert proc.stdout is not None
    seen: list[str] = []
    try:
        async with asyncio.timeout(60):
            while not any("asking again later" in line for line in seen) or not any(
                "Failed to connect" in line for line in seen
            ):
                line = (await proc.stdout.readline()).decode()
                assert line, "jerry socket exited:\n" + "".join(seen)
                seen.append(line)
        assert proc.returncode is None, "".join(seen)
    finally:
        proc.terminate()
        await proc.wait()
