"""Reading a survey reply (bot/surveys/answers.py) and the notes about it (pure)."""

from __future__ import annotations

import pytest

from bot.surveys.answers import TEXT_LIMIT, Parsed, ParsedAnswer, parse_reply, questions_of
from bot.text import MESSAGE_BLOCK_LIMIT, SECTION_TEXT_LIMIT
from bot.views import survey_answers as views
from tests.french import spaced

RAW = [
    {"id": "priorities", "kind": "scale5", "text": "Do they know?", "low": "No", "high": "Yes"},
    {"id": "nps", "kind": "scale10", "text": "Recommend?"},
    {"id": "focus", "kind": "choice", "text": "Where?", "options": ["Discovery", "Delivery", "Équipe support"]},
    {"id": "why", "kind": "text", "text": "Anything else?"},
]  # fmt: skip
QS = questions_of(RAW)


def numbers(parsed: Parsed) -> dict[str, int | None]:
    return {q: a.number for q, a in parsed.answers.items()}


def only(parsed: Parsed) -> ParsedAnswer:
    assert not parsed.problems, parsed.problems
    assert len(parsed.answers) == 1, parsed.answers
    return next(iter(parsed.answers.values()))


def test_questions_of_reads_the_round_json() -> None:
    assert [q.id for q in QS] == ["priorities", "nps", "focus", "why"]
    assert QS[0].low == "No" and QS[0].high == "Yes"
    assert QS[2].options == ("Discovery", "Delivery", "Équipe support")
    assert questions_of([{"text": "no id", "kind": "weird"}])[0].id == "q1"
    assert questions_of([{"text": "no id", "kind": "weird"}])[0].kind == "text"


@pytest.mark.parametrize(
    "text",
    [
        "4", "4/5", "4 / 5", " 4 ", "four", "Four", "FOUR", "quatre", "Quatre", ":four:",
        "4\ufe0f\u20e3", "4\u20e3", "I'd say 4", "I'd say 4.", "je dirais 4", "je dirais quatre",
        "4 out of 5", "4 sur 5", "a solid four!", "4 :slightly_smiling_face:", "*4*", "4!",
        "clearly :four: :+1:", "4, really 4",
    ],
)  # fmt: skip
def test_scale_formats_en_and_fr(text: str) -> None:
    for lang in ("en", "fr"):
        answer = only(parse_reply(text, QS, lang=lang))
        assert (answer.question_id, answer.number, answer.position) == ("priorities", 4, 1)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("10", 10), ("10/10", 10), (":keycap_ten:", 10), ("\U0001f51f", 10), ("0", 0),
        ("zero", 0), ("zéro", 0), ("dix", 10), ("ten", 10), ("neuf", 9), ("sept", 7),
        ("huit sur 10", 8), (":zero:", 0), ("0\ufe0f\u20e3", 0), ("six", 6), ("un", 1),
        ("one", 1), ("une", 1), ("cinq", 5), ("trois", 3), ("deux", 2), ("nine", 9),
    ],
)  # fmt: skip
def test_zero_to_ten_scale(text: str, value: int) -> None:
    answer = only(parse_reply(text, QS, lang="en", answered={"priorities"}))
    assert (answer.question_id, answer.number) == ("nps", value)


@pytest.mark.parametrize(
    ("text", "reason", "needle_en", "needle_fr"),
    [
        ("7", "out_of_range", "5-point scale: 1 to 5", "échelle en 5 points : de 1 à 5"),
        ("0", "out_of_range", "5-point scale: 1 to 5", "de 1 à 5"),
        ("8/10", "wrong_scale", "8/10", "8/10"),
        ("3.5", "not_whole", "whole number", "nombre entier"),
        ("3,5", "not_whole", "whole number", "nombre entier"),
        ("3 or 4", "several_numbers", "3, 4", "3, 4"),
        ("three or four", "several_numbers", "3, 4", "3, 4"),
        ("no idea", "no_number", "no number", "aucun nombre"),
        ("🤷", "no_number", "1 to 5", "de 1 à 5"),
        (":eleven:", "no_number", "1 to 5", "de 1 à 5"),
    ],
)
def test_scale_problems_say_why(text: str, reason: str, needle_en: str, needle_fr: str) -> None:
    for lang, needle in (("en", needle_en), ("fr", needle_fr)):
        parsed = parse_reply(text, QS, lang=lang)
        assert parsed.answers == {}
        [problem] = parsed.problems
        assert (problem.reason, problem.question_id, problem.position) == (reason, "priorities", 1)
        assert spaced(needle) in problem.message
        assert problem.message.startswith("Question 1")


