"""Block Kit builders stay within Slack's limits whatever the data, in both languages."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.items.domain import AreaChoice, ItemCard, ReassignTarget
from bot.views import items as views
from bot.views.modals import answer_modal, intake_modal, reassign_modal

HUGE = ("Facturé 🧾 <!channel> refund & <@U1> " * 2000)[:40_000]


def card(**overrides: Any) -> ItemCard:
    base: dict[str, Any] = {
        "id": 12345,
        "kind": "painpoint",
        "status": "open",
        "text": HUGE,
        "reporter_id": "U0REP",
        "anonymous": False,
        "source": "shortcut",
        "team": "Payments" * 30,
        "assignee_id": "U0LEAD",
        "route_step": "keywords",
        "route_detail": {"area": "Billing", "keywords": ["refund"]},
        "area": "Billing" * 40,
        "channel_id": "C0GEN",
        "permalink": "https://x.slack.com/archives/C0GEN/p1",
        "impact": "blocking",
        "customer": "Acme <!here> " * 100,
        "customer_at_risk": True,
        "answer": HUGE,
        "answered_by": "U0LEAD",
    }
    base.update(overrides)
    return ItemCard(**base)


def texts(value: Any) -> list[str]:
    """Every string Slack would render as mrkdwn, where a mention could ping.

    plain_text objects and input initial values show `<!channel>` literally, so they are safe.
    """
    if isinstance(value, dict):
        if value.get("type") == "plain_text":
            return []
        return [s for k, v in value.items() if k != "initial_value" for s in texts(v)]
    if isinstance(value, list):
        return [s for v in value for s in texts(v)]
    return [value] if isinstance(value, str) else []


def check_blocks(blocks: list[dict[str, Any]], max_blocks: int) -> None:
    assert 0 < len(blocks) <= max_blocks
    for block in blocks:
        text = block.get("text")
        if block["type"] == "section" and text:
            assert len(text["text"]) <= 3000
        if block["type"] == "header":
            assert len(text["text"]) <= 150
        for field in block.get("fields", []):
            assert len(field["text"]) <= 2000
        for element in block.get("elements", []):
            if element.get("type") == "button":
                assert len(element["text"]["text"]) <= 75
            if element.get("type") == "mrkdwn":
                assert len(element["text"]) <= 3000
    for string in texts(blocks):
        assert "<!channel>" not in string and "<!here>" not in string


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"anonymous": True},
        {"status": "acknowledged", "acknowledged_by": "U0LEAD"},
        {"route_step": "unrouted", "route_detail": {}},
        {"route_step": "reassigned", "route_detail": {"by": "U0A", "from": "Mobile"}},
    ],
)
def test_lead_dm_within_limits(lang: str, overrides: dict[str, Any]) -> None:
    message = views.lead_dm(card(**overrides), lang)
    check_blocks(message["blocks"], 50)
    assert len(message["text"]) <= 40_000


def test_lead_dm_hides_anonymous_reporter_everywhere() -> None:
    message = views.lead_dm(card(anonymous=True, source="modal", reporter_id="U0SECRET"), "en")
    assert "U0SECRET" not in json.dumps(message)
    assert "anonymous" in json.dumps(message)


def test_lead_dm_actions_follow_status() -> None:
    def action_ids(message: dict[str, Any]) -> list[str]:
        return [
            e["action_id"]
            for b in message["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
        ]

    assert action_ids(views.lead_dm(card(status="open"), "en")) == [
        "item_answer",
        "item_acknowledge",
        "item_reassign",
        "item_ask_details",
        "item_resolve",
        "item_note",
    ]
    assert action_ids(views.lead_dm(card(status="acknowledged"), "en")) == [
        "item_answer",
        "item_reassign",
        "item_ask_details",
        "item_resolve",
        "item_note",
    ]
    assert action_ids(views.lead_dm(card(status="resolved"), "en")) == ["item_reopen"]
    assert action_ids(views.lead_dm(card(), "en", reassigned_to="Mobile")) == []


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_reporter_messages_within_limits(lang: str) -> None:
    for message in (
        views.receipt(card(), lang),
        views.answer_to_reporter(card(), lang, answer=HUGE, by="U0LEAD", team="Payments"),
        views.reporter_notice(card(), lang, "reopened", who="<@U0LEAD>", what=HUGE),
        views.reporter_notice(card(), lang, "acknowledged", who="<@U0LEAD>", team="Payments"),
        views.triage_alert(lang, "lead_unreachable", item=1, who="<@U0X>", error="user_not_found"),
    ):
        check_blocks(message["blocks"], 50)
        assert len(message["text"]) <= 40_000


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_modals_within_limits(lang: str) -> None:
    areas = [AreaChoice(i, f"Area {i} " * 20, f"Team {i}") for i in range(300)]
    targets = [ReassignTarget(f"team:{i}", f"Team {i}" * 20, "teams") for i in range(150)]
    targets += [ReassignTarget(f"area:{i}", f"Area {i}", "areas") for i in range(150)]
    targets.append(ReassignTarget("triage", "Triage", "triage"))
    for view in (
        intake_modal(
            "painpoint",
            areas,
            lang,
            metadata={"channel": "C1", "response_url": "https://x/" + "r" * 5000},
            prefill=HUGE,
        ),
        intake_modal("question", [], lang, metadata={}),
        answer_modal(card(), lang),
        reassign_modal(card(), targets, lang),
    ):
        check_blocks(view["blocks"], 100)
        assert len(view["title"]["text"]) <= 24
        assert len(view["private_metadata"]) <= 3000
        for block in view["blocks"]:
            element = block.get("element", {})
            options = element.get("options") or [
                o for g in element.get("option_groups", []) for o in g["options"]
            ]
            assert len(options) <= 100
            for option in options:
                assert len(option["text"]["text"]) <= 75
            assert len(element.get("initial_value", "")) <= 3000
