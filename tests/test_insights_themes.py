"""Themes: similar items grouped per area and period, labelled by their characteristic words
in the items' language, with their trend; leads' edits (rename, merge, move an item out) kept
across recomputation; the App Home's theme menu; `jerry insights themes`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import JerryApp
from bot.folding import fold
from bot.insights import themes_service
from bot.insights.numbers import forget_cached
from bot.insights.periods import current_period
from bot.insights.themes import Cluster, Edit, ThemeInput, apply_edits, cluster
from bot.similar.engine import Encoder
from models.insights import InsightTheme
from models.items import Item
from models.routing import Area
from tests import payloads
from tests.fakeslack import FakeSlack
from tests.harness import SlackDriver
from tests.test_cli import InProcessJerry, Jerry

pytestmark = pytest.mark.slow

BILLING = [
    "The invoice total is wrong when a discount applies",
    "Invoices show the wrong total after a discount",
    "Discounted invoices have an incorrect total amount",
    "Wrong invoice total for customers with a discount code",
]
LOGIN = [
    "SSO login with Okta fails for new users",
    "New users cannot sign in with Okta single sign-on",
    "Okta SSO sign in error for newly invited users",
]
CRASH = [
    "The iOS app crashes when opening a PDF invoice",
    "Opening a PDF in the iPhone app makes it crash",
    "iOS app crash on PDF attachments",
]
FRENCH = [
    "L’export CSV ne contient pas les dates de commande",
    "Il manque la date de commande dans l’export CSV",
    "Les dates de commande n’apparaissent pas dans le fichier CSV exporté",
]
ENCODER = Encoder()


def inputs(texts: list[str], first_id: int = 1) -> list[ThemeInput]:
    encoded = ENCODER.encode([fold(text) for text in texts])
    return [
        ThemeInput(first_id + n, text, e.vector, e.terms, e.counts)
        for n, (text, e) in enumerate(zip(texts, encoded, strict=True))
    ]


def by_members(found: list[Cluster], items: list[ThemeInput]) -> list[set[str]]:
    text = {i.item_id: i.text for i in items}
    return [{text[m] for m in c.members} for c in found]


# --- the clustering (pure) -----------------------------------------------------------------------


def test_items_about_one_thing_make_one_theme_each_with_its_words() -> None:
    items = inputs(BILLING + LOGIN + CRASH + ["Dark mode for the dashboard, please"])
    found = cluster(items)
    groups = by_members(found, items)
    assert set(BILLING) in groups and set(LOGIN) in groups and set(CRASH) in groups
    assert len(found) == 3  # the lone dark-mode request is no theme
    labels = {frozenset(g): c.label for g, c in zip(groups, found, strict=True)}
    assert "invoice" in labels[frozenset(BILLING)] or "discount" in labels[frozenset(BILLING)]
    assert "okta" in labels[frozenset(LOGIN)]
    assert "pdf" in labels[frozenset(CRASH)]
    for c in found:
        assert len(c.label.split(" · ")) <= 3
        assert c.examples[0][0] == c.members[0]  # the most central first


def test_french_items_get_french_words() -> None:
    items = inputs(FRENCH + BILLING)
    found = cluster(items)
    french = next(c for c in found if c.members[0] <= len(FRENCH))
    assert set(french.label.split(" · ")) & {"commande", "dates", "csv", "export"}
    assert "the" not in french.label.split(" · ")


def test_the_previous_periods_items_give_the_trend() -> None:
    now = inputs(BILLING + LOGIN)
    before = inputs(
        ["Invoice totals are wrong with discounts", "The invoice total ignores the discount"],
        first_id=100,
    )
    found = cluster(now, before)
    billing = next(c for c in found if c.members[0] <= len(BILLING))
    login = next(c for c in found if c is not billing)
    assert (billing.previous, login.previous) == (2, 0)


def test_edits_anchor_on_items_and_survive_a_recomputation() -> None:
    items = inputs(BILLING + LOGIN + CRASH)
    first = cluster(items)
    billing = next(c for c in first if c.members[0] <= 4)
    login = next(c for c in first if 5 <= c.members[0] <= 7)
    edits = [
        Edit("rename", tuple(billing.members), label="Discount totals"),
        Edit("merge", tuple(billing.members), other=tuple(login.members)),
        Edit("move_out", tuple(billing.members), item_id=billing.members[-1]),
    ]
    moved = billing.members[-1]
    # Recomputed with two new items: the edits still land on the theme holding their items.
    grown = inputs(
        BILLING
        + LOGIN
        + CRASH
        + ["Invoice total wrong with a discount voucher", "Okta SSO fails for a new user"]
    )
    again = apply_edits(cluster(grown), edits)
    named = next(c for c in again if c.custom_label == "Discount totals")
    assert moved not in named.members
    assert set(range(1, 8)) - {moved} <= set(named.members)  # billing and login, merged
    assert 11 in named.members and 12 in named.members  # the new items joined it
    assert all(moved not in c.members for c in again)


# --- in the database, the Home and the CLI --------------------------------------------------------

NOW = datetime(2026, 11, 19, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    forget_cached()
    yield
    forget_cached()


async def seed(jerry: JerryApp, texts: dict[str, list[str]], *, days_ago: int = 1) -> None:
    async with jerry.sessions() as session:
        areas = {a.name: a for a in (await session.execute(select(Area))).scalars()}
        for name, lines in texts.items():
            for text in lines:
                session.add(
                    Item(
                        kind="painpoint",
                        text=text,
                        reporter_id="U0REPORTER",
                        source="command",
                        route_step="keywords",
                        team_id=areas[name].team_id,
                        area_id=areas[name].id,
                        created_at=NOW - timedelta(days=days_ago),
                    )
                )
        await session.commit()


async def stored(jerry: JerryApp) -> list[InsightTheme]:
    async with jerry.sessions() as session:
        rows = await session.execute(
            select(InsightTheme)
            .where(InsightTheme.period == "quarter:2026-Q4")
            .order_by(InsightTheme.area_id, InsightTheme.position)
        )
        return list(rows.scalars())


async def menu(slack: SlackDriver, user: str, value: str) -> None:
    body = payloads.home_block_action(user=user, action_id="home_theme_menu", value="")
    action = body["actions"][0]
    action.pop("value", None)
    action.update(
        type="overflow",
        selected_option={"text": {"type": "plain_text", "text": "x"}, "value": value},
    )
    response = await slack.interactive(body)
    assert response.status_code == 200
    await slack.settle()


@pytest.mark.usefixtures("routed")
async def test_computed_shown_edited_in_slack_and_kept_across_recomputation(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    jerry.home.now = lambda: NOW
    await seed(jerry, {"Billing": BILLING, "iOS app": CRASH})
    quarter = current_period("quarter", NOW)
    result = await themes_service.refresh_themes(jerry.sessions, NOW, periods=[quarter])
    assert result.themes == 2
    billing, crash = await stored(jerry)
    assert billing.items == 4 and crash.items == 3
    # The lead of Payments sees them in Insights, with the menu on Billing's only.
    lead = "U0PAYLEAD"
    body = payloads.home_block_action(user=lead, action_id="home_tab_insights", value="insights")
    await slack.interactive(body)
    await slack.settle()
    view = fake_slack.home[lead]
    menus = [b for b in view["blocks"] if (b.get("accessory") or {}).get("type") == "overflow"]
    assert len(menus) == 1 and billing.label in json.dumps(menus[0], ensure_ascii=False)
    # Rename through the menu and its form.
    await menu(slack, lead, f"rename:{billing.id}")
    form = slack.last_view()
    assert form["callback_id"] == "jerry_theme_rename"
    response = await slack.submit(
        form, {"name": {"value": payloads.input_value("Discount totals")}}, user=lead
    )
    assert response.status_code == 200 and not response.content
    await slack.settle()
    assert "Discount totals" in json.dumps(fake_slack.home[lead], ensure_ascii=False)
    # Move one item out.
    [billing] = [t for t in await stored(jerry) if t.custom_label == "Discount totals"]
    out = billing.members[-1]
    await menu(slack, lead, f"move:{billing.id}")
    response = await slack.submit(
        slack.last_view(), {"item": {"value": payloads.selected(str(out))}}, user=lead
    )
    assert response.status_code == 200 and not response.content
    # A stranger cannot: refused in words, nothing changes.
    before = [(t.label, t.custom_label, t.members) for t in await stored(jerry)]
    await menu(slack, "U0REPORTER", f"rename:{billing.id}")
    assert "Only the team's lead" in fake_slack.dms_to("U0REPORTER")[-1]["text"]
    # Another team's lead cannot either, even forging the form.
    forged = {
        "type": "modal",
        "callback_id": "jerry_theme_rename",
        "id": "V0FORGED",
        "private_metadata": str(billing.id),
        "blocks": [],
    }
    response = await slack.submit(
        forged, {"name": {"value": payloads.input_value("Mine")}}, user="U0MOBLEAD"
    )
    assert "Only the team's lead" in response.json()["errors"]["name"]
    assert [(t.label, t.custom_label, t.members) for t in await stored(jerry)] == before
    # New items come, themes are recomputed: the name stays, the item stays out.
    await seed(jerry, {"Billing": ["Invoice total is wrong with a discount voucher"]})
    await themes_service.refresh_themes(jerry.sessions, NOW, periods=[quarter])
    [billing] = [t for t in await stored(jerry) if t.area_id == billing.area_id]
    assert billing.custom_label == "Discount totals" and out not in billing.members
    assert billing.items == 4  # three of the first, the new one


@pytest.mark.usefixtures("routed")
async def test_the_cli_lists_them_in_text_json_and_csv(
    jerry: JerryApp, tmp_path: Path, database_url: str
) -> None:
    await seed(jerry, {"Billing": BILLING, "iOS app": CRASH})
    cli: Jerry = InProcessJerry(tmp_path, {"DATABASE_URL": database_url})
    empty = await cli("insights", "themes", "--period", "2026-Q4")
    assert empty.ok and "No theme for 2026-Q4 yet" in empty.stdout
    run = await cli("insights", "themes", "--period", "2026-Q4", "--refresh")
    assert run.ok, str(run)
    assert "Themes of 2026-Q4, largest first:" in run.stdout
    assert "Billing:" in run.stdout and "(4 items; 0 the period before)" in run.stdout
    as_json = json.loads(
        (
            await cli(
                "insights", "themes", "--period", "2026-Q4", "--format", "json", "--area", "ios app"
            )
        ).stdout
    )
    assert [t["area"] for t in as_json["themes"]] == ["iOS app"]
    assert len(as_json["themes"][0]["examples"]) == 3
    table = await cli("insights", "themes", "--period", "2026-Q4", "--format", "csv")
    assert table.stdout.splitlines()[0] == "period,area,theme,items,previous_items,examples"
    bad = await cli("insights", "themes", "--area", "Nowhere")
    assert bad.returncode == 1 and "no product area is named Nowhere" in bad.stderr


async def test_an_area_with_no_items_has_no_theme(
    sessions: async_sessionmaker[AsyncSession], engine: Any
) -> None:
    from tests.test_insights_numbers import _history

    async with sessions() as session:
        await _history(session)
    result = await themes_service.refresh_themes(
        sessions, NOW, periods=[current_period("week", NOW + timedelta(days=60))]
    )
    assert result.themes == 0
