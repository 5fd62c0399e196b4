"""End to end: a pain point's kind (bug, feature request, process, other), picked by its
reporter in the form and set or corrected by its lead when resolving; the insights' bug trend
reads it. SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.app import JerryApp
from models.items import Item
from tests import payloads
from tests.fakeslack import FakeSlack
from tests.harness import SlackDriver
from tests.test_e2e_intake import form_values
from tests.test_e2e_lead_actions import input_ids, open_resolve, submit_resolve
from tests.test_e2e_relay import LEAD, events, everything, load_item, painpoint

pytestmark = pytest.mark.usefixtures("routed")


async def only_item(jerry: JerryApp) -> Item:
    async with jerry.sessions() as session:
        [item] = (await session.execute(select(Item))).scalars().all()
        return item


def with_category(values: dict[str, Any], category: str | None) -> dict[str, Any]:
    return {**values, "category": {"value": payloads.selected(category)}}


async def test_the_reporter_picks_a_kind_in_the_pain_point_form_only(
    slack: SlackDriver, routed: JerryApp
) -> None:
    await slack.command("/ask", "", channel="C0SALES")
    await slack.settle()
    assert "category" not in [b.get("block_id") for b in slack.last_view()["blocks"]]
    await slack.command("/painpoint", "", channel="C0SALES")
    await slack.settle()
    view = slack.last_view()
    [block] = [b for b in view["blocks"] if b.get("block_id") == "category"]
    assert block["optional"] is True
    assert [o["value"] for o in block["element"]["options"]] == [
        "bug",
        "feature",
        "process",
        "other",
    ]
    assert [o["text"]["text"] for o in block["element"]["options"]] == [
        "Bug",
        "Feature request",
        "Process",
        "Other",
    ]
    response = await slack.submit(
        view, with_category(form_values("the invoice total is wrong"), "bug")
    )
    assert response.status_code == 200 and response.text == ""
    item = await only_item(routed)
    assert item.category == "bug"


async def test_a_forged_kind_is_refused_with_words_and_stores_nothing(
    slack: SlackDriver, routed: JerryApp
) -> None:
    await slack.command("/painpoint", "", channel="C0SALES")
    await slack.settle()
    response = await slack.submit(
        slack.last_view(), with_category(form_values("the invoice total is wrong"), "outage")
    )
    assert response.status_code == 200
    answer = response.json()
    assert answer["response_action"] == "errors"
    assert answer["errors"] == {
        "category": "Pick a kind of problem from the list (or leave it empty)."
    }
    async with routed.sessions() as session:
        assert (await session.execute(select(Item))).scalars().all() == []


async def test_the_lead_sets_or_corrects_it_when_resolving(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    view = await open_resolve(slack)
    assert input_ids(view) == ["outcome", "duplicate", "note", "category"]
    [block] = [b for b in view["blocks"] if b.get("block_id") == "category"]
    assert "initial_option" not in block["element"]  # the reporter did not say
    values = {
        "outcome": {"value": payloads.selected("fixed")},
        "duplicate": {"value": payloads.input_value("")},
        "note": {"value": payloads.input_value("")},
        "category": {"value": payloads.selected("bug")},
    }
    response = await slack.submit(view, values, user=LEAD)
    assert response.status_code == 200 and not response.content, response.text
    await slack.settle()
    stored = await load_item(jerry, item.id)
    assert (stored.status, stored.category) == ("resolved", "bug")
    [event] = await events(jerry, item.id, "category_set")
    assert (event.actor, event.detail) == (LEAD, {"before": None, "after": "bug"})
    # The lead's card says it.
    card = fake_slack.message(stored.lead_dm_channel or "", stored.lead_dm_ts or "")
    assert card is not None and "*Kind*\\nBug" in everything(card)


async def test_a_forged_kind_in_the_resolve_form_changes_nothing(
    slack: SlackDriver, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    view = await open_resolve(slack)
    values = {
        "outcome": {"value": payloads.selected("fixed")},
        "duplicate": {"value": payloads.input_value("")},
        "note": {"value": payloads.input_value("")},
        "category": {"value": payloads.selected("outage")},
    }
    response = await slack.submit(view, values, user=LEAD)
    assert response.status_code == 200
    assert response.json()["errors"] == {
        "category": "Pick a kind of problem from the list (or leave it empty)."
    }
    stored = await load_item(jerry, item.id)
    assert (stored.status, stored.category) == ("open", None)
    assert await submit_resolve(slack, view, "fixed") is None  # then resolved without one
