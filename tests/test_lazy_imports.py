"""A process that serves Slack does not load what only some jobs need (issue 10, "Speed").

matplotlib (survey charts), feedparser and httpx (product-update feeds; httpx's package
also loads rich and pygments) and Alembic (with Mako) cost tens of megabytes in every
process, idle or not: they are imported when first used, and migrations run in a child
process. So do the similarity engine's libraries (issue 12: numpy, SciPy, scikit-learn,
WordLlama and its tokenizer): the first similar-items lookup loads them. Checked in a fresh
interpreter, as `jerry serve` starts.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = (
    "matplotlib",
    "feedparser",
    "httpx",
    "rich",
    "pygments",
    "alembic",
    "mako",
    "numpy",
    "scipy",
    "sklearn",
    "wordllama",
    "tokenizers",
    "safetensors",
)

# What `jerry serve` does before uvicorn runs: migrate, check the schema, build the app.
BUILD_THE_APP = f"""
import asyncio, json, sys
from bot.app import create_app
from bot.cli import _check_schema
from bot.config import Settings
settings = Settings(
    slack_bot_token="xoxb-test",
    slack_signing_secret="secret",
    slack_api_url="http://127.0.0.1:9/api/",
    database_url=sys.argv[1],
)
asyncio.run(_check_schema(settings, migrate=True))
app = create_app(settings)
print(json.dumps(sorted(name for name in {HEAVY!r} if name in sys.modules)))
"""


def test_starting_to_serve_imports_no_chart_feed_migration_or_similarity_library(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'jerry.db'}"
    result = subprocess.run(
        [sys.executable, "-c", BUILD_THE_APP, url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_the_feed_library_still_loads_when_a_feed_is_parsed() -> None:
    from bot.updates.feeds import parse_rss

    body = b"<rss version='2.0'><channel><item><title>Dark mode</title></item></channel></rss>"
    assert [entry.title for entry in parse_rss(body)] == ["Dark mode"]


def test_the_similarity_libraries_still_load_when_a_text_is_encoded() -> None:
    from bot.folding import fold
    from bot.similar.engine import Encoder

    [encoded] = Encoder().encode([fold("Invoices show the wrong VAT rate")])
    assert len(encoded.terms) > 0 and encoded.vector.any()
