"""Demand: how many people and customers asked for an item (its own reporter and the reporters
of the items merged into it), as cards, the triage copy, the late message and the App Home
show it, and the App Home queue's order by it.

An item merged into another (bot/similar/merge.py) counts in the kept item's demand. Here are
the counting (`demand_of`, one query for any number of items, never one per item), what is
worth showing (more than the item's own reporter asked) and the queue's SQL order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.folding import fold
from bot.items.domain import NO_REPORTER, QUEUE_SORTS, ItemDemand
from models.items import Item


@dataclass(frozen=True)
class Demand:
    """How many asked for an item: its own reporter and the reporters of the items merged
    into it (each person once), and the customers named on any of them (each once)."""

    people: int
    customers: tuple[str, ...]
    items: int  # the item and the items merged into it

    @property
    def customer_count(self) -> int:
        return len(self.customers)


def root_column() -> ColumnElement[int]:
    """The kept item of each row: itself, or the item it was merged into (SQL)."""
    return func.coalesce(Item.merged_into, Item.id)


async def demand_of(session: AsyncSession, item_ids: Sequence[int]) -> dict[int, Demand]:
    """Each item's demand (its own and its followers'): every id given gets one."""
    ids = list(dict.fromkeys(item_ids))
    if not ids:
        return {}
    root = root_column().label("root")
    # Oldest first: a customer spelled two ways is shown as it was first written.
    statement = (
        select(root, Item.reporter_id, Item.customer)
        .where((Item.id.in_(ids)) | (Item.merged_into.in_(ids)))
        .order_by(Item.id)
    )
    people: dict[int, set[str]] = {i: set() for i in ids}
    customers: dict[int, dict[str, str]] = {i: {} for i in ids}
    counts: dict[int, int] = dict.fromkeys(ids, 0)
    for row in (await session.execute(statement)).all():
        if row.root not in people:
            continue  # an item given that is itself merged: counted with its own root
        counts[row.root] += 1
        people[row.root].add(row.reporter_id)
        for name in split_customers(row.customer):
            customers[row.root].setdefault(fold(name), name)
    return {
        i: Demand(
            people=len(people[i] - NOBODY),
            customers=tuple(sorted(customers[i].values(), key=fold)),
            items=counts[i],
        )
        for i in ids
    }


# Reporter ids that are nobody (an item imported without its reporter): never counted.
NOBODY: frozenset[str] = frozenset({"", NO_REPORTER})


def split_customers(value: str | None) -> list[str]:
    """The customers named in an item's customer field ("Acme, Globex" names two)."""
    if not value:
        return []
    parts = [part.strip() for part in value.replace(";", ",").split(",")]
    return [part for part in parts if part]


def demand_people_column() -> Any:
    """For sorting a queue by demand in SQL: how many distinct people asked for each kept
    item (a correlated count over the item and its followers)."""
    follower = Item.__table__.alias("demand_follower")
    return (
        select(func.count(func.distinct(follower.c.reporter_id)))
        .where((follower.c.id == Item.id) | (follower.c.merged_into == Item.id))
        .where(follower.c.reporter_id.not_in(tuple(NOBODY)))
        .correlate(Item)
        .scalar_subquery()
    )


class DemandSubject(Protocol):
    """What deciding whether an item's demand is worth showing reads of it."""

    @property
    def id(self) -> int: ...
    @property
    def reporter_id(self) -> str: ...
    @property
    def customer(self) -> str | None: ...
    @property
    def merged_into(self) -> int | None: ...


def worth_showing(reporter_id: str, customer: str | None, demand: Demand) -> ItemDemand | None:
    """The demand a card shows, or None when nobody but the item's own reporter asked (and no
    customer beyond its own): a single item's card stays as it always was."""
    own_people = 0 if reporter_id in NOBODY else 1
    own_customers = {fold(name) for name in split_customers(customer)}
    more_customers = any(fold(name) not in own_customers for name in demand.customers)
    if demand.people > own_people or more_customers:
        return ItemDemand(people=demand.people, customers=demand.customers)
    return None


async def demand_for(
    session: AsyncSession, items: Sequence[DemandSubject]
) -> dict[int, ItemDemand | None]:
    """Each kept item's demand as shown (one query for all of them); an item merged into
    another has none of its own (it counts in its kept item's) and is left out."""
    kept = [item for item in items if item.merged_into is None]
    if not kept:
        return {}
    found = await demand_of(session, [item.id for item in kept])
    return {
        item.id: worth_showing(item.reporter_id, item.customer, found[item.id]) for item in kept
    }


# --- the App Home queue's order --------------------------------------------------------------

OLDEST, NEWEST, MOST_ASKED = QUEUE_SORTS
DEFAULT_QUEUE_SORT = OLDEST


def demand_customers_column() -> Any:
    """For sorting by demand in SQL: how many distinct customer fields the item and its
    followers name (a field naming two customers counts once: a tie-breaker, not a count
    shown to anyone)."""
    follower = Item.__table__.alias("demand_customer")
    customer = func.lower(func.trim(follower.c.customer))
    return (
        select(func.count(func.distinct(customer)))
        .where((follower.c.id == Item.id) | (follower.c.merged_into == Item.id))
        .where(follower.c.customer.is_not(None), func.trim(follower.c.customer) != "")
        .correlate(Item)
        .scalar_subquery()
    )


def queue_order(sort: str) -> tuple[Any, ...]:
    """The ORDER BY of a queue of open items: stable (the id last), so paging with
    LIMIT/OFFSET neither skips nor repeats a row."""
    if sort == NEWEST:
        return (Item.created_at.desc(), Item.id.desc())
    if sort == MOST_ASKED:
        return (
            demand_people_column().desc(),
            demand_customers_column().desc(),
            Item.created_at,
            Item.id,
        )
    return (Item.created_at, Item.id)
