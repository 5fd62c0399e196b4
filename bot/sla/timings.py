"""Time to acknowledge, to first answer and to resolve, straight from the ItemEvent rows.

Definitions (the numbers say how they were computed):

- The clock starts when the item was created: its "created" event, else the item's
  `created_at` (what the reporter lived through; reassignments and late routing do not
  restart it).
- **time to acknowledge**: to the first event in which a person (not "jerry") took the
  item up: "acknowledged", "answered" or "resolved" (answering or resolving without
  clicking Acknowledge acknowledges too, as the relay records it).
- **time to first answer**: to the first "answered" event, even if the item was later
  reopened and answered again.
- **time to resolve**: only for an item resolved *now* (its last "resolved" event comes
  after its last "reopened" one): to that last "resolved" event. An item resolved, then
  reopened and resolved again, counts the whole wait until the final resolution; an item
  reopened and not resolved again has none.
- Events stamped before the start (clock skew, imports) are ignored.

Summaries give the count, the median (the mean of the two middle values for an even
count) and the 90th percentile by nearest rank (the ⌈0.9·n⌉-th smallest value).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.items.domain import ACKNOWLEDGING_EVENTS, JERRY_ACTOR
from bot.sla.timings_store import item_histories

ACKNOWLEDGING = ACKNOWLEDGING_EVENTS
JERRY = JERRY_ACTOR


class EventLike(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def actor(self) -> str: ...
    @property
    def at(self) -> datetime: ...


@dataclass(frozen=True)
class Timings:
    time_to_acknowledge: timedelta | None
    time_to_first_answer: timedelta | None
    time_to_resolve: timedelta | None


@dataclass(frozen=True)
class Summary:
    count: int
    median: timedelta | None
    p90: timedelta | None


@dataclass(frozen=True)
class TeamTimings:
    team_id: int | None
    items: int
    acknowledge: Summary
    first_answer: Summary
    resolve: Summary


def item_timings(events: Iterable[EventLike], created_at: datetime | None = None) -> Timings:
    """One item's timings from its events (any order)."""
    ordered = sorted(events, key=lambda e: e.at)
    start = next((e.at for e in ordered if e.kind == "created"), created_at)
    if start is None:
        return Timings(None, None, None)
    ordered = [e for e in ordered if e.at >= start]
    acknowledged = next(
        (e.at for e in ordered if e.kind in ACKNOWLEDGING and e.actor != JERRY), None
    )
    answered = next((e.at for e in ordered if e.kind == "answered"), None)
    resolved = None
    for event in ordered:
        if event.kind == "resolved":
            resolved = event.at
        elif event.kind == "reopened":
            resolved = None
    return Timings(
        acknowledged - start if acknowledged else None,
        answered - start if answered else None,
        resolved - start if resolved else None,
    )


def summarize(values: Iterable[timedelta | None]) -> Summary:
    present: Sequence[timedelta] = sorted(v for v in values if v is not None)
    if not present:
        return Summary(0, None, None)
    seconds = [v.total_seconds() for v in present]
    p90 = present[max(0, math.ceil(0.9 * len(present)) - 1)]
    return Summary(len(present), timedelta(seconds=statistics.median(seconds)), p90)


async def timings_of_items(
    sessions: async_sessionmaker[AsyncSession], item_ids: Iterable[int]
) -> dict[int, Timings]:
    async with sessions() as session:
        histories = await item_histories(session, item_ids=list(item_ids))
    return {h.item_id: item_timings(h.events, h.created_at) for h in histories}


async def team_timings(
    sessions: async_sessionmaker[AsyncSession],
    start: datetime,
    end: datetime,
    *,
    team_ids: Iterable[int] | None = None,
) -> dict[int | None, TeamTimings]:
    """Per team (the item's team now; None: not routed), for items created in [start, end)."""
    async with sessions() as session:
        histories = await item_histories(session, start=start, end=end, team_ids=team_ids)
    by_team: dict[int | None, list[Timings]] = {}
    for history in histories:
        by_team.setdefault(history.team_id, []).append(
            item_timings(history.events, history.created_at)
        )
    return {
        team: TeamTimings(
            team_id=team,
            items=len(timings),
            acknowledge=summarize(t.time_to_acknowledge for t in timings),
            first_answer=summarize(t.time_to_first_answer for t in timings),
            resolve=summarize(t.time_to_resolve for t in timings),
        )
        for team, timings in by_team.items()
    }
