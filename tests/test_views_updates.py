"""The product update views (bot/views/updates.py) stay within Slack's limits whatever the
data, in both languages; and the pure helpers of bot/updates/service.py."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any

import pytest

from bot.i18n import LANGUAGES
from bot.items.domain import AreaChoice
from bot.text import WORD_JOINER
from bot.updates.domain import UpdateCard
from bot.updates.service import today_in, valid_link
from bot.views import updates as views

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
BROADCAST = re.compile(r"<!(channel|here|everyone)|(?<![\w\u2060])@(channel|here|everyone)\b")


def card(**overrides: Any) -> UpdateCard:
    fields: dict[str, Any] = {
        "id": 7,
        "kind": "shipped",
        "title": "Refunds in one click",
        "customer_impact": "Support refunds at once",
        "area": "Billing",
        "area_id": 3,
        "link": "https://example.com/changelog?a=1&b=2",
        "shipped_on": date(2026, 11, 19),
        "target_date": None,
        "confidence": None,
        "audience": "customer",
        "author_id": "U0PM",
        "status": "active",
        "created_at": NOW,
        "updated_at": NOW,
    }
    fields.update(overrides)
    return UpdateCard(**fields)


def worst(kind: str = "shipped", n: int = 7) -> UpdateCard:
    """Every text at its largest, in Slack's format (escaping makes it longer still)."""
    return card(
        id=n,
        kind=kind,
        title="<!channel> " + "&amp;" * 58,  # 300 characters as stored
        customer_impact="@here " + "&lt;é&gt; 🚀 " * 1000,
        area="A" * 200 + " @everyone",
        link="https://example.com/" + "p" * 1970,
        shipped_on=date(2026, 11, 19) if kind == "shipped" else None,
        target_date=date(2027, 1, 1) if kind == "upcoming" else None,
        confidence="exploring" if kind == "upcoming" else None,
    )


def check_blocks(blocks: list[dict[str, Any]], limit: int) -> None:
    """Slack's limits for the blocks Jerry builds here (fails with what is over)."""
    assert 0 < len(blocks) <= limit
    for block in blocks:
        kind = block["type"]
        text = (block.get("text") or {}).get("text", "")
        if kind == "section":
            assert text or block.get("fields")
            assert len(text) <= 3000
            assert len(block.get("fields") or []) <= 10
            assert all(len(f["text"]) <= 2000 for f in block.get("fields") or [])
        if kind == "header":
            assert len(text) <= 150
        if kind == "context":
            assert 0 < len(block["elements"]) <= 10
            assert all(len(e["text"]) <= 3000 for e in block["elements"])
        if kind == "actions":
            assert 0 < len(block["elements"]) <= 25
            assert len(block["block_id"]) <= 255
            for element in block["elements"]:
                assert len(element["text"]["text"]) <= 75
                assert len(element["value"]) <= 2000
                assert len(element["action_id"]) <= 255
                confirm = element.get("confirm")
                if confirm:
                    assert 0 < len(confirm["title"]["text"]) <= 100
                    assert 0 < len(confirm["text"]["text"]) <= 300
                    assert 0 < len(confirm["confirm"]["text"]) <= 30
                    assert 0 < len(confirm["deny"]["text"]) <= 30
        if kind == "input":
            assert 0 < len(block["label"]["text"]) <= 2000
            element = block["element"]
            if "placeholder" in element:
                assert len(element["placeholder"]["text"]) <= 150
            if "initial_value" in element:
                assert len(element["initial_value"]) <= element.get("max_length", 3000)
            options = element.get("options") or []
            assert len(options) <= (10 if element["type"] == "radio_buttons" else 100)
            for option in options:
                assert len(option["text"]["text"]) <= 75
                assert len(option["value"]) <= 150
            if "initial_option" in element:
                assert element["initial_option"] in options


def check_message(message: dict[str, Any]) -> None:
    check_blocks(message["blocks"], 50)
    assert 0 < len(message["text"]) <= 40000
    assert not BROADCAST.search(json.dumps(message, ensure_ascii=False)), "a broadcast mention"


# --- the form ---------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("kind", ["shipped", "upcoming"])
def test_the_form_fits_with_many_long_areas_and_a_huge_prefill(kind: str, lang: str) -> None:
    areas = [AreaChoice(id=n, name=f"Area {n} " + "x" * 300, team="T" * 200) for n in range(300)]
    view = views.update_modal(
        kind,
        areas,
        lang,
        today=date(2026, 11, 21),
        metadata={"response_url": "https://hooks.slack.com/" + "r" * 5000},
        prefill_title="&lt;big&gt; " * 2000,
    )
    check_blocks(view["blocks"], 100)
    assert 0 < len(view["title"]["text"]) <= 24 and len(view["submit"]["text"]) <= 24
    assert len(view["private_metadata"]) <= 3000
    assert json.loads(view["private_metadata"])["kind"] == kind  # the bulky URL was dropped
    title = view["blocks"][0]["element"]
    assert title["max_length"] == 300 and title["initial_value"].startswith("<big> <big>")
    area = next(b for b in view["blocks"] if b["block_id"] == "area")["element"]
    assert len(area["options"]) == 100 and area["options"][0]["value"] == "none"


