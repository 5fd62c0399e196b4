"""The admin Home's cost follows what it shows, not how many items are open (issue 10).

Which open items are late was computed for every open item at each render (business time
per item: 710 ms with 10 000 open items). The reminders tick stores when each item's wait
is due; the Home counts late items from that in SQL and computes business time only for
the rows it shows and for items changed since the tick last looked.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from bot.app import JerryApp
from bot.home import service
from models.base import utcnow
from models.items import Item
from tests.harness import ADMIN, SlackDriver
from tests.test_e2e_home import add_items, item_ids

pytestmark = pytest.mark.usefixtures("routed")


async def late_items(jerry: JerryApp, count: int) -> list[int]:
    """Items a week old: past due and past twice it, whatever the day and hour."""
    ids = await add_items(jerry, count)
    async with jerry.sessions() as session:
        for item_id in ids:
            item = await session.get(Item, item_id)
            assert item is not None
            item.created_at = utcnow() - timedelta(days=7)
        await session.commit()
    return ids


async def test_the_admin_home_computes_business_time_for_what_it_shows_only(
    slack: SlackDriver, jerry: JerryApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    evaluated: list[int] = []
    real_sla_state = service.sla_state

    def counting_sla_state(item: Any, *args: Any, **kwargs: Any) -> Any:
        evaluated.append(item.id)
        return real_sla_state(item, *args, **kwargs)

    monkeypatch.setattr(service, "sla_state", counting_sla_state)
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "slack_users.name" not in statement and not statement.startswith(("INSERT", "UPDATE")):
            statements.append(statement)

    await jerry.worker.stop()  # its polling of the outbox would be counted too
    late = await late_items(jerry, 3)
    costs = []
    for more in (10, 190):  # 13 open items, then 203
        await add_items(jerry, more)
        for _ in range(2):  # the tick looks at them (twice: its escalations change items)
            await jerry.run_reminders(utcnow())
        await jerry.directory.language(ADMIN, "en")
        await jerry.home.render(ADMIN)
        evaluated.clear()
        statements.clear()
        event.listen(jerry.engine.sync_engine, "before_cursor_execute", count)
        try:
            view = await jerry.home.render(ADMIN)
        finally:
            event.remove(jerry.engine.sync_engine, "before_cursor_execute", count)
        assert item_ids(view, "home_breach_") == late
        costs.append((len(statements), sorted(evaluated)))
    assert costs[0] == costs[1]
    # Business time for the late items shown, and for nothing else.
    assert costs[1][1] == late
