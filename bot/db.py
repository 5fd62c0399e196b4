"""Engine, sessions, migrations and the health check."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import event, text
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.config import async_database_url

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# What a database that does not answer raises: SQLAlchemy's errors, and the driver's own
# OSError (asyncpg's "connection refused" and timeouts are not wrapped by SQLAlchemy).
DATABASE_ERRORS: tuple[type[Exception], ...] = (SQLAlchemyError, OSError)


def create_engine(url: str, **kwargs: object) -> AsyncEngine:
    url = async_database_url(url)
    # A query's parameters (a reporter's id, their anonymous text) stay out of logs and errors.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        # Wait for a lock instead of failing at once when two writers meet.
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


def affected_rows(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE without RETURNING matched.

    `Session.execute` is typed as giving a plain Result, as it cannot promise a cursor for every
    statement; for these it gives a CursorResult, which carries the count.
    """
    return cast(CursorResult[Any], result).rowcount


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def database_answers(engine: AsyncEngine, wait_seconds: float = 2.0) -> bool:
    try:
        async with asyncio.timeout(wait_seconds), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = async_database_url(url)
    return config


def upgrade_sync(url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


async def upgrade(url: str, revision: str = "head") -> None:
    """Run the migrations in a worker thread (Alembic's env drives its own event loop)."""
    await asyncio.to_thread(upgrade_sync, url, revision)
