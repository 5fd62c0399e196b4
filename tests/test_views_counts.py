"""Counted words agree with their number in both languages (issue 11): "1 file shared",
"2 fichiers partagés", "1 demande ouverte", never "file(s)"; French says 0 in the singular."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.views.conversation import MAX_FILES_SHOWN, relayed_message
from bot.views.home import age_text
from bot.views.items import triage_alert
from bot.views.survey_answers import remaining_line
from bot.views.survey_round import reminder_message
from tests.french import spaced

FILES = [
    {"name": f"export-{n}.csv", "permalink": f"https://x.slack.com/f{n}"}
    for n in range(MAX_FILES_SHOWN + 2)
]


@pytest.mark.parametrize(
    ("lang", "count", "expected"),
    [
        ("en", 1, "1 file shared"),
        ("en", 2, "2 files shared"),
        ("fr", 1, "1 fichier partagé"),
        ("fr", 2, "2 fichiers partagés"),
    ],
)
def test_a_message_of_files_only_counts_them(lang: str, count: int, expected: str) -> None:
    message = relayed_message(lang, line="Pat wrote:", text="", files=FILES[:count])
    assert message["text"] == f"Pat wrote:\n{expected}"


@pytest.mark.parametrize(
    ("lang", "more", "expected"),
    [
        ("en", 1, "… and 1 more file"),
        ("en", 2, "… and 2 more files"),
        ("fr", 1, "… et 1 autre fichier"),
        ("fr", 2, "… et 2 autres fichiers"),
    ],
)
def test_files_not_listed_are_counted(lang: str, more: int, expected: str) -> None:
    files = FILES[: MAX_FILES_SHOWN + more]
    message = relayed_message(lang, line="Pat wrote:", text="hi", files=files)
    shown = "\n".join(b["text"]["text"] for b in message["blocks"] if b["type"] == "section")
    assert expected in shown


@pytest.mark.parametrize(
    ("lang", "count", "expected"),
    [
        ("en", 0, "0 open items handed to <@U0BACK>"),
        ("en", 1, "1 open item handed to <@U0BACK>"),
        ("en", 3, "3 open items handed to <@U0BACK>"),
        ("fr", 0, "0 demande ouverte confiée à <@U0BACK>"),
        ("fr", 1, "1 demande ouverte confiée à <@U0BACK>"),
        ("fr", 3, "3 demandes ouvertes confiées à <@U0BACK>"),
    ],
)
def test_a_lead_who_left_says_how_many_items_moved(lang: str, count: int, expected: str) -> None:
    params: dict[str, Any] = {"who": "<@U0LEAD>", "to": "<@U0BACK>", "teams": "Mobile"}
    message = triage_alert(lang, "lead_gone", count=count, **params)
    assert expected in message["text"] and "(s)" not in message["text"]


@pytest.mark.parametrize(
    ("lang", "remaining", "expected"),
    [
        ("en", (2,), "1 question left (2)."),
        ("en", (2, 3), "2 questions left (2, 3)."),
        ("fr", (2,), "Il reste 1 question (2)."),
        ("fr", (2, 3), "Il reste 2 questions (2, 3)."),
    ],
)
def test_questions_left(lang: str, remaining: tuple[int, ...], expected: str) -> None:
    assert remaining_line(remaining, lang) == expected


@pytest.mark.parametrize(
    ("lang", "left", "expected"),
    [
        ("en", 1, "*1 question* is still unanswered"),
        ("en", 2, "*2 questions* are still unanswered"),
        ("fr", 1, "*1 question* attend encore votre réponse"),
        ("fr", 2, "*2 questions* attendent encore votre réponse"),
    ],
)
def test_a_survey_reminder_counts_the_questions_left(lang: str, left: int, expected: str) -> None:
    closes = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)
    message = reminder_message(lang, left=left, closes_at=closes, tz="Europe/Paris", title="Pulse")
    assert expected in message["text"]
    assert message["text"].startswith(
        "A reminder about “Pulse”:" if lang == "en" else spaced("Un rappel pour « Pulse » :")
    )


@pytest.mark.parametrize(
    ("lang", "age", "expected"),
    [
        ("en", timedelta(hours=47), "47 h"),
        ("en", timedelta(days=2), "2 days"),
        ("fr", timedelta(days=2), "2 jours"),
        ("fr", timedelta(days=9, hours=5), "9 jours"),
    ],
)
def test_ages_in_days_agree(lang: str, age: timedelta, expected: str) -> None:
    assert age_text(age, lang) == expected
