"""Merging items and undoing it, on a real database (SQLite and PostgreSQL): the data
moves (status, followers, flags), the undo restoring them, and demand counts (issue 12)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.items.demand import demand_of, demand_people_column, split_customers
from bot.similar.merge import MergeRefusedError, followers, merge_item, unmerge_item
from models import Item, ItemEvent

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


async def add(
    session: AsyncSession, reporter: str, text: str = "Invoices show the wrong VAT", **kw: object
) -> Item:
    item = Item(
        kind="painpoint", text=text, reporter_id=reporter, source="command", route_step="rule", **kw
    )
    session.add(item)
    await session.flush()
    return item


async def test_a_merged_item_closes_as_a_duplicate_and_its_reporter_follows(
    sessions: Sessions,
) -> None:
    async with sessions() as session:
        kept = await add(session, "U1")
        merged = await add(session, "U2", customer="Globex", customer_at_risk=True, impact="high")
        result = await merge_item(session, merged, kept, "ULEAD", by="lead", now=NOW)
        await session.commit()
    assert result.moved == (merged.id,) and result.into_id == kept.id
    async with sessions() as session:
        merged = await session.get(Item, merged.id)
        kept = await session.get(Item, kept.id)
        assert merged is not None and kept is not None
        assert (merged.status, merged.outcome, merged.duplicate_of, merged.merged_into) == (
            "resolved",
            "duplicate",
            kept.id,
            kept.id,
        )
        assert merged.resolved_at == NOW and merged.resolved_by == "ULEAD"
        assert kept.customer_at_risk is True and kept.impact == "high"
        assert [f.id for f in await followers(session, kept.id)] == [merged.id]
        kinds = (await session.execute(select(ItemEvent.kind).order_by(ItemEvent.id))).scalars()
        assert list(kinds) == ["merged", "merge_received"]


async def test_merging_an_item_others_follow_moves_them_to_the_kept_item(
    sessions: Sessions,
) -> None:
    async with sessions() as session:
        kept = await add(session, "U1")
        middle = await add(session, "U2")
        late = await add(session, "U3")
        await merge_item(session, late, middle, "U3", by="reporter", now=NOW)
        result = await merge_item(session, middle, kept, "ULEAD", by="lead", now=NOW)
        await session.commit()
        assert result.moved == (middle.id, late.id)
        assert late.merged_into == kept.id and late.duplicate_of == kept.id
        demand = (await demand_of(session, [kept.id]))[kept.id]
        assert (demand.people, demand.items) == (3, 3)
        # Undo: the one that followed the middle item follows it again.
        undone = await unmerge_item(session, middle, "ULEAD")
        await session.commit()
        assert undone.moved == (middle.id, late.id) and undone.from_id == kept.id
        assert middle.status == "open" and middle.merged_into is None
        assert middle.outcome is None and middle.resolved_at is None
        assert late.merged_into == middle.id
        demands = await demand_of(session, [kept.id, middle.id])
        assert demands[kept.id].people == 1 and demands[middle.id].people == 2


async def test_an_undo_gives_back_the_flags_only_when_no_other_follower_carries_them(
    sessions: Sessions,
) -> None:
    async with sessions() as session:
        kept = await add(session, "U1", impact="low")
        first = await add(session, "U2", customer_at_risk=True, impact="blocking")
        second = await add(session, "U3", customer_at_risk=True)
        await merge_item(session, first, kept, "ULEAD", by="lead")
        await merge_item(session, second, kept, "ULEAD", by="lead")
        await unmerge_item(session, first, "ULEAD")
        assert kept.customer_at_risk is True  # the second one still carries it
        assert kept.impact == "low"  # the blocking impact came from the first one
        await unmerge_item(session, second, "ULEAD")
        assert kept.customer_at_risk is False


async def test_a_resolved_item_merged_then_unmerged_is_resolved_as_before(
    sessions: Sessions,
) -> None:
    before = datetime(2026, 11, 1, tzinfo=UTC)
    async with sessions() as session:
        kept = await add(session, "U1")
        done = await add(
            session, "U2", status="resolved", outcome="fixed", resolved_at=before, resolved_by="UL"
        )
        await merge_item(session, done, kept, "ULEAD", by="lead", now=NOW)
        assert done.resolved_at == before  # closed already: its date stays
        await session.commit()
    async with sessions() as session:
        done = await session.get(Item, done.id)
        assert done is not None
        await unmerge_item(session, done, "ULEAD")
        await session.commit()
        assert (done.status, done.outcome, done.resolved_at, done.resolved_by) == (
            "resolved",
            "fixed",
            before,
            "UL",
        )


async def test_merges_that_make_no_sense_are_refused(sessions: Sessions) -> None:
    async with sessions() as session:
        one = await add(session, "U1")
        two = await add(session, "U2")
        with pytest.raises(MergeRefusedError) as refused:
            await merge_item(session, one, one, "ULEAD", by="lead")
        assert refused.value.reason == "self"
        await merge_item(session, two, one, "ULEAD", by="lead")
        with pytest.raises(MergeRefusedError) as refused:
            await merge_item(session, two, one, "ULEAD", by="lead")
        assert refused.value.reason == "already_merged"
        # Merging the kept item into the one merged into it: that one follows the kept one.
        with pytest.raises(MergeRefusedError) as refused:
            await merge_item(session, one, two, "ULEAD", by="lead")
        assert refused.value.reason == "self"
        with pytest.raises(MergeRefusedError) as refused:
            await unmerge_item(session, one, "ULEAD")
        assert refused.value.reason == "not_merged"


async def test_demand_counts_people_once_and_customers_once_across_merged_items(
    sessions: Sessions,
) -> None:
    async with sessions() as session:
        kept = await add(session, "U1", customer="Acme")
        same_person = await add(session, "U1", customer="ACME, Globex")
        other = await add(session, "U2", customer="Initech; globex")
        imported = await add(session, "imported")
        alone = await add(session, "U9")
        for item in (same_person, other, imported):
            await merge_item(session, item, kept, "ULEAD", by="lead")
        await session.commit()
        demands = await demand_of(session, [kept.id, alone.id])
        assert demands[kept.id].people == 2 and demands[kept.id].items == 4
        assert demands[kept.id].customers == ("Acme", "Globex", "Initech")
        assert demands[alone.id].people == 1 and demands[alone.id].customer_count == 0
        column = demand_people_column().label("people")
        rows = (
            await session.execute(
                select(Item.id, column).where(Item.merged_into.is_(None)).order_by(Item.id)
            )
        ).all()
        assert [(row.id, row.people) for row in rows] == [(kept.id, 2), (alone.id, 1)]


def test_customers_are_split_on_commas_and_semicolons() -> None:
    assert split_customers(" Acme ,Globex;; Initech ") == ["Acme", "Globex", "Initech"]
    assert split_customers(None) == [] and split_customers("  ") == []


async def test_suggestions_are_found_once_kept_and_follow_merges(sessions: Sessions) -> None:
    from bot.similar import service
    from bot.similar.suggestions import suggestions_for

    service.forget_loaded()
    async with sessions() as session:
        vat = await add(session, "U1", "Invoices show the wrong VAT rate for German customers")
        again = await add(session, "U2", "Invoices show the wrong VAT rate for German clients")
        old = await add(
            session,
            "U3",
            "Invoices show a wrong VAT rate for German customers",
            status="resolved",
            outcome="fixed",
            resolved_at=datetime(2020, 1, 1, tzinfo=UTC),
        )
        await add(session, "U4", "Dark mode for the dashboard")
        new = await add(session, "U5", "German invoices have the wrong VAT rate")
        await session.commit()
        shown = await suggestions_for(session, new, threshold=0.3, now=NOW)
        # Closed years ago: history, not a suggestion.
        assert [s.id for s in shown] == [vat.id, again.id] or [s.id for s in shown] == [
            again.id,
            vat.id,
        ]
        assert old.id not in {s.id for s in shown}
        stored = list(new.similar_suggestions or [])
        await session.commit()
        # The second merged into the first: it stands for the first, shown once.
        await merge_item(session, again, vat, "ULEAD", by="lead")
        await session.commit()
        shown = await suggestions_for(session, new, threshold=0.3, now=NOW)
        assert [s.id for s in shown] == [vat.id] and shown[0].followers == 1
        assert new.similar_suggestions == stored  # looked up once, kept
    service.forget_loaded()
