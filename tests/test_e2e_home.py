"""End to end: the App Home for each role, paging, re-publishing after actions, failures.

Signed Slack requests go to the real app; its real Web API client publishes to the fake
Slack, which checks every view against Slack's limits and keeps the last Home per user.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, update

from bot.app import JerryApp
from models.base import utcnow
from models.deliveries import Delivery
from models.items import Item
from models.routing import Team
from tests import payloads
from tests.fakeslack import FakeSlack
from tests.harness import ADMIN, SlackDriver

LEAD, BACKUP, MOBILE_LEAD, TRIAGE_LEAD = "U0PAYLEAD", "U0PAYBACK", "U0MOBLEAD", "U0PRODOPS"
REPORTER, FRENCH, STRANGER = "U0REPORTER", "U0FRENCH", "U0STRANGER"


# --- helpers --------------------------------------------------------------------------------


async def open_home(slack: SlackDriver, user: str, *, tab: str = "home") -> dict[str, Any] | None:
    """`user` opens Jerry's Home tab; the Home Jerry published for them, if any."""
    response = await slack.event(payloads.app_home_opened(user=user, tab=tab))
    assert response.status_code == 200, response.text
    await slack.settle()
    return slack.fake.home.get(user)


def publishes(fake: FakeSlack, user: str) -> int:
    return len([c for c in fake.calls_to("views.publish", ok=True) if c["user_id"] == user])


