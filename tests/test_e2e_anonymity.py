"""End to end (issue 10): what anonymity promises, one item per message, and user text
reposted without pings or disguised links.

Signed Slack requests go to Jerry's ASGI app, its real Slack client talks to the fake Slack,
and every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import JerryApp
from models.items import Item
from tests import payloads
from tests.fakeslack import BOT_USER_ID, FakeSlack
from tests.harness import ADMIN, SlackDriver
from tests.test_e2e_conversation import jerry_in_thread, lead_writes, shown
from tests.test_e2e_lead_actions import open_resolve, resolve, submit_resolve
from tests.test_e2e_relay import (
    LEAD,
    MOBILE_LEAD,
    REPORTER,
    STRANGER,
    answer,
    everything,
    from_modal,
    lead_dm,
    load_item,
    painpoint,
)

pytestmark = pytest.mark.usefixtures("routed")
BOT = f"<@{BOT_USER_ID}>"


async def share(
    slack: SlackDriver,
    text: str,
    *,
    author: str,
    flags: tuple[str, ...] = (),
    user: str = REPORTER,
) -> tuple[Item, dict[str, Any]]:
    """`user` sends a message `author` wrote to Jerry ("Send to Jerry"), the form as prefilled."""
    _, message = await slack.shortcut(text, user=user, author=author)
    await slack.settle()
    view = slack.last_view()
    prefill = next(b for b in view["blocks"] if b["block_id"] == "text")["element"]
    values = {
        "text": {"value": payloads.input_value(prefill.get("initial_value", ""))},
        "area": {"value": payloads.selected("not_sure")},
        "flags": {"value": payloads.checked(*flags)},
    }
    response = await slack.submit(view, values, user=user)
    assert response.status_code == 200 and not response.content, response.text
    await slack.settle()
    return await load_item(slack.app), message


async def item_count(jerry: JerryApp) -> int:
    async with jerry.sessions() as session:
        return (await session.execute(select(func.count(Item.id)))).scalar_one()


# --- 1. an anonymous "Send to Jerry" ----------------------------------------------------------


async def test_an_anonymous_shortcut_of_ones_own_message_shows_the_lead_neither_it_nor_its_channel(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item, message = await share(
        slack, "my manager overrides every invoice discount", author=REPORTER, flags=("anonymous",)
    )
    _, _, dm = lead_dm(fake_slack)
    shown_to_lead = everything(dm)
    assert "my manager overrides every invoice discount" in shown_to_lead
    # Neither the message (its link names its author) nor the channel it was written in.
    assert "C0GENERAL" not in shown_to_lead
    assert message["ts"].replace(".", "") not in shown_to_lead
    assert "archives" not in shown_to_lead
    assert REPORTER not in shown_to_lead
    assert "*From*\\na message shortcut" in shown_to_lead

    # The receipt (ephemeral) says the answer comes by DM, and it does: not in the thread.
    [receipt] = fake_slack.responses
    assert "The answer will come in the thread of that message." not in everything(receipt)
    await answer(slack, "We are looking into discount approvals.")
    assert fake_slack.posts("C0GENERAL") == []
    [to_reporter] = fake_slack.dms_to(REPORTER)
    assert "We are looking into discount approvals." in everything(to_reporter.args)
    assert item.anonymous and item.hide_origin


async def test_an_anonymous_shortcut_of_a_colleagues_message_shows_it_but_answers_by_dm(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    # The colleague's message is what the item is about (its author is not the reporter):
    # the lead sees it. But an answer in its thread would be public: it comes by DM.
    item, _ = await share(
        slack, "the invoice export drops the VAT column", author=STRANGER, flags=("anonymous",)
    )
    _, _, dm = lead_dm(fake_slack)
    assert "<#C0GENERAL>" in everything(dm)
    assert item.permalink and item.permalink in everything(dm)
    assert REPORTER not in everything(dm)
    await answer(slack, "Fixed in the next export.")
    assert fake_slack.posts("C0GENERAL") == []
    [to_reporter] = fake_slack.dms_to(REPORTER)
    assert "Fixed in the next export." in everything(to_reporter.args)
    assert item.anonymous and not item.hide_origin


# --- 2. "Duplicate of #N" -------------------------------------------------------------------


async def test_a_lead_cannot_name_another_teams_item_as_the_original(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    other_team = await painpoint(slack, "the ios app leaks the secret roadmap", user=STRANGER)
    assert other_team.assignee_id == MOBILE_LEAD
    item = await painpoint(slack, "the invoice total is wrong")
    view = await open_resolve(slack)
    calls = len(fake_slack.calls)

    response = await submit_resolve(slack, view, "duplicate", duplicate=f"#{other_team.id}")

    assert response == {
        "response_action": "errors",
        "errors": {
            "duplicate": f"#{other_team.id} is not an item you can see: name one of your "
            "team’s, assigned to you, or that you reported."
        },
    }
    stored = await load_item(jerry, item.id)
    assert (stored.status, stored.duplicate_of) == ("open", None)
    assert not [c for c in fake_slack.calls[calls:] if c.method.startswith("chat.")]


async def test_the_reporter_is_told_another_teams_items_status_not_its_text_or_answer(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    other_team = await painpoint(slack, "the ios app leaks the secret roadmap", user=STRANGER)
    await answer(
        slack, "Confidential: the fix is in the Q3 rewrite.", user=MOBILE_LEAD, lead=MOBILE_LEAD
    )
    item = await painpoint(slack, "the invoice total is wrong")
    # An admin may see every item, so may name it; the reporter still may not read it.
    await resolve(slack, "duplicate", user=ADMIN, duplicate=f"#{other_team.id}")

    stored = await load_item(jerry, item.id)
    assert (stored.outcome, stored.duplicate_of) == ("duplicate", other_team.id)
    told = everything(fake_slack.dms_to(REPORTER)[-1].args)
    assert f"Status of #{other_team.id}: Answered" in told
    assert "secret roadmap" not in told
    assert "Q3 rewrite" not in told


# --- 3. DEBUG logs ----------------------------------------------------------------------------


async def test_debug_logs_never_pair_a_user_with_an_anonymous_text(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "my manager falsifies every invoice"
    item = await from_modal(slack, secret, flags=("anonymous",))
    await answer(slack, "Thank you, product ops will look at it.")
    await slack.settle()
    assert item.anonymous and item.text == secret
    # DEBUG was on for Jerry and every library, through the whole stack.
    assert logging.getLogger("jerry.intake").isEnabledFor(logging.DEBUG)
    assert caplog.records

    def logged(record: logging.LogRecord) -> str:
        trace = logging.Formatter().formatException(record.exc_info) if record.exc_info else ""
        return record.getMessage() + trace

    pairing = [
        f"{r.name}: {logged(r)[:150]}"
        for r in caplog.records
        if REPORTER in logged(r) and "falsifies" in logged(r)
    ]
    assert pairing == []


# --- 4. an edited mention ---------------------------------------------------------------------


async def test_an_edited_mention_updates_its_item_instead_of_making_a_second(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    _, first = await slack.mention(f"{BOT} the refund button does nothing")
    await slack.settle()
    item = await load_item(jerry)
    channel, ts, _ = lead_dm(fake_slack)
    receipts = jerry_in_thread(fake_slack, "C0GENERAL", first["event"]["ts"])
    assert len(receipts) == 1

    # Slack sends an edited message that mentions the app as a new app_mention: same ts,
    # an `edited` field, a new event id.
    edited = payloads.app_mention(
        f"{BOT} the refund button does nothing on Safari",
        user=REPORTER,
        ts=first["event"]["ts"],
    )
    edited["event"]["edited"] = {"user": REPORTER, "ts": payloads.new_ts()}
    edited["event"]["event_ts"] = edited["event"]["edited"]["ts"]
    assert edited["event_id"] != first["event_id"]
    assert (await slack.event(edited)).status_code == 200
    await slack.settle()
    # Slack retries the edit: still nothing new.
    assert (await slack.event(edited, headers={"X-Slack-Retry-Num": "1"})).status_code == 200
    await slack.settle()

    assert await item_count(jerry) == 1
    stored = await load_item(jerry, item.id)
    assert stored.text == "the refund button does nothing on Safari"
    # Nobody hears twice: no second receipt, no second DM to the lead …
    assert len(jerry_in_thread(fake_slack, "C0GENERAL", first["event"]["ts"])) == 1
    assert len([c for c in fake_slack.dms_to(LEAD) if not c.args.get("thread_ts")]) == 1
    # … the lead's DM shows the new text, and one short line in its thread says it changed.
    assert "on Safari" in everything(fake_slack.message(channel, ts) or {})
    notes = [m for m in fake_slack.thread(channel, ts) if m.get("ts") != ts]
    assert len(notes) == 1
    assert f"<@{REPORTER}> edited the text of *#{item.id}*" in shown(notes[0])


# --- 5. "Send to Jerry" and Slack's markup ----------------------------------------------------


async def test_the_shortcut_form_shows_readable_text_and_the_item_keeps_both(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    raw = (
        f"<@{LEAD}> the <https://docs.example/refunds|refund guide> in <#C0GENERAL|general> "
        "(or <#C0PRODOPS|>) says 2 &lt; 3 &amp; nothing works"
    )
    readable = (
        "@Pat the refund guide (https://docs.example/refunds) in #general (or #product-ops) "
        "says 2 < 3 & nothing works"
    )
    _, _ = await slack.shortcut(raw, user=REPORTER, author=STRANGER)
    await slack.settle()
    view = slack.last_view()
    text_input = next(b for b in view["blocks"] if b["block_id"] == "text")["element"]
    assert text_input["initial_value"] == readable

    item, _ = await share(slack, raw, author=STRANGER)
    assert item.text == readable.replace("&", "&amp;").replace("<", "&lt;")
    assert item.source_text == raw


# --- 6. pings and disguised links in relayed text ---------------------------------------------


async def test_relayed_text_names_people_without_pinging_and_shows_real_link_addresses(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    _, body = await slack.mention(
        f"{BOT} <@{STRANGER}> says the refund page <https://evil.example/x|https://good.example> is down"
    )
    await slack.settle()
    item = await load_item(jerry)
    _, _, dm = lead_dm(fake_slack)
    to_lead = everything(dm)
    assert f"<@{STRANGER}>" not in to_lead
    assert "@Sam says" in to_lead
    assert "<https://evil.example/x|https://good.example>" not in to_lead
    assert "https://good.example (<https://evil.example/x>)" in to_lead

    # The lead's reply, relayed into the public thread of the mention.
    await lead_writes(
        slack, item, f"<@{MOBILE_LEAD}> knows: <https://evil.example/y|https://status.example>"
    )
    [_, relayed] = jerry_in_thread(fake_slack, "C0GENERAL", body["event"]["ts"])
    public = shown(relayed)
    assert f"<@{MOBILE_LEAD}>" not in public
    assert "@Mo knows" in public
    assert "https://status.example (<https://evil.example/y>)" in public


async def test_an_edited_direct_message_updates_its_item(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    response = await slack.dm("the refund button does nothing")
    assert response.status_code == 200
    await slack.settle()
    item = await load_item(jerry)
    channel, ts, _ = lead_dm(fake_slack)

    edit = payloads.message_changed(
        user=REPORTER,
        channel="D0REPORTER",
        ts=item.message_ts or "",
        text="the refund button does nothing on Safari",
        channel_type="im",
    )
    assert (await slack.event(edit)).status_code == 200
    await slack.settle()

    assert await item_count(jerry) == 1
    assert (await load_item(jerry, item.id)).text == "the refund button does nothing on Safari"
    assert "on Safari" in everything(fake_slack.message(channel, ts) or {})
    notes = [m for m in fake_slack.thread(channel, ts) if m.get("ts") != ts]
    assert len(notes) == 1
