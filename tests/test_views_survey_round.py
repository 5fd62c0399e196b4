"""The round's messages stay within Slack's limits and never ping anyone."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.views.survey_round import intro_message, question_message


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_intro_and_questions_within_limits(lang: str) -> None:
    closes = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
    intro = intro_message(
        title="T" * 300,
        count=20,
        closes_at=closes,
        timezone="Europe/Paris",
        anonymous=True,
        in_channel=False,
        lang=lang,
    )
    assert len(intro["blocks"][0]["text"]["text"]) <= 150
    assert "<!date^1768467600^" in intro["blocks"][1]["text"]["text"]
    assert "2026-01-15 10:00 Europe/Paris" in intro["blocks"][1]["text"]["text"]
    long = "word " * 1000 + "<!channel> @here"
    for kind in ("scale5", "scale10", "choice", "text"):
        question = {
            "id": "q1",
            "kind": kind,
            "text": long,
            "low": "x" * 75,
            "high": "y" * 75,
            "options": [f"option {n} " + "z" * 60 for n in range(25)],
        }
        message = question_message(question, n=20, count=20, round_id=7, lang=lang)
        assert len(message["blocks"]) <= 50
        for block in message["blocks"]:
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= 3000
            if block["type"] == "context":
                assert all(len(e["text"]) <= 3000 for e in block["elements"])
            if block["type"] == "actions":
                assert len(block["elements"]) <= 25
                assert all(len(e["text"]["text"]) <= 75 for e in block["elements"])
        sent = json.dumps(message)
        assert "<!channel>" not in sent and "@here" not in sent.replace("@\\u2060here", "")
    scale10 = question_message(
        {"id": "nps", "kind": "scale10", "text": "?"}, n=1, count=1, round_id=7, lang=lang
    )
    [actions] = [b for b in scale10["blocks"] if b["type"] == "actions"]
    assert [e["value"] for e in actions["elements"]] == [f"7:nps:{n}" for n in range(11)]