def block(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    found = [b for b in view["blocks"] if b.get("block_id") == block_id]
    assert found, f"no block {block_id} in {[b.get('block_id') for b in view['blocks']]}"
    return found[0]


def block_ids(view: dict[str, Any], prefix: str) -> list[str]:
    return [b["block_id"] for b in view["blocks"] if b.get("block_id", "").startswith(prefix)]


def item_ids(view: dict[str, Any], prefix: str) -> list[int]:
    return [int(i.rsplit("_", 1)[1]) for i in block_ids(view, prefix)]


def text_of(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


def button(view: dict[str, Any], action_id: str, value: str | None = None) -> tuple[str, str]:
    """(block_id, value) of the button `action_id` (with `value`, if given) in the view."""
    for b in view["blocks"]:
        elements = list(b.get("elements") or []) + ([b["accessory"]] if "accessory" in b else [])
        for element in elements:
            if element.get("action_id") == action_id and value in (None, element.get("value")):
                return b["block_id"], element["value"]
    raise AssertionError(f"no {action_id} button ({value}) in the Home")


async def click_home(
    slack: SlackDriver, user: str, action_id: str, value: str | None = None
) -> dict[str, Any]:
    """`user` clicks a button of the Home Jerry last published for them; the Home after."""
    view = slack.fake.home[user]
    block_id, found = button(view, action_id, value)
    body = payloads.home_click(
        user=user, view=view, action_id=action_id, value=found, block_id=block_id
    )
    response = await slack.interactive(body)
    assert response.status_code == 200, response.text
    await slack.settle()
    return slack.fake.home[user]


async def painpoint(slack: SlackDriver, text: str, *, user: str = REPORTER) -> Item:
    response = await slack.command("/painpoint", text, user=user)
    assert response.status_code == 200
    await slack.settle()
    return await load_item(slack.app)


async def load_item(jerry: JerryApp, item_id: int | None = None) -> Item:
    async with jerry.sessions() as session:
        statement = select(Item).order_by(Item.id.desc()).limit(1)
        if item_id is not None:
            statement = select(Item).where(Item.id == item_id)
        return (await session.execute(statement)).scalar_one()


async def backdate(jerry: JerryApp, item_id: int, **changes: Any) -> None:
    async with jerry.sessions() as session:
        await session.execute(update(Item).where(Item.id == item_id).values(**changes))
        await session.commit()


async def add_items(
    jerry: JerryApp, count: int, *, team: str = "Payments", reporter: str = REPORTER
) -> list[int]:
    """`count` items stored as intake stores them, oldest first (setup for the big lists)."""
    async with jerry.sessions() as session:
        row = (await session.execute(select(Team).where(Team.name == team))).scalar_one()
        now = utcnow()
        items = [
            Item(
                kind="painpoint" if n % 2 else "question",
                status="open",
                text=f"bulk item {n} — facture ✓ " + "long words " * (n % 7) * 50,
                reporter_id=reporter,
                source="command",
                language="en",
                route_step="keywords",
                route_detail={"keywords": ["invoice"]},
                team_id=row.id,
                assignee_id=row.lead,
                created_at=now - timedelta(minutes=count - n),
            )
            for n in range(count)
        ]
        session.add_all(items)
        await session.commit()
        return [item.id for item in items]


# --- everyone -------------------------------------------------------------------------------


@pytest.mark.usefixtures("routed")
async def test_a_plain_employee_sees_their_items_who_has_them_and_the_add_button(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    first = await painpoint(slack, "the invoice total is wrong")
    second = await painpoint(slack, "the iphone app crashes on login")
    old = await painpoint(slack, "refund took a month")
    recent = await painpoint(slack, "billing page is slow")
    now = utcnow()
    await backdate(jerry, old.id, status="resolved", resolved_at=now - timedelta(days=45))
    await backdate(jerry, recent.id, status="resolved", resolved_at=now - timedelta(days=2))
    await painpoint(slack, "someone else's invoice", user=STRANGER)

    view = await open_home(slack, REPORTER)
    assert view is not None and view["type"] == "home"
    # Open items first (newest first), then those closed in the last 30 days; not older ones.
    assert item_ids(view, "home_mine_") == [second.id, first.id, recent.id]
    row = block(view, f"home_mine_{first.id}")["text"]["text"]
    assert f"#{first.id}" in row and "the invoice total is wrong" in row
    assert "Payments" in row and f"<@{LEAD}>" in row and "New" in row
    assert "Mobile" in block(view, f"home_mine_{second.id}")["text"]["text"]
    assert f"<@{MOBILE_LEAD}>" in block(view, f"home_mine_{second.id}")["text"]["text"]
    closed = block(view, f"home_mine_{recent.id}")
    assert "Resolved" in closed["text"]["text"]
    assert closed["accessory"]["action_id"] == "item_reopen"
    assert closed["accessory"]["value"] == str(recent.id)
    assert "Your items (3)" in text_of(view)
    # Not a lead, not an admin: no queue, no product-ops overview.
    assert not block_ids(view, "home_q_") and not block_ids(view, "home_team_")
    assert button(view, "home_add_painpoint")[1] == "painpoint"


@pytest.mark.usefixtures("routed")
async def test_add_a_pain_point_from_the_home_opens_the_intake_form_and_shows_the_item(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    await open_home(slack, REPORTER)
    await click_home(slack, REPORTER, "home_add_painpoint")
    form = slack.last_view()
    assert form["callback_id"] == "jerry_intake"  # the one intake form, reused
    assert json.loads(form["private_metadata"])["kind"] == "painpoint"
    before = publishes(fake_slack, REPORTER)
    values = {
        "text": {"value": payloads.input_value("the refund button does nothing")},
        "area": {"value": payloads.selected("not_sure")},
        "impact": {"value": payloads.selected(None)},
        "customer": {"value": payloads.input_value("")},
        "flags": {"value": payloads.checked()},
    }
    response = await slack.submit(form, values, user=REPORTER)
    assert response.status_code == 200 and not response.content, response.text
    await slack.settle()
    item = await load_item(jerry)
    assert item.text == "the refund button does nothing" and item.reporter_id == REPORTER
    # The receipt comes by DM (no response_url from a Home), the lead gets the item ...
    assert any(f"#{item.id}" in c["text"] for c in fake_slack.dms_to(REPORTER))
    assert any(f"#{item.id}" in c["text"] for c in fake_slack.dms_to(LEAD))
    # ... and the Home, re-published, lists it.
    assert publishes(fake_slack, REPORTER) == before + 1
    assert item_ids(fake_slack.home[REPORTER], "home_mine_") == [item.id]

    await click_home(slack, REPORTER, "home_ask_question")
    form = slack.last_view()
    assert json.loads(form["private_metadata"])["kind"] == "question"


# --- leads ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("routed")
async def test_a_lead_sees_their_queue_oldest_first_with_sla_and_the_dm_actions(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    newer = await painpoint(slack, "the invoice total is wrong")
    late = await painpoint(slack, "refund never arrived", user=STRANGER)
    await backdate(jerry, late.id, created_at=utcnow() - timedelta(days=6))
    mobile = await painpoint(slack, "the iphone app crashes")
    done = await painpoint(slack, "billing export broken")
    await backdate(jerry, done.id, status="resolved", resolved_at=utcnow())

    view = await open_home(slack, LEAD)
    assert view is not None
    # Payments' open items only, oldest first; resolved and other teams' items are not there.
    assert item_ids(view, "home_q_actions_") == [late.id, newer.id]
    assert mobile.id not in item_ids(view, "home_q_actions_")
    assert "Your queue (2)" in text_of(view)
    late_context = view["blocks"][view["blocks"].index(block(view, f"home_q_{late.id}")) + 1]
    assert "Late" in late_context["elements"][0]["text"]
    assert "6 days old" in late_context["elements"][0]["text"]
    new_context = view["blocks"][view["blocks"].index(block(view, f"home_q_{newer.id}")) + 1]
    assert "On time" in new_context["elements"][0]["text"]
    actions = block(view, f"home_q_actions_{newer.id}")["elements"]
    assert [(e["action_id"], e["value"]) for e in actions][:2] == [
        ("item_answer", str(newer.id)),
        ("item_acknowledge", str(newer.id)),
    ]
    assert {"item_reassign", "item_resolve", "item_ask_details"} <= {
        e["action_id"] for e in actions
    }
    # The lead's own items list is there too (empty) — and no admin overview.
    assert "Your items (0)" in text_of(view) and not block_ids(view, "home_team_")

    # The backup sees the same queue; the Mobile lead sees only Mobile's.
    backup = await open_home(slack, BACKUP)
    assert backup is not None and item_ids(backup, "home_q_actions_") == [late.id, newer.id]
    other = await open_home(slack, MOBILE_LEAD)
    assert other is not None and item_ids(other, "home_q_actions_") == [mobile.id]


@pytest.mark.usefixtures("routed")
async def test_an_action_from_the_home_republishes_it_with_the_new_state(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    await open_home(slack, LEAD)
    before = publishes(fake_slack, LEAD)

    view = await click_home(slack, LEAD, "item_acknowledge", str(item.id))
    assert (await load_item(jerry, item.id)).status == "acknowledged"
    assert any("is on your" in c["text"] for c in fake_slack.dms_to(REPORTER))
    assert publishes(fake_slack, LEAD) == before + 1
    actions = [e["action_id"] for e in block(view, f"home_q_actions_{item.id}")["elements"]]
    assert "item_acknowledge" not in actions
    assert "Acknowledged" in text_of(view)

    # The answer form opened from the Home: its submission re-publishes the Home too.
    await click_home(slack, LEAD, "item_answer", str(item.id))
    form = slack.last_view()
    assert form["callback_id"] == "jerry_answer"
    before = publishes(fake_slack, LEAD)
    response = await slack.submit(
        form, {"answer": {"value": payloads.input_value("fixed in 4.2")}}, user=LEAD
    )
    assert response.status_code == 200, response.text
    await slack.settle()
    assert (await load_item(jerry, item.id)).status == "answered"
    assert publishes(fake_slack, LEAD) == before + 1
    assert "Answered" in text_of(fake_slack.home[LEAD])

    # An action from the lead's DM, by someone not using their Home, publishes nothing.
    other = await painpoint(slack, "the refund is late")
    before = publishes(fake_slack, MOBILE_LEAD)
    dm = fake_slack.dms_to(LEAD)[-1]
    message = fake_slack.message(dm.response["channel"], dm.response["ts"])
    assert message is not None and f"#{other.id}" in message["text"]
    await slack.click(message, dm.response["channel"], "item_acknowledge", user=ADMIN)
    await slack.settle()
    assert publishes(fake_slack, ADMIN) == 0 and publishes(fake_slack, MOBILE_LEAD) == before


# --- admins ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("routed")
async def test_an_admin_sees_the_routing_model_counts_breaches_and_undelivered(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    await painpoint(slack, "the invoice total is wrong")
    late = await painpoint(slack, "the refund never came")
    await backdate(jerry, late.id, created_at=utcnow() - timedelta(days=5))
    await painpoint(slack, "android app freezes")
    # A lead who left: their DM fails for good, the backup takes the item; the failure shows.
    fake_slack.users["U0MOBLEAD"].deleted = True
    lost = await painpoint(slack, "the iphone app crashes")

    view = await open_home(slack, ADMIN)
    assert view is not None
    text = text_of(view)
    teams = {
        b["text"]["text"]: b
        for b in view["blocks"]
        if b.get("block_id", "").startswith("home_team_")
    }
    names = [t.split("*")[1] for t in teams]
    assert names == ["Triage", "Payments", "Mobile"]
    payments = next(b for t, b in teams.items() if "Payments" in t)
    facts = " ".join(f["text"] for f in payments["fields"])
    assert f"<@{LEAD}>" in facts and f"<@{BACKUP}>" in facts
    assert "Billing, Checkout" in facts
    assert "2 new in 7 days · 2 open · 1 late" in facts
    assert "<#C0PAYTEAM>" in next(t for t in teams if "Payments" in t)
    rules = block(view, "home_admin_rules")["text"]["text"]
    assert "support crashes go to Mobile" in rules and "<#C0SUPPORT>" in rules
    assert "Mobile" in rules
    # SLA breaches: the back-dated item, with its lead.
    assert item_ids(view, "home_breach_") == [late.id]
    assert f"<@{LEAD}>" in block(view, f"home_breach_{late.id}")["text"]["text"]
    # What could not be delivered: the DM to the lead who left.
    async with jerry.sessions() as session:
        failed = (
            await session.execute(select(Delivery).where(Delivery.status == "failed"))
        ).scalar_one()
    assert failed.item_id == lost.id
    row = block(view, f"home_delivery_{failed.id}")["text"]["text"]
    assert f"#{lost.id}" in row and "<@U0MOBLEAD>" in row and "lead_dm" in row
    assert "Could not be delivered (1)" in text
    assert "4 new items in the last 7 days" in text


async def test_empty_states_and_no_routing_model_yet(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    view = await open_home(slack, ADMIN)
    assert view is not None
    text = text_of(view)
    assert "You have no open items" in text
    assert "No routing model yet" in text
    assert "No item is past its target" in text
    assert "Every message Jerry owed was delivered" in text
    assert not block_ids(view, "home_q_")

    stranger = await open_home(slack, STRANGER)
    assert stranger is not None and "You have no open items" in text_of(stranger)
    assert "Product ops" not in text_of(stranger)


@pytest.mark.usefixtures("routed")
async def test_an_empty_queue_says_nothing_waits(slack: SlackDriver) -> None:
    view = await open_home(slack, TRIAGE_LEAD)
    assert view is not None and "Nothing waits for you" in text_of(view)


@pytest.mark.usefixtures("routed")
async def test_the_home_speaks_the_viewers_language(slack: SlackDriver) -> None:
    await painpoint(slack, "la facture est fausse", user=FRENCH)
    view = await open_home(slack, FRENCH)
    assert view is not None
    text = text_of(view)
    assert (
        "Vos demandes (1)" in text and "Signaler un point de friction" in text and "Nouveau" in text
    )


# --- paging ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("routed")
async def test_more_than_100_items_page_through_every_list(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    ids = await add_items(jerry, 150)
    view = await open_home(slack, REPORTER)
    assert view is not None and len(view["blocks"]) <= 100
    seen: list[int] = item_ids(view, "home_mine_")
    pages = 1
    while True:
        try:
            button(fake_slack.home[REPORTER], "home_more")
        except AssertionError:
            break
        view = await click_home(slack, REPORTER, "home_more")
        seen += item_ids(view, "home_mine_")
        pages += 1
    assert sorted(seen) == sorted(ids) and len(seen) == 150  # each once, none lost
    assert seen == sorted(ids, reverse=True)  # newest first
    assert pages == 15
    assert "141–150 of 150" in text_of(view)
    view = await click_home(slack, REPORTER, "home_first")
    assert item_ids(view, "home_mine_") == sorted(ids, reverse=True)[:10]

    # The lead's queue pages too, oldest first, and an action keeps the page it was on.
    queue = await open_home(slack, LEAD)
    assert queue is not None and item_ids(queue, "home_q_actions_") == ids[:8]
    queue = await click_home(slack, LEAD, "home_more")
    assert item_ids(queue, "home_q_actions_") == ids[8:16]
    queue = await click_home(slack, LEAD, "item_acknowledge", str(ids[9]))
    assert item_ids(queue, "home_q_actions_") == ids[8:16]
    assert (await load_item(jerry, ids[9])).status == "acknowledged"
    # The admin's lists page as well; every published Home was valid (the fake checks).
    admin = await open_home(slack, ADMIN)
    assert admin is not None and len(admin["blocks"]) <= 100
    assert not fake_slack.violations


@pytest.mark.usefixtures("routed")
async def test_a_bad_paging_value_republishes_the_home_as_it_was(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    ids = await add_items(jerry, 25)
    await open_home(slack, REPORTER)
    view = await click_home(slack, REPORTER, "home_more")
    assert item_ids(view, "home_mine_") == sorted(ids, reverse=True)[10:20]
    before = publishes(fake_slack, REPORTER)
    for value in ("garbage", "mine:-3", "nope:10", "mine:99999999"):
        body = payloads.home_click(
            user=REPORTER, view=view, action_id="home_more", value=value, block_id="home_page_mine"
        )
        response = await slack.interactive(body)
        assert response.status_code == 200
        await slack.settle()
    assert publishes(fake_slack, REPORTER) == before + 4
    # Garbage kept the page; an offset past the end shows the last page.
    assert item_ids(fake_slack.home[REPORTER], "home_mine_") == sorted(ids, reverse=True)[20:]


@pytest.mark.usefixtures("routed")
async def test_rendering_costs_the_same_queries_for_10_or_150_items(
    slack: SlackDriver, jerry: JerryApp
) -> None:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # Not the directory's own lookups of a person (it may still be caching one).
        if "slack_users.name" not in statement and not statement.startswith(("INSERT", "UPDATE")):
            statements.append(statement)

    async def queries(user: str) -> int:
        await jerry.directory.language(user, "en")  # Slack's answer cached, in the database
        await jerry.home.render(user)
        statements.clear()
        event.listen(jerry.engine.sync_engine, "before_cursor_execute", count)
        try:
            await jerry.home.render(user)
        finally:
            event.remove(jerry.engine.sync_engine, "before_cursor_execute", count)
        return len(statements)

    await jerry.worker.stop()  # its polling of the outbox would be counted too
    await add_items(jerry, 10)
    few = {user: await queries(user) for user in (LEAD, REPORTER, ADMIN)}
    await add_items(jerry, 140)
    many = {user: await queries(user) for user in (LEAD, REPORTER, ADMIN)}
    assert many == few, (few, many)
    # One of them reads the welcome's state, kept in the database for every replica; one
    # counts who else asked for the items shown (issue 12: demand, one query for all the
    # lists' pages), a lead's reads the order they chose for their queue, and each reads the
    # tab they chose (Items or Insights, issue 13).
    assert many[REPORTER] <= 7 and many[LEAD] <= 11 and many[ADMIN] <= 15, many


# --- Slack's side ---------------------------------------------------------------------------


@pytest.mark.usefixtures("routed")
async def test_a_slack_error_on_publish_is_logged_and_the_next_open_works(
    slack: SlackDriver, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    fake_slack.fail_next("views.publish", "invalid_arguments")
    with caplog.at_level(logging.WARNING, logger="jerry.home"):
        view = await open_home(slack, REPORTER)
    assert view is None
    assert any("invalid_arguments" in r.getMessage() for r in caplog.records)
    fake_slack.server_error_next("views.publish", times=5)
    assert await open_home(slack, REPORTER) is None  # retried, then given up: no crash
    view = await open_home(slack, REPORTER)
    assert view is not None and view["type"] == "home"


@pytest.mark.usefixtures("routed")
async def test_the_messages_tab_is_ignored(slack: SlackDriver, fake_slack: FakeSlack) -> None:
    assert await open_home(slack, REPORTER, tab="messages") is None
    assert fake_slack.calls_to("views.publish") == []


@pytest.mark.usefixtures("routed")
async def test_the_reporter_reopens_a_resolved_item_from_the_home(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    await backdate(
        jerry, item.id, status="resolved", resolved_at=utcnow() - timedelta(days=3), outcome="fixed"
    )
    view = await open_home(slack, REPORTER)
    assert view is not None and "Resolved" in block(view, f"home_mine_{item.id}")["text"]["text"]
    before = publishes(fake_slack, REPORTER)
    await click_home(slack, REPORTER, "item_reopen", str(item.id))
    # The reporter says what is still wrong; the Home is published again once it is sent.
    form = slack.last_view()
    assert form["callback_id"] == "jerry_reopen"
    values = {"what": {"value": payloads.input_value("the total is still wrong")}}
    assert (await slack.submit(form, values, user=REPORTER)).status_code == 200
    await slack.settle()
    assert (await load_item(jerry, item.id)).status != "resolved"
    assert publishes(fake_slack, REPORTER) == before + 2
    view = slack.fake.home[REPORTER]
    row = block(view, f"home_mine_{item.id}")
    assert "Resolved" not in row["text"]["text"] and "accessory" not in row
