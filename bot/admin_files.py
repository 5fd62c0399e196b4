"""What the `jerry routing|summaries|surveys import|export` commands share.

Each imports a configuration file the same way: read it, report every problem and change
nothing, or replace what is stored in one transaction (rolled back with --dry-run).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.config_file import ConfigFileError
from bot.db import create_engine, session_factory
from bot.i18n import t, tn
from bot.text import ids_to_name, plain_for_terminal

Result = TypeVar("Result")


class CommandError(Exception):
    """A problem the user can fix; printed as one line, no traceback."""


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read {path}: {exc}") from exc


async def read_file(path: Path) -> str:
    return await asyncio.to_thread(_read, path)


def print_problems(path: Path, error: ConfigFileError, unchanged: str, lang: str) -> int:
    """Say what is wrong with the file and that what it sets was not changed (`unchanged`:
    "routing", "surveys", "summaries", a `cli.unchanged.…` key); the exit status, 1."""
    print(plain_for_terminal(str(error)), file=sys.stderr)
    said = tn(
        "cli.file_problems",
        len(error.errors),
        lang,
        path=path,
        unchanged=t(f"cli.unchanged.{unchanged}", lang),
    )
    print(said, file=sys.stderr)
    return 1


async def in_session(
    settings: Settings, work: Callable[[AsyncSession], Awaitable[Result]]
) -> Result:
    """`work` done in a session of its own, the engine disposed after (a CLI runs once)."""
    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine)() as session:
            return await work(session)
    finally:
        await engine.dispose()


async def change_in_one_transaction(
    settings: Settings,
    change: Callable[[AsyncSession], Awaitable[Result]],
    *,
    dry_run: bool,
) -> Result:
    """`change` committed, or rolled back with `dry_run` (so its result says what would be)."""

    async def work(session: AsyncSession) -> Result:
        result = await change(session)
        if dry_run:
            await session.rollback()
        else:
            await session.commit()
        return result

    return await in_session(settings, work)


async def terminal_text(settings: Settings, text: str) -> str:
    """Slack-formatted `text` as the terminal prints it (`bot.text.plain_for_terminal`): the
    people it mentions by the names the slack_users cache knows; anyone else, and channels
    (Jerry keeps no channel names), by their bare id."""
    from sqlalchemy import select

    from models.users import SlackUser

    users, _channels = ids_to_name(text)
    names: dict[str, str] = {}
    if users:

        async def cached(session: AsyncSession) -> dict[str, str]:
            rows = await session.execute(
                select(SlackUser.id, SlackUser.real_name, SlackUser.name).where(
                    SlackUser.id.in_(sorted(users))
                )
            )
            return {row.id: row.real_name or row.name for row in rows if row.real_name or row.name}

        names = await in_session(settings, cached)
    return plain_for_terminal(text, names)


async def print_for_terminal(settings: Settings, text: str) -> None:
    """Print Slack-formatted `text` on standard output as plain text (`terminal_text`)."""
    sys.stdout.write((await terminal_text(settings, text)).rstrip("\n") + "\n")


def print_imported(path: Path, summary: object, *, dry_run: bool) -> None:
    verb = "would import" if dry_run else "imported"
    print(f"jerry: {verb} {path}: {summary}")


async def write_file(text: str, path: Path | None, what: str) -> int:
    """`text` to `path`, or to standard output without one; the exit status, 0."""
    if path is None:
        sys.stdout.write(text)
    else:
        await asyncio.to_thread(path.write_text, text, encoding="utf-8")
        print(f"jerry: wrote {what} to {path}")
    return 0
