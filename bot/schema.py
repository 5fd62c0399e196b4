"""Bringing the database schema to the migration head before serving."""

from __future__ import annotations

import asyncio

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from bot.db import alembic_config, create_engine, upgrade_sync

# Any constant: replicas starting together take turns to migrate.
MIGRATION_LOCK_KEY = 0x4A45525259


async def schema_is_current(url: str) -> bool | None:
    """True when at head, False when behind or empty, None when the database cannot be reached."""
    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            current = await conn.run_sync(
                lambda sync: set(MigrationContext.configure(sync).get_current_heads())
            )
    except Exception:
        return None
    finally:
        await engine.dispose()
    return current == heads


async def ensure_schema(url: str) -> None:
    """Migrate to head; on PostgreSQL under an advisory lock so replicas do not race."""
    engine = create_engine(url)
    try:
        if engine.dialect.name == "postgresql":
            async with engine.connect() as conn:
                await conn.execute(
                    text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
                try:
                    await asyncio.to_thread(upgrade_sync, url)
                finally:
                    await conn.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY}
                    )
        else:
            await asyncio.to_thread(upgrade_sync, url)
    finally:
        await engine.dispose()
