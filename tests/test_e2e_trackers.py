"""End to end (issue 14): Jira and Linear from the lead's card, and "You asked, it shipped".

Driven through the ASGI app with signed Slack payloads and signed tracker webhooks; Jerry's
real clients talk over HTTP to the fake Jira Cloud and Linear (tests/faketrackers.py) and
the fake Slack; every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bot.app import JerryApp, create_app
from bot.config import Settings
from bot.intake.routing_cli import import_file
from bot.summaries.content import build_summary
from bot.summaries.domain import Period, SummaryScope
from bot.views.summary import summary_messages
from models.deliveries import Delivery
from models.items import Item, ItemEvent
from models.trackers import ItemIssueLink, ShippedNotice, TrackerWebhook
from tests import payloads
from tests.fakeslack import FakeSlack
from tests.faketrackers import FakeJira, FakeLinear
from tests.harness import ROUTING_YAML, SlackDriver
from tests.test_e2e_home import open_home
from tests.test_e2e_relay import (
    LEAD,
    MOBILE_LEAD,
    REPORTER,
    STRANGER,
    event_kinds,
    everything,
    from_modal,
    load_item,
)

pytestmark = pytest.mark.slow
FRENCH = "U0FRENCH"
TRACKED_ROUTING = ROUTING_YAML.replace(
    "    channel: C0PAYTEAM\n", "    channel: C0PAYTEAM\n    jira: PAY\n    issue_type: Bug\n"
).replace(
    "  - name: Mobile\n    lead: U0MOBLEAD\n",
    "  - name: Mobile\n    lead: U0MOBLEAD\n    linear: MOB\n",
)
REFUND = "Refunds fail on the invoice page for <Globex> & Initech"
CRASH = "The iOS app crash on launch since 4.2"


@pytest.fixture
async def jira() -> AsyncIterator[FakeJira]:
    fake = FakeJira(now=datetime.now(UTC))
    fake.add_project("PAY", issue_types=("Bug", "Story", "Task"))
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def linear() -> AsyncIterator[FakeLinear]:
    fake = FakeLinear(now=datetime.now(UTC))
    fake.add_team("MOB", "Mobile")
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def settings(settings: Settings, jira: FakeJira, linear: FakeLinear) -> Settings:
    return settings.model_copy(
        update={
            "jerry_jira_url": jira.base,
            "jerry_jira_email": jira.email,
            "jerry_jira_token": jira.token,
            "jerry_jira_webhook_secret": jira.webhook_secret,
            "jerry_linear_api_key": linear.api_key,
            "jerry_linear_webhook_secret": linear.webhook_secret,
            "jerry_linear_api_url": linear.url,
            "jerry_tracker_poll_minutes": 0,  # the tests poll with run_tracker_poll
            "jerry_tracker_timeout_seconds": 2.0,
        }
    )


@pytest.fixture
async def tracked(jerry: JerryApp, settings: Settings, tmp_path: Path) -> JerryApp:
    path = tmp_path / "routing.yml"
    path.write_text(TRACKED_ROUTING, encoding="utf-8")
    assert await import_file(settings, path) == 0
    return jerry


pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("tracked")]


# --- helpers ------------------------------------------------------------------------------


def card(fake: FakeSlack, item_id: int, lead: str = LEAD) -> tuple[str, dict[str, Any]]:
    """The lead's card for the item, as it is now."""
    for call in fake.dms_to(lead):
        if call.get("thread_ts"):
            continue
        message = fake.message(call.response["channel"], call.response["ts"])
        if message and f"item_actions_{item_id}" in everything(message):
            return call.response["channel"], message
    raise AssertionError(f"no card for #{item_id} in {lead}'s DMs")


def thread_under_card(fake: FakeSlack, item_id: int, lead: str = LEAD) -> list[str]:
    channel, message = card(fake, item_id, lead)
    return [m.get("text", "") for m in fake.thread(channel, message["ts"])]


async def open_form(
    slack: SlackDriver, item_id: int, action: str, user: str = LEAD
) -> dict[str, Any]:
    channel, message = card(slack.fake, item_id, user if user != "U0ADMIN" else LEAD)
    response = await slack.click(message, channel, action, user=user)
    assert response.status_code == 200
    await slack.settle()
    return slack.last_view()


