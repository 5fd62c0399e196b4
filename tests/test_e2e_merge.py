"""End to end (issue 12, the lead's side of similar items): the lead's card says what looks
like its item ("Looks like #12 (open, 1 reporter)") with "Merge into #12"; merging closes the
item, tells each reporter it moved in their own thread, tells the kept item's lead, and shows
"Undo merge"; undoing it tells them again; the Resolve form's "Duplicate of #N" is the same
merge; anonymity holds through all of it.

Driven through the ASGI app with signed Slack payloads; the bot talks to the fake Slack; every
test runs on SQLite and PostgreSQL, with the real similarity engine (similar items on).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.app import JerryApp
from bot.config import Settings
from bot.items.demand import demand_of
from bot.similar import service as similar_service
from bot.similar.merge import followers, merge_item
from models.deliveries import Delivery
from models.items import Item
from tests import payloads
from tests.fakeslack import FakeSlack
from tests.french import spaced
from tests.harness import ADMIN, SlackDriver
from tests.test_e2e_lead_actions import home_click, submit_resolve
from tests.test_e2e_relay import (
    ACTIONS,
    BACKUP,
    LEAD,
    MOBILE_LEAD,
    REPORTER,
    STRANGER,
    block_texts,
    button_ids,
    event_kinds,
    everything,
    from_modal,
    load_item,
    painpoint,
    undelivered,
    updates_of,
)

pytestmark = [pytest.mark.usefixtures("routed"), pytest.mark.slow]
FRENCH = "U0FRENCH"
VAT = "The invoice shows the wrong VAT rate for German customers since the last release"
VAT_AGAIN = "German customers get an invoice with the wrong VAT rate since the last release"
VAT_THIRD = "Wrong VAT rate on the invoice of German customers since the release"
UNRELATED = "Please add a dark mode to the mobile dashboard"


@pytest.fixture
def similar_on() -> bool:
    return True


@pytest.fixture
def settings(settings: Settings, similar_on: bool) -> Settings:
    """The harness's settings with similar items on (they are off for the other tests), the
    lead's DM not held while its reporter may pick a similar item: these tests are about
    the lead's side (tests/test_e2e_similar_intake.py tests the hold)."""
    return settings.model_copy(
        update={"jerry_similar": "on" if similar_on else "off", "jerry_similar_hold_minutes": 0}
    )


@pytest.fixture(autouse=True)
def fresh_indexes() -> Iterator[None]:
    """Each test's database is new: no similarity index kept in memory from another test's."""
    similar_service.forget_loaded()
    yield
    similar_service.forget_loaded()


# --- helpers --------------------------------------------------------------------------------


def card_of(fake: FakeSlack, item_id: int, lead: str = LEAD) -> tuple[str, dict[str, Any]]:
    """The card of item `item_id` in `lead`'s DMs, as it is now: (channel, message)."""
    for call in reversed(fake.dms_to(lead)):
        channel, ts = call.response["channel"], call.response["ts"]
        message = fake.message(channel, ts)
        if message is None:
            continue
        header = (message.get("blocks") or [{}])[0]
        if header.get("type") == "header" and f"#{item_id} ·" in header["text"]["text"]:
            return channel, message
    raise AssertionError(f"no card of #{item_id} in the DMs of {lead}")


def merge_buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    """The "Merge into" buttons of a card: (label, value)."""
    return [
        (block["accessory"]["text"]["text"], block["accessory"]["value"])
        for block in message.get("blocks") or []
        if (block.get("accessory") or {}).get("action_id") == "item_merge"
    ]


async def press(
    slack: SlackDriver, message: dict[str, Any], channel: str, action_id: str, value: str, user: str
) -> None:
    """`user` clicks the button `action_id` (value `value`) on `message`."""
    body = payloads.block_action(
        user=user,
        action_id=action_id,
        value=value,
        channel=channel,
        message=message,
        response_url=slack.fake.response_url(),
    )
    response = await slack.interactive(body)
    assert response.status_code == 200
    await slack.settle()


async def merge_into(
    slack: SlackDriver, item_id: int, into_id: int, *, user: str = LEAD, lead: str = LEAD
) -> None:
    """`user` clicks "Merge into #into_id" on the card of `item_id` (in `lead`'s DMs)."""
    channel, message = card_of(slack.fake, item_id, lead)
    assert (f"Merge into #{into_id}", f"{item_id}:{into_id}") in merge_buttons(message)
    await press(slack, message, channel, "item_merge", f"{item_id}:{into_id}", user)


