"""First contact's stored state, on SQLite and PostgreSQL: the Home welcome's state as every
replica reads it, and where the answer to a mention goes when Slack will not show it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.help import service
from models.deliveries import Delivery

pytestmark = pytest.mark.slow

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def test_the_welcome_is_in_full_from_the_first_open_until_the_next(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # Each step in its own session, as two replicas would.
    async with sessions() as replica_a:
        assert not await service.welcome_expanded(replica_a, "U1")  # never opened
        assert await service.home_opened(replica_a, "U1", T0)
    async with sessions() as replica_b:
        assert await service.welcome_expanded(replica_b, "U1")
        assert not await service.home_opened(replica_b, "U1", T0)  # not a first open
    async with sessions() as replica_a:
        assert not await service.welcome_expanded(replica_a, "U1")
        await service.show_welcome(replica_a, "U1", True, T0)
    async with sessions() as replica_b:
        assert await service.welcome_expanded(replica_b, "U1")
        await service.show_welcome(replica_b, "U1", False, T0)
    async with sessions() as replica_a:
        assert not await service.welcome_expanded(replica_a, "U1")


async def test_how_jerry_works_before_any_recorded_open_is_remembered(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        await service.show_welcome(session, "U2", True, T0)
    async with sessions() as session:
        assert await service.welcome_expanded(session, "U2")
        # Its first recorded open is not a first open: the person has seen the welcome.
        assert not await service.home_opened(session, "U2", T0)
        assert not await service.welcome_expanded(session, "U2")


@pytest.mark.parametrize(
    ("error", "by_dm"),
    [
        ("user_not_in_channel", True),
        ("channel_not_found", True),
        ("is_archived", True),
        ("user_disabled", False),  # a DM would fail the same way
    ],
)
async def test_a_mentions_answer_slack_will_not_show_goes_by_dm_if_it_can(
    sessions: async_sessionmaker[AsyncSession], error: str, by_dm: bool
) -> None:
    params = {
        "reply": "help",
        "lang": "fr",
        "key": "message:C1:1.000100",
        "channel": "C1",
        "thread_ts": "1.000001",
        "home": "slack://app?team=T1&id=A1&tab=home",
    }
    failed = Delivery(purpose=service.MENTION_REPLY, recipient="U3", params=params)
    async with sessions() as session:
        await service.mention_reply_by_dm(session, failed, None, error)
        await session.commit()
        owed = list((await session.execute(select(Delivery))).scalars())
    if not by_dm:
        assert owed == []
        return
    [dm] = owed
    assert (dm.purpose, dm.recipient, dm.status) == (service.DM_REPLY, "U3", "pending")
    assert dm.params == {
        "reply": "help",
        "lang": "fr",
        "key": "message:C1:1.000100",
        "home": "slack://app?team=T1&id=A1&tab=home",
    }