async def create_issue(
    slack: SlackDriver, item_id: int, *, title: str | None = None, project: str | None = None
) -> httpx.Response:
    view = await open_form(slack, item_id, "issue_create")
    assert view["callback_id"] == "issue_create_submit"
    blocks = {b["block_id"]: b for b in view["blocks"] if b.get("block_id")}
    values: dict[str, dict[str, Any]] = {
        "project": {
            "value": payloads.input_value(project or blocks["project"]["element"]["initial_value"])
        },
        "title": {
            "value": payloads.input_value(title or blocks["title"]["element"]["initial_value"])
        },
        "description": {
            "value": payloads.input_value(blocks["description"]["element"].get("initial_value", ""))
        },
    }
    if "issue_type" in blocks:
        values["issue_type"] = {
            "value": payloads.selected(blocks["issue_type"]["element"]["initial_option"]["value"])
        }
    response = await slack.submit(view, values, user=LEAD)
    await slack.settle()
    return response


async def link_issue(
    slack: SlackDriver, item_id: int, reference: str, user: str = LEAD
) -> httpx.Response:
    view = await open_form(slack, item_id, "issue_link", user)
    assert view["callback_id"] == "issue_link_submit"
    response = await slack.submit(
        view, {"reference": {"value": payloads.input_value(reference)}}, user=user
    )
    await slack.settle()
    return response


async def webhook(
    slack: SlackDriver, path: str, body: bytes, headers: dict[str, str]
) -> httpx.Response:
    response = await slack.http.post(path, content=body, headers=headers)
    await slack.settle()
    return response


def reporter_messages(fake: FakeSlack, user: str, words: str) -> list[str]:
    """What Jerry posted that `user` reads (their DM and their items' threads) saying `words`."""
    return [
        everything(call.args)
        for call in fake.calls_to("chat.postMessage", ok=True)
        if words in everything(call.args)
        and (call["channel"] in (user, fake.dm_channel(user)) or call.get("thread_ts"))
    ]


async def count(jerry: JerryApp, model: Any) -> int:
    async with jerry.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


# --- creating and linking -------------------------------------------------------------------


async def test_create_jira_issue_from_the_lead_card(
    slack: SlackDriver, fake_slack: FakeSlack, jira: FakeJira, jerry: JerryApp
) -> None:
    item = await from_modal(slack, REFUND, area="Billing", customer="Globex")
    _, message = card(fake_slack, item.id)
    assert "issue_create" in everything(message) and "Create Jira issue" in everything(message)
    assert "issue_link" in everything(message)
    view = await open_form(slack, item.id, "issue_create")
    shown = everything(view)
    assert '"initial_value": "PAY"' in shown and "Bug" in shown and "Story" in shown
    # The title reads as typed (Slack's escaping undone).
    title = next(b for b in view["blocks"] if b["block_id"] == "title")["element"]["initial_value"]
    assert title == REFUND
    response = await create_issue(slack, item.id)
    assert response.status_code == 200 and not response.content, response.text
    created = [r for r in jira.requests if r.method == "POST" and r.path == "/rest/api/3/issue"]
    assert len(created) == 1
    fields = created[0].json["fields"]
    assert fields["project"] == {"key": "PAY"} and fields["issuetype"] == {"name": "Bug"}
    description = json.dumps(fields["description"])
    assert fields["description"]["type"] == "doc" and "Asked by Rita" in description
    assert f"#{item.id}" in description and "Globex" in description
    assert fields["summary"] == REFUND
    issue = next(iter(jira.issues.values()))
    # The card shows the work, the lead hears it was created, under the card.
    _, message = card(fake_slack, item.id)
    assert f"{issue.key}" in everything(message) and "to do" in everything(message)
    assert any(
        f"{issue.key}" in text and "created" in text
        for text in thread_under_card(fake_slack, item.id)
    )
    assert "issue_created" in await event_kinds(jerry, item.id)


async def test_anonymous_item_names_nobody_in_the_tracker(
    slack: SlackDriver, fake_slack: FakeSlack, jira: FakeJira
) -> None:
    item = await from_modal(
        slack, "Refund button on the invoice does nothing", area="Billing", flags=("anonymous",)
    )
    view = await open_form(slack, item.id, "issue_create")
    assert "names nobody" in everything(view)
    await create_issue(slack, item.id)
    sent = json.dumps([r.json for r in jira.requests if r.json], ensure_ascii=False)
    assert "rita" not in sent and REPORTER not in sent
    # No link back to where it came from: the origin would point at the reporter.
    assert not [r for r in jira.requests if r.path.endswith("/remotelink")]


