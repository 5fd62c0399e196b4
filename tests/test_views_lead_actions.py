"""The lead actions' Block Kit stays within Slack's limits whatever the data, in both languages."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.items.domain import ReassignTarget
from bot.views import items as item_views
from bot.views import lead_actions as views
from bot.views.modals import reassign_modal
from tests.test_views import HUGE, card, check_blocks, texts

LANGS = ["en", "fr"]
DUPLICATE = {
    "id": 99999,
    "text": HUGE[:1000],
    "status": "resolved",
    "answer": HUGE[:1000],
    "outcome": "fixed",
    "permalink": "https://x.slack.com/archives/C0GEN/p2",
}


def resolved(**overrides: Any) -> Any:
    base: dict[str, Any] = {
        "status": "resolved",
        "outcome": "duplicate",
        "duplicate_of": 99999,
        "resolution_note": HUGE,
        "resolved_by": "U0LEAD",
        "customer_outcome": "lost",
        "helped_deal": True,
    }
    base.update(overrides)
    return card(**base)


def all_elements(view: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for block in view["blocks"]:
        if "element" in block:
            found.append(block["element"])
        found += block.get("elements") or []
    return found


def check_modal(view: dict[str, Any]) -> None:
    check_blocks(view["blocks"], 100)
    # A modal with no input (a confirmation shown in place of a form) has no submit button.
    has_inputs = any(block["type"] == "input" for block in view["blocks"])
    for key in ("title", "submit", "close") if has_inputs else ("title", "close"):
        assert 0 < len(view[key]["text"]) <= 24
    assert has_inputs or "submit" not in view
    assert len(view["private_metadata"]) <= 3000
    assert len({b.get("block_id") for b in view["blocks"] if b.get("block_id")}) == len(
        [b for b in view["blocks"] if b.get("block_id")]
    )
    for block in view["blocks"]:
        if block["type"] == "input":
            assert len(block["label"]["text"]) <= 2000
    for element in all_elements(view):
        options = element.get("options") or []
        assert len(options) <= 100
        for group in element.get("option_groups") or []:
            assert len(group["label"]["text"]) <= 75
            options = options + group["options"]
        assert sum(len(g["options"]) for g in element.get("option_groups") or []) <= 100
        for opt in options:
            assert len(opt["text"]["text"]) <= 75 and len(opt["value"]) <= 150
        if "placeholder" in element:
            assert len(element["placeholder"]["text"]) <= 150


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("flagged", [False, True])
def test_resolve_modal_within_limits(lang: str, flagged: bool) -> None:
    view = views.resolve_modal(card(), lang, customer_flagged=flagged)
    check_modal(view)
    ids = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    expected = ["outcome", "duplicate", "note", "category"] + (
        ["customer", "deal"] if flagged else []
    )
    assert ids == expected
    assert json.loads(view["private_metadata"]) == {"item": 12345}
    assert view["callback_id"] == views.RESOLVE_CALLBACK


def test_resolve_modal_never_names_an_anonymous_reporter() -> None:
    view = views.resolve_modal(
        card(anonymous=True, reporter_id="U0SECRET"), "en", customer_flagged=False
    )
    assert "U0SECRET" not in json.dumps(view)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("outcome", views.OUTCOMES)
def test_resolution_to_reporter_within_limits(lang: str, outcome: str) -> None:
    message = views.resolution_to_reporter(
        card(),
        lang,
        outcome=outcome,
        by="U0LEAD",
        team="Payments" * 30,
        note=HUGE,
        duplicate=DUPLICATE if outcome == "duplicate" else None,
    )
    check_blocks(message["blocks"], 50)
    assert len(message["text"]) <= 40_000
    assert "<!channel>" not in message["text"]
    reopen = message["blocks"][-1]
    assert reopen["type"] == "actions"
    assert [(e["action_id"], e["value"]) for e in reopen["elements"]] == [("item_reopen", "12345")]


def test_duplicate_resolution_shows_what_the_original_says_and_its_link() -> None:
    message = views.resolution_to_reporter(
        card(),
        "en",
        outcome="duplicate",
        by="U0LEAD",
        team="Payments",
        duplicate={**DUPLICATE, "text": "refund is broken", "answer": "fixed Friday"},
    )
    rendered = json.dumps(message)
    assert "*#99999* says:\\n> refund is broken" in rendered
    assert "Status of #99999: Resolved (Fixed)" in rendered
    assert "Its answer:\\n> fixed Friday" in rendered
    assert "https://x.slack.com/archives/C0GEN/p2" in rendered
    no_link = views.resolution_to_reporter(
        card(), "en", outcome="duplicate", by="U0LEAD", team="P", duplicate={"id": 3, "text": "t"}
    )
    assert "archives" not in json.dumps(no_link["blocks"][1:])


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"outcome": "fixed", "duplicate_of": None, "resolution_note": None},
        {"customer_outcome": None, "helped_deal": False},
        {"anonymous": True},
    ],
)
def test_resolved_lead_dm_within_limits(lang: str, overrides: dict[str, Any]) -> None:
    message = item_views.lead_dm(resolved(**overrides), lang)
    check_blocks(message["blocks"], 50)
    buttons = [
        e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert buttons == ["item_reopen"]


def test_resolved_lead_dm_says_outcome_customer_and_deal() -> None:
    rendered = json.dumps(item_views.lead_dm(resolved(resolution_note="ok"), "en"))
    assert "Resolved by <@U0LEAD>: Duplicate of #99999" in rendered
    assert "Customer lost" in rendered and "Helped a deal" in rendered
    assert "Customer outcome" not in json.dumps(
        item_views.lead_dm(resolved(customer_outcome=None), "en")
    )


@pytest.mark.parametrize(
    ("status", "expected", "primary"),
    [
        (
            "open",
            [
                "item_answer",
                "item_acknowledge",
                "item_reassign",
                "item_ask_details",
                "item_resolve",
                "item_note",
            ],
            "item_acknowledge",
        ),
        (
            "acknowledged",
            ["item_answer", "item_reassign", "item_ask_details", "item_resolve", "item_note"],
            "item_answer",
        ),
        (
            "answered",
            ["item_answer", "item_reassign", "item_ask_details", "item_resolve", "item_note"],
            "item_resolve",
        ),
        ("resolved", ["item_reopen"], None),
    ],
)
def test_action_buttons_follow_status(status: str, expected: list[str], primary: str) -> None:
    buttons = views.action_buttons(card(status=status), "fr")
    # The same buttons, in the same order, as on the lead's DM.
    dm = item_views.lead_dm(card(status=status), "fr")
    assert [
        e["action_id"] for b in dm["blocks"] if b["type"] == "actions" for e in b["elements"]
    ] == expected
    assert [b["action_id"] for b in buttons] == expected
    assert all(b["value"] == "12345" and len(b["text"]["text"]) <= 75 for b in buttons)
    # The next step is the one highlighted: the card never pushes an action done already.
    assert [b["action_id"] for b in buttons if b.get("style") == "primary"] == (
        [primary] if primary else []
    )


@pytest.mark.parametrize("lang", LANGS)
def test_lead_notice_and_reopen_note(lang: str) -> None:
    notice = views.lead_notice(
        card(anonymous=True, reporter_id="U0SECRET"), lang, "reopened_by_reporter"
    )
    check_blocks(notice["blocks"], 50)
    assert "U0SECRET" not in json.dumps(notice)
    assert "U0REP" in json.dumps(views.lead_notice(card(), lang, "reopened_by_reporter"))
    assert "U0SECRET" not in views.reopen_note(
        lang, who="U0SECRET", by_reporter=True, anonymous=True
    )
    assert "<@U0LEAD>" in views.reopen_note(lang, who="U0LEAD", by_reporter=False, anonymous=True)


@pytest.mark.parametrize("lang", LANGS)
def test_reassign_modal_with_more_than_100_choices_cuts_areas_last_and_says_so(lang: str) -> None:
    targets = [ReassignTarget("triage", "Triage", "triage")]
    targets += [ReassignTarget(f"team:{n}", f"Team {n} " + "x" * 100, "teams") for n in range(40)]
    targets += [ReassignTarget(f"area:{n}", f"Area {n}", "areas") for n in range(120)]
    view = reassign_modal(card(), targets, lang)
    check_modal(view)
    groups = next(b for b in view["blocks"] if b.get("block_id") == "target")["element"][
        "option_groups"
    ]
    values = [o["value"] for g in groups for o in g["options"]]
    assert len(values) == 100
    assert values[0] == "triage"
    assert values[1:41] == [f"team:{n}" for n in range(40)]  # every team is reachable
    assert values[41:] == [f"area:{n}" for n in range(59)]  # areas cut last, in order
    assert "100" in json.dumps(view["blocks"][-1]) and "161" in json.dumps(view["blocks"][-1])

    small = reassign_modal(card(), targets[:10], lang)
    assert small["blocks"][-1]["block_id"] == "note"  # no cut, no note about it


def test_no_broadcast_in_any_lead_action_view() -> None:
    for value in (
        views.resolve_modal(card(), "en", customer_flagged=True)["blocks"],
        views.resolution_to_reporter(
            card(), "en", outcome="duplicate", by="U0L", team="T", note=HUGE, duplicate=DUPLICATE
        )["blocks"],
        views.resolution_blocks(resolved(), "en"),
    ):
        for string in texts(value):
            assert "<!channel>" not in string and "<!here>" not in string
