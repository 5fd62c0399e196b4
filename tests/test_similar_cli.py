"""`jerry items reindex` and `jerry items similar`, run as an admin runs them, by the CLI's
entry point (tests/test_cli.py's InProcessJerry: the model loads once per test process) on the
test database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.similar import service as similar_service
from models import Item
from tests.conftest import count_rows
from tests.test_cli import InProcessJerry, Jerry, assert_no_traceback

pytestmark = pytest.mark.slow


@pytest.fixture
def cli_db(tmp_path: Path, database_url: str) -> Jerry:
    """`jerry` on the test database (SQLite or PostgreSQL), with no Slack settings."""
    return InProcessJerry(tmp_path, {"DATABASE_URL": database_url})


@pytest.fixture(autouse=True)
def fresh_indexes() -> Iterator[None]:
    """No similarity index kept in this process from another test's database."""
    similar_service.forget_loaded()
    yield
    similar_service.forget_loaded()


TEXTS = [
    "Invoices show the wrong VAT rate for German customers",
    "Le taux de TVA est faux sur les factures",
    "The dashboard takes forever to load in the morning",
    "Dark mode for the mobile app",
]


async def add_items(sessions: async_sessionmaker[AsyncSession]) -> list[int]:
    async with sessions() as session:
        items = [
            Item(
                kind="painpoint", text=text, reporter_id="U1", source="command", route_step="triage"
            )
            for text in TEXTS
        ]
        session.add_all(items)
        items[2].status = "resolved"
        await session.commit()
        return [item.id for item in items]


async def test_reindex_then_similar_in_text_and_json(
    cli_db: Jerry, sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    ids = await add_items(sessions)
    reindexed = await cli_db("items", "reindex")
    assert reindexed.ok, str(reindexed)
    assert reindexed.stdout.strip() == "jerry: 4 items indexed for similar items"
    assert await count_rows(engine, "similar_entries") == 4

    as_json = await cli_db(
        "items", "similar", "The VAT on invoices is incorrect", "--format", "json"
    )
    assert as_json.ok, str(as_json)
    rows = json.loads(as_json.stdout)
    assert len(rows) == 4 and rows[0]["id"] == ids[0]
    assert {"id", "text", "score", "status"} <= set(rows[0])
    assert rows[0]["text"] == TEXTS[0] and rows[0]["status"] == "open"
    assert [row["score"] for row in rows] == sorted((row["score"] for row in rows), reverse=True)
    assert rows[0]["score"] >= 0.48 > rows[-1]["score"]

    limited = await cli_db("items", "similar", "dashboard slow to load", "--limit", "1")
    assert limited.ok, str(limited)
    [line] = limited.stdout.strip().splitlines()
    assert line.startswith(f"#{ids[2]}  0.") and line.endswith("  resolved  " + TEXTS[2])

    french = await cli_db.with_settings(JERRY_LANGUAGE="fr")(
        "items", "similar", "TVA fausse sur les factures", "--limit", "1"
    )
    assert french.ok, str(french)
    assert french.stdout.startswith(f"n° {ids[1]}  0.") and "  nouveau  " in french.stdout
    assert_no_traceback(french)


async def test_similar_on_an_empty_index_and_when_switched_off(cli_db: Jerry) -> None:
    empty = await cli_db("items", "similar", "anything at all")
    assert empty.ok and empty.stdout.strip() == "No similar item.", str(empty)
    off = await cli_db.with_settings(JERRY_SIMILAR="off")("items", "similar", "anything")
    assert off.returncode == 1 and "JERRY_SIMILAR=off" in off.stderr, str(off)
    assert_no_traceback(off)
