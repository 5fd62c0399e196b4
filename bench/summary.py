"""How long building one weekly summary takes as the items table grows.

Fills a database with a routing model, product updates over two years, 500 items in the
summary's week and 500 the week before (pain points and questions, with their events, some
answered, resolved or shared), then adds older items (spread over the two years before) in
steps up to the largest size, and after each step times `build_summary` (every area, then
one area): the median of --repeat runs after a warm-up. The week's items come from
ix_items_created_at, so the time should barely grow with the table. Numbers: BENCHMARKS.md.

    .venv/bin/python bench/summary.py [--sizes 10000,100000,1000000] [--database-url URL]

Without --database-url it uses a new SQLite file in a temporary directory. A PostgreSQL URL
must name a database the script may empty (it migrates it and truncates Jerry's tables);
rows go in with COPY there, with SQLAlchemy Core executemany on SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from bot.db import create_engine, session_factory, upgrade_sync  # noqa: E402
from bot.summaries.content import build_summary, iso_week_period  # noqa: E402
from bot.summaries.domain import SummaryScope  # noqa: E402
from models import Base  # noqa: E402
from models.items import Item, ItemEvent  # noqa: E402
from models.routing import Area, Team  # noqa: E402
from models.updates import ProductUpdate  # noqa: E402

WEEK = "2026-W48"
TZ = "Europe/Paris"
PERIOD = iso_week_period(WEEK, TZ)
HISTORY = timedelta(days=730)  # older items are spread over the two years before the week
BATCH = 20_000
AREAS = {"Billing": ["invoice", "refund"], "Checkout": ["cart"], "iOS app": ["crash"]}
_WORDS_TEXT = (
    "invoice total wrong export refund delayed customer cannot login crash checkout cart "
    "payment declined report missing slow dashboard renewal contract pricing api timeout"
)
WORDS = _WORDS_TEXT.split()


def sync_url(url: str) -> str:
    return url.replace("+aiosqlite", "").replace("+asyncpg", "")


async def prepare(engine: AsyncEngine, url: str) -> dict[str, int]:
    """A migrated, empty database with the routing model; area name -> id."""
    await asyncio.to_thread(upgrade_sync, sync_url(url))
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    sessions = session_factory(engine)
    async with sessions() as session:
        payments = Team(name="Payments", lead="U0PAYLEAD", position=0)
        mobile = Team(name="Mobile", lead="U0MOBLEAD", position=1)
        session.add_all([payments, mobile])
        await session.flush()
        areas = [
            Area(team_id=payments.id, name="Billing", keywords=AREAS["Billing"], position=0),
            Area(team_id=payments.id, name="Checkout", keywords=AREAS["Checkout"], position=1),
            Area(team_id=mobile.id, name="iOS app", keywords=AREAS["iOS app"], position=0),
        ]
        session.add_all(areas)
        await session.commit()
        return {a.name: a.id for a in areas} | {f"team:{a.name}": a.team_id for a in areas}


def item_rows(
    start_id: int,
    count: int,
    first: datetime,
    span: timedelta,
    ids: dict[str, int],
    rng: random.Random,
) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Items created in [first, first + span), each with its events."""
    names = list(AREAS)
    for n in range(start_id, start_id + count):
        created = first + span * rng.random()
        area = names[n % len(names)]
        answered = created + timedelta(hours=rng.uniform(0.2, 60)) if n % 5 < 3 else None
        resolved = answered + timedelta(hours=rng.uniform(1, 48)) if answered and n % 2 else None
        keyword = AREAS[area][n % len(AREAS[area])]
        kind = "question" if n % 3 == 0 else "painpoint"
        row = {
            "id": n,
            "kind": kind,
            "status": "resolved" if resolved else "answered" if answered else "open",
            "text": f"{keyword} " + " ".join(rng.choice(WORDS) for _ in range(12)),
            "reporter_id": f"U0USER{n % 997}",
            "anonymous": n % 11 == 0,
            "source": "command",
            "intake_key": None,
            "language": "en",
            "area_id": ids[area],
            "team_id": ids[f"team:{area}"],
            "chosen_area_id": None,
            "assignee_id": "U0PAYLEAD",
            "assigned_at": created,
            "route_step": "keywords",
            "route_detail": {"area": area, "keywords": [keyword]},
            "answer_text": "Here is what we found." if answered else None,
            "answered_by": "U0PAYLEAD" if answered else None,
            "share_in_summary": bool(answered and kind == "question" and n % 7 == 0),
            "customer_at_risk": False,
            "helped_deal": False,
            "created_at": created,
            "updated_at": resolved or answered or created,
            "answered_at": answered,
            "resolved_at": resolved,
        }
        events = [
            {
                "item_id": n,
                "at": created,
                "actor": row["reporter_id"],
                "kind": "created",
                "detail": {},
            }
        ]
        if answered:
            events.append(
                {
                    "item_id": n,
                    "at": answered,
                    "actor": "U0PAYLEAD",
                    "kind": "answered",
                    "detail": {},
                }
            )
        if resolved:
            events.append(
                {
                    "item_id": n,
                    "at": resolved,
                    "actor": "U0PAYLEAD",
                    "kind": "resolved",
                    "detail": {},
                }
            )
        yield row, events


