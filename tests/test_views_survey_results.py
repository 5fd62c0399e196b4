"""Survey results as Slack messages, text, JSON and CSV: content and Slack's limits."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.surveys.results import summarize
from bot.surveys.results_domain import QuestionInfo, RoundResults
from bot.surveys.results_store import AnswerRow
from bot.views.survey_results import (
    MAX_REPLIES,
    moment,
    results_csv,
    results_json,
    results_messages,
    results_text,
)
from tests.french import spaced

OPENED = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)


def check_message(message: dict[str, Any]) -> None:
    """What Slack checks: 50 blocks, 3000 characters a section, header 150, actions 25."""
    blocks = message["blocks"]
    assert 0 < len(blocks) <= 50
    assert message["text"] and len(message["text"]) <= 40000
    total = 0
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
            total += len(block["text"]["text"])
        elif block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        elif block["type"] == "context":
            assert len(block["elements"]) <= 10
            for element in block["elements"]:
                assert len(element["text"]) <= 3000
                total += len(element["text"])
        elif block["type"] == "actions":
            assert len(block["elements"]) <= 25
            for element in block["elements"]:
                assert len(element["text"]["text"]) <= 75
    assert total <= 12000


def make(questions: list[QuestionInfo], answers: list[AnswerRow], **kwargs: Any) -> RoundResults:
    params: dict[str, Any] = {
        "survey": "pm-pulse",
        "title": "PM pulse",
        "language": "en",
        "anonymous": False,
        "round_number": 2,
        "status": "closed",
        "opened_at": OPENED,
        "closes_at": OPENED + timedelta(days=3),
        "closed_at": OPENED + timedelta(days=3),
        "invited": 12,
        "questions": questions,
        "answers": answers,
        "timezone": "Europe/Paris",
    }
    params.update(kwargs)
    return summarize(**params)


def all_text(messages: list[dict[str, Any]]) -> str:
    return json.dumps([m["blocks"] for m in messages], ensure_ascii=False) + "".join(
        m["text"] for m in messages
    )


SCALE = QuestionInfo("q1", "scale5", "Do customer-facing teams know your roadmap?", "No", "Yes")
TEXT = QuestionInfo("q2", "text", "Rank your tasks")


def test_the_post_shows_rate_mean_distribution_change_and_trend() -> None:
    rows = [AnswerRow(f"U{i}", "q1", float(v), None, None, OPENED) for i, v in enumerate([4, 4, 5])]
    rows.append(AnswerRow("U0", "q2", None, None, "Discovery <!channel> first", OPENED))
    results = make([SCALE, TEXT], rows, history=[(1, {"q1": (3.5, 4)})], names={"U0": "Ann Lee"})
    messages = results_messages(results, "en")
    for message in messages:
        check_message(message)
    main = all_text(messages[:1])
    assert "PM pulse: results of round 2" in main
    assert "*1 of 12* answered every question (8%)" in main
    assert "2 more answered only some" in main
    assert "Mean *4.3* / 5 (3 answers)" in main
    assert "↗ +0.8 since round 1" in main
    assert "#1 3.5 → #2 4.3" in main
    assert "1 = No" in main and "5 = Yes" in main
    assert "5 ██████" in main and "4 ████████████ 2 (67%)" in main
    # The free text is in the thread, neutralized, with the name of who wrote it (named).
    thread = all_text(messages[1:])
    assert "Discovery @\u2060channel first" in thread and "<!channel>" not in thread
    assert "— Ann Lee" in thread
    assert "U0" not in all_text(messages)


def test_french() -> None:
    rows = [AnswerRow("U1", "q1", 4.0, None, None, OPENED)]
    text = all_text(results_messages(make([SCALE], rows, language="fr"), "fr"))
    assert "résultats du tour 2" in text and "Moyenne *4,0* / 5" in text
    assert moment(OPENED, "Europe/Paris", "fr") == "lun. 9 mars à 10:00"
    assert moment(OPENED, "Europe/Paris", "en") == "Mon Mar 9, 10:00"


def test_open_round_says_so_far() -> None:
    results = make([SCALE], [], status="open", closed_at=None)
    text = all_text(results_messages(results, "en"))
    assert "so far (still open)" in text and "these figures may change" in text
    assert "round 2 so far" in results_text(results, "en")
    assert results_json(results)["so_far"] is True


def test_forty_questions_and_five_hundred_free_text_answers_stay_within_limits() -> None:
    questions = [
        QuestionInfo(f"s{i}", "scale10" if i % 2 else "scale5", "A long question " * 20 + str(i))
        for i in range(30)
    ]
    questions += [
        QuestionInfo(f"t{i}", "text", "What would you change? " * 10 + str(i)) for i in range(10)
    ]
    rows = [
        AnswerRow(f"U{p}", q.id, float(p % 5 + 1), None, None, OPENED)
        for p in range(20)
        for q in questions
        if q.kind != "text"
    ]
    rows += [
        AnswerRow(f"U{p}", f"t{p % 10}", None, None, f"Answer {p}: " + "words " * 300, OPENED)
        for p in range(500)
    ]
    results = make(questions, rows, invited=500, anonymous=True)
    messages = results_messages(results, "en")
    assert 1 < len(messages) <= 1 + MAX_REPLIES
    for message in messages:
        check_message(message)
    text = all_text(messages)
    # Every question is there, in the post or its thread.
    for i in range(30):
        assert f"*{i + 1}. A long question" in text
    assert "more answers did not fit here" in text  # 500 long answers: the rest in the CLI
    assert "jerry surveys results pm-pulse --format csv" in text


def test_many_short_answers_all_fit_in_the_thread() -> None:
    rows = [AnswerRow(f"h{p}", "q2", None, None, f"idea {p}", OPENED) for p in range(500)]
    messages = results_messages(make([SCALE, TEXT], rows, anonymous=True, invited=600), "en")
    for message in messages:
        check_message(message)
    text = all_text(messages)
    assert all(f"> idea {p}\\n" in text or f'> idea {p}"' in text for p in range(500))
    assert "did not fit" not in text


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_breakdown_merges_small_groups_and_hides_what_would_give_someone_away(lang: str) -> None:
    rows = [AnswerRow(f"U{i}", "q1", 5.0 if i < 4 else 1.0, None, None, OPENED) for i in range(8)]
    groups = {
        "C0SALES": frozenset({"U0", "U1", "U2", "U3"}),
        "S0CS": frozenset({"U4", "U5", "U6"}),
        "S0SE": frozenset({"U7"}),
        "users": frozenset({"U42"}),  # people listed by id: nobody answered
    }
    results = make([SCALE], rows, groups=groups)
    text = all_text(results_messages(results, lang))
    if lang == "en":
        assert "<#C0SALES> (4 people): Q1 5.0" in text
        assert "people listed by name: nobody answered" in text
        assert "Other groups (S0CS, S0SE: too few answers to show alone) (4 people): Q1 1.0" in text
    else:
        assert spaced("<#C0SALES> (4 personnes) : Q1 5,0") in text
        assert spaced("personnes citées par leur nom : personne n’a répondu") in text
        assert (
            spaced(
                "Autres groupes (S0CS, S0SE : trop peu de réponses pour être montrés seuls) (4 personnes) : Q1 1,0"
            )
            in text
        )
    data = results_json(results)
    assert data["groups"][-1] == {
        "name": None, "merged": ["S0CS", "S0SE"], "respondents": 4, "hidden": False,
        "means": {"q1": 1.0},
    }  # fmt: skip
    # Two people in all: nothing by group
    few = make([SCALE], rows[:2], groups=groups)
    text = all_text(results_messages(few, lang))
    hidden = (
        "<#C0SALES>: too few answers to show any group apart without giving someone's away: hidden"
        if lang == "en"
        else spaced(
            "<#C0SALES> : trop peu de réponses pour montrer un groupe à part sans dévoiler celles de quelqu’un : masqué"
        )
    )
    assert hidden in text
    assert "Q1 5" not in text
    assert results_json(few)["groups"][-1]["means"] is None


def test_csv_and_json() -> None:
    rows = [
        AnswerRow("U1", "q1", 4.0, None, None, OPENED),
        AnswerRow("U2", "q1", 2.0, None, None, OPENED),
        AnswerRow("U1", "q2", None, None, "=HYPERLINK(1)", OPENED),
    ]
    results = make([SCALE, TEXT], rows, history=[(1, {"q1": (2.5, 2)})], names={"U1": "Ann"})
    table = list(csv.DictReader(io.StringIO(results_csv(results))))
    by = {(r["question"], r["measure"], r["key"]): r["value"] for r in table}
    assert by[("", "invited", "")] == "12"
    assert by[("", "finished", "")] == "1"
    assert by[("q1", "mean", "")] == "3.00"
    assert by[("q1", "count", "4")] == "1" and by[("q1", "count", "5")] == "0"
    assert by[("q1", "change", "")] == "'+0.50"
    assert by[("q1", "trend", "1")] == "2.50" and by[("q1", "trend", "2")] == "3.00"
    assert by[("q2", "answer", "Ann")] == "'=HYPERLINK(1)"  # no formula in a spreadsheet
    data = results_json(results)
    q1 = data["questions"][0]
    assert (q1["mean"], q1["distribution"]["4"], q1["change"]) == (3.0, 1, pytest.approx(0.5))
    assert data["questions"][1]["texts"] == [{"text": "=HYPERLINK(1)", "who": "Ann"}]
    json.dumps(data)  # serializable