async def test_link_by_key_and_by_url_then_unlink(
    slack: SlackDriver, fake_slack: FakeSlack, jira: FakeJira, linear: FakeLinear, jerry: JerryApp
) -> None:
    existing = jira.add_issue(
        "PAY", "Refund rounding", status="In Progress", category="indeterminate"
    )
    item = await from_modal(slack, REFUND, area="Billing")
    assert (await link_issue(slack, item.id, existing.key.lower())).status_code == 200
    _, message = card(fake_slack, item.id)
    assert existing.key in everything(message) and "in progress" in everything(message)
    mobile_issue = linear.add_issue("MOB", "Crash on launch")
    assert (await link_issue(slack, item.id, mobile_issue.url)).status_code == 200
    _, message = card(fake_slack, item.id)
    assert mobile_issue.identifier in everything(message)
    # Nonsense is refused in the form, and changes nothing.
    response = await link_issue(slack, item.id, "not an issue")
    assert response.status_code == 200
    assert response.json()["response_action"] == "errors"
    assert "neither an issue key" in response.json()["errors"]["reference"]
    # A key the tracker does not know is unlinked again, and the lead told why.
    await link_issue(slack, item.id, "PAY-999")
    assert any(
        "PAY-999" in text and "not found" in text for text in thread_under_card(fake_slack, item.id)
    )
    async with jerry.sessions() as session:
        links = (
            await session.execute(select(func.count()).select_from(ItemIssueLink))
        ).scalar_one()
    assert links == 2
    # Unlink from the Work menu.
    channel, message = card(fake_slack, item.id)
    body = payloads.block_action(
        user=LEAD,
        action_id="issue_unlink",
        value="",
        channel=channel,
        message=message,
        response_url=fake_slack.response_url(),
    )
    body["actions"][0] = {
        "type": "overflow",
        "action_id": "issue_unlink",
        "block_id": f"item_work_{item.id}",
        "selected_option": {
            "text": {"type": "plain_text", "text": f"Unlink {existing.key}"},
            "value": f"{item.id}:jira:{existing.key}",
        },
        "action_ts": "1700000000.000100",
    }
    assert (await slack.interactive(body)).status_code == 200
    await slack.settle()
    _, message = card(fake_slack, item.id)
    assert existing.key not in everything(message)
    assert (await load_item(jerry, item.id)).issue_link_count == 1
    assert "issue_unlinked" in await event_kinds(jerry, item.id)
    # The lead's App Home queue shows the work and offers the same buttons.
    home = await open_home(slack, LEAD)
    assert home is not None
    row = everything(home)
    assert mobile_issue.identifier in row and existing.key not in row
    assert "issue_create" in row and "issue_link" in row


async def test_a_stranger_cannot_link(
    slack: SlackDriver, fake_slack: FakeSlack, jira: FakeJira, jerry: JerryApp
) -> None:
    item = await from_modal(slack, REFUND, area="Billing")
    channel, message = card(fake_slack, item.id)
    opened = len(fake_slack.calls_to("views.open", ok=True))
    await slack.click(message, channel, "issue_link", user=STRANGER)
    await slack.settle()
    assert len(fake_slack.calls_to("views.open", ok=True)) == opened
    assert any(f"#{item.id}" in str(r.get("text")) for r in fake_slack.responses[-1:])
    assert (await load_item(jerry, item.id)).issue_link_count == 0


# --- the tracker down, or refusing ------------------------------------------------------------


