"""The reminders tick costs what is due, not what is stored (issue 10, "Speed").

Items come in through the app as Slack sends them, then are copied row by row (a workspace
with many open items); the tick runs on its own engine so that every SQL statement it sends
is counted (`before_cursor_execute`), and every item row it reads (the ORM `load` event).
Business hours and people as in tests/test_e2e_reminders.py: the Payments lead is in New York.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import JerryApp
from bot.config import Settings
from bot.db import create_engine, session_factory
from bot.sla.reminders import run_reminders
from models.items import CHECK_NOW, Item
from models.routing import Team
from models.users import SlackUser
from tests.harness import SlackDriver

pytestmark = pytest.mark.usefixtures("routed")
NY = ZoneInfo("America/New_York")
REPORTER = "U0REPORTER"


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY).astimezone(UTC)


# Payments' target is one business day in New York.
NOT_DUE_YET = ny(2025, 3, 4, 10, 0)  # created Tuesday 10:00: due Wednesday 10:00
DUE = ny(2025, 3, 3, 10, 0)  # created Monday 10:00: due Tuesday 10:00
BEFORE = ny(2025, 3, 4, 9, 0)  # a tick before anything is due
CHECKED = ny(2025, 3, 4, 16, 0)  # the tick measured: Tuesday afternoon


@dataclass
class Cost:
    statements: int = 0
    items_read: int = 0


@dataclass
class Counted:
    sessions: async_sessionmaker[AsyncSession]
    cost: Cost

    @contextmanager
    def measure(self) -> Iterator[Cost]:
        self.cost.statements = self.cost.items_read = 0
        measured = Cost()
        yield measured
        measured.statements, measured.items_read = self.cost.statements, self.cost.items_read


@pytest.fixture
async def counted(settings: Settings) -> AsyncIterator[Counted]:
    """Sessions on an engine of their own, whose statements and item loads are counted."""
    engine = create_engine(settings.database_url)
    cost = Cost()

    def statement(*_args: Any) -> None:
        cost.statements += 1

    def loaded(_item: Item, context: Any) -> None:
        # Only the tick's reads: the app's outbox loads items in this process too, on its
        # own engine, whenever a loaded machine makes it send late.
        if context.session.get_bind() is engine.sync_engine:
            cost.items_read += 1

    event.listen(engine.sync_engine, "before_cursor_execute", statement)
    event.listen(Item, "load", loaded)
    try:
        yield Counted(session_factory(engine), cost)
    finally:
        event.remove(Item, "load", loaded)
        await engine.dispose()


async def first_item(slack: SlackDriver, jerry: JerryApp) -> int:
    response = await slack.command("/painpoint", "the invoice total is wrong", user=REPORTER)
    assert response.status_code == 200
    await slack.settle()
    async with jerry.sessions() as session:
        item_id = (await session.execute(select(Item.id))).scalar_one()
        item = await session.get(Item, item_id)
        assert item is not None and item.assignee_id == "U0PAYLEAD"
        item.created_at = item.assigned_at = NOT_DUE_YET
        await session.commit()
        return item_id


async def copy_item(jerry: JerryApp, item_id: int, count: int, created: datetime) -> None:
    """`count` more open items like `item_id`, created at `created`, in one INSERT."""
    table = Item.__table__
    async with jerry.sessions() as session:
        row = dict(
            (await session.execute(select(table).where(table.c.id == item_id))).one()._mapping
        )
        for column in ("id", "intake_key", "next_reminder_at"):
            row.pop(column, None)
        row["created_at"] = row["assigned_at"] = created
        await session.execute(insert(table), [dict(row) for _ in range(count)])
        await session.commit()


async def tick(counted: Counted, jerry: JerryApp, now: datetime) -> Any:
    summary = await run_reminders(counted.sessions, jerry.directory, now)
    jerry.worker.kick()
    return summary


async def test_a_tick_with_nothing_due_reads_no_item_whatever_is_stored(
    slack: SlackDriver, jerry: JerryApp, counted: Counted
) -> None:
    item_id = await first_item(slack, jerry)
    costs = []
    for more in (9, 190):  # 10 open items, then 200
        await copy_item(jerry, item_id, more, NOT_DUE_YET)
        await tick(counted, jerry, BEFORE)  # learns when each is due
        with counted.measure() as cost:
            summary = await tick(counted, jerry, CHECKED)
        assert summary.sent == 0 and summary.deferred == 0
        costs.append(cost)
    assert costs[0].statements == costs[1].statements
    assert costs[0].items_read == costs[1].items_read == 0


async def test_a_tick_reads_the_items_due_and_its_statements_follow_them(
    slack: SlackDriver, jerry: JerryApp, counted: Counted
) -> None:
    item_id = await first_item(slack, jerry)
    costs = []
    for more in (9, 190):  # 10 open items not due, then 200; each time 3 more are due
        await copy_item(jerry, item_id, more, NOT_DUE_YET)
        await copy_item(jerry, item_id, 3, DUE)
        await tick(counted, jerry, BEFORE)
        # What earlier ticks owe is sent first: the outbox reading items while the tick is
        # measured (a loaded machine sends late) would count as the tick's reads.
        await slack.settle()
        with counted.measure() as cost:
            summary = await tick(counted, jerry, CHECKED)
        assert summary.reminders == 3  # the 3 due now (the earlier 3 were reminded already)
        costs.append(cost)
        await slack.settle()
    assert costs[0].statements == costs[1].statements
    assert costs[0].items_read == costs[1].items_read
    # Each due item is read for the tick and once more, locked, to record its reminder.
    assert costs[1].items_read <= 3 * 2


async def next_reminder_at(jerry: JerryApp, item_id: int) -> datetime | None:
    async with jerry.sessions() as session:
        item = await session.get(Item, item_id)
        assert item is not None
        return item.next_reminder_at


async def test_what_a_deadline_depends_on_changing_makes_the_tick_look_again(
    slack: SlackDriver, jerry: JerryApp, counted: Counted
) -> None:
    item_id = await first_item(slack, jerry)
    await tick(counted, jerry, BEFORE)
    assert await next_reminder_at(jerry, item_id) == ny(2025, 3, 5, 10, 0)  # due Wednesday
    # The team's target becomes 2 hours (as a routing import does): due Tuesday 12:00.
    async with jerry.sessions() as session:
        item = await session.get(Item, item_id)
        assert item is not None
        team = await session.get(Team, item.team_id)
        assert team is not None
        team.ack_target = "2h"
        await session.commit()
    assert await next_reminder_at(jerry, item_id) == CHECK_NOW
    assert (await tick(counted, jerry, CHECKED)).reminders == 1
    # The lead's timezone changes: the next tick counts in the new one.
    await tick(counted, jerry, CHECKED)
    assert await next_reminder_at(jerry, item_id) != CHECK_NOW
    async with jerry.sessions() as session:
        lead = await session.get(SlackUser, "U0PAYLEAD")
        assert lead is not None
        lead.tz = "Asia/Tokyo"
        await session.commit()
    assert await next_reminder_at(jerry, item_id) == CHECK_NOW
    # Acknowledged: nothing waits on the lead any more; the tick stores that.
    async with jerry.sessions() as session:
        item = await session.get(Item, item_id)
        assert item is not None
        item.status, item.acknowledged_at = "acknowledged", CHECKED
        await session.commit()
    assert await next_reminder_at(jerry, item_id) == CHECK_NOW
    await tick(counted, jerry, CHECKED)
    assert await next_reminder_at(jerry, item_id) is None
