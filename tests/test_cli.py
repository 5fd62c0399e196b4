"""The `jerry` command, run as a user runs it: a real process, settings in its environment.

Each run starts a fresh Python (about a second), so runs that do not depend on each other
are started together. The working directory is a temporary one, so no `.env` is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
import signal
import socket
import sqlite3
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import select

from bot.config import Settings
from bot.db import alembic_config, create_engine, session_factory
from bot.intake.routing import RoutingModel
from bot.intake.routing_cli import import_file
from bot.intake.routing_file import dump, parse
from bot.intake.routing_store import load_routing_model
from models import Base
from tests import payloads
from tests.fakeslack import TOKEN, FakeSlack
from tests.harness import ROUTING_YAML, SIGNING_SECRET, sign

# Slow: each test runs `jerry` in a subprocess.
pytestmark = pytest.mark.slow

JERRY = Path(sys.executable).with_name("jerry")
RUN_TIMEOUT = 60
# The same model as the harness's, with the Mobile lead named by email (mo@example.com is
# U0MOBLEAD in the fake workspace).
ROUTING_WITH_EMAIL = ROUTING_YAML.replace("lead: U0MOBLEAD", "lead: mo@example.com")


@dataclass
class Run:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def __str__(self) -> str:
        return (
            f"jerry {' '.join(self.args)} -> {self.returncode}\n"
            f"--- stdout\n{self.stdout}--- stderr\n{self.stderr}"
        )


@dataclass
class Jerry:
    """Runs `jerry …` in `cwd` with only the settings given (none inherited from the tests)."""

    cwd: Path
    settings: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("SLACK_", "JERRY_")) and key != "DATABASE_URL"
        }
        env.update(self.settings)
        return env

    def with_settings(self, **settings: str) -> Jerry:
        return Jerry(self.cwd, {**self.settings, **settings})

    def with_slack(self, fake: FakeSlack) -> Jerry:
        return self.with_settings(SLACK_BOT_TOKEN=TOKEN, SLACK_API_URL=fake.api_url)

    async def start(self, *args: str, **kwargs: object) -> asyncio.subprocess.Process:
        assert JERRY.exists(), f"the jerry command is not installed at {JERRY}"
        return await asyncio.create_subprocess_exec(
            str(JERRY),
            *args,
            cwd=self.cwd,
            env=self.env(),
            **kwargs,  # type: ignore[arg-type]
        )

    async def __call__(self, *args: str) -> Run:
        proc = await self.start(
            *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        try:
            async with asyncio.timeout(RUN_TIMEOUT):
                out, err = await proc.communicate()
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise AssertionError(f"jerry {' '.join(args)} took over {RUN_TIMEOUT}s") from None
        return Run(args, proc.returncode or 0, out.decode(), err.decode())


class InProcessJerry(Jerry):
    """`jerry …` run by the CLI's own entry point in this process (in a worker thread, with
    the run's settings as its environment and its directory as the working one): what the
    command prints and returns, without a process start and a model load per run. One run
    at a time (they share the environment). Most tests of a command use it; one at least runs the real `jerry` process."""

    # A thread lock, taken in the worker thread: each test has its own event loop.
    _turn = threading.Lock()

    def with_settings(self, **settings: str) -> InProcessJerry:
        return InProcessJerry(self.cwd, {**self.settings, **settings})

    async def __call__(self, *args: str) -> Run:
        return await asyncio.to_thread(self._run, args)

    def _run(self, args: tuple[str, ...]) -> Run:

        with self._turn:
            return self._run_alone(args)

    def _run_alone(self, args: tuple[str, ...]) -> Run:
        from bot import cli

        saved_env, saved_cwd = dict(os.environ), Path.cwd()
        out, err = io.StringIO(), io.StringIO()
        os.environ.clear()
        os.environ.update(self.env())
        os.chdir(self.cwd)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = cli.main(list(args))
                except SystemExit as exit_:  # argparse's usage errors
                    code = exit_.code if isinstance(exit_.code, int) else 1
        finally:
            os.chdir(saved_cwd)
            os.environ.clear()
            os.environ.update(saved_env)
        return Run(args, code or 0, out.getvalue(), err.getvalue())


@pytest.fixture
def cli(tmp_path: Path) -> Jerry:
    """`jerry` with no settings at all, in an empty directory."""
    return Jerry(tmp_path)


@pytest.fixture
def cli_db(tmp_path: Path, database_url: str) -> Jerry:
    """`jerry` on the test database (SQLite or PostgreSQL), with no Slack settings."""
    return Jerry(tmp_path, {"DATABASE_URL": database_url})


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """The 1-based number of the line holding the nth `needle` in `text`."""
    found = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(found) >= nth, f"{needle!r} is not in the text {nth} time(s)"
    return found[nth - 1]


def assert_no_traceback(run: Run) -> None:
    assert "Traceback" not in run.stderr + run.stdout, str(run)


def assert_plain_text(output: str) -> None:
    """A terminal shows it as written: no Slack markup, entities or mrkdwn marks."""
    for markup in ("<#", "<@", "<!", "&amp;", "&lt;", "&gt;", "*", "`"):
        assert markup not in output, f"{markup!r} in the CLI's output:\n{output}"


async def snapshot(database_url: str) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table, to show that a command changed nothing."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            tables = {}
            for table in Base.metadata.sorted_tables:
                rows = (await conn.execute(select(table))).all()
                tables[table.name] = sorted(tuple(map(str, row)) for row in rows)
            return tables
    finally:
        await engine.dispose()


async def stored_model(database_url: str) -> RoutingModel | None:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            return await load_routing_model(session)
    finally:
        await engine.dispose()


async def stored_model_text(database_url: str) -> str | None:
    model = await stored_model(database_url)
    return None if model is None else dump(model)


async def seed_routing(database_url: str, directory: Path, text: str = ROUTING_YAML) -> None:
    """Import a routing model in-process (quicker than a `jerry routing import` run)."""
    path = directory / "seed-routing.yml"
    path.write_text(text, encoding="utf-8")
    settings = Settings(_env_file=None, database_url=database_url)  # type: ignore[call-arg]
    assert await import_file(settings, path) == 0


# --- help ------------------------------------------------------------------------------------


def described(help_text: str, command: str) -> bool:
    """`command` appears at the start of a help line, followed by a description."""
    pattern = rf"^\s+{re.escape(command)}\b.*?\s{{2,}}\w"
    return re.search(pattern, help_text, re.MULTILINE) is not None


async def test_help_lists_every_command_with_a_description(cli: Jerry) -> None:
    top, routing, db = await asyncio.gather(
        cli("--help"), cli("routing", "--help"), cli("db", "--help")
    )
    for run in (top, routing, db):
        assert run.ok and not run.stderr, str(run)
    for command in (
        "serve",
        "socket",
        "db upgrade",
        "routing import",
        "routing export",
        "routing test",
    ):
        assert described(top.stdout, command), f"`jerry --help` does not describe {command}:\n{top}"
    for action in ("import", "export", "test"):
        assert described(routing.stdout, action), (
            f"`jerry routing --help` lacks {action}:\n{routing}"
        )
    assert described(db.stdout, "upgrade"), str(db)
    assert "README" in top.stdout  # where the settings are explained


# --- settings missing or wrong -----------------------------------------------------------------


async def test_missing_or_invalid_settings_stop_jerry_with_one_line(
    cli: Jerry, tmp_path: Path
) -> None:
    cases = {
        "SLACK_BOT_TOKEN": cli.with_settings(SLACK_SIGNING_SECRET=SIGNING_SECRET),
        "SLACK_SIGNING_SECRET": cli.with_settings(SLACK_BOT_TOKEN=TOKEN),
        "SLACK_APP_TOKEN": cli.with_settings(SLACK_BOT_TOKEN=TOKEN),
        "JERRY_LANGUAGE": cli.with_settings(
            SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, JERRY_LANGUAGE="klingon"
        ),
    }
    commands = {"SLACK_APP_TOKEN": ("socket",)}
    runs = await asyncio.gather(
        *(jerry(*commands.get(name, ("serve", "--port", "9"))) for name, jerry in cases.items())
    )
    for name, run in zip(cases, runs, strict=True):
        assert run.returncode != 0, str(run)
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1, f"{name}: expected one line on stderr\n{run}"
        assert name in lines[0] and "README" in lines[0], str(run)
        assert_no_traceback(run)
    # Jerry stopped before touching the database (the default is jerry.db in the directory).
    assert not (tmp_path / "jerry.db").exists()


# --- db upgrade --------------------------------------------------------------------------------


async def test_db_upgrade_creates_the_schema_and_can_run_again(cli: Jerry, tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    first = await cli.with_settings(DATABASE_URL=f"sqlite+aiosqlite:///{path}")("db", "upgrade")
    assert first.ok, str(first)
    assert "up to date" in first.stdout

    def schema() -> tuple[set[str], set[str]]:
        with contextlib.closing(sqlite3.connect(path)) as conn:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            versions = {row[0] for row in conn.execute("SELECT version_num FROM alembic_version")}
        return tables, versions

    tables, versions = schema()
    assert {table.name for table in Base.metadata.sorted_tables} <= tables
    head = set(ScriptDirectory.from_config(alembic_config(str(path))).get_heads())
    assert versions == head
    # Again, with the URL as people paste it: nothing to do, no error.
    second = await cli.with_settings(DATABASE_URL=f"sqlite:///{path}")("db", "upgrade")
    assert second.ok, str(second)
    assert schema() == (tables, versions)
    assert_no_traceback(second)


# --- routing import / export -------------------------------------------------------------------


async def test_routing_import_export_round_trip(
    cli_db: Jerry, database_url: str, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    jerry = cli_db.with_slack(fake_slack)
    (tmp_path / "routing.yml").write_text(ROUTING_WITH_EMAIL, encoding="utf-8")

    imported = await jerry("routing", "import", "routing.yml")
    assert imported.ok, str(imported)
    assert "imported routing.yml" in imported.stdout
    assert "3 added" in imported.stdout  # triage, Payments, Mobile
    assert [c["email"] for c in fake_slack.calls_to("users.lookupByEmail", ok=True)] == [
        "mo@example.com"
    ]
    exported, to_file = await asyncio.gather(
        jerry("routing", "export"), jerry("routing", "export", "out.yml")
    )
    assert exported.ok, str(exported)
    assert to_file.ok, str(to_file)
    assert (tmp_path / "out.yml").read_text(encoding="utf-8") == exported.stdout
    # The same model comes back, the lead still written as the email the admin gave.
    assert parse(exported.stdout) == parse(ROUTING_WITH_EMAIL)
    stored = await stored_model(database_url)
    assert stored is not None
    mobile = stored.team("Mobile")
    assert mobile is not None and mobile.lead == "U0MOBLEAD"  # resolved by users.lookupByEmail

    # Importing the export changes nothing: the model exports to the same text again.
    again = await jerry("routing", "import", "out.yml")
    assert again.ok, str(again)
    assert "0 added" in again.stdout and "0 archived" in again.stdout, again.stdout
    assert await stored_model_text(database_url) == exported.stdout


BAD_YAML = """\
triage:
  lead: [U0PRODOPS
teams: []
"""

BAD_MODEL = """\
triage:
  channel: C0PRODOPS
teams:
  - name: Payments
    lead: U0PAYLEAD
    areas:
      - name: Billing
        keywords: [invoice]
  - name: Mobile
    lead: U0MOBLEAD
    areas:
      - name: billing
rules:
  - name: crashes
    when: {pattern: "crash("}
    team: Mobile
  - name: growth questions
    when: {channel: C0GROWTH}
    team: Growth
"""

UNKNOWN_EMAIL = ROUTING_YAML.replace("lead: U0MOBLEAD", "lead: nobody@example.com")
# A valid file that differs from the stored model: one more team.
GROWTH = """\
  - name: Growth
    lead: U0PAYBACK
    areas:
      - name: Onboarding
        keywords: [signup, onboarding]
"""
CHANGED = ROUTING_YAML.replace("rules:\n", GROWTH + "rules:\n")


async def test_routing_import_invalid_files_change_nothing(
    cli_db: Jerry, database_url: str, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    await seed_routing(database_url, tmp_path)
    before = await snapshot(database_url)
    model_before = await stored_model_text(database_url)
    files = {
        "bad-yaml.yml": BAD_YAML,
        "bad-model.yml": BAD_MODEL,
        "unknown-email.yml": UNKNOWN_EMAIL,
        "changed.yml": CHANGED,
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    jerry = cli_db.with_slack(fake_slack)
    bad_yaml, bad_model, unknown_email, no_token, dry_run = await asyncio.gather(
        jerry("routing", "import", "bad-yaml.yml"),
        jerry("routing", "import", "bad-model.yml"),
        jerry("routing", "import", "unknown-email.yml"),
        cli_db("routing", "import", "unknown-email.yml"),  # no SLACK_BOT_TOKEN to look it up
        jerry("routing", "import", "changed.yml", "--dry-run"),
    )

    assert bad_yaml.returncode != 0, str(bad_yaml)
    assert re.search(r"^bad-yaml\.yml:[23]: not valid YAML", bad_yaml.stderr, re.M), str(bad_yaml)

    assert bad_model.returncode != 0, str(bad_model)
    expected = [
        (line_of(BAD_MODEL, "channel: C0PRODOPS"), "triage.lead", "is required"),
        (line_of(BAD_MODEL, "- name: billing"), "teams[1].areas[0].name", "already exists"),
        (line_of(BAD_MODEL, "crash("), "rules[0].when.pattern", "not a valid regular expression"),
        (line_of(BAD_MODEL, "team: Growth"), "rules[1].team", "Growth"),
    ]
    for line, field_name, message in expected:
        pattern = rf"^bad-model\.yml:{line}: {re.escape(field_name)}: .*{re.escape(message)}"
        assert re.search(pattern, bad_model.stderr, re.M), f"no {pattern!r} in\n{bad_model}"
    assert "4 problems" in bad_model.stderr and "not changed" in bad_model.stderr

    assert unknown_email.returncode != 0, str(unknown_email)
    assert re.search(r"teams\[1\]\.lead: .*nobody@example\.com", unknown_email.stderr), str(
        unknown_email
    )
    assert [c["email"] for c in fake_slack.calls_to("users.lookupByEmail")] == [
        "nobody@example.com"
    ]

    assert no_token.returncode != 0, str(no_token)
    assert len(no_token.stderr.strip().splitlines()) == 1, str(no_token)
    assert "SLACK_BOT_TOKEN" in no_token.stderr

    assert dry_run.ok, str(dry_run)
    assert "would import changed.yml" in dry_run.stdout
    assert "teams: 1 added" in dry_run.stdout, dry_run.stdout

    for run in (bad_yaml, bad_model, unknown_email, no_token, dry_run):
        assert_no_traceback(run)
        if run is not dry_run:
            assert run.stdout == "", str(run)
    assert await snapshot(database_url) == before
    assert await stored_model_text(database_url) == model_before


async def test_routing_test_says_which_team_and_why(
    cli_db: Jerry, database_url: str, tmp_path: Path
) -> None:
    await seed_routing(database_url, tmp_path)
    keyword, rule = await asyncio.gather(
        cli_db("routing", "test", "the invoice is wrong"),
        cli_db("routing", "test", "the app crashed again", "--channel", "C0SUPPORT"),
    )
    for run in (keyword, rule):
        assert run.ok, str(run)
        assert_no_traceback(run)
    assert re.search(r"^Team: Payments / Billing \(lead U0PAYLEAD\)$", keyword.stdout, re.M)
    assert re.search(r"^Why: .*keyword.*invoice", keyword.stdout, re.M), keyword.stdout
    assert re.search(r"^Team: Mobile\b.*U0MOBLEAD", rule.stdout, re.M), rule.stdout
    assert re.search(r"^Why: .*support crashes go to Mobile", rule.stdout, re.M), rule.stdout
    # Plain text: the channel and the pattern as written, not Slack's <#C…> and backticks.
    assert re.search(r"channel C0SUPPORT and pattern crash\|freeze", rule.stdout), rule.stdout
    for run in (keyword, rule):
        assert_plain_text(run.stdout + run.stderr)


# --- serve -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def wait_healthy(
    http: httpx.AsyncClient, proc: asyncio.subprocess.Process, output: asyncio.Task[bytes]
) -> httpx.Response:
    deadline = time.monotonic() + 30
    while True:
        if proc.returncode is not None:
            log = (await output).decode()
            raise AssertionError(f"jerry serve exited with {proc.returncode}:\n{log}")
        try:
            response = await http.get("/healthz")
            if response.status_code == 200:
                return response
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "jerry serve did not answer /healthz in 30s"
        await asyncio.sleep(0.05)


async def test_serve_answers_slack_over_http_and_stops_on_sigterm(
    cli: Jerry, database_url: str, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    if database_url.startswith("sqlite"):
        # A database file that does not exist yet: `jerry serve` migrates before serving.
        database_url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    port = free_port()
    jerry = cli.with_slack(fake_slack).with_settings(
        SLACK_SIGNING_SECRET=SIGNING_SECRET, DATABASE_URL=database_url
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
            health = await wait_healthy(http, proc, output)
            assert health.json() == {"status": "ok", "database": "ok"}
            await seed_routing(database_url, tmp_path)

            body = urlencode(
                payloads.slash_command(
                    "/painpoint",
                    "the invoice is wrong",
                    user="U0REPORTER",
                    response_url=fake_slack.response_url(),
                )
            ).encode()
            form = {"Content-Type": "application/x-www-form-urlencoded"}
            forged = await http.post(
                "/slack/events", content=body, headers={**form, **sign(body, secret="wrong")}
            )
            assert forged.status_code == 401
            response = await http.post(
                "/slack/events", content=body, headers={**form, **sign(body)}
            )
            assert response.status_code == 200, response.text
            receipt = response.json()
            assert receipt["response_type"] == "ephemeral"
            assert "*#1*" in receipt["text"], receipt
            # The running bot delivers the item to the owning lead.
            await fake_slack.wait_for(lambda: fake_slack.dms_to("U0PAYLEAD"), message="lead's DM")

        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        returncode = await asyncio.wait_for(proc.wait(), 10)
        assert time.monotonic() - started < 5, "jerry serve took too long to stop"
        log = (await output).decode()
        # A graceful stop: uvicorn finishes the lifespan (the delivery worker stops), then
        # exits 0 or, as uvicorn does since 0.29, re-raises the SIGTERM it caught.
        assert returncode in (0, -signal.SIGTERM), log
        assert "Application shutdown complete" in log, log
        assert "Traceback" not in log and "ERROR" not in log, log
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        output.cancel()
