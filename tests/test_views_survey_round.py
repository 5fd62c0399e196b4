"""The round's message and the answer form stay within Slack's limits and never ping anyone."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.surveys.answers import Given
from bot.surveys.file import MAX_QUESTIONS
from bot.views.survey_form import answer_form
from bot.views.survey_round import round_message
from tests.test_views_lead_actions import check_modal

CLOSES = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
LONG = "word " * 1000 + "<!channel> @here"


def _questions() -> list[dict]:
    """The most a surveys file allows: 20 questions, long texts, labels, 25 options."""
    kinds = ["scale5", "scale10", "choice", "text"]
    return [
        {
            "id": f"q{n}",
            "kind": kinds[n % 4],
            "text": LONG,
            "low": "x" * 75 if kinds[n % 4].startswith("scale") else None,
            "high": "y" * 75 if kinds[n % 4].startswith("scale") else None,
            "options": [f"option {k} " + "z" * 60 for k in range(25)]
            if kinds[n % 4] == "choice"
            else [],
        }
        for n in range(MAX_QUESTIONS)
    ]


def _no_ping(sent: dict) -> None:
    text = json.dumps(sent)
    assert "<!channel>" not in text and "@here" not in text.replace("@\\u2060here", "")


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("in_channel", [False, True])
def test_the_round_message_within_limits(lang: str, in_channel: bool) -> None:
    message = round_message(
        title="T" * 300,
        questions=_questions(),
        round_id=7,
        closes_at=CLOSES,
        timezone="Europe/Paris",
        anonymous=not in_channel,
        in_channel=in_channel,
        lang=lang,
    )
    blocks = message["blocks"]
    assert len(blocks) <= 50
    assert len(blocks[0]["text"]["text"]) <= 150
    assert "<!date^1768467600^" in blocks[1]["text"]["text"]
    assert "2026-01-15 10:00 Europe/Paris" in blocks[1]["text"]["text"]
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
        if block["type"] == "context":
            assert all(len(e["text"]) <= 3000 for e in block["elements"])
    [answer] = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert (answer["action_id"], answer["value"]) == ("survey_answer_form", "7")
    _no_ping(message)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_answer_form_within_limits_and_prefilled(lang: str) -> None:
    questions = _questions()
    given = {
        "q0": Given(number=3.0),
        "q1": Given(skipped=True),
        "q2": Given(choice=questions[2]["options"][24]),
        "q3": Given(text="w" * 5000),
    }
    view = answer_form(
        title="T" * 300,
        questions=questions,
        given=given,
        closes_at=CLOSES,
        timezone="Europe/Paris",
        anonymous=True,
        lang=lang,
        metadata='{"round":7}',
    )
    check_modal(view)
    inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert inputs["q:q0"]["type"] == "radio_buttons"  # 1–5 and Skip: 6 radio buttons
    assert inputs["q:q0"]["initial_option"]["value"] == "3"
    assert inputs["q:q1"]["type"] == "static_select"  # 0–10 and Skip: too many to be radios
    assert inputs["q:q1"]["initial_option"]["value"] == "skip"
    assert inputs["q:q2"]["type"] == "static_select"  # 25 options
    assert inputs["q:q2"]["initial_option"]["value"] == "o25"
    assert len(inputs["q:q3"]["initial_value"]) <= 2000
    assert inputs["skip:q3"]["type"] == "checkboxes"
    assert "initial_options" not in inputs["skip:q3"]
    for element in inputs.values():
        for option in element.get("options") or []:
            assert len(option["text"]["text"]) <= 75 and len(option["value"]) <= 150
    _no_ping(view)