async def test_jira_down_the_lead_is_told_once_and_the_issue_created_when_it_is_back(
    slack: SlackDriver, fake_slack: FakeSlack, jira: FakeJira, jerry: JerryApp
) -> None:
    item = await from_modal(slack, REFUND, area="Billing")
    jira.fail("500", times=4)
    await create_issue(slack, item.id)
    told = thread_under_card(fake_slack, item.id)
    assert sum("not answering" in text for text in told) == 1, told
    assert not jira.issues
    async with jerry.sessions() as session:
        owed = (
            await session.execute(select(Delivery).where(Delivery.purpose == "tracker_create"))
        ).scalar_one()
        assert owed.status == "pending" and "jira" in (owed.last_error or "")
        owed.next_attempt_at = datetime.now(UTC)
        await session.commit()
    for _ in range(10):  # the outbox retries on its backoff; each pass is quick here
        jerry.worker.kick()
        await slack.settle()
        if jira.issues:
            break
        async with jerry.sessions() as session:
            await session.execute(
                Delivery.__table__.update()
                .where(Delivery.purpose == "tracker_create")
                .values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
            )
            await session.commit()
    assert len(jira.issues) == 1
    told = thread_under_card(fake_slack, item.id)
    assert sum("not answering" in text for text in told) == 1
    assert any("created" in text for text in told)


async def test_jira_refusing_says_its_words(
    slack: SlackDriver, fake_slack: FakeSlack, jira: FakeJira
) -> None:
    item = await from_modal(slack, REFUND, area="Billing")
    await create_issue(slack, item.id, project="NOPE")
    told = thread_under_card(fake_slack, item.id)
    assert any("refused" in text for text in told), told
    assert not jira.issues


# --- hearing when it moves, and "it shipped" -------------------------------------------------


async def test_webhooks_move_the_item_and_ship_it_once_to_every_reporter(
    slack: SlackDriver, fake_slack: FakeSlack, jira: FakeJira, jerry: JerryApp
) -> None:
    issue = jira.add_issue("PAY", "Refunds for every invoice")
    first = await from_modal(slack, REFUND, area="Billing", customer="Globex")
    second = await from_modal(
        slack, "Refunds broken on invoices again", user=FRENCH, area="Billing"
    )
    # The second is merged into the first: its reporter follows it.
    async with jerry.sessions() as session:
        from bot.similar.merge import merge_item

        kept = await session.get(Item, first.id)
        follower = await session.get(Item, second.id)
        assert kept is not None and follower is not None
        await merge_item(session, follower, kept, LEAD, by="lead")
        await session.commit()
    await link_issue(slack, first.id, issue.key)
    # In progress: the card says so, its reporter hears work started.
    jira.move(issue.key, "In Progress", "indeterminate")
    jira.now = datetime.now(UTC)
    response = await webhook(slack, "/integrations/jira", *jira.webhook(issue.key))
    assert response.status_code == 200, response.text
    _, message = card(fake_slack, first.id)
    assert "in progress" in everything(message)
    assert len(reporter_messages(fake_slack, REPORTER, "has started")) == 1
    # Done: everyone who asked hears it shipped, once; the item is resolved.
    jira.move(issue.key, "Done", "done")
    jira.release(issue.key, "2026.12", "Refunds work for every invoice")
    jira.now = datetime.now(UTC)
    body, headers = jira.webhook(issue.key)
    assert (await webhook(slack, "/integrations/jira", body, headers)).status_code == 200
    shipped_en = reporter_messages(fake_slack, REPORTER, "You asked, it shipped")
    shipped_fr = reporter_messages(fake_slack, FRENCH, "Vous l’avez demandé, c’est livré")
    assert len(shipped_en) == 1 and len(shipped_fr) == 1
    assert "2026.12" in shipped_en[0] and "Globex" in shipped_en[0]
    assert "shipped_customer_kept" in shipped_en[0] and "shipped_customer" not in shipped_fr[0]
    resolved = await load_item(jerry, first.id)
    assert resolved.status == "resolved" and resolved.outcome == "fixed"
    # The same delivery again, a new delivery saying the same, the poller: nothing more.
    again = await webhook(slack, "/integrations/jira", body, headers)
    assert again.status_code == 200 and again.json()["delivery"] == "duplicate"
    jira.now = datetime.now(UTC)
    await webhook(slack, "/integrations/jira", *jira.webhook(issue.key))
    await jerry.run_tracker_poll(datetime.now(UTC))
    await slack.settle()
    assert len(reporter_messages(fake_slack, REPORTER, "You asked, it shipped")) == 1
    assert len(reporter_messages(fake_slack, FRENCH, "c’est livré")) == 1
    assert await count(jerry, ShippedNotice) == 2
    # The reporter answers for their customer in one click.
    call = next(
        c
        for c in fake_slack.calls_to("chat.postMessage", ok=True)
        if "shipped_customer_kept" in everything(c.args)
    )
    message = fake_slack.message(call.response["channel"], call.response["ts"])
    assert message is not None
    response = await slack.click(
        message, call.response["channel"], "shipped_customer_kept", user=REPORTER
    )
    assert response.status_code == 200
    await slack.settle()
    assert (await load_item(jerry, first.id)).customer_outcome == "kept"
    # Someone else's click changes nothing.
    await slack.click(message, call.response["channel"], "shipped_customer_lost", user=STRANGER)
    await slack.settle()
    assert (await load_item(jerry, first.id)).customer_outcome == "kept"