def test_zero_to_ten_out_of_range() -> None:
    [problem] = parse_reply("11", QS, lang="en", answered={"priorities"}).problems
    assert problem.reason == "out_of_range" and "0–10 scale: 0 to 10" in problem.message


@pytest.mark.parametrize(
    ("text", "choice"),
    [
        ("Discovery", "Discovery"), ("discovery", "Discovery"), ("DISCOVERY", "Discovery"),
        ("  delivery ", "Delivery"), ("2", "Delivery"), ("1", "Discovery"),
        ("equipe support", "Équipe support"), ("ÉQUIPE SUPPORT", "Équipe support"),
        ("3", "Équipe support"), ("mostly delivery these days", "Delivery"),
        ("Delivery!", "Delivery"), (":two:", "Delivery"),
    ],
)  # fmt: skip
def test_choices_by_name_accent_insensitive_or_number(text: str, choice: str) -> None:
    answer = only(parse_reply(text, QS, lang="en", replying_to="focus"))
    assert (answer.question_id, answer.choice) == ("focus", choice)


@pytest.mark.parametrize(
    ("text", "reason"),
    [("marketing", "unknown_option"), ("7", "no_option"), ("discovery and delivery", "several_options")],
)  # fmt: skip
def test_choice_problems_list_the_options(text: str, reason: str) -> None:
    for lang in ("en", "fr"):
        [problem] = parse_reply(text, QS, lang=lang, replying_to="focus").problems
        assert problem.reason == reason and problem.position == 3
        if reason != "several_options":
            assert "1. Discovery, 2. Delivery, 3. Équipe support" in problem.message


def test_free_text_as_written_and_cut_cleanly() -> None:
    done = {"priorities", "nps", "focus"}
    text = "More *focus* on discovery &amp; fewer <https://x.example|meetings> 🙂"
    assert only(parse_reply(text, QS, lang="en", answered=done)).text == text
    huge = ("word " * 3000).strip()
    answer = only(parse_reply(huge, QS, lang="en", answered=done))
    assert answer.text is not None and len(answer.text) <= TEXT_LIMIT
    assert answer.text.endswith("…") and answer.text[:-1].rstrip().endswith("word")
    unicode = "Équipe 🇫🇷 — priorités: découverte\nsecond line"
    assert only(parse_reply(unicode, QS, lang="fr", answered=done)).text == unicode


def test_in_order_the_next_unanswered_question() -> None:
    assert only(parse_reply("4", QS, lang="en")).question_id == "priorities"
    assert only(parse_reply("4", QS, lang="en", answered={"priorities"})).question_id == "nps"
    answered = {"priorities", "focus"}  # answered out of order: the gap is next
    assert only(parse_reply("9", QS, lang="en", answered=answered)).question_id == "nps"
    assert (
        only(
            parse_reply("3", QS, lang="en", replying_to="priorities", answered={"priorities"})
        ).number
        == 3
    )


def test_everything_answered_asks_for_a_number() -> None:
    parsed = parse_reply("4", QS, lang="fr", answered={q.id for q in QS})
    [problem] = parsed.problems
    assert problem.reason == "all_answered" and spaced("« 2) 4 »") in problem.message


