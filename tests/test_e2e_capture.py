"""End to end (issue 15): a configured emoji on a message in a channel files it.

Slack's documented `reaction_added` / `reaction_removed` payloads, signed, to the ASGI app;
the message read from the fake Slack; SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import JerryApp
from bot.config import Settings
from bot.intake.routing_cli import import_file
from models.capture import ReactionFiling
from models.items import Item
from tests import payloads
from tests.fakeslack import FakeSlack
from tests.harness import ROUTING_YAML, SlackDriver
from tests.test_e2e_relay import LEAD, REPORTER, STRANGER, everything, load_item

pytestmark = pytest.mark.slow
FRENCH = "U0FRENCH"
CAPTURE = (
    "capture:\n  emoji:\n    - ticket\n    - {name: question, kind: question}\n"
    "    - {name: bug, area: iOS app}\n"
)


@pytest.fixture
async def captured(jerry: JerryApp, settings: Settings, tmp_path: Path) -> JerryApp:
    path = tmp_path / "routing.yml"
    path.write_text(ROUTING_YAML + CAPTURE, encoding="utf-8")
    assert await import_file(settings, path) == 0
    return jerry


pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("captured")]


async def react(
    slack: SlackDriver,
    message: dict[str, Any],
    *,
    user: str = REPORTER,
    emoji: str = "ticket",
    removed: bool = False,
    channel: str = "C0GENERAL",
) -> None:
    body = payloads.reaction(
        "reaction_removed" if removed else "reaction_added",
        user=user,
        reaction=emoji,
        channel=channel,
        ts=message["ts"],
        author=message.get("user"),
    )
    response = await slack.event(body)
    assert response.status_code == 200, response.text
    await slack.settle()


def ephemerals(fake: FakeSlack, user: str) -> list[dict[str, Any]]:
    return [c.args for c in fake.calls_to("chat.postEphemeral", ok=True) if c["user"] == user]


async def items(jerry: JerryApp) -> list[Item]:
    async with jerry.sessions() as session:
        return list((await session.execute(select(Item).order_by(Item.id))).scalars())


async def test_a_ticket_on_a_message_files_it_for_its_reactor(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    message = fake_slack.add_message(
        "C0GENERAL", STRANGER, "the refund button on invoices is broken"
    )
    await react(slack, message)
    item = await load_item(jerry)
    assert item.reporter_id == REPORTER and item.said_by == STRANGER
    assert item.source == "reaction" and item.kind == "painpoint"
    assert item.text == "the refund button on invoices is broken"
    assert item.permalink and item.reply_channel is None  # answers by DM
    # Read with the one call it needs, bounded to the message.
    reads = fake_slack.calls_to("conversations.history", ok=True)
    assert reads and str(reads[-1]["latest"]) == message["ts"] and str(reads[-1]["limit"]) == "1"
    # The reactor alone sees the receipt, with its three buttons.
    [receipt] = ephemerals(fake_slack, REPORTER)
    shown = everything(receipt)
    assert f"#{item.id}" in shown and "Payments" in shown and f"<@{STRANGER}>" in shown
    for action in ("capture_area", "capture_anonymous", "capture_undo"):
        assert action in shown
    # Its lead has it, saying who said it.
    lead_dms = fake_slack.dms_to(LEAD)
    assert lead_dms and "the refund button" in everything(lead_dms[-1].args)
    # Slack sending the event again files nothing more.
    await react(slack, message)
    assert len(await items(jerry)) == 1 and len(ephemerals(fake_slack, REPORTER)) == 1


async def test_emoji_kinds_and_areas_and_unconfigured_ones(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    question = fake_slack.add_message("C0GENERAL", STRANGER, "do we support SEPA refunds?")
    await react(slack, question, emoji="question")
    assert (await load_item(jerry)).kind == "question"
    crash = fake_slack.add_message("C0GENERAL", STRANGER, "the export hangs")
    await react(slack, crash, emoji="bug")
    filed = await load_item(jerry)
    assert filed.chosen_area_id is not None and filed.team_id is not None  # routed to iOS
    other = fake_slack.add_message("C0GENERAL", STRANGER, "lunch?")
    await react(slack, other, emoji="heart")
    await react(slack, other, emoji="ticket::skin-tone-2")  # a variant is the same emoji
    assert len(await items(jerry)) == 3


async def test_a_second_reactor_is_added_to_the_same_item(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    message = fake_slack.add_message("C0GENERAL", STRANGER, "the refund of invoices fails")
    await react(slack, message)
    await react(slack, message, user=FRENCH)
    rows = await items(jerry)
    first, mine = rows
    assert mine.reporter_id == FRENCH and mine.merged_into == first.id
    [receipt] = ephemerals(fake_slack, FRENCH)
    assert "2 personnes" in everything(receipt) and "capture_undo" in everything(receipt)
    assert "capture_anonymous" not in everything(receipt)
    # The lead's card counts both.
    assert "2" in everything(fake_slack.dms_to(LEAD)[-1].args) or fake_slack.calls_to("chat.update")


async def test_undo_by_button_and_by_removing_the_reaction(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    message = fake_slack.add_message("C0GENERAL", STRANGER, "invoices show the wrong VAT")
    await react(slack, message)
    item = await load_item(jerry)
    # Someone else cannot undo it.
    receipt = ephemerals(fake_slack, REPORTER)[-1]
    body = payloads.block_action(
        user=STRANGER,
        action_id="capture_undo",
        value=str(item.id),
        channel="C0GENERAL",
        message={"ts": message["ts"], "blocks": receipt["blocks"], "text": receipt["text"]},
        response_url=fake_slack.response_url(),
    )
    await slack.interactive(body)
    await slack.settle()
    assert (await load_item(jerry, item.id)).status == "open"
    # Its reactor removes the reaction within ten minutes: undone.
    await react(slack, message, removed=True)
    undone = await load_item(jerry, item.id)
    assert undone.status == "closed"
    assert f"#{item.id} is withdrawn" in everything(ephemerals(fake_slack, REPORTER)[-1])
    async with jerry.sessions() as session:
        filing = (await session.execute(select(ReactionFiling))).scalar_one()
        assert filing.status == "undone"
    # Reacting again files it again (the same item reopened is not needed: a new filing).
    other = fake_slack.add_message("C0GENERAL", STRANGER, "the invoice PDF is blank")
    await react(slack, other)
    second = await load_item(jerry)
    body = payloads.block_action(
        user=REPORTER,
        action_id="capture_undo",
        value=str(second.id),
        channel="C0GENERAL",
        message={"ts": other["ts"], "blocks": [], "text": ""},
        response_url=fake_slack.response_url(),
    )
    await slack.interactive(body)
    await slack.settle()
    assert (await load_item(jerry, second.id)).status == "closed"
    assert any("Undone" in str(r.get("text")) for r in fake_slack.responses)
    # After the window, removing the reaction changes nothing.
    third_message = fake_slack.add_message("C0GENERAL", STRANGER, "refunds take a week")
    await react(slack, third_message)
    third = await load_item(jerry)
    async with jerry.sessions() as session:
        filing = (
            await session.execute(select(ReactionFiling).where(ReactionFiling.item_id == third.id))
        ).scalar_one()
        filing.undo_until = datetime.now(UTC) - timedelta(minutes=1)
        await session.commit()
    await react(slack, third_message, removed=True)
    assert (await load_item(jerry, third.id)).status == "open"


async def test_make_anonymous_and_change_area(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    message = fake_slack.add_message("C0GENERAL", STRANGER, "the invoice totals are wrong")
    await react(slack, message)
    item = await load_item(jerry)
    body = payloads.block_action(
        user=REPORTER,
        action_id="capture_anonymous",
        value=str(item.id),
        channel="C0GENERAL",
        message={"ts": message["ts"], "blocks": [], "text": ""},
        response_url=fake_slack.response_url(),
    )
    await slack.interactive(body)
    await slack.settle()
    assert (await load_item(jerry, item.id)).anonymous
    body = payloads.block_action(
        user=REPORTER,
        action_id="capture_area",
        value=str(item.id),
        channel="C0GENERAL",
        message={"ts": message["ts"], "blocks": [], "text": ""},
        response_url=fake_slack.response_url(),
    )
    await slack.interactive(body)
    await slack.settle()
    view = slack.last_view()
    options = view["blocks"][0]["element"]["options"]
    ios = next(o["value"] for o in options if o["text"]["text"].startswith("iOS app"))
    response = await slack.submit(view, {"area": {"value": payloads.selected(ios)}}, user=REPORTER)
    assert response.status_code == 200 and not response.content, response.text
    await slack.settle()
    moved = await load_item(jerry, item.id)
    assert moved.area_id == int(ios) and moved.assignee_id == "U0MOBLEAD"
    assert fake_slack.dms_to("U0MOBLEAD")


async def test_unreadable_messages_bots_and_rate_limits(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    # A message deleted before Jerry reads it: nothing filed, the reactor told.
    await react(slack, {"ts": "1700000000.000100", "user": STRANGER})
    assert not await items(jerry)
    assert "could not read" in everything(ephemerals(fake_slack, REPORTER)[-1])
    # A bot's reaction files nothing.
    fake_slack.add_user("U0SOMEBOT", "somebot")
    fake_slack.users["U0SOMEBOT"].is_bot = True
    message = fake_slack.add_message("C0GENERAL", STRANGER, "the refund page is slow")
    await react(slack, message, user="U0SOMEBOT")
    assert not await items(jerry)
    # A rate limit on the read: retried after Slack's Retry-After, then filed.
    fake_slack.rate_limit_next("conversations.history", retry_after=1)
    await react(slack, message)
    assert not await items(jerry)
    async with jerry.sessions() as session:
        from models.deliveries import Delivery

        owed = (
            (await session.execute(select(Delivery).where(Delivery.purpose == "reaction_filing")))
            .scalars()
            .all()
        )
        pending = [d for d in owed if d.status == "pending"]
        assert pending and pending[0].last_error == "ratelimited"
        pending[0].next_attempt_at = datetime.now(UTC)
        await session.commit()
    jerry.worker.kick()
    await slack.settle()
    assert len(await items(jerry)) == 1


async def test_a_thread_reply_is_read_from_its_thread(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    parent = fake_slack.add_message("C0GENERAL", STRANGER, "customers write about invoices")
    reply = fake_slack.add_message(
        "C0GENERAL", STRANGER, "the invoice is in the wrong currency", thread_ts=parent["ts"]
    )
    await react(slack, reply)
    item = await load_item(jerry)
    assert item.text == "the invoice is in the wrong currency" and item.message_ts == reply["ts"]
    assert fake_slack.calls_to("conversations.replies", ok=True)
    [receipt] = ephemerals(fake_slack, REPORTER)
    assert receipt.get("thread_ts") == parent["ts"]


# --- Slack Connect ------------------------------------------------------------------------

ACME_TEAM, ACME_PERSON = "T0ACME", "U0ACMEJOE"


async def test_someone_of_another_organisation_is_heard_and_never_answered_by_accident(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    fake_slack.external_teams[ACME_TEAM] = "Acme Corp"
    fake_slack.add_channel("C0SHARED", "shared-acme")
    fake_slack.add_user(ACME_PERSON, "joe")
    message = fake_slack.add_message("C0SHARED", ACME_PERSON, "<@U0JERRYBOT> invoices fail")
    body = payloads.app_mention(
        "<@U0JERRYBOT> the invoice fails to download",
        user=ACME_PERSON,
        channel="C0SHARED",
        ts=message["ts"],
        user_team=ACME_TEAM,
    )
    assert (await slack.event(body)).status_code == 200
    await slack.settle()
    item = await load_item(jerry)
    assert item.external_org == "Acme Corp" and item.reply_channel is None
    # Nothing of Jerry's in the shared channel, not even a receipt.
    assert not fake_slack.posts("C0SHARED")
    # The lead sees where it comes from, and the one way to answer the customer.
    card = fake_slack.dms_to(LEAD)[-1]
    shown = everything(card.args)
    assert "Acme Corp" in shown and "item_customer_reply" in shown
    assert "stay with the team" in shown
    # An answer through the card stays with the team.
    channel, ts = card.response["channel"], card.response["ts"]
    stored = fake_slack.message(channel, ts)
    assert stored is not None
    await slack.click(stored, channel, "item_answer", user=LEAD)
    await slack.settle()
    answer_form = slack.last_view()
    await slack.submit(
        answer_form, {"answer": {"value": payloads.input_value("We are on it")}}, user=LEAD
    )
    await slack.settle()
    assert not fake_slack.posts("C0SHARED")
    assert not fake_slack.dms_to(ACME_PERSON)
    # "Reply to the customer": the form names the channel and the organisation.
    await slack.click(stored, channel, "item_customer_reply", user=LEAD)
    await slack.settle()
    form = slack.last_view()
    assert "<#C0SHARED>" in everything(form) and "Acme Corp" in everything(form)
    response = await slack.submit(
        form, {"reply": {"value": payloads.input_value("Fixed in today's release")}}, user=LEAD
    )
    assert response.status_code == 200 and not response.content, response.text
    await slack.settle()
    [posted] = fake_slack.posts("C0SHARED")
    assert posted.get("thread_ts") == message["ts"]
    assert "Fixed in today's release" in everything(posted.args)
    # Someone who may not act on the item cannot reply for the team.
    await slack.click(stored, channel, "item_customer_reply", user=STRANGER)
    await slack.settle()
    assert len(fake_slack.posts("C0SHARED")) == 1


async def test_a_reaction_on_another_organisations_message_files_it_as_external(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    fake_slack.external_teams[ACME_TEAM] = "Acme Corp"
    fake_slack.add_channel("C0SHARED", "shared-acme")
    message = fake_slack.add_message("C0SHARED", ACME_PERSON, "the refund never arrived")
    message["user_team"] = ACME_TEAM
    body = payloads.reaction(
        "reaction_added",
        user=REPORTER,
        reaction="ticket",
        channel="C0SHARED",
        ts=message["ts"],
        author=ACME_PERSON,
    )
    await slack.event(body)
    await slack.settle()
    item = await load_item(jerry)
    assert item.external_org == "Acme Corp" and item.reporter_id == REPORTER
    assert item.said_by == ACME_PERSON
    # The reactor's receipt is theirs alone; nothing is posted for the customer to read.
    assert ephemerals(fake_slack, REPORTER)
    assert not fake_slack.posts("C0SHARED")


async def test_a_reaction_by_someone_of_another_organisation_files_without_a_word_to_them(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    fake_slack.external_teams[ACME_TEAM] = "Acme Corp"
    fake_slack.add_channel("C0SHARED", "shared-acme")
    fake_slack.add_user(ACME_PERSON, "joe")
    fake_slack.users[ACME_PERSON].team = ACME_TEAM
    message = fake_slack.add_message("C0SHARED", STRANGER, "the refund of invoices is slow")
    body = payloads.reaction(
        "reaction_added",
        user=ACME_PERSON,
        reaction="ticket",
        channel="C0SHARED",
        ts=message["ts"],
        author=STRANGER,
    )
    await slack.event(body)
    await slack.settle()
    item = await load_item(jerry)
    assert item.reporter_id == ACME_PERSON and item.reporter_external
    assert item.external_org == "Acme Corp"
    # Nothing of Jerry's where they can read it: no receipt, no post, no DM.
    assert not ephemerals(fake_slack, ACME_PERSON)
    assert not fake_slack.posts("C0SHARED") and not fake_slack.dms_to(ACME_PERSON)
    card = everything(fake_slack.dms_to(item.assignee_id or LEAD)[-1].args)
    assert "item_customer_reply" in card and "item_ask_details" not in card