async def undo(slack: SlackDriver, item_id: int, *, user: str = LEAD, lead: str = LEAD) -> None:
    channel, message = card_of(slack.fake, item_id, lead)
    assert "item_unmerge" in button_ids(message)
    await press(slack, message, channel, "item_unmerge", str(item_id), user)


async def resolve_as_duplicate(
    slack: SlackDriver, item_id: int, number: str, *, user: str = LEAD
) -> dict[str, Any] | None:
    """`user` opens the Resolve form on the card of `item_id` and submits "Duplicate of
    `number`"; the form's errors, if any."""
    channel, card = card_of(slack.fake, item_id)
    response = await slack.click(card, channel, "item_resolve", user=user)
    assert response.status_code == 200
    await slack.settle()
    view = slack.last_view()
    assert view["callback_id"] == "jerry_resolve"
    return await submit_resolve(slack, view, "duplicate", duplicate=number, user=user)


def answered_privately(fake: FakeSlack) -> list[str]:
    """What the clicks were answered privately (ephemeral, through their response_url)."""
    return [r["text"] for r in fake.responses if r.get("response_type") == "ephemeral"]


def sent_to(fake: FakeSlack, user: str) -> list[dict[str, Any]]:
    """Every message Jerry posted in `user`'s DMs (their threads included), as posted."""
    return [call.args for call in fake.dms_to(user)]


def every_text_slack_received(fake: FakeSlack, *, but_to: str) -> str:
    """Everything Jerry sent Slack (messages, updates, ephemerals, views, responses), except
    what it posted in `but_to`'s own DM: one string to search."""
    own_dm = fake.dm_channel(but_to)
    shown = []
    for call in fake.calls:
        if not call.method.startswith(("chat.", "views.")):
            continue
        if call.method == "chat.getPermalink":
            continue
        where = call.response.get("channel") or call.args.get("channel") or ""
        if where in {own_dm, but_to}:
            continue
        shown.append(json.dumps(call.args, ensure_ascii=False))
    shown += [json.dumps(r, ensure_ascii=False) for r in fake.responses]
    return "\n".join(shown)


async def set_item(jerry: JerryApp, item_id: int, **values: Any) -> None:
    async with jerry.sessions() as session:
        await session.execute(update(Item).where(Item.id == item_id).values(**values))
        await session.commit()


async def people_asking(jerry: JerryApp, item_id: int) -> int:
    async with jerry.sessions() as session:
        return (await demand_of(session, [item_id]))[item_id].people


async def follower_ids(jerry: JerryApp, item_id: int) -> list[int]:
    async with jerry.sessions() as session:
        return [f.id for f in await followers(session, item_id)]


# --- "Looks like" on the lead's card ----------------------------------------------------------


