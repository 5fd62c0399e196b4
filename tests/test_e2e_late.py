"""End to end: a late item's one message in product ops' triage channel, updated in place as
the item moves (acknowledged, answered, resolved, taken), its Take it and Nudge buttons, and
the escalation DMs updated once the item moved on. The clock is controlled as in
tests/test_e2e_reminders.py (Payments' lead in New York, its backup and product ops in Paris).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import JerryApp
from bot.i18n import t
from bot.relay import lead_actions, resolution
from bot.relay.resolution import Resolution
from bot.sla import late_actions
from models.deliveries import Delivery
from models.items import Item
from tests.fakeslack import FakeSlack
from tests.harness import SlackDriver
from tests.test_e2e_reminders import (
    BACKUP,
    LEAD,
    REPORTER,
    TRIAGE_CHANNEL,
    load,
    mentions,
    new_item,
    ny,
    text_of,
    tick,
)

pytestmark = pytest.mark.usefixtures("routed")
PRODUCT_OPS = "U0FRENCH"  # in product ops' channel, reads French; not the lead, backup nor admin


def buttons(message: dict[str, Any]) -> list[str]:
    return [
        element["action_id"]
        for block in message.get("blocks") or []
        if block.get("type") == "actions"
        for element in block["elements"]
    ]


async def late_item(slack: SlackDriver, jerry: JerryApp, command: str = "/painpoint") -> int:
    """An item escalated: created Tuesday 10:00 in New York, escalated Thursday 10:00."""
    item_id = await new_item(slack, jerry, "refund never arrived", ny(2025, 3, 4, 10, 0), command)
    await tick(slack, jerry, ny(2025, 3, 5, 10, 0))  # the lead's reminder
    assert (await tick(slack, jerry, ny(2025, 3, 6, 10, 0))).escalations == 1
    return item_id


def the_late_message(fake: FakeSlack, item_id: int) -> dict[str, Any]:
    [message] = [m for m in mentions(fake, TRIAGE_CHANNEL, f"#{item_id}")]
    return message


def updates_of(fake: FakeSlack, message: dict[str, Any]) -> list[str]:
    """The texts chat.update gave this message, in order."""
    return [
        call.args.get("text", "")
        for call in fake.calls_to("chat.update", ok=True)
        if call.args.get("ts") == message["ts"]
    ]


def escalation_copy(fake: FakeSlack) -> dict[str, Any]:
    [call] = [c for c in fake.dms_to(BACKUP) if "As the team's backup" in text_of(c.args)]
    message = fake.message(call.response["channel"], call.response["ts"])
    assert message is not None
    return message


async def test_one_late_message_updated_in_place_as_the_item_moves(
    slack: SlackDriver, jerry: JerryApp, fake_slack: FakeSlack
) -> None:
    item_id = await late_item(slack, jerry)
    message = the_late_message(fake_slack, item_id)
    assert message["text"] == f"Late: #{item_id} (Payments) needs an owner"
    assert buttons(message) == ["late_take", "late_nudge"]
    assert LEAD in text_of(message) and BACKUP in text_of(message)  # who, and whom Jerry asked
    item = await load(jerry, item_id)
    assert item.late_message_channel and item.late_message_ts == message["ts"]
    copy = escalation_copy(fake_slack)
    assert "item_acknowledge" in buttons(copy)

    # Later ticks post nothing more about it.
    await tick(slack, jerry, ny(2025, 3, 7, 10, 0))
    assert len(mentions(fake_slack, TRIAGE_CHANNEL, f"#{item_id}")) == 1

    # The lead acknowledges from their DM: the same message says so, without buttons.
    dm = fake_slack.message(item.lead_dm_channel or "", item.lead_dm_ts or "")
    assert dm is not None
    await slack.click(dm, item.lead_dm_channel or "", "item_acknowledge", user=LEAD)
    await slack.settle()
    message = the_late_message(fake_slack, item_id)
    assert updates_of(fake_slack, message)[-1] == (
        f"Late: #{item_id} (Payments) ✓ acknowledged by <@{LEAD}>"
    )
    assert buttons(message) == []
    # The backup's copy no longer asks them anything.
    copy = escalation_copy(fake_slack)
    assert buttons(copy) == []
    assert f"acknowledged by <@{LEAD}>" in text_of(copy)
    assert "Nothing more is needed from you here" in text_of(copy)

    await resolution.resolve(jerry.sessions, item_id, LEAD, Resolution("fixed"), jerry.admins)
    await slack.settle()
    message = the_late_message(fake_slack, item_id)
    assert updates_of(fake_slack, message)[-1] == (
        f"Late: #{item_id} (Payments) ✓ resolved by <@{LEAD}> (Fixed)"
    )
    assert f"resolved by <@{LEAD}>" in text_of(escalation_copy(fake_slack))
    # Still one message in the channel about it.
    assert len(mentions(fake_slack, TRIAGE_CHANNEL, f"#{item_id}")) == 1


async def test_an_answered_question_updates_its_late_message(
    slack: SlackDriver, jerry: JerryApp, fake_slack: FakeSlack
) -> None:
    item_id = await late_item(slack, jerry, "/ask")
    await lead_actions.answer(jerry.sessions, item_id, LEAD, "It ships Friday.", jerry.admins)
    await slack.settle()
    message = the_late_message(fake_slack, item_id)
    assert updates_of(fake_slack, message)[-1] == (
        f"Late: #{item_id} (Payments) ✓ answered by <@{LEAD}>"
    )
    assert buttons(message) == []
    assert buttons(escalation_copy(fake_slack)) == []


async def test_nudge_twice_quickly_sends_one_reminder(
    slack: SlackDriver, jerry: JerryApp, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    item_id = await late_item(slack, jerry)
    # Thursday 11:00 in New York: the lead is at work.
    clicked_at: datetime = ny(2025, 3, 6, 11, 0)
    monkeypatch.setattr(late_actions, "utcnow", lambda: clicked_at)
    item = await load(jerry, item_id)
    before = len(fake_slack.thread(item.lead_dm_channel or "", item.lead_dm_ts or ""))

    message = the_late_message(fake_slack, item_id)
    await slack.click(message, TRIAGE_CHANNEL, "late_nudge", user=PRODUCT_OPS)
    await slack.settle()
    message = the_late_message(fake_slack, item_id)
    await slack.click(message, TRIAGE_CHANNEL, "late_nudge", user=PRODUCT_OPS)
    await slack.settle()

    thread = fake_slack.thread(item.lead_dm_channel or "", item.lead_dm_ts or "")
    nudges = thread[before:]
    assert len(nudges) == 1
    assert f"<@{PRODUCT_OPS}> asks you to look at" in nudges[0]["text"]
    told = [response["text"] for response in fake_slack.responses]
    assert told[-2] == f"<@{LEAD}> a reçu un rappel pour le n° {item_id}."
    assert told[-1].startswith(f"<@{LEAD}> a été relancé pour le n° {item_id} récemment")
    assert "dans 30 minutes" in told[-1]
    # The late message says who nudged, and when (each reader's timezone), still with buttons.
    message = the_late_message(fake_slack, item_id)
    assert f"<@{PRODUCT_OPS}> nudged <@{LEAD}> <!date^{int(clicked_at.timestamp())}^" in (
        text_of(message)
    )
    assert buttons(message) == ["late_take", "late_nudge"]

    # Half an hour later, a nudge goes again.
    clicked_at = ny(2025, 3, 6, 11, 31)
    await slack.click(message, TRIAGE_CHANNEL, "late_nudge", user=PRODUCT_OPS)
    await slack.settle()
    thread = fake_slack.thread(item.lead_dm_channel or "", item.lead_dm_ts or "")
    assert len(thread[before:]) == 2


async def test_a_nudge_at_the_leads_night_waits_for_their_morning(
    slack: SlackDriver, jerry: JerryApp, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    item_id = await late_item(slack, jerry)
    monkeypatch.setattr(late_actions, "utcnow", lambda: ny(2025, 3, 6, 22, 0))
    await slack.click(
        the_late_message(fake_slack, item_id), TRIAGE_CHANNEL, "late_nudge", user=PRODUCT_OPS
    )
    await slack.settle()
    async with jerry.sessions() as session:
        statement = select(Delivery).where(
            Delivery.item_id == item_id, Delivery.purpose == "reminder"
        )
        nudge = [d for d in (await session.execute(statement)).scalars() if d.params.get("by")]
    # (The test's clock is in the past: the outbox, on the real clock, sends it at once.)
    assert len(nudge) == 1
    assert nudge[0].next_attempt_at == ny(2025, 3, 7, 9, 0)
    morning = int(ny(2025, 3, 7, 9, 0).timestamp())
    assert f"<!date^{morning}^" in fake_slack.responses[-1]["text"]


async def test_take_it_gives_the_item_to_the_clicker_and_tells_the_lead(
    slack: SlackDriver, jerry: JerryApp, fake_slack: FakeSlack
) -> None:
    item_id = await late_item(slack, jerry)
    old = await load(jerry, item_id)
    message = the_late_message(fake_slack, item_id)
    await slack.click(message, TRIAGE_CHANNEL, "late_take", user=PRODUCT_OPS)
    await slack.settle()

    item = await load(jerry, item_id)
    assert item.assignee_id == PRODUCT_OPS and item.status == "acknowledged"
    assert item.acknowledged_by == PRODUCT_OPS and item.team_id == old.team_id
    # The clicker answered privately, and given the item's card with its actions.
    assert fake_slack.responses[-1]["text"].startswith(f"La demande n° {item_id} est à vous")
    [card] = [m for m in mentions(fake_slack, PRODUCT_OPS, f"n° {item_id}")]
    assert "item_answer" in buttons(card)
    assert f"Vous avez repris cette demande de <@{LEAD}>" in text_of(card)
    assert (item.lead_dm_channel, item.lead_dm_ts) != (old.lead_dm_channel, old.lead_dm_ts)
    # The former lead's DM says where it went, and a line in its thread tells them.
    old_dm = fake_slack.message(old.lead_dm_channel or "", old.lead_dm_ts or "")
    assert old_dm is not None and buttons(old_dm) == []
    assert f"Reassigned to <@{PRODUCT_OPS}>" in text_of(old_dm)
    thread = fake_slack.thread(old.lead_dm_channel or "", old.lead_dm_ts or "")
    assert f"<@{PRODUCT_OPS}> took *#{item_id}* over from you" in thread[-1]["text"]
    # The late message and the backup's copy say it is taken; the reporter hears it is acknowledged.
    message = the_late_message(fake_slack, item_id)
    assert message["text"] == f"Late: #{item_id} (Payments) ✓ taken over by <@{PRODUCT_OPS}>"
    assert buttons(message) == [] and buttons(escalation_copy(fake_slack)) == []
    assert mentions(fake_slack, REPORTER, f"<@{PRODUCT_OPS}> (Payments) is on your")

    # The lead's second thought comes too late: the item is someone else's now.
    async with jerry.sessions() as session:
        taken = (await session.execute(select(Item).where(Item.id == item_id))).scalar_one()
        assert taken.assignee_id == PRODUCT_OPS


async def test_take_it_is_refused_outside_the_late_message_to_strangers(
    slack: SlackDriver, jerry: JerryApp, fake_slack: FakeSlack
) -> None:
    item_id = await late_item(slack, jerry)
    message = the_late_message(fake_slack, item_id)
    # The same button, as if clicked on a copy elsewhere by someone who may not act.
    elsewhere = {**message, "ts": "1700000000.000100"}
    await slack.click(elsewhere, "C0ELSEWHERE", "late_take", user=PRODUCT_OPS)
    await slack.settle()
    assert (await load(jerry, item_id)).assignee_id == LEAD
    assert fake_slack.responses[-1]["text"] == t("refusal.not_allowed", "fr", id=item_id)
