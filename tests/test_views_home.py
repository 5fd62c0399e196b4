"""The App Home builders against Slack's limits, whatever the data (no database, no Slack)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.i18n import LANGUAGES
from bot.text import WORD_JOINER
from bot.views.help import LedTeam, Welcome
from bot.views.home import (
    BREACHES,
    LISTS,
    MINE,
    PAGE_SIZES,
    QUEUE,
    TEAMS,
    UNDELIVERED,
    AdminHome,
    HomeData,
    HomeItem,
    Page,
    RuleGlance,
    TeamGlance,
    UndeliveredRow,
    age_phrase,
    age_text,
    decode_offsets,
    encode_offsets,
    home_view,
    parse_page_value,
)

NOW = datetime(2025, 3, 14, 15, 9, tzinfo=UTC)
LONG = "Le paiement échoue 💳 quand la facture dépasse 10 000 € — عربى — e\u0301 " * 400
BROADCAST = "<!channel> <!here> <!subteam^S1|@team> help"

# Slack's Block Kit limits (https://docs.slack.dev/reference/block-kit).
VIEW_BLOCKS, SECTION_TEXT, FIELD_TEXT, FIELDS, HEADER_TEXT = 100, 3000, 2000, 10, 150
BUTTON_TEXT, BUTTON_VALUE, ACTION_ELEMENTS, CONTEXT_ELEMENTS, ID_LENGTH = 75, 2000, 25, 10, 255
PRIVATE_METADATA = 3000
SELECT_OPTIONS, OPTION_TEXT, OPTION_VALUE = 100, 75, 150


def problems(view: dict[str, Any]) -> list[str]:
    """Everything real Slack would refuse in a Home view (empty list: valid)."""
    found: list[str] = []
    blocks = view.get("blocks") or []
    if view.get("type") != "home":
        found.append("not a home view")
    if not 0 < len(blocks) <= VIEW_BLOCKS:
        found.append(f"{len(blocks)} blocks")
    if len(view.get("private_metadata", "")) > PRIVATE_METADATA:
        found.append("private_metadata too long")
    block_ids: list[str] = []

    def text_ok(where: str, obj: dict[str, Any] | None, limit: int) -> None:
        if obj is None:
            return
        text = obj.get("text")
        if obj.get("type") not in {"plain_text", "mrkdwn"} or not isinstance(text, str):
            found.append(f"{where}: bad text object {obj!r}")
        elif not text.strip():
            found.append(f"{where}: empty text")
        elif len(text) > limit:
            found.append(f"{where}: {len(text)} characters (limit {limit})")

    def button_ok(where: str, element: dict[str, Any]) -> str:
        text_ok(where, element.get("text"), BUTTON_TEXT)
        if element["text"]["type"] != "plain_text":
            found.append(f"{where}: button text must be plain_text")
        if len(element.get("value", "")) > BUTTON_VALUE:
            found.append(f"{where}: value too long")
        action_id = element.get("action_id", "")
        if not action_id or len(action_id) > ID_LENGTH:
            found.append(f"{where}: action_id {action_id!r}")
        return action_id

    def select_ok(where: str, element: dict[str, Any]) -> None:
        """A menu: its options (text, value), the one shown chosen among them."""
        options = element.get("options") or []
        if not 0 < len(options) <= SELECT_OPTIONS:
            found.append(f"{where}: {len(options)} options")
        for option in options:
            text_ok(where + " option", option.get("text"), OPTION_TEXT)
            if option["text"]["type"] != "plain_text":
                found.append(f"{where}: option text must be plain_text")
            if not 0 < len(option.get("value", "")) <= OPTION_VALUE:
                found.append(f"{where}: option value {option.get('value')!r}")
        if "initial_option" in element and element["initial_option"] not in options:
            found.append(f"{where}: initial_option is not one of its options")
        action_id = element.get("action_id", "")
        if not action_id or len(action_id) > ID_LENGTH:
            found.append(f"{where}: action_id {action_id!r}")

    for n, block in enumerate(blocks):
        where = f"block {n} ({block.get('type')})"
        if "block_id" in block:
            block_ids.append(block["block_id"])
            if len(block["block_id"]) > ID_LENGTH:
                found.append(f"{where}: block_id too long")
        kind = block.get("type")
        if kind == "header":
            text_ok(where, block.get("text"), HEADER_TEXT)
            if block["text"]["type"] != "plain_text":
                found.append(f"{where}: header must be plain_text")
        elif kind == "section":
            if "text" not in block and not block.get("fields"):
                found.append(f"{where}: no text and no fields")
            text_ok(where, block.get("text"), SECTION_TEXT)
            fields = block.get("fields") or []
            if len(fields) > FIELDS:
                found.append(f"{where}: {len(fields)} fields")
            for field in fields:
                text_ok(where + " field", field, FIELD_TEXT)
            if "accessory" in block and block["accessory"].get("type") == "static_select":
                select_ok(where + " accessory", block["accessory"])
            elif "accessory" in block and block["accessory"].get("type") == "overflow":
                menu = block["accessory"]
                if not 2 <= len(menu.get("options") or []) <= 5:
                    found.append(f"{where}: overflow with {len(menu.get('options') or [])} options")
                select_ok(where + " overflow", {**menu, "type": "static_select"})
            elif "accessory" in block:
                button_ok(where + " accessory", block["accessory"])
        elif kind == "context":
            elements = block.get("elements") or []
            if not 0 < len(elements) <= CONTEXT_ELEMENTS:
                found.append(f"{where}: {len(elements)} elements")
            for element in elements:
                text_ok(where, element, SECTION_TEXT)
        elif kind == "actions":
            elements = block.get("elements") or []
            if not 0 < len(elements) <= ACTION_ELEMENTS:
                found.append(f"{where}: {len(elements)} elements")
            ids = []
            for element in elements:
                if element.get("type") == "static_select":
                    select_ok(where, element)
                    ids.append(element.get("action_id", ""))
                else:
                    ids.append(button_ok(where, element))
            if len(set(ids)) != len(ids):
                found.append(f"{where}: repeated action_id in {ids}")
        elif kind == "image":
            # An uploaded chart (Insights): named by its file, with its words.
            if not block.get("alt_text") or len(block["alt_text"]) > 2000:
                found.append(f"{where}: alt_text")
            if set(block.get("slack_file") or {}) != {"id"} or "image_url" in block:
                found.append(f"{where}: not an uploaded Slack file")
        elif kind != "divider":
            found.append(f"{where}: unexpected block type")
    if len(set(block_ids)) != len(block_ids):
        found.append("repeated block_id")
    json.dumps(view)  # serialisable as is
    return found


# --- data -----------------------------------------------------------------------------------


def item(n: int, *, text: str = "the invoice total is wrong", **kwargs: Any) -> HomeItem:
    values: dict[str, Any] = {
        "id": n,
        "kind": "painpoint" if n % 2 else "question",
        "status": ("open", "acknowledged", "answered", "resolved")[n % 4],
        "text": text,
        "team": "Payments",
        "lead": "U0PAYLEAD",
        "reporter_id": "U0REPORTER",
        "anonymous": n % 3 == 0,
        "created_at": NOW - timedelta(hours=n),
        "age": timedelta(hours=n),
        "area": "Billing",
        "sla": ("ok", "due_soon", "breached", "escalated", "none")[n % 5],
        "due_at": NOW + timedelta(hours=2),
    }
    values.update(kwargs)
    if values["status"] == "resolved":
        values.setdefault("resolved_at", NOW - timedelta(days=1))
        values["can_reopen"] = True
    return HomeItem(**values)


def page(name: str, rows: list[Any], *, total: int | None = None, offset: int = 0) -> Page[Any]:
    return Page(name, tuple(rows[offset : offset + PAGE_SIZES[name]]), offset, total or len(rows))


def team(n: int, *, name: str | None = None, areas: int = 3) -> TeamGlance:
    return TeamGlance(
        id=n,
        name=name or f"Team {n}",
        lead=f"U0LEAD{n}",
        backup=f"U0BACK{n}" if n % 2 else None,
        channel=f"C0TEAM{n}" if n % 3 else None,
        areas=tuple(f"Area {n}.{a} {'x' * 150}" for a in range(areas)),
        is_triage=n == 0,
        new_this_week=n,
        open_now=2 * n,
        breached=n % 4,
    )


def undelivered(n: int, *, error: str = "channel_not_found") -> UndeliveredRow:
    return UndeliveredRow(
        id=n,
        purpose=("lead_dm", "answer", "triage_alert")[n % 3],
        recipient=(None, "U0PAYLEAD", "C0PRODOPS")[n % 3],
        item_id=n if n % 3 != 2 else None,
        status="failed",
        error=error,
        attempts=8,
        created_at=NOW - timedelta(minutes=n),
    )


def admin(
    items: int, *, teams: int = 3, rules: int = 2, failed: int = 2, text: str = "late"
) -> AdminHome:
    return AdminHome(
        teams=page(TEAMS, [team(n) for n in range(teams)]),
        rules=tuple(
            RuleGlance(f"rule {n} " + "r" * 200, "C0SUPPORT", "crash|freeze`" * 20, "Mobile")
            for n in range(rules)
        ),
        breaches=page(BREACHES, [item(n, text=text, sla="breached") for n in range(items)]),
        undelivered=page(UNDELIVERED, [undelivered(n) for n in range(failed)]),
        new_this_week=items,
    )


def everyone(count: int, *, text: str = "the invoice total is wrong", offset: int = 0) -> HomeData:
    """A lead who is also an admin: every list at once, the biggest Home there is."""
    rows = [item(n, text=text) for n in range(1, count + 1)]
    return HomeData(
        user_id="U0PAYLEAD",
        now=NOW,
        mine=page(MINE, rows, offset=offset),
        queue=page(QUEUE, rows, offset=offset),
        admin=admin(count, teams=count, rules=count, failed=count, text=text),
        offsets={name: offset for name in LISTS},
    )


# --- the limits -------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("count", [0, 1, 7, 150, 1000])
def test_the_biggest_home_is_valid_whatever_the_count(count: int, lang: str) -> None:
    view = home_view(everyone(count), lang)
    assert problems(view) == []
    shown = [b["block_id"] for b in view["blocks"] if b.get("block_id", "").startswith("home_q_")]
    assert len([s for s in shown if not s.startswith("home_q_actions")]) == min(
        count, PAGE_SIZES[QUEUE]
    )


@pytest.mark.parametrize(
    "text", [LONG, BROADCAST, "x", "é" * 5000, "<@U0X> " * 1000, "*_~`>" * 900]
)
def test_long_unicode_and_hostile_texts_stay_valid(text: str) -> None:
    view = home_view(everyone(150, text=text), "fr")
    assert problems(view) == []
    dumped = json.dumps(view, ensure_ascii=False)
    assert "<!channel>" not in dumped and "<!here>" not in dumped and "<!subteam" not in dumped
    if text is BROADCAST:
        assert f"@{WORD_JOINER}channel" in dumped


@pytest.mark.slow  # builds every page of a very long list
def test_every_page_of_a_long_list_is_valid_and_pages_chain() -> None:
    total = 1000
    offset, seen = 0, 0
    while True:
        view = home_view(everyone(total, offset=offset), "en")
        assert problems(view) == []
        more = [
            e
            for b in view["blocks"]
            if b.get("block_id") == "home_page_queue"
            for e in b["elements"]
            if e["action_id"] == "home_more"
        ]
        seen += 1
        if not more:
            break
        name, next_offset = parse_page_value(more[0]["value"])  # type: ignore[misc]
        assert name == QUEUE and next_offset == offset + PAGE_SIZES[QUEUE]
        offset = next_offset
    assert seen == -(-total // PAGE_SIZES[QUEUE])
    last = home_view(everyone(total, offset=offset), "en")
    back = [
        e
        for b in last["blocks"]
        if b.get("block_id") == "home_page_queue"
        for e in b["elements"]
        if e["action_id"] == "home_first"
    ]
    assert back and back[0]["value"] == "queue:0"


def test_a_plain_employee_sees_only_their_items_and_the_buttons() -> None:
    data = HomeData(user_id="U0REPORTER", now=NOW, mine=page(MINE, [item(1), item(3)]))
    view = home_view(data, "en")
    assert problems(view) == []
    ids = [b.get("block_id") for b in view["blocks"]]
    assert "home_mine_1" in ids and "home_mine_3" in ids
    assert not any(i and i.startswith(("home_q_", "home_team_", "home_breach")) for i in ids)
    new = next(b for b in view["blocks"] if b.get("block_id") == "home_new")
    assert [e["action_id"] for e in new["elements"]] == ["home_add_painpoint", "home_ask_question"]
    # Fewer than a page: no paging row.
    assert "home_page_mine" not in ids


def test_empty_states_say_so_in_each_language() -> None:
    for lang, words in (("en", "no open items"), ("fr", "aucune demande ouverte")):
        data = HomeData(
            user_id="U0ADMIN",
            now=NOW,
            mine=page(MINE, []),
            queue=page(QUEUE, []),
            admin=admin(0, teams=0, rules=0, failed=0),
        )
        view = home_view(data, lang)
        assert problems(view) == []
        text = json.dumps(view, ensure_ascii=False)
        assert words in text


def test_queue_rows_carry_the_lead_dm_actions_by_item_id() -> None:
    rows = [item(4, status="open"), item(5, status="acknowledged")]
    data = HomeData(user_id="U0PAYLEAD", now=NOW, mine=page(MINE, []), queue=page(QUEUE, rows))
    blocks = {b.get("block_id"): b for b in home_view(data, "en")["blocks"]}
    first = [(e["action_id"], e["value"]) for e in blocks["home_q_actions_4"]["elements"]]
    assert first == [
        ("item_answer", "4"),
        ("item_acknowledge", "4"),
        ("item_reassign", "4"),
        ("item_ask_details", "4"),
        ("item_resolve", "4"),
        ("item_note", "4"),
    ]
    second = [e["action_id"] for e in blocks["home_q_actions_5"]["elements"]]
    assert "item_acknowledge" not in second  # already acknowledged, as in the DM


def test_resolved_items_offer_reopen_and_anonymous_reporters_stay_hidden() -> None:
    resolved = item(8, status="resolved")
    anonymous = item(9, status="open", anonymous=True)
    data = HomeData(
        user_id="U0PAYLEAD",
        now=NOW,
        mine=page(MINE, [resolved]),
        queue=page(QUEUE, [anonymous]),
    )
    view = home_view(data, "en")
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert blocks["home_mine_8"]["accessory"]["action_id"] == "item_reopen"
    assert blocks["home_mine_8"]["accessory"]["value"] == "8"
    queue_text = json.dumps([b for b in view["blocks"] if "q_" in b.get("block_id", "")])
    context = view["blocks"][view["blocks"].index(blocks["home_q_9"]) + 1]
    assert "U0REPORTER" not in queue_text + json.dumps(context)
    assert "anonymous" in json.dumps(context)


def test_paging_values_and_offsets_refuse_garbage() -> None:
    assert parse_page_value("queue:10") == ("queue", 10)
    for bad in (
        None,
        "",
        "queue",
        "queue:",
        "queue:-1",
        "queue:ten",
        "nope:10",
        "mine:1e9",
        "mine:" + "9" * 20,
    ):
        assert parse_page_value(bad) is None, bad
    assert decode_offsets(encode_offsets({"mine": 10, "queue": 0, "bogus": 3})) == {"mine": 10}
    for raw in (
        None,
        "",
        "not json",
        "[]",
        '{"offsets": [1]}',
        '{"offsets": {"mine": -5}}',
        '{"offsets": {"mine": true}}',
    ):
        assert decode_offsets(raw) == {}, raw


def test_ages_read_naturally() -> None:
    assert age_text(timedelta(seconds=20), "en") == "just now"
    assert age_text(timedelta(minutes=5), "en") == "5 min"
    assert age_text(timedelta(hours=30), "fr") == "30 h"
    assert age_text(timedelta(days=9), "fr") == "9 jours"
    assert age_text(timedelta(days=-1), "en") == "just now"
    assert age_phrase(timedelta(seconds=20), "en") == "arrived just now"
    assert age_phrase(timedelta(seconds=20), "fr") == "à l’instant"
    assert age_phrase(timedelta(days=9), "en") == "9 days old"
    assert age_phrase(timedelta(days=9), "fr") == "depuis 9 jours"


def test_the_validator_catches_what_slack_refuses() -> None:
    good = home_view(everyone(3), "en")
    assert problems(good) == []
    too_many = {**good, "blocks": good["blocks"] + [{"type": "divider"}] * 100}
    long_text = {
        **good,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
    }
    twice = {
        **good,
        "blocks": [{"type": "section", "block_id": "a", "text": {"type": "mrkdwn", "text": "x"}}]
        * 2,
    }
    button = {"type": "button", "text": {"type": "plain_text", "text": "y" * 76}, "action_id": "a"}
    long_button = {**good, "blocks": [{"type": "actions", "elements": [button]}]}
    assert any("blocks" in p for p in problems(too_many))
    assert any("3001" in p for p in problems(long_text))
    assert "repeated block_id" in problems(twice)
    assert any("76" in p for p in problems(long_button))


def test_the_biggest_home_keeps_room_under_the_block_limit() -> None:
    # Every list full at once: the page sizes leave a margin under Slack's 100 blocks, also
    # with a lead's welcome in full on their first open.
    assert len(home_view(everyone(1000), "en")["blocks"]) <= VIEW_BLOCKS - 10
    teams = tuple(LedTeam(f"Team {n}", ("Area",) * 40) for n in range(30))
    welcomed = replace(everyone(1000), welcome=Welcome(expanded=True, teams=teams))
    assert len(home_view(welcomed, "en")["blocks"]) <= VIEW_BLOCKS - 8
    assert not problems(home_view(welcomed, "fr"))