async def bulk_insert(
    engine: AsyncEngine, rows: Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]
) -> None:
    items: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []

    async def flush() -> None:
        if not items:
            return
        if engine.dialect.name == "postgresql":
            await copy(engine, Item.__table__.name, items)
            await copy(engine, ItemEvent.__table__.name, events)
        else:
            async with engine.begin() as conn:
                await conn.execute(insert(Item.__table__), items)
                await conn.execute(insert(ItemEvent.__table__), events)
        items.clear()
        events.clear()

    for row, item_events in rows:
        items.append(row)
        events.extend(item_events)
        if len(items) >= BATCH:
            await flush()
    await flush()


async def copy(engine: AsyncEngine, table: str, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL COPY through asyncpg (JSON as text)."""
    import json

    columns = list(rows[0])
    records = [
        tuple(json.dumps(r[c]) if isinstance(r[c], dict) else r[c] for c in columns) for r in rows
    ]
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        await raw.driver_connection.copy_records_to_table(table, records=records, columns=columns)
        await conn.commit()


async def updates(engine: AsyncEngine, ids: dict[str, int], rng: random.Random) -> None:
    """2000 updates over two years (a few shipped this week) and 40 upcoming ones."""
    end_day = PERIOD.end.date()
    rows = []
    for n in range(2000):
        area = list(AREAS)[n % len(AREAS)]
        rows.append(
            {
                "kind": "shipped",
                "title": f"Update {n}",
                "customer_impact": "Customers can do more, faster.",
                "area_id": ids[area],
                "link": f"https://example.com/changelog/{n}",
                "shipped_on": end_day - timedelta(days=rng.randrange(0, 730)),
                "audience": "customer" if n % 2 else "internal",
                "status": "active",
                "created_at": PERIOD.start,
                "updated_at": PERIOD.start,
            }
        )
    for n in range(40):
        rows.append(
            {
                "kind": "upcoming",
                "title": f"Plan {n}",
                "area_id": ids[list(AREAS)[n % len(AREAS)]],
                "target_date": end_day + timedelta(days=rng.randrange(-10, 200)),
                "confidence": ("committed", "likely", "exploring")[n % 3],
                "audience": "customer",
                "status": "active",
                "created_at": PERIOD.start,
                "updated_at": PERIOD.start,
            }
        )
    keys = {k for row in rows for k in row}
    rows = [{k: row.get(k) for k in keys} for row in rows]  # one shape for executemany
    async with engine.begin() as conn:
        await conn.execute(insert(ProductUpdate.__table__), rows)


async def timed(engine: AsyncEngine, scope: SummaryScope, repeat: int) -> tuple[float, Any]:
    sessions = session_factory(engine)
    summary = await build_summary(sessions, scope, PERIOD)  # warm-up
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        summary = await build_summary(sessions, scope, PERIOD)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs) * 1000, summary


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--week-items", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    tmp = None
    url = args.database_url
    if url is None:
        tmp = tempfile.TemporaryDirectory()
        url = f"sqlite+aiosqlite:///{tmp.name}/bench.db"
    engine = create_engine(url)
    rng = random.Random(48)
    ids = await prepare(engine, url)
    await updates(engine, ids, rng)
    week = PERIOD.end - PERIOD.start
    # This week's items, and as many the week before (the numbers compare the two weeks).
    await bulk_insert(engine, item_rows(1, args.week_items, PERIOD.start, week, ids, rng))
    before = PERIOD.start - week
    await bulk_insert(
        engine, item_rows(args.week_items + 1, args.week_items, before, week, ids, rng)
    )
    total = 2 * args.week_items
    every = SummaryScope("Revenue", (), "en", TZ)
    billing = SummaryScope("Sales", ("Billing",), "en", TZ)
    print(f"database: {engine.dialect.name}; {args.week_items} items in {WEEK}")
    print(
        "| items in the database | insert s | summary, every area (ms) | summary, one area (ms) |"
    )
    print("|---:|---:|---:|---:|")
    for size in sizes:
        started = time.perf_counter()
        older = size - total
        if older > 0:
            await bulk_insert(
                engine,
                item_rows(total + 1, older, before - HISTORY, HISTORY, ids, rng),
            )
            total = size
        if engine.dialect.name == "postgresql":  # what autovacuum would have done
            async with engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text("ANALYZE"))
        inserted = time.perf_counter() - started
        all_ms, summary = await timed(engine, every, args.repeat)
        one_ms, _ = await timed(engine, billing, args.repeat)
        items_seen = sum(v.total for v in summary.voice)
        assert items_seen == args.week_items, (items_seen, args.week_items)
        print(f"| {total:,} | {inserted:.1f} | {all_ms:.1f} | {one_ms:.1f} |", flush=True)
    print(
        f"(last summary: {len(summary.shipped)} shipped, {len(summary.coming_soon)} coming soon, "
        f"{items_seen} items this week, {len(summary.shared_answers)} shared answers, "
        f"{summary.numbers.routed} routed, "
        f"median first answer {summary.numbers.median_first_answer})"
    )
    await engine.dispose()
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
