"""The sandbox's clock: real time moved ahead by "skip ahead", kept across restarts.

Jerry reads the time from its scheduler's clock (every capability's `now`), and the local
Slack stamps messages with it, so skipping a day makes reminders, summaries and survey
closings fall due as they would a day later. The offset lives in a file beside the
sandbox's database: what Jerry stored at a skipped time must not end up in its future.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path


class SandboxClock:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.offset = timedelta()
        if path is not None and path.exists():
            try:
                seconds = float(json.loads(path.read_text(encoding="utf-8"))["offset_seconds"])
            except (ValueError, KeyError, TypeError):
                seconds = 0.0  # an unreadable file: start from real time, as a fresh sandbox
            self.offset = timedelta(seconds=max(0.0, seconds))

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def timestamp(self) -> float:
        return self.now().timestamp()

    def set(self, moment: datetime) -> None:
        """Move to `moment` (used to write the demo's history in the past; never below real
        time once Jerry runs on its own)."""
        self.offset = moment - datetime.now(UTC)
        self._save()

    def reset(self) -> None:
        """Back to real time (the end of the demo's history)."""
        self.offset = timedelta()
        self._save()

    def skip(self, delta: timedelta) -> datetime:
        if delta <= timedelta():
            raise ValueError("the sandbox clock only moves forward")
        self.offset += delta
        self._save()
        return self.now()

    def _save(self) -> None:
        if self.path is not None:
            self.path.write_text(
                json.dumps({"offset_seconds": self.offset.total_seconds()}), encoding="utf-8"
            )
