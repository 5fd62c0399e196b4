"""What the `jerry items …` commands do: rebuild the similarity index, look a text up.

jerry items reindex
jerry items similar "TEXT" [--limit N] [--format text|json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from bot.admin_files import CommandError, print_for_terminal
from bot.config import Settings
from bot.db import create_engine, session_factory
from bot.i18n import t, tn

ACTIONS = ("reindex", "similar")


def add_actions(actions: Any) -> None:
    """`jerry items reindex|similar` in the CLI's parser (`actions` is the `items`
    command's subparsers object)."""
    actions.add_parser(
        "reindex",
        help="rebuild the similarity index from every item (after an upgrade, or to tune)",
    )
    similar = actions.add_parser(
        "similar", help="print the items most like TEXT, best first, with their scores"
    )
    similar.add_argument("text", help="the text of a pain point or question")
    similar.add_argument("--limit", type=int, default=5, help="how many items at most (default 5)")
    similar.add_argument(
        "--format", choices=["text", "json"], default="text", help="text (default) or json"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the `jerry items` action parsed into `args`."""
    if args.items_command == "reindex":
        return asyncio.run(reindex_command(settings))
    if args.items_command == "similar":
        return asyncio.run(similar_command(settings, args.text, limit=args.limit, fmt=args.format))
    return 2


async def reindex_command(settings: Settings) -> int:
    from bot.similar.service import reindex

    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine)() as session, session.begin():
            count = await reindex(session)
    finally:
        await engine.dispose()
    print(tn("cli.similar.reindexed", count, settings.jerry_language))
    return 0


async def similar_command(settings: Settings, text: str, *, limit: int, fmt: str) -> int:
    from bot.similar.service import similar

    lang = settings.jerry_language
    if not settings.similar_enabled:
        raise CommandError(t("cli.similar.off", lang))
    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine)() as session:
            matches = await similar(session, text, limit=max(limit, 1))
    finally:
        await engine.dispose()
    if fmt == "json":
        rows = [
            {
                "id": match.id,
                "text": match.text,
                "score": match.score,
                "status": match.status,
                "kind": match.kind,
                "area_id": match.area_id,
                "outcome": match.outcome,
                "duplicate_of": match.duplicate_of,
                "lexical": match.lexical,
                "semantic": match.semantic,
            }
            for match in matches
        ]
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return 0
    if not matches:
        print(t("cli.similar.none", lang))
        return 0
    lines = [
        t(
            "cli.similar.line",
            lang,
            id=match.id,
            score=f"{match.score:.2f}",
            status=t(f"cli.similar.status.{match.status}", lang)
            if f"cli.similar.status.{match.status}" in _status_keys()
            else match.status,
            text=" ".join(match.text.split()),
        )
        for match in matches
    ]
    await print_for_terminal(settings, "\n".join(lines))
    return 0


def _status_keys() -> set[str]:
    from bot.i18n import CATALOGS

    return {key for key in CATALOGS["en"] if key.startswith("cli.similar.status.")}