@pytest.mark.parametrize(
    "text",
    [
        "1) 4  2) 3  3) delivery 4) more focus on discovery",
        "1) 4 2) 3 3) delivery 4) more focus on discovery",
        "1) 4\n2) 3\n3) delivery\n4) more focus on discovery",
        "1. 4\n2. 3\n3. delivery\n4. more focus on discovery",
        "1. 4 2. 3 3. delivery 4. more focus on discovery",
        "Q1: 4 Q2: 3 Q3: delivery Q4: more focus on discovery",
        "q1 4\nq2 3\nq3 delivery\nq4 more focus on discovery",
        "1: four\n2: :three:\n3: 2\n4: more focus on discovery",
        "Question 1 : quatre\nQuestion 2 : trois\nQuestion 3 : Delivery\nQuestion 4 : more focus on discovery",
    ],
)  # fmt: skip
def test_all_at_once(text: str) -> None:
    parsed = parse_reply(text, QS, lang="en")
    assert not parsed.problems, parsed.problems
    assert numbers(parsed) == {"priorities": 4, "nps": 3, "focus": None, "why": None}
    assert parsed.answers["focus"].choice == "Delivery"
    assert parsed.answers["why"].text == "more focus on discovery"


def test_numbered_out_of_order_and_partial() -> None:
    parsed = parse_reply("3) discovery\n1) 5", QS, lang="en")
    assert (
        parsed.answers["focus"].choice == "Discovery" and parsed.answers["priorities"].number == 5
    )
    parsed = parse_reply("2) 8", QS, lang="en")
    assert numbers(parsed) == {"nps": 8}
    parsed = parse_reply("Q2: 🔟", QS, lang="en")
    assert numbers(parsed) == {"nps": 10}


def test_numbered_with_problems_keeps_the_rest() -> None:
    parsed = parse_reply("1) 9  2) 3  5) hello", QS, lang="en")
    assert numbers(parsed) == {"nps": 3}
    reasons = sorted(p.reason for p in parsed.problems)
    assert reasons == ["no_question", "out_of_range"]
    no_question = next(p for p in parsed.problems if p.reason == "no_question")
    assert "question 5" in no_question.message and "4" in no_question.message


def test_a_sentence_with_a_number_and_full_stop_is_not_split() -> None:
    assert only(parse_reply("I'd say 4. Then again 4 is fine", QS, lang="en")).number == 4
    # a decimal is not a question number
    assert parse_reply("3.5", QS, lang="en").problems[0].reason == "not_whole"


def test_a_ranking_in_free_text_stays_free_text() -> None:
    done = {"priorities", "nps", "focus"}
    ranking = "1) meetings 2) support tickets 3) roadmap"
    assert only(parse_reply(ranking, QS, lang="en", answered=done)).text == ranking
    ranking = "1. meetings\n2. support\n3. discovery"
    assert only(parse_reply(ranking, QS, lang="en", answered=done)).text == ranking
    # but explicit numbered answers are still read when the text question is the current one
    parsed = parse_reply("1) 5 2) 9", QS, lang="en", answered=done)
    assert numbers(parsed) == {"priorities": 5, "nps": 9}


def test_several_lines_without_numbers_fill_the_questions_in_order() -> None:
    parsed = parse_reply("4\n9\nsupport\nmore discovery\nand less meetings", QS, lang="en")
    assert numbers(parsed)["priorities"] == 4 and numbers(parsed)["nps"] == 9
    assert parsed.answers["focus"].choice == "Équipe support"
    assert parsed.answers["why"].text == "more discovery\nand less meetings"
    parsed = parse_reply("5\n7", QS, lang="en", answered={"nps"})  # skips what is answered
    assert numbers(parsed) == {"priorities": 5}
    assert parsed.problems[0].position == 3  # "7" is not an option of question 3


def test_too_many_lines_for_scales_only() -> None:
    qs = questions_of([{"id": "a", "kind": "scale5"}, {"id": "b", "kind": "scale5"}])
    parsed = parse_reply("4\n3\n2", qs, lang="en")
    assert numbers(parsed) == {"a": 4, "b": 3}
    assert [p.reason for p in parsed.problems] == ["too_many_lines"]


