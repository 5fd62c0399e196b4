"""Jerry's Slack app manifest, as the sandbox's Slack reads it (scopes, slash commands).

The repository's manifest.yml, or the copy the Docker image puts in bot/.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve()
CANDIDATES = (HERE.parents[2] / "manifest.yml", HERE.parents[1] / "manifest.yml")


@functools.cache
def load_manifest() -> dict[str, Any]:
    path = next((p for p in CANDIDATES if p.exists()), None)
    if path is None:
        return {}
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded if isinstance(loaded, dict) else {}


def bot_scopes() -> tuple[str, ...]:
    scopes = load_manifest().get("oauth_config", {}).get("scopes", {}).get("bot", [])
    return tuple(scopes)


def slash_commands() -> list[dict[str, str]]:
    commands = load_manifest().get("features", {}).get("slash_commands", [])
    return [
        {
            "command": c["command"],
            "description": c.get("description", ""),
            "usage_hint": c.get("usage_hint", ""),
        }
        for c in commands
    ]
