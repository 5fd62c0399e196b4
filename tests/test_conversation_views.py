"""The conversation's Block Kit builders keep within Slack's limits and cut cleanly."""

from __future__ import annotations

import json

import pytest

from bot.i18n import LANGUAGES
from bot.items.domain import ItemCard
from bot.text import quote
from bot.views import conversation as views


def card(**overrides: object) -> ItemCard:
    values: dict[str, object] = {
        "id": 7,
        "kind": "painpoint",
        "status": "open",
        "text": "the invoice is wrong",
        "reporter_id": "U0SECRET",
        "anonymous": False,
        "source": "command",
        "team": "Payments",
        "assignee_id": "U0LEAD",
        "route_step": "keywords",
    }
    values.update(overrides)
    return ItemCard(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "word " * 9000,
        "short line\n" * 4000,
        "x" * 45_000,
        "&amp;" * 9000,
        "<https://a.io|a> " * 3000,
    ],
    ids=["words", "lines", "no-spaces", "entities", "links"],
)
def test_split_for_sections_fits_each_quoted_piece_and_loses_nothing(text: str) -> None:
    pieces = views.split_for_sections(text)
    assert all(len(quote(p)) <= 3000 for p in pieces)
    assert "".join(pieces).replace("\n", "").replace(" ", "") == text.replace("\n", "").replace(
        " ", ""
    )
    for piece in pieces:
        assert not piece.endswith("&am") and piece.count("<") == piece.count(">")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_long_relayed_message_is_cut_with_a_marker_and_says_so(lang: str) -> None:
    message = views.relayed_message(lang, line="*Pat* (Payments)", text="é " * 30_000)
    blocks = message["blocks"]
    assert len(blocks) <= 50 and len(message["text"]) <= 40_000
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert all(len(s) <= 3000 for s in sections) and sections[-1].endswith("…")
    assert str(views.RELAY_TEXT_LIMIT) in json.dumps(blocks[-1], ensure_ascii=False)


def test_a_deleted_message_shows_no_text_and_an_edited_one_says_so() -> None:
    deleted = views.relayed_message("en", line="L", text="secret", status="deleted")
    assert "secret" not in json.dumps(deleted) and "deleted" in deleted["text"]
    edited = views.relayed_message("en", line="L", text="new", status="edited")
    assert "(edited)" in json.dumps(edited)


def test_anonymous_files_show_names_but_no_links() -> None:
    files = [{"name": "a.csv", "permalink": "https://x.slack.com/files/U0SECRET/F1/a.csv"}]
    hidden = views.relayed_message("en", line="L", text="", files=files, hide_file_links=True)
    assert "U0SECRET" not in json.dumps(hidden) and "a.csv" in json.dumps(hidden)
    shown = views.relayed_message("en", line="L", text="", files=files)
    assert "<https://x.slack.com/files/U0SECRET/F1/a.csv|a.csv>" in json.dumps(shown)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_ask_details_modal_never_names_an_anonymous_reporter(lang: str) -> None:
    modal = views.ask_details_modal(card(anonymous=True, text="x" * 5000), lang)
    assert "U0SECRET" not in json.dumps(modal)
    assert len(modal["title"]["text"]) <= 24 and len(modal["blocks"]) <= 100
    assert [b["block_id"] for b in modal["blocks"] if b["type"] == "input"] == ["question"]
    named = views.ask_details_modal(card(), lang)
    assert "<@U0SECRET>" in json.dumps(named)