def test_the_edit_form_is_prefilled_and_knows_its_update() -> None:
    upcoming = card(
        kind="upcoming",
        shipped_on=None,
        target_date=date(2027, 3, 1),
        confidence="committed",
        audience="internal",
        title="Offline &amp; sync",
    )
    areas = [AreaChoice(id=3, name="Billing", team="Payments")]
    view = views.update_modal(
        "upcoming", areas, "en", today=date(2026, 11, 21), metadata={}, card=upcoming
    )
    check_blocks(view["blocks"], 100)
    by_id = {b["block_id"]: b["element"] for b in view["blocks"]}
    assert by_id["title"]["initial_value"] == "Offline & sync"  # as the person typed it
    assert by_id["area"]["initial_option"]["value"] == "area:3"
    assert by_id["date"]["initial_date"] == "2027-03-01"
    assert by_id["confidence"]["initial_option"]["value"] == "committed"
    assert by_id["audience"]["initial_option"]["value"] == "internal"
    assert by_id["link"]["initial_value"] == "https://example.com/changelog?a=1&b=2"
    assert json.loads(view["private_metadata"]) == {"kind": "upcoming", "update": 7}
    assert view["title"]["text"] == "Edit update"


def test_no_areas_no_area_menu() -> None:
    view = views.update_modal("shipped", [], "en", today=date(2026, 11, 21), metadata={})
    assert "area" not in [b["block_id"] for b in view["blocks"]]
    check_blocks(view["blocks"], 100)


# --- messages ---------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("kind", ["shipped", "upcoming"])
def test_the_confirmation_fits_and_defuses_mentions(kind: str, lang: str) -> None:
    for edited in (False, True):
        message = views.update_message(worst(kind), lang, edited=edited)
        check_message(message)
        assert f"@{WORD_JOINER}channel" in message["text"]
        actions = [b for b in message["blocks"] if b["type"] == "actions"]
        assert [e["action_id"] for e in actions[0]["elements"]] == [
            "update_edit",
            "update_withdraw",
        ]
        assert {e["value"] for e in actions[0]["elements"]} == {"7"}
        assert actions[0]["block_id"] == "update:7"
    check_message(views.withdrawn_message(worst(kind), lang))


def test_the_confirmation_says_what_was_recorded() -> None:
    message = views.update_message(card(), "en")
    assert message["text"] == "Recorded as shipped: *Refunds in one click*"
    fields = next(b for b in message["blocks"] if "fields" in b)["fields"]
    assert [f["text"] for f in fields] == [
        "*Area*\nBilling",
        "*Shipped*\nshipped on <!date^1795089600^{date_short_pretty}|2026-11-19>",
        "*Audience*\nCustomer-facing",
        "*Link*\n<https://example.com/changelog?a=1&amp;b=2|Read more>",
    ]
    minimal = views.update_message(
        card(customer_impact=None, area=None, area_id=None, link=None), "fr"
    )
    check_message(minimal)
    assert len(next(b for b in minimal["blocks"] if "fields" in b)["fields"]) == 3
    assert "Aucun domaine en particulier" in json.dumps(minimal, ensure_ascii=False)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_list_of_twenty_worst_case_updates_fits(lang: str) -> None:
    cards = [worst("upcoming", n) for n in range(1, 26)]  # more than the core ever gives
    message = views.update_list(cards, "upcoming", lang)
    check_message(message)
    actions = [b for b in message["blocks"] if b["type"] == "actions"]
    assert len(actions) == 20
    assert [a["block_id"] for a in actions] == [f"update_list:{n}" for n in range(1, 21)]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_empty_list_says_how_to_add_one(lang: str) -> None:
    for kind in ("shipped", "upcoming"):
        message = views.update_list([], kind, lang)
        check_message(message)
        assert f"/{kind}" in message["text"]


def test_form_errors_are_keyed_by_block_in_the_readers_language() -> None:
    errors = {
        "title": ("updates.error.title_empty", {}),
        "date": ("updates.error.target_past", {"today": "2026-11-21"}),
    }
    assert views.form_errors(errors, "fr") == {
        "title": "Donnez un titre à la mise à jour.",
        "date": "La date visée est passée (nous sommes le 2026-11-21).",
    }


# --- pure helpers of the core -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("link", "ok"),
    [
        ("https://example.com", True),
        ("http://example.com/a?b=1&c=2#x", True),
        ("https://docs.example.co.uk:8443/path", True),
        ("https://localhost/x", True),
        ("example.com", False),
        ("ftp://example.com", False),
        ("javascript:alert(1)", False),
        ("https://", False),
        ("https://exa mple.com", False),
        ("https://example.com/<script>", False),
        ("https://example.com|label", False),
        ("https://example.com:99999/", False),
        ("https://nodot/", False),
        ("https://example.com/" + "a" * 2000, False),
    ],
)
def test_valid_link(link: str, ok: bool) -> None:
    assert valid_link(link) is ok


def test_today_is_the_users_date() -> None:
    late = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
    assert today_in("Europe/Paris", late) == date(2026, 11, 21)
    assert today_in("America/Los_Angeles", late) == date(2026, 11, 20)
    assert today_in(None, late) == date(2026, 11, 20)
    assert today_in("Not/AZone", late) == date(2026, 11, 20)
