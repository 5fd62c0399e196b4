"""End to end (issue 15): several DMs to Jerry in a row become one item, filed when the
person stops; its one receipt says how many messages it holds. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import JerryApp, create_app
from bot.config import Settings
from models.capture import DmGroup
from models.items import Item
from tests.fakeslack import FakeSlack
from tests.harness import SlackDriver
from tests.test_e2e_relay import REPORTER, everything

pytestmark = [pytest.mark.usefixtures("routed"), pytest.mark.slow]
WINDOW = 0.6  # seconds, in place of two minutes


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"jerry_dm_group_seconds": WINDOW})


async def items(jerry: JerryApp) -> list[Item]:
    async with jerry.sessions() as session:
        return list((await session.execute(select(Item).order_by(Item.id))).scalars())


async def window_passes(slack: SlackDriver, app: JerryApp | None = None) -> None:
    await asyncio.sleep(WINDOW + 0.3)
    (app or slack.app).worker.kick()
    await slack.settle()
    if app is not None:
        await app.drain()


def receipts(fake: FakeSlack) -> list[Any]:
    return [c for c in fake.dms_to(REPORTER) if "#" in everything(c.args)]


async def test_three_messages_in_a_row_are_one_question(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    for text in ("the invoice export", "it times out", "since Monday, for every customer"):
        response = await slack.dm(text)
        assert response.status_code == 200
    await slack.settle()
    assert not await items(jerry)  # the window is still open: nothing filed, no receipt
    assert not receipts(fake_slack)
    await window_passes(slack)
    [item] = await items(jerry)
    assert item.text == "the invoice export\n\nit times out\n\nsince Monday, for every customer"
    assert item.source == "dm" and item.kind == "question"
    [receipt] = receipts(fake_slack)
    assert "3 messages" in everything(receipt.args)
    # Its thread is the first message's: the receipt went there.
    async with jerry.sessions() as session:
        group = (await session.execute(select(DmGroup))).scalar_one()
    assert receipt.get("thread_ts") == group.first_ts and group.item_id == item.id


async def test_a_message_after_the_window_starts_another_item(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    await slack.dm("the invoice export times out for every customer")
    await window_passes(slack)
    await slack.dm("and the PDF of each invoice is blank since the release")
    await window_passes(slack)
    first, second = await items(jerry)
    assert "times out" in first.text and "PDF" in second.text
    # Alone, it says nothing about messages.
    assert all("messages" not in everything(r.args) for r in receipts(fake_slack))


async def test_a_greeting_is_still_answered_and_a_few_words_wait_for_more(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    await slack.dm("hi")
    await slack.settle()
    assert fake_slack.dms_to(REPORTER)  # the help card, at once
    await slack.dm("export broken")  # a few words: grouped, no "send this?" prompt
    await slack.dm("the quarterly invoice export fails with a timeout")
    await window_passes(slack)
    [item] = await items(jerry)
    assert item.text.startswith("export broken\n\nthe quarterly invoice export")


async def test_a_restart_in_the_middle_of_a_window_loses_nothing(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp, settings: Settings
) -> None:
    await slack.dm("the invoice export times out")
    await slack.dm("for every customer since Monday")
    await slack.settle()
    await jerry.stop()  # gone before the window closed
    again = create_app(settings)
    await again.start()
    try:
        await asyncio.sleep(WINDOW + 0.3)
        again.worker.kick()
        await again.drain()
        async with again.sessions() as session:
            [item] = (await session.execute(select(Item))).scalars().all()
        assert item.text == "the invoice export times out\n\nfor every customer since Monday"
    finally:
        await again.stop()
        await jerry.start()  # the fixture stops it again
