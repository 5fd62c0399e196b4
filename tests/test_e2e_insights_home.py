"""End to end: the App Home's Insights tab, for an admin (everything), a lead (their teams,
no customer names) and anyone else (no tab); the period picker; the charts uploaded once and
shown as image blocks naming the file, each with its words. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import JerryApp
from bot.insights.numbers import forget_cached
from models.items import Item
from models.routing import Area, Team
from tests import payloads
from tests.fakeslack import FakeSlack
from tests.harness import ADMIN, SlackDriver
from tests.test_e2e_home import open_home, text_of

pytestmark = pytest.mark.usefixtures("routed")
LEAD, REPORTER = "U0PAYLEAD", "U0REPORTER"


@pytest.fixture(autouse=True)
def fresh_numbers() -> Any:
    forget_cached()
    yield
    forget_cached()


# The Home's clock in these tests: a Thursday in the middle of 2026-Q4.
NOW = datetime(2026, 11, 19, 12, 0, tzinfo=UTC)


async def seed(jerry: JerryApp) -> None:
    """This quarter: three Payments items (one a bug fixed for an at-risk customer, kept, two
    weeks ago), one Mobile item; the Home's clock set to NOW."""
    jerry.home.now = lambda: NOW
    now = NOW
    async with jerry.sessions() as session:
        teams = {t.name: t for t in (await session.execute(select(Team))).scalars()}
        areas = {a.name: a.id for a in (await session.execute(select(Area))).scalars()}
        rows = [
            (
                "Payments",
                "painpoint",
                "bug",
                "the invoice total is wrong",
                dict(
                    status="resolved",
                    outcome="fixed",
                    resolved_at=now - timedelta(days=13),
                    customer="Globex",
                    customer_at_risk=True,
                    customer_outcome="kept",
                    area_id=areas["Billing"],
                    created_at=now - timedelta(days=14),
                    first_acknowledged_at=now - timedelta(days=14, hours=-2),
                ),
            ),
            (
                "Payments",
                "question",
                None,
                "how do refunds work?",
                dict(first_acknowledged_at=now - timedelta(seconds=20)),
            ),
            ("Payments", "painpoint", "feature", "export invoices as CSV", {}),
            (
                "Mobile",
                "painpoint",
                "bug",
                "the iOS app crashes on PDFs",
                dict(area_id=areas["iOS app"]),
            ),
        ]
        for team, kind, category, text, more in rows:
            session.add(
                Item(
                    kind=kind,
                    category=category,
                    text=text,
                    reporter_id=REPORTER,
                    source="command",
                    route_step="keywords",
                    team_id=teams[team].id,
                    assignee_id=teams[team].lead,
                    **{"created_at": now - timedelta(minutes=1), **more},
                )
            )
        await session.commit()


async def click(slack: SlackDriver, user: str, action_id: str, value: str) -> None:
    body = payloads.home_block_action(user=user, action_id=action_id, value=value)
    response = await slack.interactive(body)
    assert response.status_code == 200
    await slack.settle()


async def choose_period(slack: SlackDriver, user: str, value: str) -> None:
    body = payloads.home_block_action(user=user, action_id="home_insights_period", value="")
    action = body["actions"][0]
    action.pop("value", None)
    action.update(
        type="static_select",
        selected_option={"text": {"type": "plain_text", "text": value}, "value": value},
    )
    response = await slack.interactive(body)
    assert response.status_code == 200
    await slack.settle()


