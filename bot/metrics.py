"""`GET /metrics`: how a running Jerry is doing, in Prometheus' text format, for whoever runs
it (prometheus-client renders it; its parser reads it back in the tests).

Everything is read from the database at scrape time, in a fixed number of aggregate queries
(seven, whatever the data), so every replica reports the same workspace-wide numbers and a
scrape costs the same with ten items or a million:

| metric | labels | what |
|---|---|---|
| jerry_items_open | team | open items (not resolved, not merged into another) |
| jerry_items_late | team | open items past their acknowledgement or answer target now |
| jerry_items_breached | team | items whose lead was ever reminded a target had passed |
| jerry_outbox_backlog | purpose | messages owed and not yet delivered |
| jerry_outbox_oldest_undelivered_age_seconds | | how long the oldest of them has waited |
| jerry_deliveries_failed | purpose | messages Slack will never take (handed over or reported) |
| jerry_scheduler_last_success_timestamp_seconds | job | when each job last ran without error |
| jerry_scheduler_last_run_failed | job | 1 when the job's latest run ended in an error |
| jerry_similar_index_items | | items in the similarity index |
| jerry_database_up | | 1 (a scrape whose database does not answer gets 503) |

The team label is the team's name; items not routed yet have team="".
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.deliveries import Delivery
from models.items import CLOSED_STATUSES, Item
from models.reminders import ScheduledJob
from models.routing import Team
from models.similar import SimilarEntry

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OWED = ("pending", "sending")


class _Snapshot(Collector):
    """The families read at scrape time (prometheus-client asks `collect` synchronously:
    the async queries run first, this hands their results over)."""

    def __init__(self, families: list[GaugeMetricFamily]) -> None:
        self.families = families

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from self.families


async def _families(session: AsyncSession, now: datetime) -> list[GaugeMetricFamily]:
    teams = {row.id: row.name for row in await session.execute(select(Team.id, Team.name))}

    def by_team(name: str, doc: str, rows: Any) -> GaugeMetricFamily:
        family = GaugeMetricFamily(name, doc, labels=["team"])
        counts: dict[str, int] = {team: 0 for team in teams.values()}
        for team_id, count in rows:
            label = teams.get(team_id, "") if team_id is not None else ""
            counts[label] = counts.get(label, 0) + int(count)
        for label, count in sorted(counts.items()):
            family.add_metric([label], count)
        return family

    open_now = (Item.status.not_in(CLOSED_STATUSES), Item.merged_into.is_(None))
    families = [
        by_team(
            "jerry_items_open",
            "Open items (not resolved, not merged into another), by team.",
            await session.execute(
                select(Item.team_id, func.count()).where(*open_now).group_by(Item.team_id)
            ),
        ),
        by_team(
            "jerry_items_late",
            "Open items past their acknowledgement or answer target now, by team.",
            await session.execute(
                select(Item.team_id, func.count())
                .where(*open_now, Item.sla_due_at.is_not(None), Item.sla_due_at <= now)
                .group_by(Item.team_id)
            ),
        ),
        by_team(
            "jerry_items_breached",
            "Items whose lead was ever reminded that a target had passed, by team.",
            await session.execute(
                select(Item.team_id, func.count())
                .where(Item.sla_breached.is_(True))
                .group_by(Item.team_id)
            ),
        ),
    ]
    backlog = GaugeMetricFamily(
        "jerry_outbox_backlog",
        "Messages owed and not delivered yet, by purpose.",
        labels=["purpose"],
    )
    failed = GaugeMetricFamily(
        "jerry_deliveries_failed", "Messages Slack will never take, by purpose.", labels=["purpose"]
    )
    oldest: datetime | None = None
    rows = await session.execute(
        select(Delivery.purpose, Delivery.status, func.count(), func.min(Delivery.created_at))
        .where(Delivery.status.in_((*OWED, "failed")))
        .group_by(Delivery.purpose, Delivery.status)
    )
    owed: dict[str, int] = {}
    failures: dict[str, int] = {}
    for purpose, status, count, first in rows:
        if status in OWED:
            owed[purpose] = owed.get(purpose, 0) + int(count)
            oldest = first if oldest is None or (first is not None and first < oldest) else oldest
        else:
            failures[purpose] = int(count)
    for purpose, count in sorted(owed.items()):
        backlog.add_metric([purpose], count)
    for purpose, count in sorted(failures.items()):
        failed.add_metric([purpose], count)
    age = GaugeMetricFamily(
        "jerry_outbox_oldest_undelivered_age_seconds",
        "How long the oldest message owed has waited (0 when none waits).",
    )
    age.add_metric([], max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
    success = GaugeMetricFamily(
        "jerry_scheduler_last_success_timestamp_seconds",
        "When each scheduled job last ran without error (Unix time; absent: never).",
        labels=["job"],
    )
    broken = GaugeMetricFamily(
        "jerry_scheduler_last_run_failed",
        "1 when the job's latest run ended in an error, else 0.",
        labels=["job"],
    )
    for job in (await session.execute(select(ScheduledJob).order_by(ScheduledJob.name))).scalars():
        if job.last_success_at is not None:
            success.add_metric([job.name], job.last_success_at.timestamp())
        broken.add_metric([job.name], 1 if job.last_error else 0)
    index = GaugeMetricFamily(
        "jerry_similar_index_items", "Items in the similarity index (similar items)."
    )
    index.add_metric([], int(await session.scalar(select(func.count(SimilarEntry.item_id))) or 0))
    up = GaugeMetricFamily("jerry_database_up", "1: the database answered this scrape.")
    up.add_metric([], 1)
    return [*families, backlog, age, failed, success, broken, index, up]


async def render_metrics(sessions: async_sessionmaker[AsyncSession], now: datetime) -> bytes:
    """The exposition text. Raises what the database raises (the caller answers 503)."""
    async with sessions() as session:
        families = await _families(session, now)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(families))
    return generate_latest(registry)
