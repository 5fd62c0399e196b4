"""How long a survey round's results take for 5 000 answerers, against reading the same rows.

Fills a migrated database with one named survey, a closed round answered by --people people
(three questions each: two scales and a free text; everyone in the user cache, as after a
round they were asked in; its audience five user groups, each invite recording one or two:
the breakdown by group is computed) and five earlier closed rounds (the trend), then times,
in the same run and alternating:

* reference: a bare `SELECT` of the round's answer rows, fetched (the floor any results
  computation pays);
* results: `bot.surveys.results.results_of_round`, what the outbox calls before posting
  (answers, trend, names, counts, groups).

Reports the median of --repeat runs after a warm-up, their ratio, and how many SQL statements
one results computation runs (it must not grow with the people). Numbers: BENCHMARKS.md.

    .venv/bin/python bench/survey_results.py [--people 5000] [--repeat 7] [--database-url URL]

Without --database-url it uses a new SQLite file in a temporary directory. A PostgreSQL URL
must name a database the script may empty (it migrates it and truncates Jerry's tables).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, insert, select, text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from bot.db import create_engine, session_factory, upgrade_sync  # noqa: E402
from bot.surveys.results import results_of_round  # noqa: E402
from models import Base  # noqa: E402
from models.surveys import Survey, SurveyAnswer, SurveyInvite, SurveyRound  # noqa: E402
from models.users import SlackUser  # noqa: E402

QUESTIONS = [
    {"id": "q1", "kind": "scale5", "text": "Do customer-facing teams know your priorities?"},
    {"id": "q2", "kind": "scale10", "text": "Would you recommend product ops?"},
    {"id": "q3", "kind": "text", "text": "Where does your time go?"},
]
OPENED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
TREND_ROUNDS = 5
GROUPS = ("S0PMS", "S0LEADS", "S0DESIGN", "S0DATA", "S0PLATFORM")


def sync_url(url: str) -> str:
    return url.replace("+aiosqlite", "").replace("+asyncpg", "")


async def prepare(engine: AsyncEngine, url: str, people: int) -> int:
    """A migrated database holding the survey and its rounds; the id of the round to time."""
    await asyncio.to_thread(upgrade_sync, sync_url(url))
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    sessions = session_factory(engine)
    async with sessions() as session:
        survey = Survey(
            name="pm-pulse",
            title="PM pulse",
            owner_channel="C0PRODOPS",
            audience_kind="groups",  # several: the breakdown by group is computed too
            audience=[f"usergroup:{group}" for group in GROUPS],
            schedule={"day_of_week": "mon", "hour": 10},
            questions=QUESTIONS,
        )
        session.add(survey)
        await session.flush()
        rounds = []
        for number in range(1, TREND_ROUNDS + 2):
            opened = OPENED - timedelta(days=14 * (TREND_ROUNDS + 1 - number))
            round_ = SurveyRound(
                survey_id=survey.id,
                number=number,
                slot=opened,
                opened_at=opened,
                closes_at=opened + timedelta(days=3),
                closed_at=opened + timedelta(days=3),
                status="closed",
                questions=QUESTIONS,
                invited=people,
            )
            session.add(round_)
            rounds.append(round_)
        await session.commit()
        round_ids = [r.id for r in rounds]
    users = [f"U{n:08d}" for n in range(people)]
    async with engine.begin() as conn:
        await conn.execute(
            insert(SlackUser),
            [{"id": u, "name": f"pm{n}", "real_name": f"Person {n}"} for n, u in enumerate(users)],
        )
        for round_id in round_ids:
            rows: list[dict[str, Any]] = []
            for n, user in enumerate(users):
                common = {"round_id": round_id, "respondent": user, "answered_at": OPENED}
                for question, number, answer in (
                    ("q1", float(1 + n % 5), None),
                    ("q2", float(n % 11), None),
                    ("q3", None, f"discovery {n % 97}"),
                ):
                    rows.append({**common, "question_id": question, "number": number,
                                 "text": answer})  # fmt: skip
            await conn.execute(insert(SurveyAnswer), rows)
        # The round being timed recorded each invitee's groups (one or two each).
        await conn.execute(
            insert(SurveyInvite),
            [
                {
                    "round_id": round_ids[-1],
                    "respondent": user,
                    "groups": sorted({GROUPS[n % len(GROUPS)], GROUPS[n % 3]}),
                    "answered": 3,
                    "finished_at": OPENED,
                }
                for n, user in enumerate(users)
            ],
        )
    return round_ids[-1]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        engine = create_engine(url)
        try:
            round_id = await prepare(engine, url, args.people)
            sessions = session_factory(engine)
            statements: list[str] = []

            def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
                statements.append(statement)

            async def reference() -> int:
                async with engine.connect() as conn:
                    rows = await conn.execute(
                        select(SurveyAnswer.__table__).where(SurveyAnswer.round_id == round_id)
                    )
                    return len(rows.all())

            async def results() -> int:
                found = await results_of_round(sessions, round_id)
                assert len(found.groups) == len(GROUPS)  # the breakdown was computed
                return found.finished

            assert await reference() == 3 * args.people
            assert await results() == args.people  # warm-up, and it is right
            event.listen(engine.sync_engine, "before_cursor_execute", count)
            await results()
            event.remove(engine.sync_engine, "before_cursor_execute", count)
            queries = len(statements)
            times: dict[str, list[float]] = {"reference": [], "results": []}
            for _ in range(args.repeat):
                for name, run in (("reference", reference), ("results", results)):
                    started = time.perf_counter()
                    await run()
                    times[name].append(time.perf_counter() - started)
        finally:
            await engine.dispose()
    ref = statistics.median(times["reference"])
    res = statistics.median(times["results"])
    print(f"database: {engine.dialect.name}; {args.people} answerers × 3 questions")
    print(f"reference (bare SELECT of the round's answers): {ref * 1000:.1f} ms")
    print(f"results_of_round: {res * 1000:.1f} ms ({res / ref:.1f}× the reference)")
    print(f"SQL statements per results computation: {queries}")
    print(f"target ≤ 1 s: {'met' if res <= 1.0 else 'NOT met'}")


if __name__ == "__main__":
    asyncio.run(main())
