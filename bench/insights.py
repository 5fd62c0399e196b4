"""How long the insights take with 1 000 000 items and 5 000 000 events (issue 13, "Scale
and speed").

Items spread over --years years up to now (a quarter holds about a sixteenth of them over four
years), in three teams and areas, with every stage a lead goes through: acknowledged, answered,
resolved (some fixed bugs, some at-risk customers kept or lost, some deals), reminders that
mark SLA breaches, past answers reused, duplicates merged, imported ones; five events each.

Timed, --repeat times, median:
- **the quarter's insights** (`compute_insights` for the last full quarter, as the product-ops
  report builds them: every number of every team and area, the bug trend since the first item,
  demand, surveys) for an admin, and for one team's lead;
- **the reference**, measured in the same run on the same data: what the timings cost the way
  the weekly summary computed them before (bot/sla/timings.team_timings: every event of the
  quarter's items read and replayed in Python), for the acknowledgement, answer and resolution
  times alone. The ratio says how much the insight columns (migration 0026) save.
Statements per computation are counted (a fixed number, whatever the data).

    .venv/bin/python bench/insights.py [--items 1000000] [--years 4] [--repeat 5]
                                       [--database-url URL]

Without --database-url, a SQLite file in a temporary directory; a PostgreSQL URL names a
database the script may empty. Numbers: BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import event, text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402
from summary import prepare  # noqa: E402

from bot.db import create_engine, session_factory  # noqa: E402
from bot.insights.numbers import ADMIN, audience_of, compute_insights  # noqa: E402
from bot.insights.periods import current_period  # noqa: E402
from bot.sla.timings import team_timings  # noqa: E402

ITEM_COLUMNS = (
    "id",
    "kind",
    "status",
    "text",
    "reporter_id",
    "anonymous",
    "source",
    "language",
    "team_id",
    "area_id",
    "assignee_id",
    "assigned_at",
    "route_step",
    "route_detail",
    "share_in_summary",
    "customer_at_risk",
    "helped_deal",
    "created_at",
    "updated_at",
    "first_acknowledged_at",
    "first_answered_at",
    "resolved_at",
    "outcome",
    "category",
    "sla_breached",
    "customer",
    "customer_outcome",
    "similar_choice",
    "merged_into",
    "hide_origin",
    "internal_note_count",
)
EVENT_COLUMNS = ("item_id", "at", "actor", "kind", "detail")
BATCH = 50_000
CATEGORIES = ("bug", "bug", "feature", "process", "other", None)


def generate(
    count: int, first: datetime, span: timedelta, areas: dict[str, int], rng: random.Random
) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    names = [name for name in areas if not name.startswith("team:")]
    items: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    for n in range(1, count + 1):
        created = first + span * (n / count) + timedelta(seconds=rng.random() * 60)
        area = names[n % len(names)]
        kind = "question" if n % 3 == 0 else "painpoint"
        ack = created + timedelta(hours=rng.uniform(0.1, 30)) if n % 10 < 8 else None
        answer = ack + timedelta(hours=rng.uniform(0.1, 20)) if ack and kind == "question" else None
        resolved = (answer or ack) + timedelta(hours=rng.uniform(1, 200)) if ack and n % 4 else None
        breached = bool(ack and (ack - created) > timedelta(hours=24))
        merged = n - 1 if n % 50 == 0 else None
        category = CATEGORIES[n % len(CATEGORIES)] if kind == "painpoint" else None
        at_risk = n % 40 == 0
        outcome = "fixed" if resolved and category == "bug" else "answered" if resolved else None
        items.append(
            (
                n,
                kind,
                "resolved" if resolved else "acknowledged" if ack else "open",
                f"item {n}: the invoice total is wrong",
                f"U0USER{n % 997}",
                n % 11 == 0,
                "import" if n % 97 == 0 else "command",
                "en",
                areas[f"team:{area}"],
                areas[area],
                "U0LEAD",
                created,
                "triage" if n % 9 == 0 else "keywords",
                "{}",
                False,
                at_risk,
                bool(resolved and n % 60 == 0),
                created,
                resolved or ack or created,
                ack,
                answer,
                resolved,
                "duplicate" if merged else outcome,
                category,
                breached,
                f"Customer {n % 300}" if at_risk or n % 60 == 0 else None,
                ("kept", "lost", "unknown")[n % 3] if at_risk and resolved else None,
                "answered" if n % 101 == 0 else None,
                merged,
                False,
                0,
            )
        )
        stamps = [("created", created, f"U0USER{n % 997}"), ("routed", created, "jerry")]
        if ack:
            stamps.append(("acknowledged", ack, "U0LEAD"))
        if breached:
            stamps.append(("reminder_sent", created + timedelta(hours=24), "jerry"))
        if answer:
            stamps.append(("answered", answer, "U0LEAD"))
        if resolved:
            stamps.append(("resolved", resolved, "U0LEAD"))
        while len(stamps) < 5:
            stamps.append(("delivered", created, "jerry"))
        for kind_, at, actor in stamps[:5]:
            detail = '{"reminder": "ack", "level": 1}' if kind_ == "reminder_sent" else "{}"
            events.append((n, at, actor, kind_, detail))
        if len(items) >= BATCH:
            yield items, events
            items, events = [], []
    if items:
        yield items, events


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


async def fill(engine: AsyncEngine, url: str, count: int, years: float, now: datetime) -> float:
    started = time.perf_counter()
    areas = await prepare(engine, url)
    rng = random.Random(13)
    span = timedelta(days=365 * years)
    chunks = generate(count, now - span, span, areas, rng)
    if engine.dialect.name == "sqlite":
        path = url.split("///", 1)[1]
        db = sqlite3.connect(path)
        db.execute("PRAGMA synchronous=OFF")
        marks = ", ".join("?" * len(ITEM_COLUMNS))
        item_sql = f"INSERT INTO items ({', '.join(ITEM_COLUMNS)}) VALUES ({marks})"
        event_sql = f"INSERT INTO item_events ({', '.join(EVENT_COLUMNS)}) VALUES (?, ?, ?, ?, ?)"
        for items, events in chunks:
            db.executemany(item_sql, ([_sqlite_value(v) for v in row] for row in items))
            db.executemany(event_sql, ([_sqlite_value(v) for v in row] for row in events))
            db.commit()
        db.execute("ANALYZE")
        db.commit()
        db.close()
    else:
        async with engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            await raw.execute("ALTER TABLE items DISABLE TRIGGER ALL")
            for items, events in chunks:
                # JSON columns go as their text (asyncpg's default for json).
                await raw.copy_records_to_table("items", records=items, columns=list(ITEM_COLUMNS))
                await raw.copy_records_to_table(
                    "item_events", records=events, columns=list(EVENT_COLUMNS)
                )
            await raw.execute("ALTER TABLE items ENABLE TRIGGER ALL")
            await raw.execute(
                "SELECT setval(pg_get_serial_sequence('items', 'id'), (SELECT max(id) FROM items))"
            )
            await conn.commit()
            # As autovacuum leaves a table in steady state: index-only scans need its map.
            await raw.execute("VACUUM ANALYZE")
            await conn.commit()
    return time.perf_counter() - started


async def timed(repeat: int, run: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    samples, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = await run()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--years", type=float, default=4.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url")
    parser.add_argument("--keep", action="store_true", help="reuse the database if it is filled")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="jerry-insights-bench-")
    url = args.database_url or f"sqlite+aiosqlite:///{folder}/insights.db"
    engine = create_engine(url)
    now = datetime.now(UTC)
    seconds = await fill(engine, url, args.items, args.years, now)
    async with engine.connect() as conn:
        items = (await conn.execute(text("SELECT count(*) FROM items"))).scalar()
        events = (await conn.execute(text("SELECT count(*) FROM item_events"))).scalar()
    print(f"{engine.dialect.name}: {items:,} items, {events:,} events, filled in {seconds:.0f} s")
    sessions = session_factory(engine)
    statements = 0

    def count(*_args: Any) -> None:
        nonlocal statements
        statements += 1

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    quarter = current_period("quarter", now, "Europe/Paris").previous()
    async with sessions() as session:
        lead = await audience_of(session, "U0PAYLEAD", admins=())

    async def admin_insights() -> Any:
        return await compute_insights(sessions, quarter, ADMIN, now=now)

    async def lead_insights() -> Any:
        return await compute_insights(sessions, quarter, lead, now=now)

    async def reference() -> Any:
        return await team_timings(sessions, quarter.start, quarter.end)

    statements = 0
    admin_s, found = await timed(args.repeat, admin_insights)
    admin_statements = statements // args.repeat
    statements = 0
    lead_s, _ = await timed(args.repeat, lead_insights)
    lead_statements = statements // args.repeat
    ref_s, _ = await timed(max(1, args.repeat // 2), reference)
    print(
        f"quarter {quarter.key}: {found.total.current.items:,} items in, "
        f"{len(found.bug_trend)} weeks of bug trend"
    )
    print(f"  insights, admin:  {admin_s:.3f} s ({admin_statements} statements)")
    print(f"  insights, a lead: {lead_s:.3f} s ({lead_statements} statements)")
    print(f"  reference (timings from events): {ref_s:.3f} s")
    print(f"  ratio insights / reference: {admin_s / ref_s:.2f}")
    await home_tab(sessions, now, args.repeat)
    await engine.dispose()


async def home_tab(sessions: Any, now: datetime, repeat: int) -> None:
    """The App Home's Insights tab as an admin opens it (this quarter), published to a local
    Slack look-alike: cold (numbers computed, charts drawn and uploaded), then warm (numbers
    reused for five minutes, charts known), then with the numbers' cache expired."""
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.insights import numbers
    from bot.insights.home import insights_view
    from tests.fakeslack import FakeSlack

    fake = FakeSlack()
    await fake.start()
    client = AsyncWebClient(token=fake.token, base_url=fake.api_url)
    numbers.forget_cached()

    async def publish() -> None:
        view = await insights_view(sessions, client, ADMIN, "en", period_choice="quarter", now=now)
        await client.views_publish(user_id="U0ADMIN", view=view)

    fake.add_user("U0ADMIN", "admin")
    started = time.perf_counter()
    await publish()
    cold = time.perf_counter() - started
    warm, _ = await timed(repeat, publish)

    async def expired() -> None:
        numbers.forget_cached()
        await publish()

    recomputed, _ = await timed(repeat, expired)
    uploads = len(fake.files)

    # What Jerry does in production (the insights_warm job, every 4 minutes): the numbers
    # ready before the tab is opened. Timed: the job itself, then the first open after it.
    from bot.insights.home import warm as warm_job

    async def language(_user: str) -> str:
        return "en"

    numbers.forget_cached()
    started = time.perf_counter()
    await warm_job(sessions, client, ["U0ADMIN"], now, language, "en")
    warming = time.perf_counter() - started
    started = time.perf_counter()
    await publish()
    after_warm = time.perf_counter() - started
    await fake.stop()
    print("App Home Insights tab (admin, this quarter), published:")
    print(f"  first open (compute, draw and upload 3 charts): {cold:.3f} s")
    print(f"  again within five minutes (numbers reused): {warm:.3f} s")
    print(f"  numbers recomputed, charts known: {recomputed:.3f} s ({uploads} uploads in all)")
    print(f"  the insights_warm job (in the background): {warming:.3f} s")
    print(f"  first open after it: {after_warm:.3f} s")


if __name__ == "__main__":
    asyncio.run(main())