@pytest.mark.parametrize("text", ["", "   ", "\n\n"])
def test_empty_reply(text: str) -> None:
    for lang, needle in (("en", "no answer"), ("fr", "aucune réponse")):
        parsed = parse_reply(text, QS, lang=lang)
        assert parsed.answers == {} and needle in parsed.problems[0].message


def test_empty_numbered_part() -> None:
    parsed = parse_reply("1) 4 2)", QS, lang="en")
    assert numbers(parsed) == {"priorities": 4}
    assert parsed.problems[0].reason == "empty" and parsed.problems[0].position == 2


def test_mentions_and_links_are_not_numbers() -> None:
    answer = only(parse_reply("<@U0123ABC> says 4 <https://x.example/2024|doc 12>", QS, lang="en"))
    assert answer.number == 4


# --- the notes ---------------------------------------------------------------------------------


def test_reply_note_says_what_was_understood_what_not_and_what_is_left() -> None:
    parsed = parse_reply("1) 4  2) 30", QS, lang="en")
    note = views.reply_note(parsed, (2, 3, 4), "en")
    assert "Got it: 1 → 4." in note["text"]
    assert "Not understood:" in note["text"] and "0–10 scale: 0 to 10" in note["text"]
    assert "3 questions left (2, 3, 4)." in note["text"]
    fr = views.reply_note(parse_reply("quatre", QS, lang="fr"), (2,), "fr")
    assert spaced("C’est noté : 1 → 4.") in fr["text"] and "Il reste 1 question (2)." in fr["text"]
    done = views.reply_note(parse_reply("4", QS, lang="en"), (), "en")
    assert done["text"].endswith("All done, thank you!")
    nothing = views.reply_note(parse_reply("hmm", QS, lang="en"), (1, 2, 3, 4), "en")
    assert "Got it" not in nothing["text"] and "like “2) 4”" in nothing["text"]


def test_reply_note_stays_within_slack_limits_and_defuses_pings() -> None:
    text = "\n".join(f"{i}) <!channel> " + "x" * 2900 for i in range(1, 5))
    parsed = parse_reply(text, QS, lang="en")
    note = views.reply_note(parsed, (), "en")
    assert len(note["blocks"]) <= MESSAGE_BLOCK_LIMIT
    assert all(len(b["text"]["text"]) <= SECTION_TEXT_LIMIT for b in note["blocks"])
    assert "<!channel>" not in note["text"]


def _question_message(round_id: int, question_id: str, top: int) -> list[dict]:
    buttons = [
        {"type": "button", "action_id": f"survey_answer_{n}", "value": f"{round_id}:{question_id}:{n}",
         "text": {"type": "plain_text", "text": str(n)}}
        for n in range(1, top + 1)
    ]  # fmt: skip
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": "*1.* Do they know?"}},
        {"type": "actions", "block_id": "answer", "elements": buttons},
    ]


def test_button_chosen_marks_the_value_and_replaces_an_earlier_line() -> None:
    answer = ParsedAnswer("priorities", 1, number=4)
    blocks = views.button_chosen(
        _question_message(7, "priorities", 5),
        round_id=7,
        question_id="priorities",
        answer=answer,
        remaining=(2,),
        lang="en",
    )
    styles = {e["value"]: e.get("style") for e in blocks[1]["elements"]}
    assert styles == {f"7:priorities:{n}": ("primary" if n == 4 else None) for n in range(1, 6)}
    assert "Your answer: *4*" in blocks[2]["elements"][0]["text"]
    again = views.button_chosen(
        blocks,
        round_id=7,
        question_id="priorities",
        answer=ParsedAnswer("priorities", 1, number=2),
        remaining=(),
        lang="fr",
    )
    assert len(again) == 3
    assert [e.get("style") for e in again[1]["elements"]] == [None, "primary", None, None, None]
    assert spaced("Votre réponse : *2*") in again[2]["elements"][0]["text"]
    assert spaced("C’est tout, merci !") in again[2]["elements"][0]["text"]
