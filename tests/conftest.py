"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL is required (CI treats a missing server as a failure): the suite creates its own
database `jerry_test_<pid>` on the server named by JERRY_TEST_POSTGRES_URL (default
postgresql://postgres@127.0.0.1:5432/test), migrates it once, truncates between tests and
drops it at the end. SQLite tests each get a copy of a migrated template file.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

import bot.db
from bot.db import create_engine, session_factory, upgrade_sync
from models import Base
from models.base import use_clock

pytest_plugins = ["tests.harness"]

POSTGRES_ADMIN_URL = os.environ.get(
    "JERRY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def _pg_url(dbname: str) -> str:
    base, _, _ = POSTGRES_ADMIN_URL.rpartition("/")
    return f"{base}/{dbname}"


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A migrated PostgreSQL database of this test session's own; fails if the server is down."""
    name = f"jerry_test_{os.getpid()}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}"'))
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
        # A test database need not survive a crash of the server: commits do not wait for
        # the disk (every test commits often; the suite runs on two cores).
        asyncio.run(admin(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL is required for the tests and is not reachable: {exc}")
    url = _pg_url(name)
    upgrade_sync(url)
    yield url
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "jerry.db"
    upgrade_sync(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A freshly migrated, empty database: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "jerry.db"
        shutil.copyfile(template, path)
        return f"sqlite+aiosqlite:///{path}"
    url = request.getfixturevalue("postgres_database")
    # Emptying only what the previous test wrote: TRUNCATE costs per table (about 45 of them)
    # and most tests touch a few. A table is emptied when it has rows; a sequence is reset
    # when it was used (a table whose rows were deleted still numbers on from there).
    order = [table.name for table in Base.metadata.sorted_tables]  # parents first
    has_rows = " UNION ALL ".join(
        f"SELECT '{table.name}' WHERE EXISTS (SELECT 1 FROM \"{table.name}\")"
        for table in Base.metadata.sorted_tables
    )

    async def truncate() -> None:
        conn = await asyncpg.connect(url)
        try:
            written = {row[0] for row in await conn.fetch(has_rows)}
            # DELETE, children first: on a few rows it is far cheaper than TRUNCATE.
            deletes = [f'DELETE FROM "{name}"' for name in reversed(order) if name in written]
            if deletes:
                await conn.execute(";".join(deletes))
            await conn.execute(
                "SELECT setval(format('%I.%I', schemaname, sequencename), 1, false)"
                " FROM pg_sequences WHERE last_value IS NOT NULL"
            )
        finally:
            await conn.close()

    asyncio.run(truncate())
    return "postgresql+asyncpg" + url[len("postgresql") :]


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


@pytest.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessions() as session:
        yield session


async def count_rows(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()


# Fixtures that make a test end-to-end: a real database, the fake Slack, a running Jerry.
END_TO_END_FIXTURES = {"database_url", "fake_slack", "fake_feeds", "postgres_database"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test that touches a database or a fake service carries the `slow` marker, so
    `make test` runs the pure tests first (`-m "not slow"`) and fails fast on them."""
    for item in items:
        if END_TO_END_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def real_time() -> Iterator[None]:
    """No test inherits another's clock: the sandbox moves `utcnow()` for its process
    (models.base.use_clock), and a sandbox test that failed midway must not leave it set."""
    yield
    use_clock(None)


# Every engine the tests create for one kind of database compiles SQL once per process.
# SQLAlchemy caches compiled statements per engine, keyed by the engine's dialect object: a
# test's Jerry starts with an empty cache and compiles every statement again (a tenth of an
# end-to-end test's time). The engines of one driver here share one dialect (same SQLite
# library, same PostgreSQL server) and one cache of compiled statements: those of the first
# engine that connected, so the dialect shared has read its server (an engine pointed at a
# database that is down never gives its dialect to the others).
_SHARED_DIALECTS: dict[str, tuple[Any, Any]] = {}


def _engine_sharing_compiled_sql(url: Any, **kwargs: Any) -> AsyncEngine:
    engine = _create_async_engine(url, **kwargs)
    sync = engine.sync_engine
    driver = sync.url.drivername
    if driver in _SHARED_DIALECTS:
        sync.dialect, sync._compiled_cache = _SHARED_DIALECTS[driver]
    else:
        # Runs after SQLAlchemy's own first-connect listener, which initializes the dialect.
        @event.listens_for(sync, "connect", once=True)
        def _offer_dialect(*_args: Any) -> None:
            _SHARED_DIALECTS.setdefault(driver, (sync.dialect, sync._compiled_cache))

    return engine


@pytest.fixture(autouse=True, scope="session")
def _compile_sql_once_per_process() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bot.db, "create_async_engine", _engine_sharing_compiled_sql)
        yield
