"""Bringing the database schema to the migration head before serving.

Alembic (with Mako, which loads Pygments) costs about 10 MB that a serving process would
keep for its whole life after one check at start: the migration work runs in a short-lived
child process (`python -m bot.schema`), and the current revision is read with plain SQL.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from bot.db import create_engine

# Any constant: replicas starting together take turns to migrate.
MIGRATION_LOCK_KEY = 0x4A45525259
# The child's exit status when the database cannot be reached.
UNREACHABLE = 2


async def _in_child(action: str, url: str) -> str:
    """Run `python -m bot.schema ACTION URL`; its output, or its error raised here."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.schema",
        action,
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    output, errors = await process.communicate()
    if process.returncode:
        lines = errors.decode(errors="replace").strip().splitlines()
        message = lines[-1] if lines else f"exit status {process.returncode}"
        if process.returncode == UNREACHABLE:
            raise OSError(message)
        raise RuntimeError(f"schema {action} failed: {message}")
    return output.decode()


def code_heads(url: str) -> set[str]:
    """The migration heads of this code, read in this process (for a short-lived command;
    a serving process asks a child, see the module's doc)."""
    from alembic.script import ScriptDirectory

    from bot.db import alembic_config

    return set(ScriptDirectory.from_config(alembic_config(url)).get_heads())


async def schema_is_current(url: str, heads: set[str] | None = None) -> bool | None:
    """True when at head, False when behind or empty, None when the database cannot be reached.

    `heads`: the code's migration heads when the caller knows them (else asked of a child)."""
    if heads is None:
        heads = set(json.loads(await _in_child("heads", url)))
    if _missing_sqlite_file(url):
        return False  # connecting would create an empty file: nothing to leave behind
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
            if "alembic_version" not in tables:
                return False
            rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
            current = {row[0] for row in rows}
    except Exception:
        return None
    finally:
        await engine.dispose()
    return current == heads


def _missing_sqlite_file(url: str) -> bool:
    parsed = make_url(url)
    path = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or path in ("", ":memory:"):
        return False
    return not path.startswith("file:") and not Path(path).exists()


async def ensure_schema(url: str) -> None:
    """Migrate to head; on PostgreSQL under an advisory lock so replicas do not race."""
    engine = create_engine(url)
    try:
        if engine.dialect.name == "postgresql":
            async with engine.connect() as conn:
                await conn.execute(
                    text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
                try:
                    await _in_child("upgrade", url)
                finally:
                    await conn.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY}
                    )
        else:
            await _in_child("upgrade", url)
    finally:
        await engine.dispose()


def _child(action: str, url: str) -> int:
    from alembic.script import ScriptDirectory

    from bot.db import DATABASE_ERRORS, alembic_config, upgrade_sync

    if action == "heads":
        print(json.dumps(sorted(ScriptDirectory.from_config(alembic_config(url)).get_heads())))
        return 0
    try:
        upgrade_sync(url)
    except DATABASE_ERRORS as exc:
        print(f"{exc.__class__.__name__}: {exc}", file=sys.stderr)
        return UNREACHABLE if isinstance(exc, OSError) else 1
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1], sys.argv[2]))
