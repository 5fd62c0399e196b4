"""End to end: product updates recorded in Slack with /shipped and /upcoming, edited and
withdrawn with the buttons on Jerry's confirmation, listed with `/shipped list`; and the
answer form's "Share in the weekly summary" tick.

Driven through the ASGI app with signed Slack payloads; the bot talks to the fake Slack. The
handlers' clock is fixed (`handlers.updates.now`) so "today" is known.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bot.app import JerryApp
from bot.text import WORD_JOINER
from bot.updates import service as core
from models.routing import Area
from models.updates import ProductUpdate
from tests import payloads
from tests.fakeslack import FakeSlack
from tests.french import spaced
from tests.harness import ADMIN, SlackDriver
from tests.test_e2e_relay import (
    LEAD,
    REPORTER,
    STRANGER,
    events,
    everything,
    load_item,
    open_answer,
    painpoint,
)

pytestmark = pytest.mark.usefixtures("routed")
PM, FRENCH = REPORTER, "U0FRENCH"  # the reporter's timezone is Europe/Paris
# 23:30 UTC on Friday 20 November is already Saturday 21 November in Paris.
NOW = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
PARIS_TODAY = date(2026, 11, 21)


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    monkeypatch.setattr("handlers.updates.now", lambda: NOW)
    return NOW


# --- helpers --------------------------------------------------------------------------------


async def open_form(
    slack: SlackDriver, command: str = "/shipped", text: str = "", *, user: str = PM
) -> dict[str, Any]:
    before = len(slack.fake.calls_to("views.open", ok=True))
    response = await slack.command(command, text, user=user)
    assert response.status_code == 200 and not response.content, response.text
    await slack.settle()
    assert len(slack.fake.calls_to("views.open", ok=True)) == before + 1
    view = slack.last_view()
    assert view["callback_id"] == "jerry_update"
    return view


def block(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)


def area_value(view: dict[str, Any], name: str) -> str:
    options = block(view, "area")["element"]["options"]
    return next(o["value"] for o in options if o["text"]["text"].startswith(name))


def form_values(
    *,
    title: str,
    impact: str = "",
    area: str | None = None,
    link: str | None = None,
    when: str | None = None,
    confidence: str | None = None,
    audience: str = "customer",
) -> dict[str, dict[str, Any]]:
    """What Slack sends for the form: {block_id: {action_id: state}}."""
    values: dict[str, dict[str, Any]] = {
        "title": {"value": payloads.input_value(title)},
        "impact": {"value": payloads.input_value(impact)},
        "area": {"value": payloads.selected(area)},
        "link": {"value": {"type": "url_text_input", "value": link}},
        "date": {"value": {"type": "datepicker", "selected_date": when}},
        "audience": {"value": radio(audience)},
    }
    if confidence is not None:
        values["confidence"] = {"value": radio(confidence)}
    return values


def radio(value: str | None) -> dict[str, Any]:
    option = (
        None if value is None else {"text": {"type": "plain_text", "text": value}, "value": value}
    )
    return {"type": "radio_buttons", "selected_option": option}


async def submit(
    slack: SlackDriver, view: dict[str, Any], values: dict[str, Any], *, user: str = PM
) -> dict[str, Any] | None:
    response = await slack.submit(view, values, user=user)
    assert response.status_code == 200, response.text
    await slack.settle()
    return response.json() if response.content else None


async def all_updates(jerry: JerryApp) -> list[ProductUpdate]:
    async with jerry.sessions() as session:
        rows = await session.execute(select(ProductUpdate).order_by(ProductUpdate.id))
        return list(rows.scalars())


async def count_updates(jerry: JerryApp) -> int:
    async with jerry.sessions() as session:
        return (await session.execute(select(func.count(ProductUpdate.id)))).scalar_one()


def last_response(fake: FakeSlack) -> dict[str, Any]:
    assert fake.responses, "Jerry answered nothing through a response_url"
    return fake.responses[-1]


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {**element, "block_id": b["block_id"]}
        for b in message.get("blocks") or []
        if b.get("type") == "actions"
        for element in b["elements"]
    ]


async def click(
    slack: SlackDriver,
    message: dict[str, Any],
    action_id: str,
    *,
    user: str = PM,
    update_id: int | None = None,
) -> None:
    """Click a button on an ephemeral message (Slack sends no `message` for those)."""
    candidates = [b for b in buttons(message) if b["action_id"] == action_id]
    if update_id is not None:
        candidates = [b for b in candidates if b["value"] == str(update_id)]
    assert candidates, f"no {action_id} button"
    chosen = candidates[0]
    body = payloads.block_action(
        user=user,
        action_id=action_id,
        value=chosen["value"],
        channel="C0GENERAL",
        message={"ts": payloads.new_ts()},
        response_url=slack.fake.response_url(),
    )
    body["container"]["is_ephemeral"] = True
    body.pop("message", None)
    body["actions"][0]["block_id"] = chosen["block_id"]
    response = await slack.interactive(body)
    assert response.status_code == 200
    await slack.settle()


async def record_shipped(slack: SlackDriver, title: str, *, user: str = PM, **kwargs: Any) -> int:
    view = await open_form(slack, "/shipped", user=user)
    values = form_values(title=title, when=PARIS_TODAY.isoformat(), **kwargs)
    assert await submit(slack, view, values, user=user) is None
    return (await all_updates(slack.app))[-1].id


# --- /shipped and /upcoming -------------------------------------------------------------------


async def test_shipped_opens_the_form_stores_the_update_and_confirms(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    view = await open_form(slack, "/shipped")
    ids = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    assert ids == ["title", "impact", "area", "link", "items", "date", "audience"]
    assert view["title"]["text"] == "Shipped"
    assert block(view, "title")["optional"] is False
    assert block(view, "link")["element"]["type"] == "url_text_input"
    # The date shipped defaults to today where the user is (Paris), not in UTC.
    assert block(view, "date")["element"] == {
        "type": "datepicker",
        "action_id": "value",
        "initial_date": "2026-11-21",
    }
    area_labels = [o["text"]["text"] for o in block(view, "area")["element"]["options"]]
    assert area_labels == [
        "No particular area",
        "Billing (Payments)",
        "Checkout (Payments)",
        "iOS app (Mobile)",
        "Android app (Mobile)",
    ]
    audiences = block(view, "audience")["element"]
    assert audiences["type"] == "radio_buttons"
    assert [o["value"] for o in audiences["options"]] == ["internal", "customer"]

    values = form_values(
        title="Refunds in one click",
        impact="Support refunds an invoice <in seconds> & customers see it at once",
        area=area_value(view, "Billing"),
        link="https://example.com/changelog?x=1&y=2",
        when="2026-11-19",
    )
    assert await submit(slack, view, values) is None

    [update] = await all_updates(jerry)
    assert (update.kind, update.status, update.author_id) == ("shipped", "active", PM)
    assert update.title == "Refunds in one click"
    assert update.customer_impact == (
        "Support refunds an invoice &lt;in seconds&gt; &amp; customers see it at once"
    )
    async with jerry.sessions() as session:
        billing = (await session.execute(select(Area.id).where(Area.name == "Billing"))).scalar()
    assert update.area_id == billing
    assert (update.link, update.shipped_on) == (
        "https://example.com/changelog?x=1&y=2",
        date(2026, 11, 19),
    )
    assert (update.target_date, update.confidence, update.audience) == (None, None, "customer")
    assert update.created_at == NOW and update.updated_at == NOW and update.feed_id is None

    # The confirmation: privately where the command was typed, with Edit and Withdraw.
    confirmation = last_response(fake_slack)
    assert confirmation["response_type"] == "ephemeral"
    assert confirmation["replace_original"] is False
    assert confirmation["text"] == "Recorded as shipped: *Refunds in one click*"
    text = everything(confirmation)
    assert (
        "Billing" in text
        and "shipped on <!date^" in text
        and "|2026-11-19>" in text
        and "Customer-facing" in text
    )
    assert "<https://example.com/changelog?x=1&amp;y=2|Read more>" in text
    edit, withdraw = buttons(confirmation)
    assert (edit["action_id"], edit["value"]) == ("update_edit", str(update.id))
    assert (withdraw["action_id"], withdraw["value"]) == ("update_withdraw", str(update.id))
    assert withdraw["confirm"]["title"]["text"] == "Withdraw this update?"
    assert "Refunds in one click" in withdraw["confirm"]["text"]["text"]
    assert withdraw["confirm"]["style"] == "danger"
    assert not fake_slack.dms_to(PM)  # the response_url did it: no DM as well


async def test_upcoming_asks_a_target_date_and_a_confidence(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    view = await open_form(slack, "/upcoming")
    ids = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    assert ids == ["title", "impact", "area", "link", "date", "confidence", "audience"]
    assert view["title"]["text"] == "Coming up"
    assert "initial_date" not in block(view, "date")["element"]  # a target is chosen, not assumed
    confidence = block(view, "confidence")["element"]
    assert [o["value"] for o in confidence["options"]] == ["committed", "likely", "exploring"]

    values = form_values(
        title="Offline mode",
        area=area_value(view, "iOS app"),
        when="2027-01-15",
        confidence="committed",
        audience="internal",
    )
    assert await submit(slack, view, values) is None
    [update] = await all_updates(jerry)
    assert (update.kind, update.target_date, update.confidence) == (
        "upcoming",
        date(2027, 1, 15),
        "committed",
    )
    assert (update.shipped_on, update.audience, update.link) == (None, "internal", None)
    confirmation = last_response(fake_slack)
    assert confirmation["text"] == "Recorded as coming up: *Offline mode*"
    assert "|2027-01-15> · Committed" in everything(confirmation)  # each reader's format

    # Today (in Paris) is still a valid target date.
    view = await open_form(slack, "/upcoming")
    values = form_values(title="Today", when="2026-11-21", confidence="likely")
    assert await submit(slack, view, values) is None
    assert await count_updates(jerry) == 2


async def test_command_text_prefills_the_title_unicode_and_escapes_kept(
    slack: SlackDriver, jerry: JerryApp
) -> None:
    # Slack escapes the command's text (should_escape): the form shows it as typed.
    view = await open_form(slack, "/shipped", "Facturé &amp; “export” &lt;CSV&gt; 🚀")
    assert block(view, "title")["element"]["initial_value"] == "Facturé & “export” <CSV> 🚀"
    values = form_values(title="Facturé & “export” <CSV> 🚀", when="2026-11-20")
    assert await submit(slack, view, values) is None
    [update] = await all_updates(jerry)
    assert update.title == "Facturé &amp; “export” &lt;CSV&gt; 🚀"  # Slack's format, like items


@pytest.mark.parametrize(
    ("command", "changes", "errors"),
    [
        ("/shipped", {"title": "   "}, {"title": "Give the update a title."}),
        (
            "/shipped",
            {"title": "x" * 301},
            {
                "title": "At most 300 characters, please (this one counts 301; &, < and > count as several)."
            },
        ),
        (
            "/shipped",
            {"title": "R&D " * 60},  # 239 typed, 479 in Slack's format (the column holds 300)
            {
                "title": "At most 300 characters, please (this one counts 479; &, < and > count as several)."
            },
        ),
        (
            "/shipped",
            {"link": "not a url"},
            {"link": "Enter a full web address, starting with https:// or http://."},
        ),
        (
            "/shipped",
            {"link": "javascript:alert(1)"},
            {"link": "Enter a full web address, starting with https:// or http://."},
        ),
        (
            "/shipped",
            {"area": "area:99999"},
            {"area": "This area is no longer in the routing model: choose another."},
        ),
        (
            "/shipped",
            {"when": "2026-11-22"},
            {
                "date": "A shipped date cannot be after today (2026-11-21): use /upcoming for "
                "what is still coming."
            },
        ),
        (
            "/upcoming",
            {"when": "2026-11-20"},
            {"date": "The target date is in the past (today is 2026-11-21)."},
        ),
        ("/upcoming", {"when": None}, {"date": "Choose a target date."}),
        ("/upcoming", {"confidence": None}, {"confidence": "Choose how confident you are."}),
        (
            "/shipped",
            {"when": "21/11/2026"},
            {"date": "This date could not be read: choose it again."},
        ),
    ],
)
async def test_bad_input_keeps_the_form_open_with_a_clear_error_and_stores_nothing(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    jerry: JerryApp,
    command: str,
    changes: dict[str, Any],
    errors: dict[str, str],
) -> None:
    view = await open_form(slack, command)
    fields: dict[str, Any] = {"title": "A fine title", "when": "2026-11-21"}
    if command == "/upcoming":
        fields.update(when="2026-12-01", confidence="likely")
    fields.update(changes)
    answer = await submit(slack, view, form_values(**fields))
    assert answer == {"response_action": "errors", "errors": errors}
    assert await count_updates(jerry) == 0
    assert fake_slack.responses == [] and not fake_slack.dms_to(PM)


async def test_several_problems_are_all_reported_at_once(
    slack: SlackDriver, jerry: JerryApp
) -> None:
    view = await open_form(slack, "/upcoming")
    answer = await submit(
        slack, view, form_values(title="", link="ftp://example.com/x", when="2020-01-01")
    )
    assert answer is not None
    assert set(answer["errors"]) == {"title", "link", "date", "confidence"}
    assert await count_updates(jerry) == 0


async def test_huge_input_stays_within_slack_limits_and_defuses_broadcasts(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    huge = "word " * 4000
    view = await open_form(slack, "/shipped", huge)
    prefill = block(view, "title")["element"]["initial_value"]
    assert len(prefill) <= 300 and prefill.startswith("word word")
    title = "<!channel> @here " + "é" * 270  # 294 characters once escaped and defused
    impact = "@channel " + "🚀 big news & more " * 160  # 3000 characters: the input's maximum
    impact = impact[:3000]
    values = form_values(title=title, impact=impact, when="2026-11-21")
    assert await submit(slack, view, values) is None
    [update] = await all_updates(jerry)
    assert update.title.startswith(f"&lt;!channel&gt; @{WORD_JOINER}here ")
    assert update.customer_impact is not None and update.customer_impact.startswith(
        f"@{WORD_JOINER}channel"
    )
    confirmation = last_response(fake_slack)
    assert len(confirmation["blocks"]) <= 50
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in confirmation["blocks"])
    assert not fake_slack.violations  # nothing that would ping everyone, nothing over a limit

    # An impact longer than the input allows (a client that ignores max_length) is refused.
    view = await open_form(slack, "/shipped")
    answer = await submit(slack, view, form_values(title="t", impact="x" * 3001, when="2026-11-21"))
    assert answer == {
        "response_action": "errors",
        "errors": {"impact": "At most 3000 characters, please."},
    }


async def test_a_french_user_gets_everything_in_french(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    view = await open_form(slack, "/upcoming", user=FRENCH)
    assert view["title"]["text"] == "À venir"
    assert block(view, "title")["label"]["text"] == "Titre"
    assert [o["text"]["text"] for o in block(view, "confidence")["element"]["options"]] == [
        "Engagé",
        "Probable",
        "À l’étude",
    ]
    answer = await submit(
        slack, view, form_values(title="", when="2026-01-01", confidence="likely"), user=FRENCH
    )
    assert answer is not None
    assert answer["errors"]["title"] == "Donnez un titre à la mise à jour."
    assert answer["errors"]["date"] == "La date visée est passée (nous sommes le 2026-11-21)."
    values = form_values(title="Mode hors ligne", when="2027-02-01", confidence="exploring")
    assert await submit(slack, view, values, user=FRENCH) is None
    confirmation = last_response(fake_slack)
    assert confirmation["text"] == spaced("Enregistré comme à venir : *Mode hors ligne*")
    assert [b["text"]["text"] for b in buttons(confirmation)] == ["Modifier", "Retirer"]
    assert "prévu le <!date^" in everything(confirmation)
    assert "|2027-02-01> · À l’étude" in everything(confirmation)


# --- edit and withdraw ------------------------------------------------------------------------


async def test_the_author_edits_an_update_from_the_confirmation(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    update_id = await record_shipped(
        slack, "Refunds", impact="Faster refunds", link="https://example.com/a"
    )
    confirmation = last_response(fake_slack)
    await click(slack, confirmation, "update_edit")
    view = slack.last_view()
    assert view["callback_id"] == "jerry_update" and view["title"]["text"] == "Edit update"
    assert block(view, "title")["element"]["initial_value"] == "Refunds"
    assert block(view, "impact")["element"]["initial_value"] == "Faster refunds"
    assert block(view, "link")["element"]["initial_value"] == "https://example.com/a"
    assert block(view, "date")["element"]["initial_date"] == "2026-11-21"
    assert block(view, "audience")["element"]["initial_option"]["value"] == "customer"

    later = NOW + timedelta(hours=2)
    monkeypatch.setattr("handlers.updates.now", lambda: later)
    values = form_values(title="Refunds in one click", when="2026-11-18", audience="internal")
    assert await submit(slack, view, values) is None
    [update] = await all_updates(jerry)
    assert update.id == update_id
    assert (update.title, update.shipped_on, update.audience) == (
        "Refunds in one click",
        date(2026, 11, 18),
        "internal",
    )
    assert (update.link, update.customer_impact) == (None, None)  # emptied in the form
    assert update.created_at == NOW and update.updated_at == later
    # The confirmation is replaced by the new version.
    edited = last_response(fake_slack)
    assert edited["replace_original"] is True
    assert edited["text"] == "Update saved: *Refunds in one click*"
    assert edited["url"] == view_response_url(view)


def view_response_url(view: dict[str, Any]) -> str:
    import json

    return json.loads(view["private_metadata"])["response_url"]


async def test_withdraw_asks_first_then_takes_the_update_back_once(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    await record_shipped(slack, "Dark mode")
    confirmation = last_response(fake_slack)
    await click(slack, confirmation, "update_withdraw")
    [update] = await all_updates(jerry)
    assert (update.status, update.withdrawn_at) == ("withdrawn", NOW)
    withdrawn = last_response(fake_slack)
    assert withdrawn["replace_original"] is True
    assert withdrawn["text"] == "Withdrawn: ~Dark mode~. The weekly summaries will not show it."
    assert buttons(withdrawn) == []

    # The old buttons (another copy of the message) no longer change anything.
    await click(slack, confirmation, "update_withdraw")
    assert last_response(fake_slack)["text"] == (
        "This update was withdrawn; it can no longer change."
    )
    views_before = len(fake_slack.calls_to("views.open"))
    await click(slack, confirmation, "update_edit")
    assert len(fake_slack.calls_to("views.open")) == views_before
    assert last_response(fake_slack)["text"] == (
        "This update was withdrawn; it can no longer change."
    )
    [update] = await all_updates(jerry)
    assert update.status == "withdrawn" and update.withdrawn_at == NOW


async def test_only_the_author_or_an_admin_may_edit_or_withdraw(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    await record_shipped(slack, "SSO for everyone")
    confirmation = last_response(fake_slack)
    refusal = "Only the author of this update or a Jerry admin can change it. Nothing changed."

    views_before = len(fake_slack.calls_to("views.open"))
    await click(slack, confirmation, "update_edit", user=STRANGER)
    assert len(fake_slack.calls_to("views.open")) == views_before
    assert last_response(fake_slack)["text"] == refusal
    assert last_response(fake_slack)["replace_original"] is False
    await click(slack, confirmation, "update_withdraw", user=STRANGER)
    assert last_response(fake_slack)["text"] == refusal
    [update] = await all_updates(jerry)
    assert (update.status, update.title, update.updated_at) == ("active", "SSO for everyone", NOW)

    # A form opened by the author, submitted by someone else (a forged submission): refused.
    await click(slack, confirmation, "update_edit")
    view = slack.last_view()
    answer = await submit(
        slack, view, form_values(title="Hijacked", when="2026-11-21"), user=STRANGER
    )
    assert answer == {"response_action": "errors", "errors": {"title": refusal}}
    [update] = await all_updates(jerry)
    assert update.title == "SSO for everyone"

    # A Jerry admin may.
    answer = await submit(
        slack, view, form_values(title="SSO for all plans", when="2026-11-21"), user=ADMIN
    )
    assert answer is None
    await click(slack, confirmation, "update_withdraw", user=ADMIN)
    [update] = await all_updates(jerry)
    assert (update.title, update.status, update.author_id) == ("SSO for all plans", "withdrawn", PM)


async def test_a_button_for_an_update_that_does_not_exist(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    message = {
        "blocks": [
            {
                "type": "actions",
                "block_id": "update:424242",
                "elements": [
                    {"type": "button", "action_id": "update_withdraw", "value": "424242"},
                ],
            }
        ]
    }
    await click(slack, message, "update_withdraw")
    assert last_response(fake_slack)["text"] == "This update no longer exists. Nothing changed."


# --- list -------------------------------------------------------------------------------------


async def test_list_shows_your_twenty_latest_active_updates_newest_first(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    response = await slack.command("/shipped", "list")
    assert response.json()["text"] == (
        "You have no shipped update on record. Type `/shipped` to record one."
    )
    first = await record_shipped(slack, "The very first")
    for n in range(22):  # the rest straight through the core, one minute apart
        await core.create(
            jerry.sessions,
            core.UpdateDraft(kind="shipped", title=f"Update {n:02d}"),
            PM,
            today=PARIS_TODAY,
            now=NOW + timedelta(minutes=n + 1),
        )
    await core.create(
        jerry.sessions,
        core.UpdateDraft(kind="shipped", title="Someone else's"),
        STRANGER,
        today=PARIS_TODAY,
        now=NOW + timedelta(hours=1),
    )
    await core.create(
        jerry.sessions,
        core.UpdateDraft(
            kind="upcoming", title="Coming", target_date=date(2027, 1, 1), confidence="likely"
        ),
        PM,
        today=PARIS_TODAY,
        now=NOW + timedelta(hours=1),
    )
    withdrawn = (await all_updates(jerry))[-3]  # "Update 21"
    await core.withdraw(jerry.sessions, withdrawn.id, PM, (), now=NOW + timedelta(hours=2))

    response = await slack.command("/shipped", "list")
    assert response.status_code == 200
    listing = response.json()
    assert listing["response_type"] == "ephemeral"
    blocks = listing["blocks"]
    assert len(blocks) <= 50
    assert blocks[0]["text"]["text"] == "Your shipped updates (20)"
    titles = [b["text"]["text"].split("\n")[0] for b in blocks if b["type"] == "section"]
    assert titles == [
        f"*Update {n:02d}*" for n in range(20, 0, -1)
    ]  # 21 withdrawn; 00 and first cut
    values = [b["value"] for b in buttons(listing) if b["action_id"] == "update_withdraw"]
    assert len(values) == 20 and str(first) not in values and str(withdrawn.id) not in values
    assert "Someone else" not in everything(listing) and "Coming" not in everything(listing)

    upcoming = (await slack.command("/upcoming", "list")).json()
    assert upcoming["blocks"][0]["text"]["text"] == "Your upcoming updates (1)"

    # Withdrawing from the list refreshes the list in place.
    listing_message = {"blocks": blocks}
    target = int(values[0])
    await click(slack, listing_message, "update_withdraw", update_id=target)
    refreshed = last_response(fake_slack)
    assert refreshed["replace_original"] is True
    assert refreshed["blocks"][0]["text"]["text"] == "Your shipped updates (20)"
    assert str(target) not in [b["value"] for b in buttons(refreshed)]
    assert "*The very first*" not in everything(refreshed)  # still 20: "Update 00" moves up
    assert "*Update 00*" in everything(refreshed)

    # Editing from the list refreshes the list too.
    await click(slack, refreshed, "update_edit", update_id=int(values[1]))
    view = slack.last_view()
    assert await submit(slack, view, form_values(title="Renamed", when="2026-11-20")) is None
    again = last_response(fake_slack)
    assert again["replace_original"] is True and again["blocks"][0]["type"] == "header"
    assert "*Renamed*" in everything(again)


# --- the answer form's "share in the weekly summary" ------------------------------------------


async def test_a_lead_shares_a_questions_answer_in_the_summary(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    response = await slack.command("/ask", "can we refund an invoice twice?")
    assert response.status_code == 200
    await slack.settle()
    item = await load_item(jerry)
    assert item.kind == "question" and item.share_in_summary is False

    view = await open_answer(slack)
    share = block(view, "share")
    assert share["optional"] is True
    assert share["element"]["type"] == "checkboxes"
    assert share["element"]["options"][0]["text"]["text"] == "Share in the weekly summary"
    values = {
        "answer": {"value": payloads.input_value("Yes, from the billing page.")},
        "share": {"value": payloads.checked("share_in_summary")},
    }
    assert (await slack.submit(view, values, user=LEAD)).status_code == 200
    await slack.settle()
    stored = await load_item(jerry, item.id)
    assert stored.share_in_summary is True and stored.status == "answered"
    [answered] = await events(jerry, item.id, "answered")
    assert answered.detail == {"text": "Yes, from the billing page.", "share_in_summary": True}

    # A later answer without the tick: the flag follows the latest answer.
    view = await open_answer(slack)
    values = {
        "answer": {"value": payloads.input_value("Actually only once a day.")},
        "share": {"value": payloads.checked()},
    }
    assert (await slack.submit(view, values, user=LEAD)).status_code == 200
    await slack.settle()
    assert (await load_item(jerry, item.id)).share_in_summary is False
    assert [e.detail["share_in_summary"] for e in await events(jerry, item.id, "answered")] == [
        True,
        False,
    ]


async def test_pain_points_have_no_share_tick(slack: SlackDriver, jerry: JerryApp) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    view = await open_answer(slack)
    assert "share" not in [b.get("block_id") for b in view["blocks"]]
    # Even a forged tick does not share a pain point.
    values = {
        "answer": {"value": payloads.input_value("Fixed tomorrow.")},
        "share": {"value": payloads.checked("share_in_summary")},
    }
    assert (await slack.submit(view, values, user=LEAD)).status_code == 200
    await slack.settle()
    assert (await load_item(jerry, item.id)).share_in_summary is False


async def test_editing_keeps_an_archived_area_unless_another_is_chosen(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    view = await open_form(slack, "/shipped")
    billing = area_value(view, "Billing")
    values = form_values(title="Refunds", area=billing, when="2026-11-21")
    assert await submit(slack, view, values) is None
    confirmation = last_response(fake_slack)
    async with jerry.sessions() as session:
        await session.execute(update(Area).where(Area.name == "Billing").values(archived=True))
        await session.commit()

    await click(slack, confirmation, "update_edit")
    view = slack.last_view()
    area_menu = block(view, "area")["element"]
    assert "initial_option" not in area_menu  # Billing is no longer offered
    assert billing not in [o["value"] for o in area_menu["options"]]
    assert await submit(slack, view, form_values(title="Refunds v2", when="2026-11-21")) is None
    [stored] = await all_updates(jerry)
    assert (stored.title, stored.area_id) == ("Refunds v2", int(billing[5:]))

    # Choosing "No particular area" does clear it.
    await click(slack, confirmation, "update_edit")
    view = slack.last_view()
    values = form_values(title="Refunds v3", area="none", when="2026-11-21")
    assert await submit(slack, view, values) is None
    [stored] = await all_updates(jerry)
    assert (stored.title, stored.area_id) == ("Refunds v3", None)


async def test_when_the_response_url_is_gone_the_confirmation_comes_by_dm(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    view = await open_form(slack, "/shipped")
    fake_slack.expired_response_urls.add(view_response_url(view).rsplit("/", 1)[1])
    assert await submit(slack, view, form_values(title="Audit log", when="2026-11-21")) is None
    [dm] = fake_slack.dms_to(PM)
    assert dm["text"] == "Recorded as shipped: *Audit log*"
    assert [b["action_id"] for b in buttons(dm.args)] == ["update_edit", "update_withdraw"]
    assert await count_updates(jerry) == 1
