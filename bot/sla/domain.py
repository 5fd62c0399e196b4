"""Plain data about a late item, as its message in the triage channel shows it (the views
render it; bot/sla/late.py computes it from the item)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.items.domain import ItemDemand

# Still late: nobody acknowledged it (ack), or nobody answered the question (answer).
LATE_STATES = ("ack", "answer")
# Moved on since it went late: who did what is in `who`.
DONE_STATES = ("acknowledged", "taken", "answered", "resolved", "moved")


@dataclass(frozen=True)
class LateItem:
    item_id: int
    kind: str  # painpoint | question
    team: str
    text: str  # the item's text as stored (the view escapes and cuts it)
    state: str  # one of LATE_STATES or DONE_STATES
    lead: str  # the user id it waits on (its assignee)
    waited_seconds: int = 0  # how long the current wait has lasted (late states)
    target: str = ""  # the team's target for that wait ("1d", "4h")
    asked: str | None = None  # whom Jerry asked to take it (the backup, else the triage lead)
    who: str | None = None  # who acknowledged, took, answered or resolved it
    outcome: str | None = None  # how it was resolved (fixed, answered, won't fix …)
    nudged_by: str | None = None  # the last person who nudged its lead from this message
    nudged_at: datetime | None = None
    demand: ItemDemand | None = None  # others asked for it too (items merged into it)

    @property
    def late(self) -> bool:
        return self.state in LATE_STATES
