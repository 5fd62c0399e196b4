"""The Alembic head and the SQLAlchemy models describe the same schema, on both databases."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import create_engine, session_factory, upgrade
from models import Base, Delivery, Item, ItemEvent
from tests.conftest import POSTGRES_ADMIN_URL, _pg_url

# Slow: real databases, migrated from the first revision.
pytestmark = pytest.mark.slow


async def test_models_match_migration_head(engine: AsyncEngine) -> None:
    def diff(sync_conn):  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []


@pytest.fixture(params=["sqlite", "postgresql"])
def blank_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database with no schema at all, for migrating step by step."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        return
    name = f"jerry_upgrade_{os.getpid()}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}"'))
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield "postgresql+asyncpg" + _pg_url(name)[len("postgresql") :]
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def test_an_installed_jerry_with_data_upgrades_to_the_head(blank_database: str) -> None:
    """Items, their events and their outbox rows survive every migration since the first
    (SQLite rebuilds a table to alter it, which foreign keys pointing at it used to forbid)."""
    await upgrade(blank_database, "0001")
    engine = create_engine(blank_database)
    now = datetime(2026, 1, 5, 9, 0)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO teams (id, name, lead, position, is_triage, archived) "
                    "VALUES (1, 'Payments', 'U0PAYLEAD', 0, false, false)"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO items (id, kind, status, text, reporter_id, anonymous, source, "
                    "language, customer_at_risk, route_step, route_detail, team_id, "
                    "assignee_id, created_at, updated_at) VALUES (1, 'painpoint', "
                    "'acknowledged', 'the invoice is wrong', 'U0REPORTER', false, 'command', "
                    "'en', false, 'keywords', '{}', 1, 'U0PAYLEAD', :now, :now)"
                ),
                {"now": now},
            )
            await conn.execute(
                text(
                    "INSERT INTO item_events (item_id, at, actor, kind, detail) "
                    "VALUES (1, :now, 'U0PAYLEAD', 'acknowledged', '{}')"
                ),
                {"now": now},
            )
            await conn.execute(
                text(
                    "INSERT INTO deliveries (item_id, purpose, params, status, attempts, "
                    "next_attempt_at, created_at) VALUES (1, 'receipt', '{}', 'sent', 1, "
                    ":now, :now)"
                ),
                {"now": now},
            )
    finally:
        await engine.dispose()

    await upgrade(blank_database, "head")

    engine = create_engine(blank_database)
    try:
        async with session_factory(engine)() as session:
            item = await session.get(Item, 1)
            assert item is not None and item.text == "the invoice is wrong"
            assert item.status == "acknowledged" and item.assignee_id == "U0PAYLEAD"
            assert item.share_in_summary is False and item.helped_deal is False
            events = (await session.execute(select(ItemEvent.kind))).scalars().all()
            assert events == ["acknowledged"]
            assert (await session.execute(select(Delivery.purpose))).scalars().all() == ["receipt"]
        async with engine.connect() as conn:
            assert await conn.run_sync(lambda c: _diff(c)) == []
    finally:
        await engine.dispose()


def _diff(sync_conn):  # type: ignore[no-untyped-def]
    context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
    return compare_metadata(context, Base.metadata)


async def test_0011_keys_mentions_by_message_and_hides_anonymous_origins(
    blank_database: str,
) -> None:
    """Mentions and DMs get their message as intake key (the first of twins an edit made
    keeps it); every anonymous item hides its origin (the author of a shared message was not
    recorded) and an anonymous shared message is answered by DM, not in its thread."""
    await upgrade(blank_database, "0008")
    engine = create_engine(blank_database)
    now = datetime(2026, 1, 5, 9, 0)
    rows = [
        (1, "mention", "event:Ev1", "C1", "1.000001", False),
        (2, "mention", "event:Ev2", "C1", "1.000001", False),  # the edit's twin
        (3, "dm", "event:Ev3", "D1", "2.000001", False),
        (4, "modal", "view:V1:h", "C1", None, True),
        (5, "shortcut", "view:V2:h", "C1", "3.000001", True),
    ]
    try:
        async with engine.begin() as conn:
            for id_, source, key, channel, ts, anonymous in rows:
                await conn.execute(
                    text(
                        "INSERT INTO items (id, kind, status, text, reporter_id, anonymous, "
                        "source, intake_key, channel_id, message_ts, reply_channel, "
                        "reply_thread_ts, language, customer_at_risk, route_step, "
                        "route_detail, created_at, updated_at) "
                        "VALUES (:id, 'question', 'open', 'x', 'U0REPORTER', :anonymous, "
                        ":source, :key, :channel, :ts, :channel, :ts, 'en', false, "
                        "'unrouted', '{}', :now, :now)"
                    ),
                    {
                        "id": id_,
                        "anonymous": anonymous,
                        "source": source,
                        "key": key,
                        "channel": channel,
                        "ts": ts,
                        "now": now,
                    },
                )
    finally:
        await engine.dispose()

    await upgrade(blank_database, "head")

    engine = create_engine(blank_database)
    try:
        async with session_factory(engine)() as session:
            found = (
                await session.execute(
                    select(Item.id, Item.intake_key, Item.hide_origin, Item.reply_channel).order_by(
                        Item.id
                    )
                )
            ).all()
        assert [tuple(row) for row in found] == [
            (1, "message:C1:1.000001", False, "C1"),
            (2, "event:Ev2", False, "C1"),
            (3, "message:D1:2.000001", False, "D1"),
            (4, "view:V1:h", True, "C1"),
            (5, "view:V2:h", True, None),
        ]
    finally:
        await engine.dispose()
