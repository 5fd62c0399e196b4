"""Setup mistakes surface at setup (issue 11): a bad token stops `jerry serve`/`jerry socket`
at start in one line, and every command that needs the schema says to run `jerry db upgrade`
when the tables are missing or older than the code. Real `jerry` processes (tests/test_cli.py).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import asyncpg
import pytest

from bot.db import upgrade_sync
from tests.conftest import POSTGRES_ADMIN_URL, _pg_url
from tests.fakeslack import FakeSlack
from tests.harness import SIGNING_SECRET
from tests.test_cli import Jerry, Run, assert_no_traceback

pytestmark = pytest.mark.slow


@pytest.fixture
def cli(tmp_path: Path) -> Jerry:
    """`jerry` with no settings at all, in an empty directory."""
    return Jerry(tmp_path)


def one_line_refusal(run: Run, *needles: str) -> str:
    assert run.returncode != 0, str(run)
    assert_no_traceback(run)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr\n{run}"
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in the line\n{run}"
    return lines[0]


# --- a bad token stops the start -------------------------------------------------------------


async def test_serve_and_socket_refuse_to_start_with_a_token_slack_refuses(
    cli: Jerry, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    base = cli.with_settings(
        SLACK_API_URL=fake_slack.api_url,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'jerry.db'}",
    )
    wrong = base.with_settings(SLACK_BOT_TOKEN="xoxb-not-this-one")
    serve, socket, french = await asyncio.gather(
        wrong("serve", "--port", "9"),
        wrong.with_settings(SLACK_APP_TOKEN="xapp-test")("socket"),
        wrong.with_settings(JERRY_LANGUAGE="fr")("serve", "--port", "9"),
    )
    one_line_refusal(serve, "SLACK_BOT_TOKEN", "invalid_auth")
    one_line_refusal(socket, "SLACK_BOT_TOKEN", "invalid_auth")
    one_line_refusal(french, "Slack refuse SLACK_BOT_TOKEN", "invalid_auth")
    # Revoked: the right token, which Slack no longer accepts.
    fake_slack.fail_next("auth.test", "token_revoked")
    revoked = await base.with_settings(SLACK_BOT_TOKEN=fake_slack.token)("serve", "--port", "9")
    one_line_refusal(revoked, "token_revoked")
    # Refused before touching the database.
    assert not (tmp_path / "jerry.db").exists()


# --- the schema is missing or behind ---------------------------------------------------------

SCHEMA_COMMANDS = [
    ("routing", "export"),
    ("routing", "test", "the invoice is wrong"),
    ("summaries", "export"),
    ("surveys", "export"),
    ("surveys", "results", "pulse"),
    ("summaries", "fetch"),
]


async def refused_for_schema(jerry: Jerry) -> None:
    runs = await asyncio.gather(*(jerry(*command) for command in SCHEMA_COMMANDS))
    for run in runs:
        one_line_refusal(run, "no Jerry tables yet", "jerry db upgrade")


async def test_commands_on_a_fresh_sqlite_file_say_run_db_upgrade(
    cli: Jerry, tmp_path: Path
) -> None:
    path = tmp_path / "fresh.db"
    await refused_for_schema(cli.with_settings(DATABASE_URL=f"sqlite:///{path}"))
    assert not path.exists()  # checking did not leave an empty file behind
    path.touch()  # an empty file, as some tools create
    await refused_for_schema(cli.with_settings(DATABASE_URL=f"sqlite:///{path}"))
    french = await cli.with_settings(DATABASE_URL=f"sqlite:///{path}", JERRY_LANGUAGE="fr")(
        "routing", "export"
    )
    one_line_refusal(french, "n’a pas encore les tables de Jerry", "jerry db upgrade")
    # After the upgrade the same command runs (and says there is no routing model yet).
    assert (await cli.with_settings(DATABASE_URL=f"sqlite:///{path}")("db", "upgrade")).ok
    after = await cli.with_settings(DATABASE_URL=f"sqlite:///{path}")("routing", "export")
    assert "no routing model yet" in after.stderr, str(after)


async def test_a_schema_older_than_the_code_says_run_db_upgrade(cli: Jerry, tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    await asyncio.to_thread(upgrade_sync, f"sqlite:///{path}", "0013")
    await refused_for_schema(cli.with_settings(DATABASE_URL=f"sqlite:///{path}"))


async def test_commands_on_an_empty_postgresql_database_say_run_db_upgrade(cli: Jerry) -> None:
    name = f"jerry_test_empty_{os.getpid()}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    await admin(f'DROP DATABASE IF EXISTS "{name}"')
    await admin(f'CREATE DATABASE "{name}"')
    try:
        await refused_for_schema(cli.with_settings(DATABASE_URL=_pg_url(name)))
    finally:
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_an_unreachable_database_is_one_line(cli: Jerry) -> None:
    run = await cli.with_settings(DATABASE_URL="postgresql://nobody@127.0.0.1:9/none")(
        "routing", "export"
    )
    one_line_refusal(run, "cannot reach the database")


# --- routing import checks every person with Slack -------------------------------------------


async def test_routing_import_refuses_an_unknown_or_deactivated_backup_with_its_line(
    cli: Jerry, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    from tests.harness import ROUTING_YAML
    from tests.test_cli import assert_plain_text

    fake_slack.add_user("U0GONE", "gone", deleted=True)
    text = ROUTING_YAML.replace("backup: U0PAYBACK", "backup: U0NOBODY").replace(
        "    lead: U0MOBLEAD\n", "    lead: U0MOBLEAD\n    backup: U0GONE\n"
    )
    (tmp_path / "routing.yml").write_text(text, encoding="utf-8")
    database = f"sqlite+aiosqlite:///{tmp_path / 'jerry.db'}"
    await asyncio.to_thread(upgrade_sync, database, "head")
    jerry = cli.with_slack(fake_slack).with_settings(DATABASE_URL=database)
    real, dry_run, unchecked, no_token = await asyncio.gather(
        jerry("routing", "import", "routing.yml"),
        jerry("routing", "import", "routing.yml", "--dry-run"),
        cli.with_settings(DATABASE_URL=database)(
            "routing", "import", "routing.yml", "--dry-run", "--no-check"
        ),
        cli.with_settings(DATABASE_URL=database)("routing", "import", "routing.yml"),
    )
    lines = text.splitlines()
    nobody = lines.index("    backup: U0NOBODY") + 1
    gone = lines.index("    backup: U0GONE") + 1
    for run in (real, dry_run):
        assert run.returncode == 1, str(run)
        assert_no_traceback(run)
        assert (
            f"routing.yml:{nobody}: teams[0].backup: the backup of Payments, U0NOBODY, is not a "
            "user Slack knows" in run.stderr
        ), str(run)
        assert (
            f"routing.yml:{gone}: teams[1].backup: the backup of Mobile, U0GONE, is deactivated"
            in run.stderr
        ), str(run)
        assert "the routing model was not changed" in run.stderr
        assert_plain_text(run.stdout + run.stderr)
    # --no-check: people are not asked about (no token needed); the file is otherwise fine.
    assert unchecked.ok and "would import routing.yml" in unchecked.stdout, str(unchecked)
    one_line_refusal(no_token, "SLACK_BOT_TOKEN", "--no-check")


async def test_routing_import_with_slack_unreachable_is_one_line(
    cli: Jerry, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    from tests.harness import ROUTING_YAML

    (tmp_path / "routing.yml").write_text(ROUTING_YAML, encoding="utf-8")
    database = f"sqlite+aiosqlite:///{tmp_path / 'jerry.db'}"
    await asyncio.to_thread(upgrade_sync, database, "head")
    jerry = cli.with_settings(
        SLACK_BOT_TOKEN="xoxb-test", SLACK_API_URL="http://127.0.0.1:9/api/", DATABASE_URL=database
    )
    french = jerry.with_settings(JERRY_LANGUAGE="fr")
    run, run_fr = await asyncio.gather(
        jerry("routing", "import", "routing.yml"), french("routing", "import", "routing.yml")
    )
    one_line_refusal(run, "Slack could not be asked whether U0PRODOPS is active", "--no-check")
    one_line_refusal(run_fr, "impossible de demander à Slack", "--no-check")


async def test_routing_init_writes_an_example_to_edit_in_either_language(
    cli: Jerry, tmp_path: Path
) -> None:
    from bot.intake.routing_file import parse

    # No settings and no database: it only writes a file.
    to_stdout, to_file, french = await asyncio.gather(
        cli("routing", "init"),
        cli("routing", "init", "routing.yml"),
        cli("routing", "init", "routage.yml", "--language", "fr"),
    )
    for run in (to_stdout, to_file, french):
        assert run.ok, str(run)
    assert (tmp_path / "routing.yml").read_text(encoding="utf-8") == to_stdout.stdout
    assert parse(to_stdout.stdout).teams[0].name == "Payments"
    assert "jerry routing import routing.yml --dry-run" in to_stdout.stdout
    assert (
        parse((tmp_path / "routage.yml").read_text(encoding="utf-8")).teams[0].name == "Paiements"
    )
    again = await cli("routing", "init", "routing.yml")
    one_line_refusal(again, "routing.yml exists already")


# --- quiet logs --------------------------------------------------------------------------------


async def test_serve_logs_no_scheduler_ticks_no_warning_and_no_traceback_on_sigterm(
    cli: Jerry, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    import signal

    import httpx

    from tests.test_cli import free_port, wait_healthy

    port = free_port()
    jerry = cli.with_slack(fake_slack).with_settings(
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}",
        # Every job ticks each second, so a few seconds hold several ticks of each.
        JERRY_REMINDER_SECONDS="1",
        JERRY_SURVEY_CHECK_SECONDS="1",
        JERRY_SUMMARY_CHECK_SECONDS="1",
    )
    proc = await jerry.start(
        "serve",
        "--port",
        str(port),
        "--host",
        "127.0.0.1",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert proc.stdout is not None
    output = asyncio.create_task(proc.stdout.read())
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            await wait_healthy(http, proc, output)
        await asyncio.sleep(3.5)
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 20)
        log = (await output).decode()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        output.cancel()
    assert "Application shutdown complete" in log, log
    assert "apscheduler" not in log.lower() and "Running job" not in log, log
    assert "executed successfully" not in log, log
    assert "WARNING" not in log and "ERROR" not in log, log
    assert "Traceback" not in log and "CancelledError" not in log, log
