"""GET /metrics: Prometheus' text format, read back with prometheus-client's own parser and
checked against the seed by hand, on SQLite and PostgreSQL; 401 without the token when one is
set; 503 in one line when the database does not answer; the same number of queries whatever
the data."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event, update

from bot.app import JerryApp, create_app
from bot.config import Settings
from models.base import utcnow
from models.deliveries import Delivery
from models.items import Item
from models.reminders import ScheduledJob
from models.routing import Team
from tests.fakeslack import FakeSlack
from tests.harness import SlackDriver
from tests.test_e2e_reliability import BROKEN_DATABASES, SIGNING_SECRET, TOKEN


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def seed(jerry: JerryApp, items: int = 6) -> None:
    now = utcnow()
    async with jerry.sessions() as session:
        pay = Team(name="Payments", lead="U0PAY")
        mob = Team(name="Mobile", lead="U0MOB")
        session.add_all([pay, mob])
        await session.flush()
        for n in range(items):
            session.add(
                Item(
                    kind="painpoint",
                    text=f"item {n}",
                    reporter_id="U0R",
                    source="command",
                    route_step="keywords",
                    team_id=pay.id if n % 2 == 0 else mob.id,
                    status="resolved" if n == 0 else "open",
                    sla_breached=n in (0, 1),
                )
            )
        session.add(
            Item(kind="question", text="x", reporter_id="U0R", source="dm", route_step="unrouted")
        )
        session.add_all(
            [
                Delivery(
                    purpose="reporter_receipt",
                    recipient="U0R",
                    status="pending",
                    created_at=now - timedelta(minutes=7),
                ),
                Delivery(
                    purpose="reporter_receipt",
                    recipient="U0R",
                    status="pending",
                    created_at=now - timedelta(minutes=1),
                ),
                Delivery(purpose="lead_dm", recipient="U0PAY", status="failed", created_at=now),
                Delivery(purpose="lead_dm", recipient="U0PAY", status="sent", created_at=now),
                ScheduledJob(
                    name="reminders",
                    last_run_at=now,
                    last_finished_at=now,
                    last_success_at=now - timedelta(seconds=30),
                    last_error="boom",
                ),
            ]
        )
        await session.commit()
        # As the reminders tick stores it: item 3 (Mobile) is past its target now.
        await session.execute(
            update(Item).where(Item.text == "item 3").values(sla_due_at=now - timedelta(hours=1))
        )
        await session.commit()


async def test_every_metric_against_the_seed(slack: SlackDriver, jerry: JerryApp) -> None:
    # The seeded deliveries are due: a running worker could claim one (its purpose means
    # nothing to it) before the scrape and change the backlog the test counts by hand.
    await jerry.worker.stop()
    await seed(jerry)
    response = await slack.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    found = samples(response.text)
    # Payments: items 0 (resolved), 2, 4; Mobile: 1, 3, 5; one unrouted question.
    assert found[("jerry_items_open", (("team", "Payments"),))] == 2
    assert found[("jerry_items_open", (("team", "Mobile"),))] == 3
    assert found[("jerry_items_open", (("team", ""),))] == 1
    assert found[("jerry_items_late", (("team", "Mobile"),))] == 1
    assert found[("jerry_items_late", (("team", "Payments"),))] == 0
    assert found[("jerry_items_breached", (("team", "Payments"),))] == 1
    assert found[("jerry_items_breached", (("team", "Mobile"),))] == 1
    assert found[("jerry_outbox_backlog", (("purpose", "reporter_receipt"),))] == 2
    assert 400 < found[("jerry_outbox_oldest_undelivered_age_seconds", ())] < 3600
    assert found[("jerry_deliveries_failed", (("purpose", "lead_dm"),))] == 1
    assert found[("jerry_scheduler_last_run_failed", (("job", "reminders"),))] == 1
    success = found[("jerry_scheduler_last_success_timestamp_seconds", (("job", "reminders"),))]
    assert abs(success - (utcnow() - timedelta(seconds=30)).timestamp()) < 60
    assert found[("jerry_similar_index_items", ())] == 0
    assert found[("jerry_database_up", ())] == 1
    assert "Open items (not resolved, not merged into another), by team." in response.text


async def test_the_same_queries_whatever_the_data(slack: SlackDriver, jerry: JerryApp) -> None:
    statements: list[str] = []

    # The scrape's own statements (the outbox worker queries the database meanwhile).
    shapes = (
        "GROUP BY items.team_id",
        "deliveries.purpose, deliveries.status",
        "FROM scheduled_jobs",
        "similar_entries",
        "teams.id, teams.name",
    )

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if any(shape in statement for shape in shapes):
            statements.append(statement)

    event.listen(jerry.engine.sync_engine, "before_cursor_execute", count)
    try:
        await seed(jerry, items=4)
        statements.clear()
        assert (await slack.http.get("/metrics")).status_code == 200
        few = len(statements)
        async with jerry.sessions() as session:
            session.add_all(
                Item(
                    kind="painpoint",
                    text=f"more {n}",
                    reporter_id="U0R",
                    source="command",
                    route_step="triage",
                )
                for n in range(200)
            )
            await session.commit()
        statements.clear()
        assert (await slack.http.get("/metrics")).status_code == 200
        assert len(statements) == few == 7
    finally:
        event.remove(jerry.engine.sync_engine, "before_cursor_execute", count)


@pytest.fixture
async def guarded(settings: Settings) -> AsyncIterator[SlackDriver]:
    app = create_app(settings.model_copy(update={"jerry_metrics_token": "s3cret"}))
    await app.start()
    driver = SlackDriver(app, FakeSlack())
    yield driver
    await driver.close()
    await app.stop()


async def test_a_token_when_one_is_set(guarded: SlackDriver) -> None:
    assert (await guarded.http.get("/metrics")).status_code == 401
    wrong = await guarded.http.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.text == "unauthorized\n"
    right = await guarded.http.get("/metrics", headers={"Authorization": "Bearer s3cret"})
    assert right.status_code == 200 and "jerry_database_up 1.0" in right.text


@pytest.mark.parametrize("url", BROKEN_DATABASES)
async def test_503_in_one_line_when_the_database_is_down(fake_slack: FakeSlack, url: str) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token=TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake_slack.api_url,
        database_url=url,
        jerry_delivery_retry_seconds=30,
    )
    app = create_app(settings)
    await app.start()
    driver = SlackDriver(app, fake_slack)
    try:
        response = await driver.http.get("/metrics")
        assert response.status_code == 503
        assert response.text == "database unavailable\n"
    finally:
        await driver.close()
        await app.stop()
