"""Rule patterns run in RE2 (linear time): a pattern that makes a backtracking engine take
exponential time routes at once, and one RE2 cannot run is refused at import with its line."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import JerryApp
from bot.config import Settings
from bot.intake.routing_cli import import_file
from models.items import Item
from models.routing import Team
from tests.harness import ROUTING_YAML, SlackDriver
from tests.test_cli import (
    InProcessJerry,
    Jerry,
    assert_no_traceback,
    cli_db,
    line_of,
    seed_routing,
    snapshot,
)

__all__ = ["cli_db"]  # the fixture, imported for the CLI test

# `(\w+\s?)+$` against words followed by a character that is neither: Python's `re` tries
# every way of splitting the words before failing (2^n); this one froze the loop for 13 s.
CATASTROPHIC = r"(\w+\s?)+$"
BACKTRACKING_TEXT = "a" * 26 + "!"  # 27 characters: 2^25 ways to split the a's
ROUTING_WITH_CATASTROPHIC_RULE = ROUTING_YAML.replace(
    "rules:\n",
    f"rules:\n  - name: words then end\n    when: {{pattern: '{CATASTROPHIC}'}}\n"
    "    team: Payments\n",
)


async def test_a_catastrophic_pattern_routes_a_message_at_once(
    slack: SlackDriver, jerry: JerryApp, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "routing.yml"
    path.write_text(ROUTING_WITH_CATASTROPHIC_RULE, encoding="utf-8")
    assert await import_file(settings, path) == 0
    assert len(BACKTRACKING_TEXT) == 27

    failing = await slack.command("/painpoint", BACKTRACKING_TEXT)
    matching = await slack.command("/painpoint", "the checkout page says no")
    await slack.settle()

    assert failing.status_code == 200 and matching.status_code == 200
    async with jerry.sessions() as session:
        rows = (
            await session.execute(
                select(Item.text, Team.name).join(Team, Item.team_id == Team.id).order_by(Item.id)
            )
        ).all()
    # The 27 characters do not match (the `!`): keywords find nothing, triage gets it; the
    # other text matches the rule.
    assert [tuple(row) for row in rows] == [
        (BACKTRACKING_TEXT, "Triage"),
        ("the checkout page says no", "Payments"),
    ]


async def test_routing_test_answers_for_a_text_that_would_take_hours_to_backtrack(
    cli_db: Jerry, database_url: str, tmp_path: Path
) -> None:
    """2^45 ways to fail: with a backtracking engine `jerry routing test` would not answer
    within the CLI runs' minute (the test fails on a timeout); RE2 answers at once."""
    await seed_routing(database_url, tmp_path, ROUTING_WITH_CATASTROPHIC_RULE)
    run = await cli_db("routing", "test", "a" * 46 + "!")
    assert run.ok, str(run)
    assert "Triage" in run.stdout, str(run)
    assert_no_traceback(run)


@pytest.mark.parametrize(
    "pattern", [r"(\w+) \1", r"(?<=pay)ment", r"(?=crash)"], ids=["backref", "lookbehind", "ahead"]
)
async def test_a_pattern_re2_cannot_run_is_refused_at_import_with_its_line(
    database_url: str, tmp_path: Path, pattern: str
) -> None:
    # In this process (the command's own entry point): the real `jerry routing import`
    # process is tried in tests/test_cli.py and tests/test_cli_setup.py.
    cli = InProcessJerry(tmp_path, {"DATABASE_URL": database_url})
    await seed_routing(database_url, tmp_path)
    before = await snapshot(database_url)
    text = ROUTING_YAML.replace(
        "rules:\n",
        f"rules:\n  - name: unsupported\n    when: {{pattern: '{pattern}'}}\n    team: Payments\n",
    )
    (tmp_path / "rules.yml").write_text(text, encoding="utf-8")

    run = await cli("routing", "import", "rules.yml")

    assert run.returncode != 0, str(run)
    line = line_of(text, pattern)
    assert f"rules.yml:{line}: rules[0].when.pattern: is not a valid regular expression: " in (
        run.stderr
    ), str(run)
    assert_no_traceback(run)
    assert await snapshot(database_url) == before