async def test_forged_and_stale_webhooks_are_refused(
    slack: SlackDriver, jira: FakeJira, linear: FakeLinear, jerry: JerryApp
) -> None:
    issue = jira.add_issue("PAY", "Refunds")
    body, headers = jira.webhook(issue.key, secret="not-the-secret")
    assert (await webhook(slack, "/integrations/jira", body, headers)).status_code == 401
    old = int((datetime.now(UTC) - timedelta(hours=1)).timestamp() * 1000)
    body, headers = jira.webhook(issue.key, timestamp=old)
    assert (await webhook(slack, "/integrations/jira", body, headers)).status_code == 401
    mobile = linear.add_issue("MOB", "Crash")
    body, headers = linear.webhook(mobile.identifier)
    headers["Linear-Signature"] = "0" * 64
    assert (await webhook(slack, "/integrations/linear", body, headers)).status_code == 401
    body, headers = linear.webhook(mobile.identifier)
    response = await slack.http.post("/integrations/linear", content=b"not json", headers=headers)
    assert response.status_code in (400, 401)
    assert await count(jerry, TrackerWebhook) == 0


async def test_linear_poller_ships_and_a_stored_delivery_survives_a_stop(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    linear: FakeLinear,
    jerry: JerryApp,
    settings: Settings,
) -> None:
    mobile = linear.add_issue("MOB", "Crash on launch")
    item = await from_modal(slack, CRASH, area="iOS app")
    await link_issue(slack, item.id, mobile.identifier, user=MOBILE_LEAD)
    _, message = card(fake_slack, item.id, MOBILE_LEAD)
    assert mobile.identifier in everything(message)
    # A webhook stored, the process gone before processing it: a later pass does it.
    linear.set_state(mobile.identifier, "In Progress", "started")
    linear.now = datetime.now(UTC)
    body, headers = linear.webhook(mobile.identifier)
    async with jerry.sessions() as session:
        session.add(
            TrackerWebhook(
                tracker="linear",
                delivery_id=headers["Linear-Delivery"],
                body=body.decode(),
                received_at=datetime.now(UTC),
                attempts=0,
            )
        )
        await session.commit()
    second = create_app(settings)
    await second.start()
    try:
        # This process's pass, or the first one's scheduled pass, processes it: once.
        await second.run_tracker_webhooks(datetime.now(UTC))
        await second.drain()
    finally:
        await second.stop()
    await slack.settle()
    async with jerry.sessions() as session:
        stored = (await session.execute(select(TrackerWebhook))).scalar_one()
        assert stored.processed_at is not None and stored.attempts == 1
    async with jerry.sessions() as session:
        statuses = (
            await session.execute(
                select(ItemEvent.detail)
                .where(ItemEvent.item_id == item.id, ItemEvent.kind == "issue_status")
                .order_by(ItemEvent.id)
            )
        ).scalars()
        seen = [(detail["source"], detail["stage"]) for detail in statuses]
    assert seen == [("link", "todo"), ("webhook", "in_progress")]
    # Completed, seen by the poller alone.
    linear.set_state(mobile.identifier, "Done", "completed")
    results = await jerry.run_tracker_poll(datetime.now(UTC))
    await slack.settle()
    assert any(r.tracker == "linear" and r.outcome == "polled" for r in results)
    assert len(reporter_messages(fake_slack, REPORTER, "You asked, it shipped")) == 1
    # A Linear outage: the poller backs off, and tells nobody anything wrong.
    other = linear.add_issue("MOB", "Slow sync")
    second_item = await from_modal(slack, "The iOS app crash when syncing", area="iOS app")
    await link_issue(slack, second_item.id, other.identifier, user=MOBILE_LEAD)
    linear.fail("500", times=3)
    now = datetime.now(UTC)
    results = {r.tracker: r for r in await jerry.run_tracker_poll(now)}
    assert results["linear"].outcome == "failed"
    # It waits before asking again, every process alike (the wait is in the database).
    results = {r.tracker: r for r in await jerry.run_tracker_poll(now + timedelta(seconds=1))}
    assert results["linear"].outcome == "waiting"
    linear.heal()
    results = {r.tracker: r for r in await jerry.run_tracker_poll(now + timedelta(hours=7))}
    assert results["linear"].outcome == "polled"


