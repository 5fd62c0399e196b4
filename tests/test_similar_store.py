"""Similar items on a real database (SQLite and PostgreSQL): index_item, reindex, similar,
and the index kept current across processes (issue 12, "The engine")."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.folding import fold
from bot.similar import service, store
from bot.similar.engine import ENCODING, Encoder, Entry
from bot.similar.service import index_item, reindex, similar
from models import Area, Item, SimilarEntry, SimilarState, Team
from tests.conftest import count_rows

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture(autouse=True)
def fresh_indexes() -> AsyncIterator[None]:
    """Each test's database is new: no index kept in memory from another test's."""
    service.forget_loaded()
    yield
    service.forget_loaded()


async def add_item(
    session: AsyncSession, text: str, *, kind: str = "painpoint", area_id: int | None = None
) -> Item:
    item = Item(
        kind=kind,
        text=text,
        reporter_id="U0REPORTER",
        source="command",
        route_step="triage",
        area_id=area_id,
    )
    session.add(item)
    await session.flush()
    return item


async def test_an_indexed_item_is_found_with_its_status_and_text(sessions: Sessions) -> None:
    async with sessions() as session:
        vat = await add_item(session, "Invoices show the wrong VAT rate for German customers")
        await index_item(session, vat)
        other = await add_item(session, "Dark mode for the dashboard")
        await index_item(session, other)
        vat.status = "answered"
        vat.answer_text = "Fixed in 4.2"
        await session.commit()
    async with sessions() as session:
        matches = await similar(session, "The VAT percentage on German invoices is incorrect")
    assert [match.id for match in matches] == [vat.id, other.id]
    best = matches[0]
    assert best.status == "answered" and best.answer_text == "Fixed in 4.2"
    assert best.text == "Invoices show the wrong VAT rate for German customers"
    assert 0.48 <= best.score <= 1 and matches[1].score < 0.48
    assert best.kind == "painpoint"


async def test_similar_filters_by_kind_area_exclusions_and_score(sessions: Sessions) -> None:
    async with sessions() as session:
        team = Team(name="Payments", lead="U0LEAD")
        session.add(team)
        await session.flush()
        billing = Area(name="Billing", team_id=team.id)
        session.add(billing)
        await session.flush()
        painpoint = await add_item(session, "Refunds take two weeks to be approved")
        question = await add_item(session, "Why do refunds take two weeks?", kind="question")
        in_billing = await add_item(session, "Refund approval takes weeks", area_id=billing.id)
        for item in (painpoint, question, in_billing):
            await index_item(session, item)
        await session.commit()
    async with sessions() as session:
        text = "refunds are approved after two weeks"
        assert [m.id for m in await similar(session, text, kind="question")] == [question.id]
        assert [m.id for m in await similar(session, text, area=billing.id)] == [in_billing.id]
        assert painpoint.id not in [
            m.id for m in await similar(session, text, exclude_ids=[painpoint.id])
        ]
        assert len(await similar(session, text, limit=2)) == 2
        assert all(m.score >= 0.9 for m in await similar(session, text, min_score=0.9))
        assert await similar(session, "   !!! ") == []


async def test_editing_an_item_and_indexing_it_again_replaces_its_entry(
    sessions: Sessions,
) -> None:
    async with sessions() as session:
        item = await add_item(session, "Dark mode please")
        await index_item(session, item)
        await session.commit()
        assert (await similar(session, "dark mode"))[0].id == item.id
        item.text = "Customers cannot reset their password, the email never arrives"
        await index_item(session, item)
        await session.commit()
        [match] = await similar(session, "password reset emails never arrive")
        assert match.id == item.id and match.score > 0.6
        assert (await similar(session, "dark mode"))[0].score < 0.3
    async with sessions() as session:
        rows = (await session.execute(select(SimilarEntry))).scalars().all()
        assert [(row.item_id, row.encoding) for row in rows] == [(item.id, ENCODING)]


async def test_reindex_rebuilds_every_entry(sessions: Sessions, engine: AsyncEngine) -> None:
    async with sessions() as session:
        texts = ["Salesforce sync duplicates contacts", "Le taux de TVA est faux", "Dark mode"]
        items = [await add_item(session, text) for text in texts]
        await session.commit()
    async with sessions() as session, session.begin():
        assert await reindex(session, batch=2) == 3
    assert await count_rows(engine, "similar_entries") == 3
    async with sessions() as session:
        state = await store.read_state(session)
        assert state.generation >= 1
        [match] = await similar(session, "les taux de TVA sont faux", limit=1)
        assert match.id == items[1].id
    async with sessions() as session, session.begin():
        assert await reindex(session) == 3  # again: the same entries, a new generation
        assert (await store.read_state(session)).generation == state.generation + 1
    assert await count_rows(engine, "similar_entries") == 3


async def test_items_nobody_indexed_are_found_all_the_same(
    sessions: Sessions, engine: AsyncEngine
) -> None:
    async with sessions() as session:
        first = await add_item(session, "Webhook retries flood the customer's endpoint")
        await session.commit()
    async with sessions() as session:
        assert (await similar(session, "our webhooks retry too aggressively"))[0].id == first.id
        later = await add_item(session, "Trial accounts expire without any warning email")
        await session.commit()
        [match] = await similar(session, "users are not warned before their trial ends", limit=1)
        assert match.id == later.id
    # Found in memory only: `jerry items reindex` writes their entries.
    assert await count_rows(engine, "similar_entries") == 0


async def test_entries_written_by_another_process_reach_this_one(sessions: Sessions) -> None:
    async with sessions() as session:
        item = await add_item(session, "Dark mode please")
        await index_item(session, item)
        await session.commit()
        assert (await similar(session, "dark mode"))[0].id == item.id  # loaded in memory
    async with sessions() as session:
        # Another Jerry (a replica, the CLI) rewrites the entry: only the database says so.
        [encoded] = Encoder().encode([fold("Stripe payments fail for Canadian cards")])
        await store.write_entries(session, [Entry(item.id, "painpoint", None, encoded)])
        await session.commit()
    async with sessions() as session:
        [match] = await similar(session, "Stripe payment failures with cards from Canada")
        assert match.id == item.id and match.lexical > 0.3


async def test_the_state_row_is_recreated_when_missing(sessions: Sessions) -> None:
    async with sessions() as session:
        await session.execute(delete(SimilarState))  # as a truncated database has it
        item = await add_item(session, "Dark mode please")
        await index_item(session, item)
        await session.commit()
        assert (await store.read_state(session)).seq == 1
        assert (await similar(session, "dark mode"))[0].id == item.id
