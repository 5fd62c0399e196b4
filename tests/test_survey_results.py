"""The arithmetic of survey results (pure): means, distributions, trends, small groups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.surveys.chart import chart_spec, trend_chart_png
from bot.surveys.reminders import parse_before, remind_at
from bot.surveys.results import distribution, question_infos, summarize, suppressed
from bot.surveys.results_domain import ChoiceResult, QuestionInfo, ScaleResult, TextResult
from bot.surveys.results_store import AnswerRow

OPENED = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
QUESTIONS = [
    QuestionInfo("q1", "scale5", "Do customer-facing teams know your priorities?", "No", "Yes"),
    QuestionInfo("q2", "scale10", "How likely are you to recommend product ops?"),
    QuestionInfo("q3", "choice", "Where does your time go?", options=("Discovery", "Delivery")),
    QuestionInfo("q4", "text", "Anything else?"),
]


def answer(who: str, qid: str, value: Any, minutes: int = 0) -> AnswerRow:
    at = OPENED + timedelta(minutes=minutes)
    if isinstance(value, str):
        if qid == "q3":
            return AnswerRow(who, qid, None, value, None, at)
        return AnswerRow(who, qid, None, None, value, at)
    return AnswerRow(who, qid, float(value), None, None, at)


def results(answers: list[AnswerRow], **kwargs: Any):
    params = {
        "survey": "pm-pulse",
        "title": "PM pulse",
        "language": "en",
        "anonymous": False,
        "round_number": 4,
        "status": "closed",
        "opened_at": OPENED,
        "closes_at": OPENED + timedelta(days=3),
        "closed_at": OPENED + timedelta(days=3),
        "invited": 10,
        "questions": QUESTIONS,
        "answers": answers,
    }
    params.update(kwargs)
    return summarize(**params)


def test_means_distribution_and_response_rate() -> None:
    rows = [
        answer("U1", "q1", 4),
        answer("U2", "q1", 5),
        answer("U3", "q1", 3),
        answer("U1", "q2", 9),
        answer("U2", "q2", 7),
        answer("U1", "q3", "Discovery"),
        answer("U2", "q3", "Discovery"),
        answer("U3", "q3", "Other things"),
        answer("U1", "q4", "More focus on discovery"),
        answer("U2", "q4", "Fewer meetings"),
    ]
    found = results(rows)
    assert (found.invited, found.finished, found.partial) == (10, 2, 1)
    assert found.response_rate == pytest.approx(0.2)
    q1, q2, q3, q4 = found.questions
    assert isinstance(q1, ScaleResult) and isinstance(q2, ScaleResult)
    assert q1.count == 3 and q1.mean == pytest.approx(4.0)
    assert q1.distribution == ((1, 0), (2, 0), (3, 1), (4, 1), (5, 1))
    assert q2.mean == pytest.approx(8.0)
    assert [v for v, _ in q2.distribution] == list(range(0, 11))
    assert dict(q2.distribution)[9] == 1 and dict(q2.distribution)[7] == 1
    assert isinstance(q3, ChoiceResult)
    assert q3.counts == (("Discovery", 2), ("Delivery", 0), ("Other things", 1))
    assert isinstance(q4, TextResult)
    # Named survey: names shown (here the ids, since no names were given).
    assert [(a.text, a.who) for a in q4.answers] == [
        ("More focus on discovery", "U1"),
        ("Fewer meetings", "U2"),
    ]


def test_latest_answer_of_a_person_counts_once() -> None:
    rows = [answer("U1", "q1", 2, minutes=1), answer("U1", "q1", 5, minutes=9)]
    q1 = results(rows).questions[0]
    assert isinstance(q1, ScaleResult)
    assert (q1.count, q1.mean) == (1, 5.0)


def test_change_and_trend_over_at_most_six_rounds() -> None:
    history = [(n, {"q1": (2.0 + n * 0.1, 5)}) for n in range(1, 9)]  # rounds 1..8 before
    history.append((9, {}))  # a round where nobody answered q1: not a point
    rows = [answer("U1", "q1", 4), answer("U2", "q1", 5)]
    q1 = results(rows, round_number=10, history=history).questions[0]
    assert isinstance(q1, ScaleResult)
    assert q1.previous is not None and q1.previous.round_number == 8
    assert q1.change == pytest.approx(4.5 - 2.8)
    assert [p.round_number for p in q1.trend] == [4, 5, 6, 7, 8, 10]
    assert q1.trend[-1].mean == pytest.approx(4.5)
    # A question new this round has no previous round to compare with.
    q2 = results(rows, round_number=10, history=history).questions[1]
    assert isinstance(q2, ScaleResult)
    assert q2.previous is None and q2.change is None and q2.trend == ()


def test_empty_round() -> None:
    found = results([], invited=0)
    assert (found.finished, found.partial, found.response_rate) == (0, 0, None)
    for result in found.questions:
        assert result.count == 0
    q1 = found.questions[0]
    assert isinstance(q1, ScaleResult) and q1.mean is None and q1.trend == ()
    assert trend_chart_png(found) is None  # nothing to draw


def test_anonymous_free_text_has_no_names_and_no_order_of_arrival() -> None:
    rows = [
        answer("hash-b", "q4", "zebra crossing", minutes=1),
        answer("hash-a", "q4", "Apples", minutes=2),
    ]
    q4 = results(rows, anonymous=True, names={"hash-a": "Ann"}).questions[3]
    assert isinstance(q4, TextResult)
    assert [(a.text, a.who) for a in q4.answers] == [("Apples", None), ("zebra crossing", None)]


def test_small_groups_merge_into_other_groups_and_the_total_gives_nobody_away() -> None:
    rows = [answer(f"U{i}", "q1", 4 if i < 3 else 2) for i in range(9)]
    rows += [answer(f"U{i}", "q2", 7) for i in (3, 4, 5, 6)]
    groups = {
        "C0SALES": frozenset({"U0", "U1", "U2"}),
        "C0CS": frozenset({"U3", "U4", "U5", "U6", "U0"}),  # U0 counts in sales, listed first
        "S0SE": frozenset({"U7"}),
        "S0PMM": frozenset({"U8", "U99"}),  # U99 never answered
    }
    cs, other = results(rows, groups=groups).groups
    # S0SE (1) and S0PMM (1) are too few, even together (2): sales, the smallest group shown,
    # goes with them, else the total minus sales and CS would be their answers
    assert (cs.name, cs.respondents, cs.hidden) == ("C0CS", 4, False)
    assert dict(cs.means) == {"q1": pytest.approx(2.0), "q2": pytest.approx(7.0)}
    assert (other.name, other.merged, other.respondents, other.hidden) == (
        "", ("C0SALES", "S0SE", "S0PMM"), 5, False,
    )  # fmt: skip
    assert dict(other.means)["q1"] == pytest.approx((4 * 3 + 2 * 2) / 5)
    assert dict(other.means)["q2"] is None  # none of them answered it
    # Two people in all: nothing by group can be shown
    (alone,) = results(rows[:2], groups=groups).groups
    assert (alone.merged, alone.respondents, alone.hidden, alone.means) == (
        ("C0SALES",), 2, True, (),
    )  # fmt: skip


def test_a_small_remainder_takes_the_smallest_group_with_it() -> None:
    rows = [answer(f"U{i}", "q1", 3) for i in range(8)]
    groups = {
        "C0SALES": frozenset({"U0", "U1", "U2", "U3"}),
        "C0CS": frozenset({"U4", "U5", "U6"}),
        "S0SE": frozenset({"U7"}),
    }
    # S0SE alone (1) would be the total minus the two others: CS (the smallest) goes with it
    sales, other = results(rows, groups=groups).groups
    assert (sales.name, sales.respondents) == ("C0SALES", 4)
    assert (other.merged, other.respondents, other.hidden) == (("C0CS", "S0SE"), 4, False)
    assert dict(other.means)["q1"] == pytest.approx(3.0)
    # Everyone merged: no group apart (the line would be the round's total)
    (whole,) = results(rows[:5], groups=groups).groups
    assert (whole.merged, whole.respondents, whole.hidden) == (("C0SALES", "C0CS"), 5, True)
    # A single group is the whole round: no breakdown.
    assert results(rows, groups={"S0PM": frozenset({"U0"})}).groups == ()


def test_suppressed_cells() -> None:
    assert suppressed({"a": 5, "b": 4}) == set()
    assert suppressed({"a": 5, "b": 0}) == set()  # nobody: nothing to give away
    assert suppressed({"a": 5, "b": 2}) == {"a", "b"}
    assert suppressed({"a": 5, "b": 4, "c": 1}) == {"b", "c"}
    assert suppressed({"a": 5, "b": 1, "c": 2}) == {"b", "c"}


def test_questions_from_the_round_row() -> None:
    raw = [
        {"id": "q1", "kind": "scale5", "text": "Clear?", "low": "no", "high": "yes"},
        {"id": "q2", "kind": "choice", "text": "Pick", "options": ["a", "b"]},
        {"kind": "text", "text": "no id: skipped"},
    ]
    assert question_infos(raw) == [
        QuestionInfo("q1", "scale5", "Clear?", "no", "yes"),
        QuestionInfo("q2", "choice", "Pick", options=("a", "b")),
    ]


def test_distribution_rounds_and_ignores_out_of_range() -> None:
    assert dict(distribution("scale5", [4.4, 4.6, 7, 0]))[4] == 1
    assert dict(distribution("scale5", [4.4, 4.6, 7, 0]))[5] == 1
    assert sum(n for _, n in distribution("scale5", [4.4, 4.6, 7, 0])) == 2


def test_chart_is_a_png() -> None:
    history = [(1, {"q1": (3.0, 4), "q2": (6.0, 4)}), (2, {"q1": (3.5, 4)})]
    rows = [answer("U1", "q1", 4), answer("U1", "q2", 8)]
    png = trend_chart_png(results(rows, round_number=3, history=history))
    assert png is not None and png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000


TREND_QUESTIONS = [
    QuestionInfo("time", "text", "Where does your time go?"),
    QuestionInfo("q1", "scale5", "Do customer-facing teams know your priorities?"),
    QuestionInfo("q3", "choice", "Focus?", options=("a", "b")),
    QuestionInfo("q2", "scale10", "How likely are you to recommend product ops?"),
]


@pytest.mark.parametrize(
    ("lang", "ticks"),
    [
        ("en", ("#1\nFeb 23–26", "#2\nFeb 27–Mar 2", "#3\nMar 9")),
        ("fr", ("n° 1\n23–26 févr.", "n° 2\n27 févr.–2 mars", "n° 3\n9 mars")),
    ],
)
def test_the_chart_spec_numbers_marks_and_dates_every_line(
    lang: str, ticks: tuple[str, ...]
) -> None:
    history = [(1, {"q1": (3.0, 4), "q2": (6.0, 4)}), (2, {"q1": (3.5, 4)})]
    rows = [answer("U1", "q1", 4), answer("U1", "q2", 8)]
    paris = "Europe/Paris"
    dates = [
        # Mon 09:00 to Thu 10:00 in Paris: Feb 23–26, both days included
        (1, datetime(2026, 2, 23, 8, 0, tzinfo=UTC), datetime(2026, 2, 26, 9, 0, tzinfo=UTC)),
        # closing at midnight in Paris: the round's last day is the day before
        (2, datetime(2026, 2, 27, 8, 0, tzinfo=UTC), datetime(2026, 3, 2, 23, 0, tzinfo=UTC)),
        (3, datetime(2026, 3, 9, 8, 0, tzinfo=UTC), datetime(2026, 3, 9, 18, 0, tzinfo=UTC)),
    ]
    found = results(
        rows, round_number=3, history=history, questions=TREND_QUESTIONS, language=lang,
        timezone=paris, round_dates=dates,
    )  # fmt: skip
    spec = chart_spec(found)
    assert spec is not None
    # numbered as the messages number them (the text and choice questions count too)
    assert [(line.number, line.legend[:3]) for line in spec.lines] == [(2, "Q2 "), (4, "Q4 ")]
    assert spec.lines[0].rounds == (1, 2, 3) and spec.lines[1].rounds == (1, 3)
    assert spec.lines[0].means == (3.0, 3.5, 4.0)
    # told apart without colour: every line its own marker and dash
    assert len({line.marker for line in spec.lines}) == len(spec.lines)
    assert len({line.dash for line in spec.lines}) == len(spec.lines)
    assert tuple(label for _, label in spec.ticks) == ticks
    assert spec.y_range == (0 - 0.2, 10 + 0.2)  # a 1–5 and a 0–10 scale


def test_a_dozen_scale_questions_keep_distinct_markers() -> None:
    questions = [QuestionInfo(f"q{n}", "scale5", f"Question {n}") for n in range(1, 13)]
    history = [(1, {q.id: (3.0, 3) for q in questions})]
    rows = [answer("U1", q.id, 4) for q in questions]
    spec = chart_spec(results(rows, round_number=2, history=history, questions=questions))
    assert spec is not None and len(spec.lines) == 12
    assert len({(line.marker, line.dash) for line in spec.lines}) == 12
    assert len({line.marker for line in spec.lines}) == 12


def test_no_chart_from_a_single_round() -> None:
    rows = [answer("U1", "q1", 4), answer("U1", "q2", 8)]
    first = results(rows, round_number=1)
    assert not first.has_trend
    assert chart_spec(first) is None and trend_chart_png(first) is None
    # a later round whose questions have no earlier answers is no trend either
    assert trend_chart_png(results(rows, round_number=5, history=[(4, {"q9": (3.0, 3)})])) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1d", timedelta(days=1)),
        ("4h", timedelta(hours=4)),
        ("90m", timedelta(minutes=90)),
        ("1d12h", timedelta(hours=36)),
        ("", None),
        (None, None),
        ("soon", None),
        ("0h", None),
    ],
)
def test_parse_before(text: str | None, expected: timedelta | None) -> None:
    assert parse_before(text) == expected


def test_reminders_start_before_closing_but_not_in_the_first_half() -> None:
    closes = OPENED + timedelta(days=3)
    assert remind_at(OPENED, closes, timedelta(days=1)) == closes - timedelta(days=1)
    assert remind_at(OPENED, closes, timedelta(days=5)) == OPENED + timedelta(days=1, hours=12)
    assert remind_at(OPENED, closes, None) is None