async def test_shipped_command_names_items(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await from_modal(slack, REFUND, area="Billing", customer="Initech")
    await slack.command("/shipped", "", user=LEAD)
    view = slack.last_view()
    assert any(b.get("block_id") == "items" for b in view["blocks"])
    values = {
        "title": {"value": payloads.input_value("Refunds in any currency")},
        "impact": {"value": payloads.input_value("Refunds now work for every invoice.")},
        "link": {"value": {"type": "url_text_input", "value": None}},
        "items": {"value": payloads.input_value(f"#{item.id} #99999")},
        "date": {"value": {"type": "datepicker", "selected_date": None}},
        "audience": {"value": {"type": "radio_buttons", "selected_option": {"value": "internal"}}},
    }
    response = await slack.submit(view, values, user=LEAD)
    assert response.json()["response_action"] == "errors"
    assert "#99999" in response.json()["errors"]["items"]
    values["items"] = {"value": payloads.input_value(f"#{item.id}")}
    response = await slack.submit(view, values, user=LEAD)
    assert response.status_code == 200 and not response.content, response.text
    await slack.settle()
    shipped = reporter_messages(fake_slack, REPORTER, "You asked, it shipped")
    assert len(shipped) == 1 and "Refunds in any currency" in shipped[0]
    assert any("was told it shipped" in json.dumps(r) for r in fake_slack.responses)
    # The weekly summary says it shipped because people asked.
    now = datetime.now(UTC)
    summary = await build_summary(
        jerry.sessions,
        SummaryScope(name="sales", areas=(), language="en", timezone="UTC"),
        Period(week="now", start=now - timedelta(days=7), end=now + timedelta(minutes=1)),
    )
    assert [(u.title, u.asked_people, u.asked_customers) for u in summary.because_asked] == [
        ("Refunds in any currency", 1, 1)
    ]
    post = summary_messages(summary, "en", download_value=None)[0]
    assert "Shipped because you asked" in everything(post)
    assert "asked by 1 person, 1 customer" in everything(post)


async def test_without_trackers_no_buttons_and_404(
    fake_slack: FakeSlack, settings: Settings, jerry: JerryApp
) -> None:
    # Only the app without trackers runs: the fixture's app would otherwise claim the card's
    # delivery from the shared outbox, and this app's settle() does not wait for it.
    await jerry.stop()
    bare = settings.model_copy(
        update={
            "jerry_jira_url": None,
            "jerry_jira_token": None,
            "jerry_linear_api_key": None,
        }
    )
    app = create_app(bare)
    await app.start()
    driver = SlackDriver(app, fake_slack)
    try:
        for path in ("/integrations/jira", "/integrations/linear"):
            response = await driver.http.post(path, content=b"{}")
            assert response.status_code == 404
        item = await from_modal(driver, REFUND, area="Billing")
        _, message = card(fake_slack, item.id)
        assert "issue_create" not in everything(message) and "issue_link" not in everything(message)
    finally:
        await driver.close()
        await app.stop()


async def test_an_issue_links_back_to_the_message_the_item_came_from(
    slack: SlackDriver, fake_slack: FakeSlack, jira: FakeJira, jerry: JerryApp
) -> None:
    await slack.mention("the refund of this invoice fails for Globex")
    await slack.settle()
    item = await load_item(jerry)
    assert item.permalink and item.team_id is not None
    view = await open_form(slack, item.id, "issue_create")
    assert "links back to the Slack message" in everything(view)
    await create_issue(slack, item.id)
    links = [r for r in jira.requests if r.path.endswith("/remotelink")]
    assert len(links) == 1 and links[0].json["object"]["url"] == item.permalink
