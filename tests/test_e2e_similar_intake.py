"""End to end: similar items at intake, the reporter's side (issue 12, "What people see").

A new item that looks like open or recently answered ones is offered them ("Same problem:
add me to #1" / "Mine is different"); a question close to an answered one is offered that
answer ("This answers it" / "I still need help"). Meanwhile its lead's DM waits (at most
JERRY_SIMILAR_HOLD_MINUTES): adding oneself or taking the past answer means the lead never
hears of it; "Mine is different", "I still need help" or the end of the wait send it.

Everything goes through the real app with signed Slack requests, the similarity engine (its
model loaded once per process) and the fake Slack, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from bot.app import JerryApp
from bot.config import Settings
from bot.similar import service
from bot.similar.service import similar
from bot.sla.business_time import current_phase
from models.base import utcnow
from models.deliveries import Delivery
from models.items import Item, ItemEvent
from models.routing import Team
from models.similar import SimilarEntry
from tests import payloads
from tests.fakeslack import BOT_USER_ID, FakeSlack
from tests.harness import SlackDriver
from tests.test_e2e_relay import LEAD, REPORTER, STRANGER, answer, everything, from_modal, load_item

pytestmark = pytest.mark.usefixtures("routed")

GENERAL = "C0GENERAL"
SEEN = "The invoice shows the wrong VAT rate for German customers"
AGAIN = "The invoice shows the wrong VAT rate for German customers again"
UNRELATED = "The refund button does nothing on Safari"
QUESTION = "How do I export every invoice of a quarter as one CSV file?"
SAME_QUESTION = "How can I export each invoice of a quarter as a single CSV?"
PAST_ANSWER = "Billing → Exports → Quarter gives one CSV of every invoice."


@pytest.fixture
def similar_setting() -> str:
    """JERRY_SIMILAR for this test (a test parametrizes it to "off")."""
    return "on"


@pytest.fixture
def settings(settings: Settings, similar_setting: str) -> Settings:
    return settings.model_copy(update={"jerry_similar": similar_setting})


@pytest.fixture(autouse=True)
def fresh_indexes() -> AsyncIterator[None]:
    """Each test's database is new: no index kept in memory from another test's (the model
    itself stays loaded: one load per process)."""
    service.forget_loaded()
    yield
    service.forget_loaded()


# --- what people do ----------------------------------------------------------------------------


async def command(
    slack: SlackDriver, text: str, *, user: str = REPORTER, name: str = "/painpoint"
) -> tuple[httpx.Response, Item]:
    response = await slack.command(name, text, user=user)
    assert response.status_code == 200, response.text
    await slack.settle()
    return response, await load_item(slack.app)


def find_button(blocks: list[dict[str, Any]], action_id: str, value: str | None = None) -> Any:
    """The button `action_id` (with `value`, when given) in an actions block or a section's
    accessory; None when there is none."""
    for block in blocks:
        for element in [*(block.get("elements") or []), block.get("accessory") or {}]:
            if element.get("action_id") == action_id and value in (None, element.get("value")):
                return element
    return None


async def click(
    slack: SlackDriver,
    blocks: list[dict[str, Any]],
    action_id: str,
    *,
    user: str = REPORTER,
    value: str | None = None,
    channel: str = GENERAL,
) -> tuple[httpx.Response, str]:
    """Click a button of an offer (as shown: blocks); (the answer, the click's response_url)."""
    button = find_button(blocks, action_id, value)
    assert button is not None, f"no {action_id} {value or ''} in the offer"
    url = slack.fake.response_url()
    message = {"type": "message", "ts": payloads.new_ts(), "text": "", "blocks": blocks}
    payload = payloads.block_action(
        user=user,
        action_id=action_id,
        value=button["value"],
        channel=channel,
        message=message,
        response_url=url,
    )
    response = await slack.interactive(payload)
    assert response.status_code == 200, response.text
    await slack.settle()
    return response, url


def offers(fake: FakeSlack) -> list[dict[str, Any]]:
    """What was posted to response_urls with an offer's buttons in it."""
    return [r for r in fake.responses if _offer_in(r.get("blocks") or [])]


def _offer_in(blocks: list[dict[str, Any]]) -> bool:
    return any(
        find_button(blocks, action) is not None
        for action in ("similar_add", "similar_answered", "similar_different")
    )


def answers_to(fake: FakeSlack, url: str) -> list[dict[str, Any]]:
    return [r for r in fake.responses if r["url"] == url]


def cards_for(fake: FakeSlack, item: Item, lead: str = LEAD) -> list[dict[str, Any]]:
    """The item's card among the lead's DMs (its notification text starts with its number,
    after what makes it stand out)."""
    card = re.compile(rf"^(.* · )?#{item.id} ")
    return [c.args for c in fake.dms_to(lead) if card.match(c.args.get("text") or "")]


async def lead_dm_deliveries(jerry: JerryApp, item: Item) -> list[Delivery]:
    async with jerry.sessions() as session:
        statement = select(Delivery).where(
            Delivery.item_id == item.id, Delivery.purpose == "lead_dm"
        )
        return list((await session.execute(statement.order_by(Delivery.id))).scalars())


async def events_of(jerry: JerryApp, item: Item, kind: str) -> list[ItemEvent]:
    async with jerry.sessions() as session:
        statement = select(ItemEvent).where(ItemEvent.item_id == item.id, ItemEvent.kind == kind)
        return list((await session.execute(statement)).scalars())


async def end_the_hold(slack: SlackDriver, item: Item) -> None:
    """The hold's time has come (as if JERRY_SIMILAR_HOLD_MINUTES had passed)."""
    past = utcnow() - timedelta(seconds=1)
    async with slack.app.sessions() as session:
        await session.execute(
            update(Delivery)
            .where(Delivery.item_id == item.id, Delivery.purpose == "lead_dm")
            .values(next_attempt_at=past, created_at=past)
        )
        await session.execute(update(Item).where(Item.id == item.id).values(assigned_at=past))
        await session.commit()
    slack.app.worker.kick()
    await slack.settle()


async def entry_seq(jerry: JerryApp, item: Item) -> int:
    """When the item's index entry was last written (a counter over every write)."""
    async with jerry.sessions() as session:
        statement = select(SimilarEntry.seq).where(SimilarEntry.item_id == item.id)
        return int((await session.execute(statement)).scalar_one())


async def seeded(slack: SlackDriver, text: str = SEEN, *, name: str = "/painpoint") -> Item:
    """An item someone else reported before: nothing looks like it, so its lead has it."""
    _, item = await command(slack, text, user=STRANGER, name=name)
    assert len(cards_for(slack.fake, item)) == 1
    return item


# --- nothing similar, and similar items off ----------------------------------------------------


async def test_nothing_similar_the_lead_gets_it_at_once_and_is_indexed(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    await seeded(slack)
    response, item = await command(slack, UNRELATED)
    assert "Your pain point is *#2*" in response.text  # the receipt, in the ack, as before
    assert len(cards_for(fake_slack, item)) == 1
    assert offers(fake_slack) == []
    [dm] = await lead_dm_deliveries(jerry, item)
    assert dm.status == "sent" and dm.params.get("held") is True
    assert item.similar_suggestions == [] and item.similar_choice is None
    # Its targets count from when its lead got it (released by the check), not later.
    assert item.assigned_at is not None and item.assigned_at <= utcnow()
    async with jerry.sessions() as session:
        indexed = await session.execute(select(SimilarEntry.item_id).order_by(SimilarEntry.item_id))
        assert list(indexed.scalars()) == [1, 2]


@pytest.mark.parametrize("similar_setting", ["off"])
async def test_similar_items_off_is_intake_as_before(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    _, first = await command(slack, SEEN, user=STRANGER)
    response, item = await command(slack, AGAIN)
    assert "Your pain point is *#2*" in response.text
    assert len(cards_for(fake_slack, first)) == 1 and len(cards_for(fake_slack, item)) == 1
    assert offers(fake_slack) == []
    async with jerry.sessions() as session:
        purposes = set((await session.execute(select(Delivery.purpose))).scalars())
        assert purposes == {"lead_dm"}
        [dm] = await lead_dm_deliveries(jerry, item)
        assert "held" not in dm.params
        assert (await session.execute(select(SimilarEntry.item_id))).first() is None
    item = await load_item(jerry, item.id)
    assert item.similar_suggestions is None and item.assigned_at is None


# --- the offer, and the lead's DM held meanwhile ------------------------------------------------


async def test_a_slash_command_gets_the_similar_items_after_its_receipt_and_the_lead_waits(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    first = await seeded(slack)
    before = utcnow()
    response, item = await command(slack, AGAIN)
    assert "Your pain point is *#2*" in response.text  # the ack stays the receipt
    [offer] = offers(fake_slack)
    assert offer["response_type"] == "ephemeral" and offer["replace_original"] is False
    text = everything(offer)
    assert "#1" in text and SEEN in text and "open" in text
    assert find_button(offer["blocks"], "similar_add", f"{item.id}:{first.id}") is not None
    assert find_button(offer["blocks"], "similar_different", str(item.id)) is not None
    assert "in 15 minutes" in text
    # The lead does not hear of #2 while its reporter may choose.
    assert cards_for(fake_slack, item) == []
    [dm] = await lead_dm_deliveries(jerry, item)
    assert dm.status == "pending" and dm.params["held"] is True
    assert before + timedelta(minutes=15) <= dm.next_attempt_at <= utcnow() + timedelta(minutes=15)
    # Its targets count from the end of the wait: it cannot go late because of it.
    assert item.assigned_at == dm.next_attempt_at
    async with jerry.sessions() as session:
        team = await session.get(Team, item.team_id)
    phase = current_phase(item, team)
    assert phase is not None and phase.since == item.assigned_at
    assert item.similar_suggestions and item.similar_suggestions[0]["id"] == first.id


async def test_add_me_links_the_item_the_lead_never_hears_of_it_and_its_reporter_follows(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    first = await seeded(slack)
    _, item = await command(slack, AGAIN)
    [offer] = offers(fake_slack)
    _, url = await click(slack, offer["blocks"], "similar_add")

    [done] = answers_to(fake_slack, url)
    assert done["replace_original"] is True
    assert "You now follow *#1*" in everything(done) and "*#2* is resolved" in everything(done)
    item = await load_item(jerry, item.id)
    assert (item.status, item.outcome, item.duplicate_of, item.merged_into) == (
        "resolved",
        "duplicate",
        first.id,
        first.id,
    )
    assert item.similar_choice == "added"
    [merged] = await events_of(jerry, item, "merged")
    assert merged.detail["by"] == "reporter" and merged.actor == REPORTER
    [dm] = await lead_dm_deliveries(jerry, item)
    assert dm.status == "withdrawn"
    assert cards_for(fake_slack, item) == []
    # Nothing more for #1's lead or reporter.
    assert len(fake_slack.dms_to(LEAD)) == 1 and fake_slack.dms_to(STRANGER) == []

    # #1's answer reaches the reporter who added themselves, in their own DM.
    await answer(slack, "We use the EU rate table from Monday.")
    assert any(
        "We use the EU rate table from Monday." in everything(c.args)
        for c in fake_slack.dms_to(REPORTER)
    )


async def test_mine_is_different_sends_it_to_the_lead_now(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    await seeded(slack)
    _, item = await command(slack, AGAIN)
    [offer] = offers(fake_slack)
    _, url = await click(slack, offer["blocks"], "similar_different")

    [done] = answers_to(fake_slack, url)
    assert done["replace_original"] is True
    assert "Your pain point *#2* goes to the team now" in everything(done)
    assert len(cards_for(fake_slack, item)) == 1
    item = await load_item(jerry, item.id)
    assert item.status == "open" and item.similar_choice == "different"
    assert item.assigned_at is not None and item.assigned_at <= utcnow()
    [declined] = await events_of(jerry, item, "similar_declined")
    assert declined.detail == {"choice": "different", "suggested": [1]}


async def test_when_the_wait_ends_without_a_choice_the_lead_gets_it_as_usual(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    await seeded(slack)
    _, item = await command(slack, AGAIN)
    assert cards_for(fake_slack, item) == []
    await end_the_hold(slack, item)
    [card] = cards_for(fake_slack, item)
    assert "#2 new pain point for Payments" in card["text"]
    item = await load_item(jerry, item.id)
    assert item.status == "open" and item.similar_choice is None
    # "Mine is different" now: the team has it already, nothing is sent again.
    [offer] = offers(fake_slack)
    _, url = await click(slack, offer["blocks"], "similar_different")
    assert "*#2* is with the team" in everything(answers_to(fake_slack, url)[0])
    assert len(cards_for(fake_slack, item)) == 1


async def test_add_me_after_the_lead_got_it_updates_their_card_and_tells_them_in_its_thread(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    """A direct message's receipt (in its DM thread) carries the suggestions itself."""
    first = await seeded(
        slack, "Why does the invoice show the wrong VAT rate for German customers?", name="/ask"
    )
    response = await slack.dm(
        "Why does the invoice show the wrong VAT rate for German customers again?"
    )
    assert response.status_code == 200
    await slack.settle()
    item = await load_item(jerry, first.id + 1)
    assert item.kind == "question" and offers(fake_slack) == []
    [receipt] = [
        m
        for m in fake_slack.thread(item.reply_channel or "", item.reply_thread_ts or "")
        if m.get("user") == BOT_USER_ID
    ]
    assert "Thanks! Your question is *#2*" in everything(receipt)
    assert find_button(receipt["blocks"], "similar_add", f"{item.id}:{first.id}") is not None
    await end_the_hold(slack, item)
    assert len(cards_for(fake_slack, item)) == 1
    item = await load_item(jerry, item.id)

    _, url = await click(slack, receipt["blocks"], "similar_add", channel=item.reply_channel or "")
    assert "You now follow *#1*" in everything(answers_to(fake_slack, url)[0])
    assert (await load_item(jerry, item.id)).merged_into == first.id
    # Their card now says it is resolved as a duplicate of #1, and why, in its thread.
    updates = [
        c
        for c in fake_slack.calls_to("chat.update", ok=True)
        if c.args.get("ts") == item.lead_dm_ts
    ]
    assert updates and "Duplicate of #1" in everything(updates[-1].args)
    [notice] = [
        m
        for m in fake_slack.thread(item.lead_dm_channel or "", item.lead_dm_ts or "")
        if m.get("user") == BOT_USER_ID
    ]
    assert notice["text"].startswith(f"<@{REPORTER}> found that *#2* is the same problem")
    assert len(cards_for(fake_slack, item)) == 1


async def test_a_mention_in_a_channel_offers_only_to_its_reporter_under_its_receipt(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    first = await seeded(
        slack, "Can German customers get an invoice with the right VAT rate?", name="/ask"
    )
    mention, body = await slack.mention(
        f"<@{BOT_USER_ID}> Can German customers get an invoice with the right VAT rate again?"
    )
    assert mention.status_code == 200
    await slack.settle()
    item = await load_item(jerry, first.id + 1)
    # The receipt in the channel's thread shows nobody else's item.
    thread = fake_slack.thread(GENERAL, body["event"]["ts"])
    [receipt] = [m for m in thread if m.get("user") == BOT_USER_ID]
    assert "Thanks! Your question is *#2*" in everything(receipt)
    assert not _offer_in(receipt["blocks"]) and "#1" not in everything(receipt)
    # Only its reporter sees them, under it (after it).
    [shown] = fake_slack.calls_to("chat.postEphemeral", ok=True)
    assert shown.args["user"] == REPORTER and shown.args["channel"] == GENERAL
    assert shown.args["thread_ts"] == body["event"]["ts"]
    assert fake_slack.calls.index(shown) > next(
        i for i, c in enumerate(fake_slack.calls) if c.response.get("ts") == receipt["ts"]
    )
    blocks = shown.args["blocks"]
    assert find_button(blocks, "similar_add", f"{item.id}:{first.id}") is not None
    _, url = await click(slack, blocks, "similar_different")
    assert "goes to the team now" in everything(answers_to(fake_slack, url)[0])
    assert len(cards_for(fake_slack, item)) == 1


async def test_a_blocking_item_is_not_held_and_its_form_receipt_carries_the_offer(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    """The receipt of the intake form goes to the command's response_url: it carries the
    offer. A blocking item reaches its lead (and product ops) at once all the same."""
    first = await seeded(slack)
    item = await from_modal(slack, AGAIN, impact="blocking")
    [receipt] = offers(fake_slack)
    assert "Thanks! Your pain point is *#2*" in everything(receipt)
    assert find_button(receipt["blocks"], "similar_add", f"{item.id}:{first.id}") is not None
    assert "minutes if you do not choose" not in everything(receipt)
    assert len(cards_for(fake_slack, item)) == 1
    assert any("#2" in (c.args.get("text") or "") for c in fake_slack.posts("C0PRODOPS"))


# --- a past answer to a question -----------------------------------------------------------------


async def asked_and_answered(slack: SlackDriver) -> Item:
    """A question someone asked before, answered by its lead through its card."""
    first = await seeded(slack, QUESTION, name="/ask")
    await answer(slack, PAST_ANSWER)
    first = await load_item(slack.app, first.id)
    assert first.status == "answered" and first.answer_text == PAST_ANSWER
    return first


async def test_a_past_answer_accepted_resolves_the_question_and_no_lead_hears_of_it(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    first = await asked_and_answered(slack)
    _, item = await command(slack, SAME_QUESTION, name="/ask")
    [offer] = offers(fake_slack)
    assert PAST_ANSWER in everything(offer) and QUESTION in everything(offer)
    assert find_button(offer["blocks"], "similar_add") is None
    before = utcnow()
    _, url = await click(slack, offer["blocks"], "similar_answered")

    assert "Your question *#2* is resolved" in everything(answers_to(fake_slack, url)[0])
    item = await load_item(jerry, item.id)
    assert (item.status, item.outcome, item.similar_choice) == ("resolved", "answered", "answered")
    assert item.answer_text == PAST_ANSWER and item.merged_into is None
    assert item.answered_at is not None and item.resolved_at is not None
    assert before <= item.answered_at == item.resolved_at <= utcnow()
    [event] = await events_of(jerry, item, "answered_from_past")
    assert event.detail == {"source": first.id} and event.actor == REPORTER
    # Time saved is this event only: no "answered" or "resolved" event counts it as the team's.
    assert await events_of(jerry, item, "answered") == []
    assert await events_of(jerry, item, "resolved") == []
    [dm] = await lead_dm_deliveries(jerry, item)
    assert dm.status == "withdrawn"
    assert cards_for(fake_slack, item) == []


async def test_a_past_answer_refused_sends_the_question_to_the_lead(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    await asked_and_answered(slack)
    _, item = await command(slack, SAME_QUESTION, name="/ask")
    [offer] = offers(fake_slack)
    _, url = await click(slack, offer["blocks"], "similar_needs_help")
    assert "*#2* goes to the team now" in everything(answers_to(fake_slack, url)[0])
    item = await load_item(jerry, item.id)
    assert (item.status, item.similar_choice) == ("open", "needs_help")
    assert len(cards_for(fake_slack, item)) == 1
    assert await events_of(jerry, item, "answered_from_past") == []


# --- who may click, and clicking twice ---------------------------------------------------------


async def test_someone_else_clicking_is_refused_and_nothing_changes(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    await seeded(slack)
    _, item = await command(slack, AGAIN)
    [offer] = offers(fake_slack)
    for action in ("similar_add", "similar_different"):
        _, url = await click(slack, offer["blocks"], action, user=STRANGER)
        [refused] = answers_to(fake_slack, url)
        assert refused["response_type"] == "ephemeral" and refused["replace_original"] is False
        assert "Only the person who sent *#2* can choose here" in refused["text"]
    item = await load_item(jerry, item.id)
    assert (item.status, item.similar_choice, item.merged_into) == ("open", None, None)
    [dm] = await lead_dm_deliveries(jerry, item)
    assert dm.status == "pending" and cards_for(fake_slack, item) == []


async def test_a_second_click_says_what_the_first_did_and_changes_nothing(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    first = await seeded(slack)
    _, item = await command(slack, AGAIN)
    [offer] = offers(fake_slack)
    await click(slack, offer["blocks"], "similar_add")
    for action in ("similar_add", "similar_different"):
        _, url = await click(slack, offer["blocks"], action)
        [again] = answers_to(fake_slack, url)
        assert "You now follow *#1*" in everything(again)
        assert "You had already chosen for *#2*: this click changed nothing." in everything(again)
    item = await load_item(jerry, item.id)
    assert (item.merged_into, item.similar_choice) == (first.id, "added")
    assert len(await events_of(jerry, item, "merged")) == 1
    assert await events_of(jerry, item, "similar_declined") == []
    assert cards_for(fake_slack, item) == []


async def test_a_forged_click_naming_an_item_not_offered_is_refused(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    await seeded(slack)
    _, other = await command(slack, UNRELATED, user=STRANGER)
    _, item = await command(slack, AGAIN)
    [offer] = offers(fake_slack)
    blocks = [
        {**b, "accessory": {**b["accessory"], "value": f"{item.id}:{other.id}"}}
        if b.get("accessory")
        else b
        for b in offer["blocks"]
    ]
    _, url = await click(slack, blocks, "similar_add")
    assert (
        f"*#{other.id}* was not offered for *#{item.id}*" in answers_to(fake_slack, url)[0]["text"]
    )
    assert (await load_item(jerry, item.id)).merged_into is None


# --- anonymity --------------------------------------------------------------------------------


async def test_a_suggested_anonymous_item_never_shows_who_reported_it(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    first = await from_modal(slack, SEEN, flags=("anonymous",), user=STRANGER)
    assert first.anonymous
    fake_slack.responses.clear()
    await command(slack, AGAIN)
    [offer] = offers(fake_slack)
    assert SEEN in everything(offer)
    assert STRANGER not in str(offer) and "sam" not in everything(offer)


async def test_an_anonymous_reporter_adding_themselves_is_never_named(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    first = await seeded(slack)
    item = await from_modal(slack, AGAIN, flags=("anonymous",))
    [receipt] = offers(fake_slack)
    await end_the_hold(slack, item)  # its lead has its card (anonymous)
    item = await load_item(jerry, item.id)
    calls_before = len(fake_slack.calls)
    _, url = await click(slack, receipt["blocks"], "similar_add")
    done = everything(answers_to(fake_slack, url)[0])
    assert "You now follow *#1*" in done and "Nobody on *#1* sees your name." in done
    assert (await load_item(jerry, item.id)).merged_into == first.id
    # What Jerry sent since (the lead's card updated, a notice in its thread): no name.
    since = [c for c in fake_slack.calls[calls_before:] if c.method.startswith("chat.")]
    assert since and all(REPORTER not in str(c.args) and "rita" not in str(c.args) for c in since)
    [notice] = [
        m
        for m in fake_slack.thread(item.lead_dm_channel or "", item.lead_dm_ts or "")
        if m.get("user") == BOT_USER_ID
    ]
    assert notice["text"].startswith("The reporter (anonymous) found that *#2*")
    # #1's reporter hears nothing of it.
    assert fake_slack.dms_to(STRANGER) == []


# --- an edited text is indexed again -----------------------------------------------------------


async def test_an_edited_direct_message_is_indexed_again_and_keeps_its_suggestions(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    first = await seeded(
        slack, "Why does the invoice show the wrong VAT rate for German customers?", name="/ask"
    )
    await slack.dm("Why does the invoice show the wrong VAT rate for German customers again?")
    await slack.settle()
    item = await load_item(jerry, first.id + 1)
    kept = item.similar_suggestions
    assert kept and kept[0]["id"] == first.id
    seq_before = await entry_seq(jerry, item)

    edit = payloads.message_changed(
        user=REPORTER,
        channel=item.channel_id or "",
        ts=item.message_ts or "",
        text="The mobile app logs me out every hour",
        channel_type="im",
    )
    assert (await slack.event(edit)).status_code == 200
    await slack.settle()
    item = await load_item(jerry, item.id)
    assert item.text == "The mobile app logs me out every hour"
    assert item.similar_suggestions == kept
    async with jerry.sessions() as session:
        [reindexed] = (
            await session.execute(select(Delivery).where(Delivery.purpose == "similar_index"))
        ).scalars()
        assert reindexed.status == "sent" and reindexed.item_id == item.id
        assert await entry_seq(jerry, item) > seq_before
        service.forget_loaded()  # another process: it reads the index from the database
        found = await similar(session, "the app logs me out every hour", kind="question")
    assert found and found[0].id == item.id
