"""End to end: the lead actions Resolve (with an outcome) and Reopen, acknowledge and
reassign gaps, and the same buttons clicked from the App Home (no response_url there).

Driven through the ASGI app with signed Slack payloads; the bot talks to the fake Slack.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.app import JerryApp
from bot.sla.timings import timings_of_items
from models.base import utcnow
from models.deliveries import Delivery
from models.items import Item
from models.routing import Area, Team
from tests import payloads
from tests.fakeslack import FakeSlack
from tests.french import spaced
from tests.harness import ADMIN, SlackDriver
from tests.test_e2e_relay import (
    BACKUP,
    LEAD,
    MOBILE_LEAD,
    REPORTER,
    STRANGER,
    answer,
    block_texts,
    button_ids,
    click,
    event_kinds,
    events,
    everything,
    from_modal,
    lead_dm,
    load_item,
    open_answer,
    open_reassign,
    painpoint,
    reassign,
    reassign_options,
    submit_answer,
    undelivered,
    updates_of,
)

pytestmark = pytest.mark.usefixtures("routed")
FRENCH, NEW_LEAD = "U0FRENCH", "U0NEWLEAD"


# --- helpers --------------------------------------------------------------------------------


async def open_resolve(slack: SlackDriver, *, user: str = LEAD, lead: str = LEAD) -> dict[str, Any]:
    before = len(slack.fake.calls_to("views.open", ok=True))
    await click(slack, "item_resolve", user=user, lead=lead)
    assert len(slack.fake.calls_to("views.open", ok=True)) == before + 1
    view = slack.last_view()
    assert view["callback_id"] == "jerry_resolve"
    return view


def input_ids(view: dict[str, Any]) -> list[str]:
    return [b["block_id"] for b in view["blocks"] if b["type"] == "input"]


async def submit_resolve(
    slack: SlackDriver,
    view: dict[str, Any],
    outcome: str | None,
    *,
    note: str = "",
    duplicate: str = "",
    customer: str | None = None,
    deal: bool = False,
    user: str = LEAD,
) -> dict[str, Any] | None:
    values: dict[str, dict[str, Any]] = {
        "outcome": {"value": payloads.selected(outcome)},
        "duplicate": {"value": payloads.input_value(duplicate)},
        "note": {"value": payloads.input_value(note)},
    }
    if customer is not None or deal:
        values["customer"] = {"value": payloads.selected(customer)}
        values["deal"] = {"value": payloads.checked(*(["helped_deal"] if deal else []))}
    response = await slack.submit(view, values, user=user)
    assert response.status_code == 200
    await slack.settle()
    return response.json() if response.content else None


async def resolve(
    slack: SlackDriver, outcome: str, *, user: str = LEAD, lead: str = LEAD, **kwargs: Any
) -> None:
    view = await open_resolve(slack, user=user, lead=lead)
    assert await submit_resolve(slack, view, outcome, user=user, **kwargs) is None


def reporter_message(fake: FakeSlack, user: str = REPORTER) -> tuple[str, dict[str, Any]]:
    """The last DM Jerry sent the reporter: its channel and the message as it is now."""
    call = fake.dms_to(user)[-1]
    message = fake.message(call.response["channel"], call.response["ts"])
    assert message is not None
    return call.response["channel"], message


async def home_click(slack: SlackDriver, action_id: str, item_id: int, *, user: str) -> None:
    body = payloads.home_block_action(user=user, action_id=action_id, value=str(item_id))
    response = await slack.interactive(body)
    assert response.status_code == 200
    await slack.settle()


async def reopen_as_reporter(
    slack: SlackDriver, message: dict[str, Any], channel: str, *, what: str
) -> dict[str, Any]:
    """The reporter clicks Reopen on `message` and says what is still wrong; the form."""
    response = await slack.click(message, channel, "item_reopen", user=REPORTER)
    assert response.status_code == 200
    await slack.settle()
    view = slack.last_view()
    assert view["callback_id"] == "jerry_reopen"
    response = await slack.submit(
        view, {"what": {"value": payloads.input_value(what)}}, user=REPORTER
    )
    assert response.status_code == 200 and not response.content, response.text
    await slack.settle()
    return view


async def set_resolved_at(jerry: JerryApp, item_id: int, when: Any) -> None:
    async with jerry.sessions() as session:
        await session.execute(update(Item).where(Item.id == item_id).values(resolved_at=when))
        await session.commit()


def resolution_line(outcome_text: str, item_id: int, who: str = LEAD) -> str:
    return outcome_text.format(who=f"<@{who}>", id=item_id)


# --- resolve ----------------------------------------------------------------------------------


async def test_resolve_asks_the_outcome_tells_the_reporter_and_closes_the_dm(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    channel, ts, _ = lead_dm(fake_slack)

    view = await open_resolve(slack)
    # No customer on this item: no customer questions.
    assert input_ids(view) == ["outcome", "duplicate", "note", "category"]
    outcome_menu = view["blocks"][1]["element"]["options"]
    assert [o["value"] for o in outcome_menu] == [
        "fixed",
        "answered",
        "wont_fix",
        "duplicate",
        "known_issue",
    ]
    assert f"<@{REPORTER}>" in everything(view)
    assert not fake_slack.dms_to(REPORTER)  # opening the form tells nobody anything

    assert await submit_resolve(slack, view, "fixed", note="Shipped in 4.2 <3") is None

    stored = await load_item(jerry, item.id)
    assert (stored.status, stored.outcome, stored.resolved_by) == ("resolved", "fixed", LEAD)
    assert stored.resolution_note == "Shipped in 4.2 &lt;3"
    assert stored.resolved_at is not None and stored.acknowledged_at is not None
    assert (stored.customer_outcome, stored.helped_deal, stored.duplicate_of) == (
        None,
        False,
        None,
    )
    [event] = await events(jerry, item.id, "resolved")
    assert event.actor == LEAD
    assert event.detail == {
        "outcome": "fixed",
        "note": "Shipped in 4.2 &lt;3",
        "duplicate_of": None,
        "customer_outcome": None,
        "helped_deal": False,
    }

    # The reporter: the outcome in plain words, the note, a Reopen button.
    [to_reporter] = fake_slack.dms_to(REPORTER)
    line = f"Good news: <@{LEAD}> (Payments) fixed your pain point *#{item.id}*."
    assert to_reporter["text"] == f"{line}\nShipped in 4.2 &lt;3"
    assert block_texts(to_reporter["blocks"])[:3] == [
        f":white_check_mark: {line}",
        "> the invoice total is wrong",  # which item, in one line
        f"Note from <@{LEAD}>:\n> Shipped in 4.2 &lt;3",
    ]
    assert "You can reopen it within 30 days." in everything(to_reporter.args)
    assert button_ids(to_reporter.args) == ["item_reopen"]

    # The lead's DM, updated in place: resolved, the outcome shown, only Reopen left.
    assert len(fake_slack.dms_to(LEAD)) == 1
    assert updates_of(fake_slack, channel, ts)
    message = fake_slack.message(channel, ts)
    assert message is not None
    assert button_ids(message) == ["item_reopen"]
    texts = block_texts(message["blocks"])
    assert f":white_check_mark: *Resolved by <@{LEAD}>: Fixed*\n> Shipped in 4.2 &lt;3" in texts
    assert "*Status*\nResolved" in texts
    assert await undelivered(jerry) == []


@pytest.mark.parametrize(
    ("outcome", "sentence"),
    [
        ("answered", "{who} (Payments) closed your pain point *#{id}*: it has been answered."),
        ("wont_fix", "{who} (Payments) closed your pain point *#{id}*: it will not be changed."),
        (
            "known_issue",
            "{who} (Payments) closed your pain point *#{id}*: it is a known issue, already "
            "being tracked.",
        ),
    ],
)
async def test_each_outcome_is_told_in_plain_words(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp, outcome: str, sentence: str
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    await resolve(slack, outcome)

    [to_reporter] = fake_slack.dms_to(REPORTER)
    assert to_reporter["text"] == resolution_line(sentence, item.id)
    assert (await load_item(jerry, item.id)).outcome == outcome


async def test_a_duplicate_points_the_reporter_at_what_the_original_says(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    original = await painpoint(slack, "refund button does nothing", user=STRANGER)
    await answer(slack, "Known bug, fix ships Friday.")
    item = await painpoint(slack, "cannot refund a customer")

    await resolve(slack, "duplicate", duplicate=f"#{original.id}", note="Same root cause")

    stored = await load_item(jerry, item.id)
    assert (stored.outcome, stored.duplicate_of) == ("duplicate", original.id)
    [event] = await events(jerry, item.id, "resolved")
    assert event.detail["duplicate_of"] == original.id

    [to_reporter] = fake_slack.dms_to(REPORTER)
    texts = block_texts(to_reporter["blocks"])
    assert texts[0] == (
        f":white_check_mark: <@{LEAD}> (Payments) closed your pain point *#{item.id}*: it is the "
        f"same as *#{original.id}*, which is followed there."
    )
    assert texts[1].startswith("> ")  # which item, in one line
    assert texts[2] == f"Note from <@{LEAD}>:\n> Same root cause"
    assert texts[3] == (
        f"*#{original.id}* says:\n> refund button does nothing\n"
        f"Status of #{original.id}: Answered\nIts answer:\n> Known bug, fix ships Friday."
    )
    # The lead's DM names the original: the item is merged into it (issue 12), undoably.
    _, _, message = lead_dm(fake_slack)
    assert f"*Merged into #{original.id} by <@{LEAD}>*" in everything(message)
    assert button_ids(message) == ["item_unmerge"]
    assert button_ids(to_reporter.args) == []  # nothing to reopen: a lead may undo the merge


@pytest.mark.parametrize(
    ("duplicate", "error"),
    [
        ("", "A duplicate needs the number of the item it duplicates."),
        ("forty-two", "Write an item number, like 42."),
        ("999", "There is no item #999."),
        ("SELF", "#{id} cannot be a duplicate of itself."),
    ],
)
async def test_a_bad_duplicate_number_is_refused_in_the_form_and_nothing_changes(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp, duplicate: str, error: str
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    view = await open_resolve(slack)
    number = str(item.id) if duplicate == "SELF" else duplicate
    calls = len(fake_slack.calls)

    response = await submit_resolve(slack, view, "duplicate", duplicate=number)

    assert response == {
        "response_action": "errors",
        "errors": {"duplicate": error.format(id=item.id)},
    }
    stored = await load_item(jerry, item.id)
    assert (stored.status, stored.outcome) == ("open", None)
    assert "resolved" not in await event_kinds(jerry, item.id)
    assert not [c for c in fake_slack.calls[calls:] if c.method.startswith("chat.")]


async def test_a_form_without_an_outcome_is_refused(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    view = await open_resolve(slack)
    response = await submit_resolve(slack, view, None)
    assert response == {"response_action": "errors", "errors": {"outcome": "Pick an outcome."}}
    assert (await load_item(jerry, item.id)).status == "open"


async def test_customer_items_ask_and_keep_the_customer_outcome_and_the_deal(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await from_modal(
        slack, "the invoice export breaks", customer="Acme Corp", flags=("at_risk",)
    )
    channel, ts, _ = lead_dm(fake_slack)
    view = await open_resolve(slack)
    assert input_ids(view) == ["outcome", "duplicate", "note", "category", "customer", "deal"]
    customer_block = next(b for b in view["blocks"] if b.get("block_id") == "customer")
    assert [o["value"] for o in customer_block["element"]["options"]] == [
        "kept",
        "lost",
        "unknown",
    ]
    assert customer_block["element"]["initial_option"]["value"] == "unknown"

    assert await submit_resolve(slack, view, "fixed", customer="kept", deal=True) is None

    stored = await load_item(jerry, item.id)
    assert (stored.customer_outcome, stored.helped_deal) == ("kept", True)
    [event] = await events(jerry, item.id, "resolved")
    assert (event.detail["customer_outcome"], event.detail["helped_deal"]) == ("kept", True)
    message = fake_slack.message(channel, ts)
    assert message is not None
    texts = block_texts(message["blocks"])
    assert "*Customer outcome*\nCustomer kept" in texts
    assert "*Deal*\nHelped a deal" in texts


async def test_customer_fields_are_ignored_for_items_without_a_customer(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    view = await open_resolve(slack)
    # A forged submission with customer values for an item that has no customer.
    assert await submit_resolve(slack, view, "fixed", customer="lost", deal=True) is None
    stored = await load_item(jerry, item.id)
    assert (stored.status, stored.customer_outcome, stored.helped_deal) == (
        "resolved",
        None,
        False,
    )
    _, _, message = lead_dm(fake_slack)
    assert "Customer outcome" not in everything(message)


async def test_a_french_reporter_is_told_the_outcome_in_french(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "la facture est fausse", user=FRENCH)
    await resolve(slack, "wont_fix", note="Voulu par la loi")

    [to_reporter] = fake_slack.dms_to(FRENCH)
    assert to_reporter["text"] == (
        spaced(f"<@{LEAD}> (Payments) a résolu votre demande *n° {item.id}* : ")
        + "cela ne sera pas modifié.\nVoulu par la loi"
    )
    assert "Vous pouvez la rouvrir pendant 30 jours." in everything(to_reporter.args)
    assert to_reporter["blocks"][-1]["elements"][0]["text"]["text"] == "Rouvrir"
    # The lead reads English.
    _, _, message = lead_dm(fake_slack)
    assert f"*Resolved by <@{LEAD}>: Won't fix*" in everything(message)


async def test_resolving_twice_is_refused_in_the_second_form_and_tells_once(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    first = await open_resolve(slack)
    second = await open_resolve(slack, user=BACKUP)

    assert await submit_resolve(slack, first, "fixed") is None
    response = await submit_resolve(slack, second, "wont_fix", user=BACKUP)

    assert response == {
        "response_action": "errors",
        "errors": {
            "outcome": f"#{item.id} is already resolved (by <@{LEAD}>). "
            "Reopen it first to change its outcome."
        },
    }
    assert (await event_kinds(jerry, item.id)).count("resolved") == 1
    assert (await load_item(jerry, item.id)).outcome == "fixed"
    assert len(fake_slack.dms_to(REPORTER)) == 1


async def test_a_stranger_cannot_resolve_by_button_or_forged_form(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    view = await open_resolve(slack)
    await click(slack, "item_resolve", user=STRANGER)

    [refusal] = fake_slack.responses
    assert refusal["response_type"] == "ephemeral"
    assert refusal["text"].startswith("Only the team lead, the backup or a Jerry admin can act")
    assert len(fake_slack.calls_to("views.open", ok=True)) == 1

    response = await submit_resolve(slack, view, "fixed", user=STRANGER)
    assert response is not None and response["response_action"] == "errors"
    assert (await load_item(jerry, item.id)).status == "open"
    assert "resolved" not in await event_kinds(jerry, item.id)
    assert not fake_slack.dms_to(REPORTER)


async def test_an_admin_may_resolve(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    await resolve(slack, "answered", user=ADMIN)
    stored = await load_item(jerry, item.id)
    assert (stored.status, stored.resolved_by) == ("resolved", ADMIN)


async def test_a_mention_item_is_resolved_in_its_thread(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    _, body = await slack.mention("<@U0JERRY> the invoice pdf is blank")
    await slack.settle()
    item = await load_item(jerry)
    await resolve(slack, "fixed")

    thread = fake_slack.thread("C0GENERAL", body["event"]["ts"])
    assert thread[-1]["text"] == (
        f"Good news: <@{LEAD}> (Payments) fixed your question *#{item.id}*."
    )
    assert not fake_slack.dms_to(REPORTER)


# --- reopen -----------------------------------------------------------------------------------


async def test_the_lead_reopens_the_dm_comes_back_and_the_reporter_is_told(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    channel, ts, _ = lead_dm(fake_slack)
    await resolve(slack, "fixed", note="done")

    await click(slack, "item_reopen", user=LEAD)

    stored = await load_item(jerry, item.id)
    assert (stored.status, stored.assignee_id, stored.outcome) == ("open", LEAD, None)
    assert (stored.resolved_at, stored.resolved_by, stored.resolution_note) == (None, None, None)
    [event] = await events(jerry, item.id, "reopened")
    assert event.actor == LEAD
    assert event.detail["by"] == "lead" and event.detail["to"] == LEAD
    assert event.detail["previous"]["outcome"] == "fixed"
    # Same lead: the same DM is updated in place with its actions back.
    assert len(fake_slack.dms_to(LEAD)) == 1
    message = fake_slack.message(channel, ts)
    assert message is not None
    assert {"item_answer", "item_reassign", "item_resolve"} <= set(button_ids(message))
    assert "item_reopen" not in button_ids(message)
    assert "Resolved by" not in everything(message)
    # The reporter (the other party) is told.
    notice = fake_slack.dms_to(REPORTER)[-1]
    assert notice["text"] == (
        f"<@{LEAD}> (Payments) reopened your pain point *#{item.id}*: they will look at it again."
    )
    assert await undelivered(jerry) == []


async def test_the_reporter_reopens_from_the_resolution_and_the_lead_is_told(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    lead_channel, lead_ts, _ = lead_dm(fake_slack)
    await resolve(slack, "answered")
    channel, resolution = reporter_message(fake_slack)

    view = await reopen_as_reporter(slack, resolution, channel, what="Still wrong for Acme <3")
    assert view["blocks"][1]["label"]["text"] == "What is still wrong?"

    stored = await load_item(jerry, item.id)
    assert (stored.status, stored.assignee_id) == ("open", LEAD)
    [event] = await events(jerry, item.id, "reopened")
    assert (event.actor, event.detail["by"]) == (REPORTER, "reporter")
    assert event.detail["what"] == "Still wrong for Acme &lt;3"  # kept with the item
    # The lead hears it, with what is still wrong, in the thread of their DM, which is back
    # to its actions.
    [notice] = [m for m in fake_slack.thread(lead_channel, lead_ts) if m["ts"] != lead_ts]
    assert notice["text"] == (
        f"<@{REPORTER}> reopened *#{item.id}*: it is back in your queue.\n"
        "Still wrong for Acme &lt;3"
    )
    # The reporter's "resolved" message no longer says resolved, nor offers to reopen.
    [rewrite] = updates_of(fake_slack, channel, resolution["ts"])
    assert rewrite["text"] == (
        f"You reopened your pain point *#{item.id}*: the team will look at it again.\n"
        "Still wrong for Acme &lt;3"
    )
    now = fake_slack.message(channel, resolution["ts"])
    assert now is not None and button_ids(now) == [] and "Good news" not in everything(now)
    assert "> the invoice total is wrong" in everything(now)
    message = fake_slack.message(lead_channel, lead_ts)
    assert message is not None and "item_resolve" in button_ids(message)
    assert len(fake_slack.dms_to(REPORTER)) == 1  # no notice back to the one who reopened


async def test_reopened_then_resolved_again(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    await resolve(slack, "fixed")
    await click(slack, "item_reopen", user=LEAD)
    await resolve(slack, "known_issue")

    stored = await load_item(jerry, item.id)
    assert (stored.status, stored.outcome) == ("resolved", "known_issue")
    kinds = await event_kinds(jerry, item.id)
    assert [k for k in kinds if k in {"resolved", "reopened"}] == [
        "resolved",
        "reopened",
        "resolved",
    ]
    outcomes = [m["text"] for m in fake_slack.dms_to(REPORTER)]
    assert outcomes[0].startswith("Good news") and "known issue" in outcomes[-1]


async def test_reopen_goes_to_the_teams_current_lead_with_a_fresh_dm(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    fake_slack.add_user(NEW_LEAD, "nina", tz="Europe/Paris", locale="en-US")
    item = await painpoint(slack, "the invoice total is wrong")
    old_channel, old_ts, _ = lead_dm(fake_slack)
    await resolve(slack, "fixed")
    async with jerry.sessions() as session:
        await session.execute(update(Team).where(Team.name == "Payments").values(lead=NEW_LEAD))
        await session.commit()
    channel, resolution = reporter_message(fake_slack)

    await reopen_as_reporter(slack, resolution, channel, what="Totals still off")

    stored = await load_item(jerry, item.id)
    assert (stored.status, stored.assignee_id) == ("open", NEW_LEAD)
    [fresh] = fake_slack.dms_to(NEW_LEAD)
    assert (stored.lead_dm_channel, stored.lead_dm_ts) == (
        fresh.response["channel"],
        fresh.response["ts"],
    )
    assert f"Reopened by <@{REPORTER}>.\\nWhat is still wrong: Totals still off" in everything(
        fresh.args
    )
    assert {"item_answer", "item_acknowledge", "item_reassign", "item_resolve"} <= set(
        button_ids(fresh.args)
    )
    old = fake_slack.message(old_channel, old_ts)
    assert old is not None and button_ids(old) == []
    assert "Reassigned to Payments" in everything(old)


async def test_reopen_after_30_days_is_refused_with_a_pointer_to_painpoint(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    await resolve(slack, "fixed")
    resolved_at = utcnow() - timedelta(days=30, minutes=1)
    await set_resolved_at(jerry, item.id, resolved_at)
    channel, resolution = reporter_message(fake_slack)
    dms = len(fake_slack.dms_to(LEAD))

    await slack.click(resolution, channel, "item_reopen", user=REPORTER)
    await slack.settle()

    [refusal] = fake_slack.responses
    assert refusal["text"] == (
        f"#{item.id} was resolved more than 30 days ago and can no longer be reopened. "
        f"Please file a new one with `/painpoint` (you can mention #{item.id})."
    )
    stored = await load_item(jerry, item.id)
    assert (stored.status, stored.outcome, stored.resolved_at) == ("resolved", "fixed", resolved_at)
    assert "reopened" not in await event_kinds(jerry, item.id)
    assert len(fake_slack.dms_to(LEAD)) == dms


async def test_reopen_just_within_30_days_works(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    await resolve(slack, "fixed")
    await set_resolved_at(jerry, item.id, utcnow() - timedelta(days=29, hours=23))
    await click(slack, "item_reopen", user=LEAD)
    assert (await load_item(jerry, item.id)).status == "open"


async def test_a_stranger_cannot_reopen_and_nothing_changes(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    await resolve(slack, "fixed")
    channel, resolution = reporter_message(fake_slack)
    before = await event_kinds(jerry, item.id)
    calls = len(fake_slack.calls)

    await slack.click(resolution, channel, "item_reopen", user=STRANGER)
    await slack.settle()

    [refusal] = fake_slack.responses
    assert refusal["text"] == (
        f"Only the reporter, the team lead, the backup or a Jerry admin can reopen #{item.id}. "
        "Nothing was changed."
    )
    assert (await load_item(jerry, item.id)).status == "resolved"
    assert await event_kinds(jerry, item.id) == before
    assert not [c for c in fake_slack.calls[calls:] if c.method.startswith("chat.")]


async def test_a_double_reopen_is_harmless(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    await resolve(slack, "fixed")
    channel, resolution = reporter_message(fake_slack)

    # Two forms opened (two clicks), both submitted: the second is refused in its form.
    await slack.click(resolution, channel, "item_reopen", user=REPORTER)
    await slack.settle()
    first = slack.last_view()
    await slack.click(resolution, channel, "item_reopen", user=REPORTER)
    await slack.settle()
    second = slack.last_view()
    values = {"what": {"value": payloads.input_value("still broken")}}
    assert (await slack.submit(first, values, user=REPORTER)).status_code == 200
    await slack.settle()
    response = await slack.submit(second, values, user=REPORTER)
    await slack.settle()

    assert (await event_kinds(jerry, item.id)).count("reopened") == 1
    assert response.json()["errors"] == {
        "what": f"#{item.id} is not resolved, so there is nothing to reopen. Nothing was changed."
    }


async def test_an_anonymous_reporter_who_reopens_stays_anonymous(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await from_modal(slack, "the invoice export breaks", flags=("anonymous",))
    lead_channel, lead_ts, _ = lead_dm(fake_slack)
    await resolve(slack, "fixed")
    channel, resolution = reporter_message(fake_slack)

    await reopen_as_reporter(slack, resolution, channel, what="still blank")

    thread = [m for m in fake_slack.thread(lead_channel, lead_ts) if m["ts"] != lead_ts]
    assert [m["text"] for m in thread] == [
        f"The reporter (anonymous) reopened *#{item.id}*: it is back in your queue.\nstill blank"
    ]
    for call in fake_slack.dms_to(LEAD) + fake_slack.calls_to("chat.update"):
        assert REPORTER not in everything(call.args)
    assert (await load_item(jerry, item.id)).status == "open"


# --- acknowledge and reassign gaps --------------------------------------------------------------


async def test_reassign_to_the_same_team_is_refused_in_the_modal(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")  # Billing (Payments)
    view = await open_reassign(slack)
    choices = {k: v for group in reassign_options(view).values() for k, v in group.items()}
    for label in ("Payments", "Billing (Payments)"):
        response = await slack.submit(
            view,
            {
                "target": {"value": payloads.selected(choices[label])},
                "note": {"value": payloads.input_value("")},
            },
            user=LEAD,
        )
        assert response.json() == {
            "response_action": "errors",
            "errors": {
                "target": f"#{item.id} is already with Payments. Pick another team or area."
            },
        }
    await slack.settle()
    assert "reassigned" not in await event_kinds(jerry, item.id)
    assert len(fake_slack.dms_to(LEAD)) == 1


async def test_reassign_to_another_area_of_the_same_team_keeps_the_lead_and_the_dm(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")  # Billing (Payments)
    channel, ts, _ = lead_dm(fake_slack)
    await reassign(slack, "Checkout (Payments)", note="checkout, really")

    stored = await load_item(jerry, item.id)
    async with jerry.sessions() as session:
        area = await session.get(Area, stored.area_id)
    assert area is not None and area.name == "Checkout"
    assert stored.assignee_id == LEAD
    [event] = await events(jerry, item.id, "area_changed")
    assert event.detail["from_area"] == "Billing" and event.detail["to_area"] == "Checkout"
    assert len(fake_slack.dms_to(LEAD)) == 1
    message = fake_slack.message(channel, ts)
    assert message is not None and "Checkout" in message["blocks"][0]["text"]["text"]


async def test_a_resolved_item_cannot_be_reassigned(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    view = await open_reassign(slack)
    await resolve(slack, "fixed")
    choices = {k: v for group in reassign_options(view).values() for k, v in group.items()}
    response = await slack.submit(
        view,
        {
            "target": {"value": payloads.selected(choices["Mobile"])},
            "note": {"value": payloads.input_value("")},
        },
        user=LEAD,
    )
    assert response.json()["errors"] == {
        "target": f"#{item.id} is resolved: reopen it before reassigning it."
    }
    await slack.settle()
    assert not fake_slack.dms_to(MOBILE_LEAD)


async def test_a_resolved_item_cannot_be_answered(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    view = await open_answer(slack)
    await resolve(slack, "fixed")
    told = len(fake_slack.dms_to(REPORTER))

    assert await submit_answer(slack, view, "It is fixed in 5.1.") == {
        "response_action": "errors",
        "errors": {"answer": f"#{item.id} is resolved: reopen it before answering it."},
    }
    stored = await load_item(jerry, item.id)
    assert stored.status == "resolved" and stored.answer_text is None
    assert "answered" not in await event_kinds(jerry, item.id)
    assert len(fake_slack.dms_to(REPORTER)) == told


@pytest.mark.parametrize(
    ("lang", "refusal"),
    [
        ("en", "#{id} is resolved: reopen it before asking for details."),
        ("fr", spaced("Le n° {id} est résolu : rouvrez-le avant de demander des précisions.")),
    ],
)
async def test_a_resolved_item_cannot_be_asked_about(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp, lang: str, refusal: str
) -> None:
    fake_slack.users[LEAD].locale = "fr-FR" if lang == "fr" else "en-US"
    item = await painpoint(slack, "the invoice total is wrong")
    channel, _, message = lead_dm(fake_slack)
    await slack.click(message, channel, "item_ask_details", user=LEAD)
    await slack.settle()
    view = slack.last_view()
    await resolve(slack, "fixed")
    told = len(fake_slack.dms_to(REPORTER))

    response = await slack.submit(
        view, {"question": {"value": payloads.input_value("Which invoice?")}}, user=LEAD
    )
    assert response.json() == {
        "response_action": "errors",
        "errors": {"question": refusal.format(id=item.id)},
    }
    await slack.settle()
    assert (await load_item(jerry, item.id)).status == "resolved"
    assert "details_requested" not in await event_kinds(jerry, item.id)
    assert len(fake_slack.dms_to(REPORTER)) == told


async def test_reassign_after_acknowledge_tells_the_reporter_who_and_where(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    await click(slack, "item_acknowledge", user=LEAD)
    await reassign(slack, "Mobile", note="iOS computes it")

    # The reporter heard that a person took it; a move between teams is not theirs to hear.
    texts = [c["text"] for c in fake_slack.dms_to(REPORTER)]
    assert texts == [f"<@{LEAD}> (Payments) is on your pain point *#{item.id}*."]
    [new_dm] = fake_slack.dms_to(MOBILE_LEAD)
    assert "Note: iOS computes it" in everything(new_dm.args)


# --- the same buttons from the App Home -------------------------------------------------------


async def test_home_tab_acknowledge_works_without_a_response_url(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    channel, ts, _ = lead_dm(fake_slack)

    await home_click(slack, "item_acknowledge", item.id, user=LEAD)

    stored = await load_item(jerry, item.id)
    assert (stored.status, stored.acknowledged_by) == ("acknowledged", LEAD)
    message = fake_slack.message(channel, ts)
    assert message is not None and "item_acknowledge" not in button_ids(message)
    assert fake_slack.dms_to(REPORTER)[-1]["text"] == (
        f"<@{LEAD}> (Payments) is on your pain point *#{item.id}*."
    )


async def test_home_tab_refusals_reach_the_user_as_a_dm(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    for action in ("item_acknowledge", "item_answer", "item_reassign", "item_resolve"):
        await home_click(slack, action, item.id, user=STRANGER)

    refusals = [c["text"] for c in fake_slack.dms_to(STRANGER)]
    expected = (
        f"Only the team lead, the backup or a Jerry admin can act on #{item.id}. "
        "Nothing was changed."
    )
    assert refusals == [expected] * 4
    assert fake_slack.responses == []
    assert not fake_slack.calls_to("views.open")
    assert (await load_item(jerry, item.id)).status == "open"


async def test_home_tab_resolve_opens_the_form_and_reopen_confirms_by_dm(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    await home_click(slack, "item_resolve", item.id, user=LEAD)
    view = slack.last_view()
    assert view["callback_id"] == "jerry_resolve"
    assert await submit_resolve(slack, view, "fixed") is None
    assert (await load_item(jerry, item.id)).status == "resolved"

    await home_click(slack, "item_resolve", item.id, user=LEAD)  # stale Home: already resolved
    assert fake_slack.dms_to(LEAD)[-1]["text"] == (
        f"#{item.id} is already resolved (by <@{LEAD}>). Reopen it first to change its outcome."
    )

    # The reporter reopens from their Home: the form asks what is still wrong.
    await home_click(slack, "item_reopen", item.id, user=REPORTER)
    view = slack.last_view()
    assert view["callback_id"] == "jerry_reopen"
    await slack.submit(view, {"what": {"value": payloads.input_value("again")}}, user=REPORTER)
    await slack.settle()
    assert (await load_item(jerry, item.id)).status == "open"
    # The resolution DM they got says it is reopened now.
    _, resolution = reporter_message(fake_slack)
    assert resolution["text"].startswith(f"You reopened your pain point *#{item.id}*")

    await home_click(slack, "item_resolve", item.id, user=LEAD)
    assert await submit_resolve(slack, slack.last_view(), "fixed") is None
    await set_resolved_at(jerry, item.id, utcnow() - timedelta(days=45))
    await home_click(slack, "item_reopen", item.id, user=REPORTER)
    assert "`/painpoint`" in fake_slack.dms_to(REPORTER)[-1]["text"]
    assert (await load_item(jerry, item.id)).status == "resolved"


async def test_every_lead_action_is_an_event_with_actor_and_time(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    await click(slack, "item_acknowledge", user=LEAD)
    await answer(slack, "looking")
    await resolve(slack, "fixed")
    await click(slack, "item_reopen", user=LEAD)
    await reassign(slack, "Mobile")
    await resolve(slack, "wont_fix", user=MOBILE_LEAD, lead=MOBILE_LEAD)

    async with jerry.sessions() as session:
        rows = (
            await session.execute(
                select(Delivery.purpose).where(Delivery.item_id == item.id).order_by(Delivery.id)
            )
        ).scalars()
        purposes = list(rows)
    assert purposes.count("resolution") == 2
    mine = {"created", "acknowledged", "answered", "resolved", "reopened", "reassigned"}
    kinds = [k for k in await event_kinds(jerry, item.id) if k in mine]
    assert kinds == [
        "created",
        "acknowledged",
        "answered",
        "resolved",
        "reopened",
        "reassigned",
        "resolved",
    ]
    for kind in ("acknowledged", "answered", "resolved", "reopened", "reassigned"):
        for event in await events(jerry, item.id, kind):
            assert event.actor in {LEAD, MOBILE_LEAD} and event.at is not None


async def test_timings_come_from_the_recorded_events(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    await click(slack, "item_acknowledge", user=LEAD)
    await answer(slack, "looking")
    await resolve(slack, "fixed")

    [timings] = (await timings_of_items(jerry.sessions, [item.id])).values()
    created = (await events(jerry, item.id, "created"))[0].at
    [acknowledged] = await events(jerry, item.id, "acknowledged")
    [answered] = await events(jerry, item.id, "answered")
    [resolved] = await events(jerry, item.id, "resolved")
    assert timings.time_to_acknowledge == acknowledged.at - created
    assert timings.time_to_first_answer == answered.at - created
    assert timings.time_to_resolve == resolved.at - created

    await click(slack, "item_reopen", user=LEAD)
    [timings] = (await timings_of_items(jerry.sessions, [item.id])).values()
    assert timings.time_to_resolve is None  # open again: not resolved
