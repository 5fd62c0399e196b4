"""How long the admin App Home takes to render with 10 000 open items (issue 10, "Speed").

Two databases side by side: one with --items open items, one with --small (the reference,
measured in the same run, interleaved); items spread over the last ten days, so that many
are late. The reminders tick has looked at every item (as it does within a minute of any
change), then the admin's Home is rendered (`load_home` and the Block Kit view: everything
but the Slack call) --repeat times on each. Also timed: what the Home used to do for its
late list, the business-time state of every open item. Statements per render are counted.

    .venv/bin/python bench/home.py [--items 10000] [--small 100] [--database-url URL]

Without --database-url, SQLite files in a temporary directory; a PostgreSQL URL names a
database the script may empty, and the reference goes to the database named URL + "_small"
(which must exist too). Numbers: BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from reminders import rows  # noqa: E402
from sqlalchemy import event, insert, select  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker  # noqa: E402
from summary import copy, prepare  # noqa: E402

from bot.db import create_engine, session_factory  # noqa: E402
from bot.home import queries as q  # noqa: E402
from bot.home.service import load_home  # noqa: E402
from bot.sla.business_time import CLOSED_STATUSES, sla_state  # noqa: E402
from bot.sla.reminders import run_reminders  # noqa: E402
from bot.views.home import home_view  # noqa: E402
from models.base import utcnow  # noqa: E402
from models.items import Item  # noqa: E402

ADMIN = "U0ADMIN"


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: AsyncEngine = create_engine(url)
        self.sessions: async_sessionmaker[AsyncSession] = session_factory(self.engine)
        self.statements = 0
        event.listen(self.engine.sync_engine, "before_cursor_execute", self._count)

    def _count(self, *_args: Any) -> None:
        self.statements += 1

    async def fill(self, count: int) -> None:
        ids = await prepare(self.engine, self.url)
        teams = sorted({ids["team:Billing"], ids["team:iOS app"]})
        now = utcnow()
        for start in range(0, count, 20_000):
            batch = rows(
                1 + start,
                min(20_000, count - start),
                now - timedelta(days=10),
                timedelta(days=10),
                teams,
            )
            if self.engine.dialect.name == "postgresql":
                await copy(self.engine, Item.__table__.name, batch)
            else:
                async with self.engine.begin() as conn:
                    await conn.execute(insert(Item.__table__), batch)
        if self.engine.dialect.name == "postgresql":
            async with self.engine.begin() as conn:
                await conn.exec_driver_sql("ANALYZE")
        for _ in range(count // 20_000 + 2):  # the tick looks at every item once
            await run_reminders(self.sessions, None, utcnow(), check_leads=False)

    async def render(self) -> tuple[float, int, int]:
        before = self.statements
        started = time.perf_counter()
        async with self.sessions() as session:
            data = await load_home(session, ADMIN, admins=[ADMIN])
        home_view(data, "en")
        assert data.admin is not None
        return time.perf_counter() - started, self.statements - before, data.admin.breaches.total

    async def old_late_list(self) -> float:
        """What the Home did before: every open item's clock, and business time for each."""
        started = time.perf_counter()
        async with self.sessions() as session:
            teams = {team.id: team for team in await q.active_teams(session)}
            columns = [getattr(Item, name) for name in q._CLOCK_COLUMNS]
            statement = select(*columns).where(Item.status.not_in(sorted(CLOSED_STATUSES)))
            clocks = (await session.execute(statement)).all()
        late = 0
        for row in clocks:
            state = sla_state(row, teams.get(row.team_id), utcnow(), None).state
            late += state in ("breached", "escalated")
        return time.perf_counter() - started


def ms(values: list[float]) -> str:
    low, mid, high = (x * 1000 for x in (min(values), statistics.median(values), max(values)))
    return f"median {mid:.1f} ms (min {low:.1f}, max {high:.1f})"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        big_url = args.database_url or f"sqlite:///{tmp}/big.db"
        small_url = (
            f"{args.database_url}_small" if args.database_url else f"sqlite:///{tmp}/small.db"
        )
        big, small = Database(big_url), Database(small_url)
        await big.fill(args.items)
        await small.fill(args.small)
        for db in (big, small):
            await db.render()  # warm up
        big_times, small_times, old_times, statements = [], [], [], set()
        for _ in range(args.repeat):
            elapsed, count, late_big = await big.render()
            big_times.append(elapsed)
            statements.add(("big", count))
            elapsed, count, _ = await small.render()
            small_times.append(elapsed)
            statements.add(("small", count))
            old_times.append(await big.old_late_list())
        ratios = [b / s for b, s in zip(big_times, small_times, strict=True)]
        print(
            f"{big.engine.dialect.name}: admin Home, {args.items} open items "
            f"({late_big} late): {ms(big_times)}"
        )
        print(
            f"  reference, {args.small} open items: {ms(small_times)}; "
            f"ratio median {statistics.median(ratios):.2f}"
        )
        print(
            f"  the old late list alone at {args.items} items (business time for each): "
            f"{ms(old_times)}"
        )
        print(f"  statements per render: {sorted(statements)}")
        for db in (big, small):
            await db.engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
