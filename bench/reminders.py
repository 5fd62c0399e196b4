"""How long one reminders tick takes with 100 000 open items (issue 10, "Speed").

Fills a database (migrated, the Payments and Mobile teams) with --items open items that
are not due yet, plus 5 groups of --due items that fall due ten minutes apart, all with
SQLAlchemy Core executemany on SQLite and COPY on PostgreSQL. Then:

1. the first ticks after the upgrade: every item is looked at once (the migration marks
   every open item "look now"), until none is left to look at;
2. ticks with nothing due, --repeat times;
3. ticks at the moment each group falls due (--due reminders each).

Each tick is timed against a reference measured just before it in the same run: one indexed
SELECT of the rows due (what any design must read at least), so the ratio holds when the
shared machine's speed drifts. Statements per tick are counted (before_cursor_execute).

    .venv/bin/python bench/reminders.py [--items 100000] [--due 100] [--database-url URL]

Without --database-url a new SQLite file in a temporary directory; a PostgreSQL URL must
name a database the script may empty. Numbers: BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import event, func, insert, select  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402
from summary import copy, prepare  # noqa: E402

from bot.db import create_engine, session_factory  # noqa: E402
from bot.sla.reminders import run_reminders  # noqa: E402
from models.items import CHECK_NOW, Item  # noqa: E402

BATCH = 20_000
# Business hours are the defaults (Mon-Fri 09:00-18:00, UTC: the leads' timezones are not
# known), targets one business day (9 hours).
NOT_DUE_FROM = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)  # Tuesday: due Wednesday
DUE_FROM = datetime(2025, 3, 3, 13, 0, tzinfo=UTC)  # Monday 13:00: due Tuesday 13:00
GROUPS = 5
GROUP_STEP = timedelta(minutes=10)
PRIME_AT = datetime(2025, 3, 4, 12, 30, tzinfo=UTC)  # nothing due yet
QUIET_AT = datetime(2025, 3, 4, 12, 40, tzinfo=UTC)


def rows(start_id: int, count: int, first: datetime, span: timedelta, teams: list[int]) -> list:
    made = []
    for n in range(start_id, start_id + count):
        created = first + span * ((n * 7919) % count) / max(count, 1)
        team = teams[n % len(teams)]
        made.append(
            {
                "id": n,
                "kind": "question" if n % 3 == 0 else "painpoint",
                "status": "open",
                "text": f"item {n}: the invoice total is wrong",
                "reporter_id": f"U0USER{n % 997}",
                "anonymous": False,
                "source": "command",
                "intake_key": None,
                "language": "en",
                "team_id": team,
                "area_id": None,
                "chosen_area_id": None,
                "assignee_id": "U0PAYLEAD" if team == teams[0] else "U0MOBLEAD",
                "assigned_at": created,
                "route_step": "keywords",
                "route_detail": {},
                "share_in_summary": False,
                "customer_at_risk": False,
                "helped_deal": False,
                "created_at": created,
                "updated_at": created,
                "next_reminder_at": CHECK_NOW,
            }
        )
    return made


async def fill(engine: AsyncEngine, items: int, due: int, teams: list[int]) -> float:
    started = time.perf_counter()
    batches = [
        rows(1 + start, min(BATCH, items - start), NOT_DUE_FROM, timedelta(hours=2), teams)
        for start in range(0, items, BATCH)
    ]
    for group in range(GROUPS):
        first_id = items + 1 + group * due
        batches.append(rows(first_id, due, DUE_FROM + GROUP_STEP * group, timedelta(0), teams))
    for batch in batches:
        if engine.dialect.name == "postgresql":
            await copy(engine, Item.__table__.name, batch)
        else:
            async with engine.begin() as conn:
                await conn.execute(insert(Item.__table__), batch)
    if engine.dialect.name == "postgresql":
        async with engine.begin() as conn:
            await conn.exec_driver_sql("SELECT setval('items_id_seq', (SELECT max(id) FROM items))")
            await conn.exec_driver_sql("ANALYZE")
    return time.perf_counter() - started


class Counter:
    def __init__(self, engine: AsyncEngine) -> None:
        self.statements = 0
        event.listen(engine.sync_engine, "before_cursor_execute", self._count)

    def _count(self, *_args: Any) -> None:
        self.statements += 1


async def timed(work: Callable[[], Awaitable[Any]], counter: Counter) -> tuple[float, int, Any]:
    before = counter.statements
    started = time.perf_counter()
    result = await work()
    return time.perf_counter() - started, counter.statements - before, result


def line(label: str, values: list[float], reference: list[float], statements: list[int]) -> None:
    ratios = [v / r for v, r in zip(values, reference, strict=True)]
    print(
        f"  {label}: median {statistics.median(values) * 1000:.1f} ms "
        f"(min {min(values) * 1000:.1f}, max {max(values) * 1000:.1f}); reference median "
        f"{statistics.median(reference) * 1000:.1f} ms; ratio median "
        f"{statistics.median(ratios):.1f}; statements {sorted(set(statements))}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/reminders.db"
        engine = create_engine(url)
        ids = await prepare(engine, url)
        teams = sorted({ids["team:Billing"], ids["team:iOS app"]})
        seconds = await fill(engine, args.items, args.due, teams)
        total = args.items + GROUPS * args.due
        print(f"{engine.dialect.name}: {total} open items inserted in {seconds:.1f} s")
        sessions = session_factory(engine)
        counter = Counter(engine)

        async def reference(now: datetime) -> int:
            async with sessions() as session:
                statement = (
                    select(Item)
                    .where(Item.next_reminder_at <= now)
                    .order_by(Item.next_reminder_at, Item.id)
                    .limit(500)
                )
                return len((await session.execute(statement)).scalars().all())

        async def waiting_to_look_at() -> int:
            async with sessions() as session:
                statement = select(func.count()).where(Item.next_reminder_at == CHECK_NOW)
                return int((await session.execute(statement)).scalar_one())

        # 1. The first ticks after the upgrade look at every item once.
        prime_seconds, prime_statements, ticks = 0.0, 0, 0
        while await waiting_to_look_at():
            elapsed, statements, _ = await timed(
                lambda: run_reminders(sessions, None, PRIME_AT), counter
            )
            prime_seconds += elapsed
            prime_statements += statements
            ticks += 1
        print(
            f"  first ticks after the upgrade: {ticks} ticks, {prime_seconds:.1f} s, "
            f"{prime_statements} statements for {total} items (once)"
        )

        # 2. Nothing due.
        quiet, quiet_ref, quiet_statements = [], [], []
        for _ in range(args.repeat):
            ref, _, found = await timed(lambda: reference(QUIET_AT), counter)
            assert found == 0
            elapsed, statements, summary = await timed(
                lambda: run_reminders(sessions, None, QUIET_AT), counter
            )
            assert summary.sent == 0
            quiet.append(elapsed)
            quiet_ref.append(ref)
            quiet_statements.append(statements)
        line("tick, nothing due", quiet, quiet_ref, quiet_statements)

        # 3. A group of --due items falls due at each tick.
        busy, busy_ref, busy_statements = [], [], []
        for group in range(GROUPS):
            now = DUE_FROM + timedelta(days=1) + GROUP_STEP * group + timedelta(minutes=1)
            ref, _, found = await timed(lambda now=now: reference(now), counter)  # type: ignore[misc]
            elapsed, statements, summary = await timed(
                lambda now=now: run_reminders(sessions, None, now),  # type: ignore[misc]
                counter,
            )
            assert summary.reminders == args.due, summary
            busy.append(elapsed)
            busy_ref.append(ref)
            busy_statements.append(statements)
        line(f"tick, {args.due} reminders due", busy, busy_ref, busy_statements)
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
