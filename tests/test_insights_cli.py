"""`jerry insights`, run as an admin or a script runs it (the CLI's entry point in this
process: tests/test_cli.py's InProcessJerry), on the seeded history of
tests/test_insights_numbers.py, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.insights.file_settings import REPORT, write_file_setting
from tests.test_cli import InProcessJerry, Jerry, assert_no_traceback, snapshot
from tests.test_insights_numbers import _history

pytestmark = pytest.mark.slow


@pytest.fixture
def cli_db(tmp_path: Path, database_url: str) -> Jerry:
    return InProcessJerry(tmp_path, {"DATABASE_URL": database_url})


async def _seed(sessions: async_sessionmaker[AsyncSession], timezone: str = "Europe/Paris") -> None:
    async with sessions() as session:
        await _history(session)
        await write_file_setting(session, REPORT, {"timezone": timezone, "channel": "C0OPS"})
        await session.commit()


async def test_text_in_english_and_french(
    cli_db: InProcessJerry, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _seed(sessions)
    run = await cli_db("insights", "--period", "2026-Q4")
    assert run.returncode == 0, run
    out = run.stdout
    # Read in the report's timezone: item 1 (Oct 1 00:30 in Paris) is in Q4.
    assert (
        "Insights for 2026-Q4 (2026-10-01 to 2026-12-31, Europe/Paris), compared with 2026-Q3"
        in out
    )
    assert "7 items in (▲ +5): 5 pain points (3 bugs), 2 questions" in out
    assert "Time to acknowledge: median 2.0 h, 90th percentile 3.0 h (3 items)" in out
    assert "67% within target" in out
    assert "1 SLA breach (▲ +1)" in out
    assert "Time saved: 2.0 h" in out and "5 items routed straight to their team × 6 min" in out
    assert "pm-pulse: Roadmap known? 4.7 / 5 (round 2; ▲ +1.2)" in out
    assert "Acme (#2, Payments): at risk, kept" in out
    assert "U0ANON" not in out
    french = await cli_db.with_settings(JERRY_LANGUAGE="fr")("insights", "--period", "2026-Q4")
    assert french.returncode == 0, french
    assert (
        "7 demandes reçues (▲ +5)\u00a0: 5 points de friction (dont 3 bugs), 2 questions"
        in french.stdout
    )
    assert (
        "Délai de prise en charge\u00a0: médiane 2,0 h, 90e centile 3,0 h (3 demandes)"
        in french.stdout
    )
    assert "67\u202f% dans les délais" in french.stdout


async def test_json_and_csv_for_scripts(
    cli_db: InProcessJerry, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _seed(sessions)
    run = await cli_db("insights", "--period", "2026-Q4", "--format", "json")
    assert run.returncode == 0, run
    data = json.loads(run.stdout)
    assert data["period"]["key"] == "2026-Q4" and data["previous_period"] == "2026-Q3"
    assert data["total"]["current"]["items"] == 7
    assert data["total"]["current"]["acknowledge"]["median"] == 7200.0
    assert data["time_saved"]["hours"] == 2.0
    assert [c["customer"] for c in data["at_risk_customers"]] == ["Acme"]
    table = await cli_db("insights", "--period", "2026-Q4", "--format", "csv", "--team", "Mobile")
    assert table.returncode == 0, table
    rows = list(csv.DictReader(io.StringIO(table.stdout)))
    items = next(r for r in rows if (r["scope"], r["metric"]) == ("all", "items"))
    assert (items["value"], items["previous"]) == ("3", "0")
    assert {r["name"] for r in rows if r["scope"] == "team"} == {"Mobile"}
    assert not any(r["scope"] == "at_risk_customer" for r in rows)  # Globex is still open


async def test_bad_input_gets_a_clear_answer_and_changes_nothing(
    cli_db: InProcessJerry, sessions: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    await _seed(sessions)
    before = await snapshot(database_url)
    for args, words in (
        (("--period", "2026-Q5"), "2026-Q5 is not a period"),
        (("--period", "last year"), "is not a period"),
        (("--team", "Nope"), "no team is named Nope; the teams are: Mobile, Payments, Triage"),
    ):
        run = await cli_db("insights", *args)
        assert run.returncode == 1 and words in run.stderr, run
        assert_no_traceback(run)
    usage = await cli_db("insights", "--format", "xml")
    assert usage.returncode == 2 and "invalid choice" in usage.stderr
    assert await snapshot(database_url) == before


async def test_the_current_quarter_by_default(
    cli_db: InProcessJerry, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _seed(sessions, timezone="UTC")
    run = await cli_db("insights", "--format", "json")
    assert run.returncode == 0, run
    period = json.loads(run.stdout)["period"]
    assert period["kind"] == "quarter" and period["timezone"] == "UTC"
    month = json.loads((await cli_db("insights", "--period", "month", "--format", "json")).stdout)
    assert month["period"]["kind"] == "month"