async def test_the_leads_card_shows_what_looks_like_its_item(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    first = await painpoint(slack, VAT, user=STRANGER)
    await painpoint(slack, UNRELATED, user=STRANGER)
    item = await painpoint(slack, VAT_AGAIN)

    _, card = card_of(fake_slack, item.id)
    texts = block_texts(card["blocks"])
    assert ":mag: *Looks like*" in texts
    assert f"*#{first.id}* · open, 1 reporter\n> {VAT}" in texts
    assert merge_buttons(card) == [(f"Merge into #{first.id}", f"{item.id}:{first.id}")]
    assert UNRELATED not in everything(card)
    # The item's own buttons are unchanged; the merge buttons sit in the section.
    assert button_ids(card) == list(ACTIONS)
    # Looked up once, and kept on the item: the reporter's side reads the same.
    stored = await load_item(jerry, item.id)
    assert [s["id"] for s in stored.similar_suggestions or []] == [first.id]
    # The first item had nothing like it when it came in.
    _, first_card = card_of(fake_slack, first.id)
    assert "Looks like" not in everything(first_card)
    assert await undelivered(jerry) == []


async def test_another_teams_item_shows_its_number_and_status_only(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    secret = "the invoice PDF crashes the app when opened from a push notification"
    other = await painpoint(slack, secret, user=STRANGER, channel="C0SUPPORT")
    assert other.assignee_id == MOBILE_LEAD
    await set_item(jerry, other.id, status="resolved", outcome="fixed", resolved_by=MOBILE_LEAD)
    item = await painpoint(slack, "the invoice PDF crashes the app when opened from a notification")
    assert item.assignee_id == LEAD

    _, card = card_of(fake_slack, item.id)
    texts = block_texts(card["blocks"])
    assert (
        f"*#{other.id}* · resolved: fixed · _another team’s item: its number and status only_"
    ) in texts
    assert "push notification" not in everything(card)
    assert merge_buttons(card) == []  # they could not merge into it: they may not see it


@pytest.mark.parametrize("similar_on", [False])
async def test_similar_items_off_shows_no_looks_like(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    await painpoint(slack, VAT, user=STRANGER)
    item = await painpoint(slack, VAT_AGAIN)

    _, card = card_of(fake_slack, item.id)
    assert "Looks like" not in everything(card)
    assert merge_buttons(card) == []
    assert (await load_item(jerry, item.id)).similar_suggestions is None  # never looked up


# --- merging ---------------------------------------------------------------------------------


async def test_merge_into_closes_the_item_tells_its_reporter_and_offers_undo(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    kept = await painpoint(slack, VAT, user=STRANGER)
    item = await painpoint(slack, VAT_AGAIN)
    kept_channel, kept_card = card_of(fake_slack, kept.id)
    told_before = len(fake_slack.dms_to(STRANGER))
    reporter_before = len(fake_slack.dms_to(REPORTER))

    await merge_into(slack, item.id, kept.id)

    stored = await load_item(jerry, item.id)
    assert (stored.status, stored.outcome, stored.merged_into, stored.duplicate_of) == (
        "resolved",
        "duplicate",
        kept.id,
        kept.id,
    )
    assert stored.resolved_by == LEAD
    assert "merged" in await event_kinds(jerry, item.id)
    assert await follower_ids(jerry, kept.id) == [item.id]
    assert await people_asking(jerry, kept.id) == 2

    # Its reporter, in their own thread: followed as #kept now, what #kept says, its status.
    [notice] = fake_slack.dms_to(REPORTER)[reporter_before:]
    texts = block_texts(notice["blocks"])
    assert texts[0] == (
        f":link: <@{LEAD}> (Payments) found that your pain point *#{item.id}* is the same as "
        f"*#{kept.id}*: it is now followed as *#{kept.id}*."
    )
    assert texts[2] == f"*#{kept.id}* says:\n> {VAT}\nStatus of #{kept.id}: New"
    assert texts[-1] == f"You will hear the answer and resolution of #{kept.id} in this thread."
    # (A /painpoint's receipt is ephemeral: this is the first DM about it, its thread's start.)
    assert notice.response["ts"] == (await load_item(jerry, item.id)).reporter_dm_ts
    assert button_ids(notice.args) == []  # nothing to reopen: a lead may undo it
    # The kept item's reporter is not told.
    assert len(fake_slack.dms_to(STRANGER)) == told_before

    # The merged item's card: merged, by whom, and "Undo merge" only.
    _, card = card_of(fake_slack, item.id)
    texts = block_texts(card["blocks"])
    assert f":link: *Merged into #{kept.id} by <@{LEAD}>*" in "\n".join(texts)
    assert f"*Status*\nMerged into #{kept.id}" in texts
    assert button_ids(card) == ["item_unmerge"]
    assert "Looks like" not in everything(card)
    assert card["text"].startswith(f"#{item.id} pain point for Payments · Merged into #{kept.id}:")
    # The kept item's card is re-rendered; its lead did it, so no line for them.
    assert updates_of(fake_slack, kept_channel, kept_card["ts"])
    assert not [c for c in fake_slack.posts(kept_channel) if c.get("thread_ts") == kept_card["ts"]]
    assert await undelivered(jerry) == []


async def test_the_kept_items_lead_is_told_when_someone_else_merges(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    kept = await painpoint(slack, VAT, user=STRANGER)
    item = await painpoint(slack, VAT_AGAIN)
    kept_channel, kept_card = card_of(fake_slack, kept.id)

    await merge_into(slack, item.id, kept.id, user=BACKUP)  # the team's backup

    [line] = [c for c in fake_slack.posts(kept_channel) if c.get("thread_ts") == kept_card["ts"]]
    assert block_texts(line["blocks"]) == [
        f":link: <@{BACKUP}> merged *#{item.id}* into *#{kept.id}*: now 2 people asked for it.\n"
        f"#{item.id} was reported by <@{REPORTER}>:\n> {VAT_AGAIN}"
    ]
    _, card = card_of(fake_slack, item.id)
    assert f"*Merged into #{kept.id} by <@{BACKUP}>*" in everything(card)
    assert await undelivered(jerry) == []


async def test_merging_an_item_others_follow_tells_every_reporter_and_undo_too(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    kept = await painpoint(slack, VAT, user=STRANGER)
    middle = await painpoint(slack, VAT_AGAIN)
    last = await painpoint(slack, VAT_THIRD, user=FRENCH)
    await merge_into(slack, last.id, middle.id)
    french_before = len(fake_slack.dms_to(FRENCH))
    reporter_before = len(fake_slack.dms_to(REPORTER))

    await merge_into(slack, middle.id, kept.id)

    assert (await load_item(jerry, last.id)).merged_into == kept.id
    assert await follower_ids(jerry, kept.id) == [middle.id, last.id]
    assert await people_asking(jerry, kept.id) == 3
    [to_reporter] = fake_slack.dms_to(REPORTER)[reporter_before:]
    assert f"your pain point *#{middle.id}* is the same as *#{kept.id}*" in to_reporter["text"]
    [to_french] = fake_slack.dms_to(FRENCH)[french_before:]
    assert block_texts(to_french["blocks"])[0] == spaced(
        f":link: <@{LEAD}> (Payments) a fusionné la demande *n° {middle.id}* dans la "
        f"demande *n° {kept.id}* : votre demande *n° {last.id}*, qui suivait le "
        f"*n° {middle.id}*, est désormais suivie sous le *n° {kept.id}*."
    )
    # The follower's card now names the item it follows.
    _, last_card = card_of(fake_slack, last.id)
    assert f"Merged into #{kept.id}" in everything(last_card)

    # Undo: the middle item is on its own, the last one follows it again; both are told.
    await undo(slack, middle.id)

    assert (await load_item(jerry, middle.id)).merged_into is None
    assert (await load_item(jerry, last.id)).merged_into == middle.id
    assert await follower_ids(jerry, kept.id) == []
    [_, undone] = fake_slack.dms_to(REPORTER)[reporter_before:]
    assert block_texts(undone["blocks"])[0] == (
        f":leftwards_arrow_with_hook: <@{LEAD}> (Payments) undid the merge of your pain point "
        f"*#{middle.id}* into *#{kept.id}*: it is followed on its own again, and you will hear "
        "its news here."
    )
    [_, undone_fr] = fake_slack.dms_to(FRENCH)[french_before:]
    assert (
        f"votre demande *n° {last.id}* suit de nouveau le *n° {middle.id}*" in (undone_fr["text"])
    )
    _, last_card = card_of(fake_slack, last.id)
    assert f"Merged into #{middle.id}" in everything(last_card)
    assert await undelivered(jerry) == []


# --- undo -------------------------------------------------------------------------------------


async def test_undo_merge_puts_the_item_back_and_tells_its_reporter(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    kept = await painpoint(slack, VAT, user=STRANGER)
    item = await painpoint(slack, VAT_AGAIN)
    await merge_into(slack, item.id, kept.id)
    reporter_before = len(fake_slack.dms_to(REPORTER))

    await undo(slack, item.id, user=ADMIN)  # an admin may undo it

    stored = await load_item(jerry, item.id)
    assert (stored.status, stored.outcome, stored.merged_into, stored.duplicate_of) == (
        "open",
        None,
        None,
        None,
    )
    assert stored.resolved_at is None and stored.acknowledged_at is None
    assert (await event_kinds(jerry, item.id))[-2:] == ["merged", "unmerged"]
    assert await people_asking(jerry, kept.id) == 1
    [notice] = fake_slack.dms_to(REPORTER)[reporter_before:]
    assert notice["text"] == (
        f"<@{ADMIN}> (Payments) undid the merge of your pain point *#{item.id}* into "
        f"*#{kept.id}*: it is followed on its own again, and you will hear its news here."
    )
    # The card is open again, with its actions and what looks like it.
    _, card = card_of(fake_slack, item.id)
    assert button_ids(card) == list(ACTIONS)
    assert merge_buttons(card) == [(f"Merge into #{kept.id}", f"{item.id}:{kept.id}")]
    # The kept item's lead (not the admin) hears that it was taken out.
    kept_channel, kept_card = card_of(fake_slack, kept.id)
    [line] = [c for c in fake_slack.posts(kept_channel) if c.get("thread_ts") == kept_card["ts"]]
    assert line["text"] == (
        f"<@{ADMIN}> took *#{item.id}* out of *#{kept.id}* (merge undone): now 1 person asked "
        "for it."
    )

    # A second click on "Undo merge" (the card as it was): answered, nothing changes.
    calls = len(fake_slack.calls)
    channel, _ = card_of(fake_slack, item.id)
    await press(slack, card, channel, "item_unmerge", str(item.id), LEAD)
    assert answered_privately(fake_slack)[-1] == (
        f"#{item.id} is not merged into another item (its merge was undone already). "
        "Nothing was changed."
    )
    assert not [c for c in fake_slack.calls[calls:] if c.method == "chat.postMessage"]
    assert await undelivered(jerry) == []


async def test_an_item_that_never_reached_its_lead_gets_its_card_when_taken_out(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    kept = await painpoint(slack, VAT, user=STRANGER)
    # A reporter added themselves to #kept before the lead's DM went out (the intake side):
    # the item is merged and its lead never had a card.
    async with jerry.sessions() as session:
        item = Item(
            kind="painpoint",
            text=VAT_AGAIN,
            reporter_id=REPORTER,
            source="command",
            route_step="keywords",
            team_id=kept.team_id,
            area_id=kept.area_id,
            assignee_id=LEAD,
        )
        session.add(item)
        await session.flush()
        kept_row = await session.get(Item, kept.id)
        assert kept_row is not None
        await merge_item(session, item, kept_row, REPORTER, by="reporter")
        await session.commit()
    before = len(fake_slack.dms_to(LEAD))

    await home_click(slack, "item_unmerge", item.id, user=BACKUP)

    stored = await load_item(jerry, item.id)
    assert (stored.status, stored.merged_into) == ("open", None)
    _, card = card_of(fake_slack, item.id)
    assert button_ids(card) == list(ACTIONS)
    assert stored.lead_dm_ts == card["ts"]
    assert len(fake_slack.dms_to(LEAD)) > before
    assert await undelivered(jerry) == []


# --- who may ---------------------------------------------------------------------------------


async def test_merge_and_undo_are_refused_to_who_may_not(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    kept = await painpoint(slack, VAT, user=STRANGER)
    item = await painpoint(slack, VAT_AGAIN)
    hidden = await painpoint(
        slack, "the ios app freezes on the invoice screen", channel="C0SUPPORT"
    )
    assert hidden.assignee_id == MOBILE_LEAD
    channel, card = card_of(fake_slack, item.id)
    value = f"{item.id}:{kept.id}"
    calls = len(fake_slack.calls)

    # Another team's lead, and the reporter: not theirs to merge.
    await press(slack, card, channel, "item_merge", value, MOBILE_LEAD)
    await press(slack, card, channel, "item_merge", value, REPORTER)
    not_allowed = (
        f"Only the team lead, the backup or a Jerry admin can act on #{item.id}. "
        "Nothing was changed."
    )
    assert answered_privately(fake_slack)[-2:] == [not_allowed, not_allowed]
    # Into an item the lead may not see (a forged button): refused, it says which.
    await press(slack, card, channel, "item_merge", f"{item.id}:{hidden.id}", LEAD)
    assert answered_privately(fake_slack)[-1] == (
        f"#{hidden.id} is not an item you can see: merge only into one of your team’s, assigned "
        "to you, or that you reported. Nothing was changed."
    )
    assert (await load_item(jerry, item.id)).status == "open"
    assert not [c for c in fake_slack.calls[calls:] if c.method == "chat.update"]
    assert not fake_slack.dms_to(REPORTER)

    await merge_into(slack, item.id, kept.id)
    # The reporter cannot undo a lead's merge; a stranger neither.
    await undo(slack, item.id, user=REPORTER)
    await undo(slack, item.id, user=STRANGER)
    refused = (
        f"Only the lead, the backup or a Jerry admin of #{item.id}, or of the item it was merged "
        "into, can undo its merge. Nothing was changed."
    )
    assert answered_privately(fake_slack)[-2:] == [refused, refused]
    assert (await load_item(jerry, item.id)).merged_into == kept.id
    # Nor reopen it alone: its reporter follows the kept item.
    await home_click(slack, "item_reopen", item.id, user=LEAD)  # the Home has no response_url
    assert fake_slack.dms_to(LEAD)[-1]["text"] == (
        f"#{item.id} was merged into #{kept.id}: its reporter follows #{kept.id}. To reopen "
        f"#{item.id} on its own, its lead first uses *Undo merge* on its card. Nothing was changed."
    )
    assert (await load_item(jerry, item.id)).merged_into == kept.id


async def test_a_double_click_merges_once(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    kept = await painpoint(slack, VAT, user=STRANGER)
    item = await painpoint(slack, VAT_AGAIN)
    channel, card = card_of(fake_slack, item.id)
    reporter_before = len(fake_slack.dms_to(REPORTER))

    await press(slack, card, channel, "item_merge", f"{item.id}:{kept.id}", LEAD)
    await press(slack, card, channel, "item_merge", f"{item.id}:{kept.id}", LEAD)

    assert answered_privately(fake_slack)[-1] == (
        f"#{item.id} was merged into #{kept.id} already. Nothing was changed."
    )
    assert len(fake_slack.dms_to(REPORTER)) == reporter_before + 1
    assert [k for k in await event_kinds(jerry, item.id) if k == "merged"] == ["merged"]
    assert await follower_ids(jerry, kept.id) == [item.id]


# --- anonymity --------------------------------------------------------------------------------


async def test_an_anonymous_reporter_is_never_named_through_a_merge(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    kept = await from_modal(slack, VAT, flags=("anonymous",), user=STRANGER)
    # The kept item came from a message whose link would point at its (anonymous) reporter.
    await set_item(
        jerry,
        kept.id,
        hide_origin=True,
        permalink="https://jerry-test.slack.com/archives/C0GENERAL/p1700000000000100",
    )
    item = await from_modal(slack, VAT_AGAIN, flags=("anonymous",))
    assert item.anonymous
    kept_channel, kept_card = card_of(fake_slack, kept.id)

    await merge_into(slack, item.id, kept.id, user=BACKUP)
    await undo(slack, item.id, user=BACKUP)
    await merge_into(slack, item.id, kept.id, user=BACKUP)

    # The kept item's lead: "someone (anonymous)", never who.
    lines = [c for c in fake_slack.posts(kept_channel) if c.get("thread_ts") == kept_card["ts"]]
    assert len(lines) == 3
    assert f"#{item.id} was reported by someone (anonymous):" in everything(lines[0].args)
    # Nothing Slack received names the anonymous reporter, outside their own DM; nor the
    # kept item's anonymous reporter, nor its hidden origin.
    shown = every_text_slack_received(fake_slack, but_to=REPORTER)
    assert REPORTER not in shown
    shown = every_text_slack_received(fake_slack, but_to=STRANGER)
    assert STRANGER not in shown
    assert "p1700000000000100" not in json.dumps([c.args for c in fake_slack.calls])
    # The merged reporter is told what the kept item says (same team), not who wrote it.
    told = everything(sent_to(fake_slack, REPORTER)[-1])
    assert VAT in told and STRANGER not in told
    assert await undelivered(jerry) == []


# --- "Duplicate of #N" in the Resolve form is the same merge ---------------------------------


async def test_resolving_as_a_duplicate_merges_and_tells_the_reporter_once(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    # Not suggested (it does not look like it): named in the form.
    kept = await painpoint(slack, "The refund button does nothing for annual plans", user=STRANGER)
    item = await painpoint(slack, VAT_AGAIN)
    follower = await painpoint(slack, VAT_THIRD, user=FRENCH)
    await merge_into(slack, follower.id, item.id)
    reporter_before = len(fake_slack.dms_to(REPORTER))
    french_before = len(fake_slack.dms_to(FRENCH))

    assert await resolve_as_duplicate(slack, item.id, f"#{kept.id}") is None

    stored = await load_item(jerry, item.id)
    assert (stored.outcome, stored.duplicate_of, stored.merged_into) == (
        "duplicate",
        kept.id,
        kept.id,
    )
    assert await follower_ids(jerry, kept.id) == [item.id, follower.id]
    assert await people_asking(jerry, kept.id) == 3
    # Its reporter: one message, the resolution, without Reopen (a lead may undo it).
    [resolution] = fake_slack.dms_to(REPORTER)[reporter_before:]
    assert resolution["text"] == (
        f"<@{LEAD}> (Payments) closed your pain point *#{item.id}*: it is the same as "
        f"*#{kept.id}*, which is followed there."
    )
    assert button_ids(resolution.args) == []
    assert block_texts(resolution["blocks"])[-1] == (
        f"You will hear the answer and resolution of #{kept.id} in this thread."
    )
    # Its follower's reporter hears that theirs follows the kept item now.
    [moved] = fake_slack.dms_to(FRENCH)[french_before:]
    assert f"*n° {follower.id}*, qui suivait le *n° {item.id}*" in moved["text"]
    # The card offers the undo; the undo works as for a merge by button.
    _, card = card_of(fake_slack, item.id)
    assert button_ids(card) == ["item_unmerge"]
    await undo(slack, item.id)
    stored = await load_item(jerry, item.id)
    assert (stored.status, stored.merged_into, stored.outcome) == ("open", None, None)
    assert (await load_item(jerry, follower.id)).merged_into == item.id
    assert await undelivered(jerry) == []


async def test_an_admin_merging_into_another_teams_item_shows_each_side_only_what_it_may_see(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    secret = "the ios app crashes and leaks the secret roadmap"
    kept = await painpoint(slack, secret, user=STRANGER, channel="C0SUPPORT")
    assert kept.assignee_id == MOBILE_LEAD
    item = await painpoint(slack, VAT_AGAIN)
    mobile_channel, mobile_card = card_of(fake_slack, kept.id, MOBILE_LEAD)

    # An admin may see both: "Duplicate of #kept" in the form merges it there.
    assert await resolve_as_duplicate(slack, item.id, f"#{kept.id}", user=ADMIN) is None

    assert (await load_item(jerry, item.id)).merged_into == kept.id
    # Mobile's lead: a count, not the other team's text nor its reporter.
    [line] = [
        c for c in fake_slack.posts(mobile_channel) if c.get("thread_ts") == mobile_card["ts"]
    ]
    assert block_texts(line["blocks"]) == [
        f":link: <@{ADMIN}> merged *#{item.id}* into *#{kept.id}*: now 2 people asked for it."
    ]
    # The reporter: the other team's item's status, not its text.
    told = everything(fake_slack.dms_to(REPORTER)[-1].args)
    assert f"Status of #{kept.id}: New" in told
    assert "secret roadmap" not in told
    # Payments' lead sees the merged state on their card, and may undo it.
    await undo(slack, item.id)
    assert (await load_item(jerry, item.id)).status == "open"
    assert await undelivered(jerry) == []


async def test_a_duplicate_of_an_item_that_follows_this_one_is_refused(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, VAT)
    follower = await painpoint(slack, VAT_AGAIN, user=STRANGER)
    await merge_into(slack, follower.id, item.id)
    response = await resolve_as_duplicate(slack, item.id, f"#{follower.id}")

    assert response == {
        "response_action": "errors",
        "errors": {
            "duplicate": f"#{follower.id} was merged into #{item.id} already: #{item.id} is the "
            "item to keep. Nothing was changed."
        },
    }
    assert (await load_item(jerry, item.id)).status == "open"


async def test_the_leads_dm_is_not_sent_twice_for_an_item_taken_out(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    """An item whose lead DM is still owed is not owed a second one when taken out."""
    kept = await painpoint(slack, VAT, user=STRANGER)
    item = await painpoint(slack, VAT_AGAIN)
    await merge_into(slack, item.id, kept.id)
    await undo(slack, item.id)
    async with jerry.sessions() as session:
        lead_dms = (
            await session.execute(
                select(Delivery.id).where(
                    Delivery.item_id == item.id, Delivery.purpose == "lead_dm"
                )
            )
        ).all()
    assert len(lead_dms) == 1  # its card was out: re-rendered, not posted again
