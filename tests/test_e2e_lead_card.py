"""End to end: the lead's card says where words go, keeps the team's internal notes (the
"Internal note" form and "note:" replies in its thread, never relayed), makes blocking items
and customers at risk stand out (its header, its notification text, one copy in the triage
channel), and never goes stale: each chat.update carries a text and a primary button that
follow the item's state.

Driven through the ASGI app with signed Slack payloads; the bot talks to the fake Slack; every
test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import JerryApp
from models.conversation import RelayedMessage
from models.deliveries import Delivery
from tests import payloads
from tests.fakeslack import BOT_USER_ID, Call, FakeSlack
from tests.harness import SlackDriver
from tests.test_e2e_conversation import lead_writes, reporter_writes_in_dm
from tests.test_e2e_lead_actions import resolve
from tests.test_e2e_relay import (
    BACKUP,
    LEAD,
    REPORTER,
    STRANGER,
    answer,
    button_ids,
    click,
    events,
    everything,
    from_modal,
    lead_dm,
    load_item,
    painpoint,
    undelivered,
    updates_of,
)

pytestmark = [pytest.mark.usefixtures("routed"), pytest.mark.slow]
TRIAGE_CHANNEL = "C0PRODOPS"
KEPT = f"Kept as an internal note — not sent to <@{REPORTER}>."


# --- helpers --------------------------------------------------------------------------------


def blocks_of(call: Call) -> list[dict[str, Any]]:
    blocks = call["blocks"]
    return json.loads(blocks) if isinstance(blocks, str) else blocks


def primary_buttons(blocks: list[dict[str, Any]]) -> list[str]:
    return [
        element["action_id"]
        for block in blocks
        if block.get("type") == "actions"
        for element in block["elements"]
        if element.get("style") == "primary"
    ]


def last_card_update(fake: FakeSlack, channel: str, ts: str) -> Call:
    updates = updates_of(fake, channel, ts)
    assert updates, "the card was not updated"
    return updates[-1]


async def relayed_count(jerry: JerryApp) -> int:
    async with jerry.sessions() as session:
        return len(list((await session.execute(select(RelayedMessage.id))).scalars()))


async def purposes(jerry: JerryApp) -> list[str]:
    async with jerry.sessions() as session:
        rows = await session.execute(select(Delivery.purpose).order_by(Delivery.id))
        return list(rows.scalars())


def jerry_lines(fake: FakeSlack, channel: str, thread_ts: str) -> list[str]:
    return [
        m.get("text", "") for m in fake.thread(channel, thread_ts) if m.get("user") == BOT_USER_ID
    ]


async def open_note_form(slack: SlackDriver, *, user: str = LEAD) -> dict[str, Any]:
    before = len(slack.fake.calls_to("views.open", ok=True))
    await click(slack, "item_note", user=user)
    assert len(slack.fake.calls_to("views.open", ok=True)) == before + 1
    view = slack.last_view()
    assert view["callback_id"] == "jerry_internal_note"
    return view


async def submit_note(
    slack: SlackDriver, view: dict[str, Any], text: str, *, user: str = LEAD
) -> dict[str, Any] | None:
    response = await slack.submit(view, {"note": {"value": payloads.input_value(text)}}, user=user)
    assert response.status_code == 200
    await slack.settle()
    return response.json() if response.content else None


# --- where words go ---------------------------------------------------------------------------


async def test_the_card_says_replies_go_to_the_reporter_or_the_anonymous_reporter(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    await painpoint(slack, "the invoice total is wrong")
    _, _, named = lead_dm(fake_slack)
    assert f"Replies in this thread go to <@{REPORTER}>." in everything(named)

    await from_modal(slack, "the invoice PDF is blank", flags=("anonymous",))
    _, _, anonymous = lead_dm(fake_slack)
    shown = everything(anonymous)
    assert "Replies in this thread go to the anonymous reporter." in shown
    assert REPORTER not in shown


# --- internal notes ---------------------------------------------------------------------------


async def test_a_note_reply_in_the_leads_thread_is_kept_and_not_relayed(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    reporter_posts = len(fake_slack.dms_to(REPORTER))

    await lead_writes(slack, item, "note: Globex renews on Thursday, keep it quiet")
    # French typography (a no-break space before the colon) and any case work too.
    await lead_writes(slack, item, "Note\u00a0: le correctif part demain", user=BACKUP)

    assert len(fake_slack.dms_to(REPORTER)) == reporter_posts  # nothing reached the reporter
    assert await relayed_count(jerry) == 0
    assert "conversation_to_reporter" not in await purposes(jerry)
    notes = await events(jerry, item.id, "note")
    assert [(n.actor, n.detail["text"], n.detail["via"]) for n in notes] == [
        (LEAD, "Globex renews on Thursday, keep it quiet", "thread"),
        (BACKUP, "le correctif part demain", "thread"),
    ]
    assert item.lead_dm_channel and item.lead_dm_ts
    assert jerry_lines(fake_slack, item.lead_dm_channel, item.lead_dm_ts) == [KEPT, KEPT]
    # The card shows the notes to the team.
    card = fake_slack.message(item.lead_dm_channel, item.lead_dm_ts)
    assert card is not None
    shown = everything(card)
    assert "Internal notes (team only, never sent to the reporter)" in shown
    assert "Globex renews on Thursday, keep it quiet" in shown
    assert "le correctif part demain" in shown
    assert await undelivered(jerry) == []

    # A reply without the prefix is relayed as before.
    await lead_writes(slack, item, "Which invoice number is it?")
    assert await relayed_count(jerry) == 1
    assert len(fake_slack.dms_to(REPORTER)) == reporter_posts + 1


async def test_a_retried_note_event_keeps_one_note_and_a_reporter_note_is_relayed(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    body = await lead_writes(slack, item, "NOTE: check the tax rounding")
    response = await slack.event(body, headers={"X-Slack-Retry-Num": "1"})
    assert response.status_code == 200
    await slack.settle()
    assert len(await events(jerry, item.id, "note")) == 1
    assert item.lead_dm_channel and item.lead_dm_ts
    assert jerry_lines(fake_slack, item.lead_dm_channel, item.lead_dm_ts) == [KEPT]

    # Only the lead's side keeps notes: the reporter's "note:" is a message to the lead.
    await lead_writes(slack, item, "Which invoice?")
    fresh = await load_item(jerry, item.id)
    assert fresh.reporter_dm_channel and fresh.reporter_dm_ts
    await reporter_writes_in_dm(slack, fresh, "note: it is INV-2041")
    assert len(await events(jerry, item.id, "note")) == 1
    assert await relayed_count(jerry) == 2


async def test_the_internal_note_form_keeps_a_note_the_reporter_never_sees(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    reporter_posts = len(fake_slack.dms_to(REPORTER))

    view = await open_note_form(slack)
    assert f"it is not sent to <@{REPORTER}>" in everything(view)
    errors = await submit_note(slack, view, "   ")
    assert errors == {"response_action": "errors", "errors": {"note": "Write the note first."}}
    assert await submit_note(slack, view, "Escalated to the gateway vendor <!channel>") is None

    notes = await events(jerry, item.id, "note")
    assert [(n.actor, n.detail["via"]) for n in notes] == [(LEAD, "form")]
    assert notes[0].detail["text"] == "Escalated to the gateway vendor &lt;!channel&gt;"
    assert len(fake_slack.dms_to(REPORTER)) == reporter_posts
    channel, ts, _ = lead_dm(fake_slack)
    update = last_card_update(fake_slack, channel, ts)
    shown = json.dumps(blocks_of(update), ensure_ascii=False)
    assert "Escalated to the gateway vendor" in shown
    assert "<!channel>" not in shown
    # A stranger cannot open it.
    opened = len(fake_slack.calls_to("views.open", ok=True))
    _, _, card = lead_dm(fake_slack)
    await slack.click(card, channel, "item_note", user=STRANGER)
    await slack.settle()
    assert len(fake_slack.calls_to("views.open", ok=True)) == opened


# --- what stands out ---------------------------------------------------------------------------


async def test_a_blocking_item_stands_out_in_its_notification_and_is_copied_to_triage(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await from_modal(slack, "Refunds fail for every invoice", impact="blocking")

    _, _, card = lead_dm(fake_slack)
    assert card["text"].startswith(f"🚨 Blocking · #{item.id} new pain point for Payments:")
    assert card["blocks"][0]["text"]["text"].startswith("🚨 Blocking · ")
    copies = [c for c in fake_slack.posts(TRIAGE_CHANNEL) if f"#{item.id}" in c["text"]]
    assert len(copies) == 1
    assert copies[0]["text"].startswith(f"🚨 Blocking · #{item.id} new pain point for Payments:")
    assert f"sent to <@{LEAD}>" in json.dumps(blocks_of(copies[0]), ensure_ascii=False)
    assert await undelivered(jerry) == []


async def test_a_customer_at_risk_stands_out_and_an_ordinary_item_is_not_copied(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    plain = await painpoint(slack, "the invoice total is wrong")
    at_risk = await from_modal(
        slack, "The refund for Acme is late again", customer="Acme", flags=("at_risk", "anonymous")
    )

    _, _, card = lead_dm(fake_slack)
    assert card["text"].startswith(f"⚠ Customer at risk (Acme) · #{at_risk.id} new pain point")
    copies = fake_slack.posts(TRIAGE_CHANNEL)
    assert [c["text"].split(" · ")[0] for c in copies] == ["⚠ Customer at risk (Acme)"]
    assert not any(f"#{plain.id} " in c["text"] for c in copies)
    assert REPORTER not in json.dumps(blocks_of(copies[0]))  # anonymous stays anonymous


# --- no stale messages --------------------------------------------------------------------------


async def test_each_update_of_the_card_carries_its_state_in_text_and_primary_button(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    channel, ts, card = lead_dm(fake_slack)
    assert card["text"].startswith(f"#{item.id} new pain point for Payments:")
    assert primary_buttons(card["blocks"]) == ["item_acknowledge"]

    await click(slack, "item_acknowledge", user=LEAD)
    update = last_card_update(fake_slack, channel, ts)
    assert update["text"].startswith(
        f"#{item.id} pain point for Payments · Acknowledged by <@{LEAD}>:"
    )
    assert primary_buttons(blocks_of(update)) == ["item_answer"]

    await answer(slack, "Fixed in the next release.")
    update = last_card_update(fake_slack, channel, ts)
    assert update["text"].startswith(f"#{item.id} pain point for Payments · Answered:")
    assert primary_buttons(blocks_of(update)) == ["item_resolve"]

    await resolve(slack, "fixed")
    update = last_card_update(fake_slack, channel, ts)
    assert update["text"].startswith(f"#{item.id} pain point for Payments · Resolved (Fixed):")
    message = fake_slack.message(channel, ts)
    assert message is not None and button_ids(message) == ["item_reopen"]
    assert primary_buttons(blocks_of(update)) == []
    assert await undelivered(jerry) == []