def buttons(view: dict[str, Any]) -> list[str]:
    return [
        e.get("action_id", "")
        for b in view["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]


def images(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in view["blocks"] if b["type"] == "image"]


async def test_an_admin_switches_to_insights_and_sees_everything_with_charts(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    await seed(jerry)
    home = await open_home(slack, ADMIN)
    assert home is not None and "home_tab_insights" in buttons(home)
    await click(slack, ADMIN, "home_tab_insights", "insights")
    view = fake_slack.home[ADMIN]
    shown = text_of(view)
    assert view["blocks"][0]["text"]["text"].startswith("Insights: Q")
    assert "4 items in" in shown and "3 pain points (2 bugs), 1 question" in shown
    assert "Globex (#" in shown and "at risk, kept" in shown  # customers: admins only
    assert "Every team" in shown
    charts = images(view)
    assert len(charts) == 3
    uploaded = {f["id"]: f for f in fake_slack.files.values()}
    for chart in charts:
        file = uploaded[chart["slack_file"]["id"]]
        assert file["name"].startswith("insights-") and file["name"].endswith(".png")
        assert chart["alt_text"] and chart["alt_text"] in shown  # its words under it
    # The tab is kept: opening the Home again shows Insights, uploading nothing again.
    count = len(fake_slack.files)
    await open_home(slack, ADMIN)
    assert fake_slack.home[ADMIN]["blocks"][0]["text"]["text"].startswith("Insights")
    assert len(fake_slack.files) == count
    # How it is computed: a modal.
    await click(slack, ADMIN, "home_insights_how", "how")
    how = slack.last_view()
    assert how["title"]["text"] == "How it is computed"
    assert "Within target" in json.dumps(how)
    # Back to the items.
    await click(slack, ADMIN, "home_tab_items", "items")
    assert "Insights:" not in fake_slack.home[ADMIN]["blocks"][0]["text"]["text"]


async def test_a_lead_reads_their_teams_only_and_no_customer_names(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    await seed(jerry)
    await open_home(slack, LEAD)
    await click(slack, LEAD, "home_tab_insights", "insights")
    shown = text_of(fake_slack.home[LEAD])
    assert "3 items in" in shown and "Your teams (Payments)" in shown
    assert "Globex" not in shown and "Mobile" not in shown and "iOS" not in shown


async def test_the_period_picker_and_a_forged_period(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    await seed(jerry)
    await click(slack, ADMIN, "home_tab_insights", "insights")
    await choose_period(slack, ADMIN, "previous_quarter")
    view = fake_slack.home[ADMIN]
    assert "0 items in" in text_of(view)
    [picker] = [
        e
        for b in view["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e.get("action_id") == "home_insights_period"
    ]
    assert picker["initial_option"]["value"] == "previous_quarter"
    publishes = len(fake_slack.calls_to("views.publish"))
    await choose_period(slack, ADMIN, "last_century")
    assert len(fake_slack.calls_to("views.publish")) == publishes  # ignored: nothing changes
    await choose_period(slack, ADMIN, "month")
    assert "4 items in" in text_of(fake_slack.home[ADMIN])


async def test_anyone_else_has_no_insights_even_forging_the_button(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    await seed(jerry)
    home = await open_home(slack, REPORTER)
    assert home is not None and "home_tab_insights" not in buttons(home)
    await click(slack, REPORTER, "home_tab_insights", "insights")
    view = fake_slack.home[REPORTER]
    assert "Insights" not in view["blocks"][0]["text"]["text"]
    assert "4 items in" not in text_of(view) and not images(view)


async def test_the_warm_job_makes_the_tab_ready_before_anyone_opens_it(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    """insights_warm computes this quarter for the admins' scope and each lead's teams and
    uploads their charts: opening the tab then computes and uploads nothing."""
    await seed(jerry)
    result = await jerry.run_insights_warm(NOW)
    # The admin, and each lead's or backup's teams: Payments (its lead and backup share
    # it), Mobile and triage; charts of the same content are uploaded once.
    assert result.scopes == 4 and result.charts >= 3
    uploaded = len(fake_slack.files)
    from bot.insights import numbers

    computed: list[object] = []
    original = numbers.compute_insights

    async def counting(*args: Any, **kwargs: Any) -> Any:
        computed.append(args)
        return await original(*args, **kwargs)

    numbers.compute_insights = counting  # type: ignore[assignment]
    try:
        await open_home(slack, ADMIN)
        await click(slack, ADMIN, "home_tab_insights", "insights")
        await open_home(slack, LEAD)
        await click(slack, LEAD, "home_tab_insights", "insights")
    finally:
        numbers.compute_insights = original  # type: ignore[assignment]
    assert computed == []
    assert len(fake_slack.files) == uploaded
    assert "4 items in" in text_of(fake_slack.home[ADMIN])
    assert "3 items in" in text_of(fake_slack.home[LEAD])
