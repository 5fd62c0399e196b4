"""Understanding a reply in a survey thread: which questions it answers, and with what.

Pure: text and the round's questions in, answers and problems out (problems in the person's
language, through `t()`). Nothing here knows Slack payloads or the database.

How a reply is read:

* A reply that starts with a question number ("2) …", "2. …", "2: …", "Q2 …", "Q2: …")
  answers that question, and may answer several at once: "1) 4  2) 3  3) more focus on
  discovery", on one line or several. After the first number, ")", ":" and "Q" numbers are
  recognised anywhere after a space; "N." only at the start of a line or as the next number
  in sequence ("1. 4 2. 3"), so "I'd say 4. Then…" is not read as question 4.
* Otherwise the reply is about `replying_to` when known, else the first question in order
  not answered yet (`answered`). Several lines without numbers, when that question is a
  scale or a choice and the first line answers it, fill the next unanswered questions in
  order, one a line (a free-text question takes all the lines left).
* When the question a reply is about is free text and the numbered reading does not look
  like answers (a scale part without any number, a choice part matching no option), the
  whole reply is that free text: "1) meetings 2) support" ranks tasks, it does not answer
  questions 1 and 2.
* Scales accept "4", "4/5", "4 / 5", "4 out of 5", "4 sur 5", the English and French number
  words 0–10 ("four", "quatre"), digit emoji (":four:", "4️⃣", ":keycap_ten:", "🔟"), with
  words around them ("I'd say 4"). Choices match an option ignoring case and accents, by its
  number, by the option's words inside the reply, or by words of one option only. Free
  text is kept as written, cut cleanly at TEXT_LIMIT characters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.i18n import t, tn
from bot.text import truncate

TEXT_LIMIT = 2000  # characters kept of a free-text answer
CHOICE_LIMIT = 300  # SurveyAnswer.choice
SCALE_BOUNDS = {"scale5": (1, 5), "scale10": (0, 10)}
KINDS = ("scale5", "scale10", "choice", "text")


@dataclass(frozen=True)
class Question:
    id: str
    kind: str  # "scale5" | "scale10" | "choice" | "text"
    text: str
    low: str | None = None
    high: str | None = None
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParsedAnswer:
    question_id: str
    position: int  # 1-based, as numbered in the thread
    number: int | None = None  # scales
    choice: str | None = None  # choices: the option as written in the survey
    text: str | None = None  # free text, as written (Slack format)

    @property
    def shown(self) -> str:
        """The answer as echoed back in a confirmation ("4", "Discovery", "“more…”")."""
        if self.number is not None:
            return str(self.number)
        if self.choice is not None:
            return self.choice
        return "“" + truncate((self.text or "").replace("\n", " "), 60) + "”"


@dataclass(frozen=True)
class Given:
    """What a person has answered to one question so far (the form shows it), or skipped."""

    number: float | None = None
    choice: str | None = None
    text: str | None = None
    skipped: bool = False


@dataclass(frozen=True)
class Problem:
    question_id: str | None  # None: the reply as a whole (no such question, nothing left…)
    position: int | None
    reason: str  # a stable code: "out_of_range", "no_number", "several_numbers", …
    message: str  # why, in the person's language


@dataclass(frozen=True)
class Parsed:
    answers: dict[str, ParsedAnswer] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def understood(self) -> bool:
        return bool(self.answers)


def localized(question: dict[str, Any], lang: str) -> dict[str, Any]:
    """A stored question (SurveyRound.questions) as shown to someone speaking `lang`: its
    translation's text and end labels when the surveys file gives them, else as written."""
    translated = (question.get("translations") or {}).get(lang) or {}
    return {**question, **{k: v for k, v in translated.items() if k in LOCALIZED and v}}


LOCALIZED = ("text", "low", "high")


def questions_of(raw: Iterable[dict[str, Any]]) -> list[Question]:
    """SurveyRound.questions (JSON dicts, in order) → Questions."""
    questions = []
    for index, item in enumerate(raw, start=1):
        kind = str(item.get("kind") or "text")
        questions.append(
            Question(
                id=str(item.get("id") or f"q{index}"),
                kind=kind if kind in KINDS else "text",
                text=str(item.get("text") or ""),
                low=item.get("low"),
                high=item.get("high"),
                options=tuple(str(o) for o in item.get("options") or ()),
            )
        )
    return questions


# --- normalising ---------------------------------------------------------------------------

_DIGIT_NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_EMOJI_NAMES = {f":{name}:": str(n) for n, name in enumerate(_DIGIT_NAMES)}
_EMOJI_NAMES[":keycap_ten:"] = "10"
_KEYCAP = re.compile(r"([0-9])\ufe0f?\u20e3")
_OTHER_EMOJI = re.compile(r":[a-z0-9_+\-']+(?:::skin-tone-\d)?:")
_SLACK_LINK = re.compile(r"<[^>]*>")
_WORDS = {
    # English
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10,
    # French (accents removed before matching; "un"/"une" are also articles, see below)
    "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "sept": 7, "huit": 8,
    "neuf": 9, "dix": 10,
}  # fmt: skip
_ARTICLES = {"un", "une"}  # numbers only when nothing else in the reply is


def _fold(text: str) -> str:
    """Lower case, accents removed, Slack entities decoded."""
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _digits_from_emoji(text: str) -> str:
    text = text.replace("\U0001f51f", " 10 ")  # 🔟
    text = _KEYCAP.sub(lambda m: f" {m.group(1)} ", text)
    for name, digit in _EMOJI_NAMES.items():
        text = text.replace(name, f" {digit} ")
    return text


# --- splitting a reply into the questions it answers ----------------------------------------

_MARKER = re.compile(
    r"(?P<lead>^|(?<=\s))"
    r"(?:(?P<q>q|question|n°|no\.?|#)\s*(?P<qn>\d{1,2})\s*[).:\-–]?"
    r"|(?P<n>\d{1,2})\s*(?P<sep>[):]|\.(?!\d)))"
    r"(?=\s|$)",
    re.IGNORECASE | re.MULTILINE,
)


@dataclass(frozen=True)
class _Marker:
    number: int
    start: int
    end: int
    style: str  # "q", ")", ":", "."
    line_start: bool


def _markers(text: str) -> list[_Marker]:
    found = []
    for m in _MARKER.finditer(text):
        number = int(m.group("qn") or m.group("n"))
        style = "q" if m.group("q") else m.group("sep")
        line_start = (
            m.start() == 0
            or text[: m.start()].rstrip(" \t").endswith("\n")
            or (text[: m.start()].strip() == "")
        )
        found.append(_Marker(number, m.start(), m.end(), style, line_start))
    return found


def _split_numbered(text: str, count: int) -> list[tuple[int, str]] | None:
    """[(question number, its part)] when the reply starts with a question number."""
    markers = _markers(text)
    if not markers or text[: markers[0].start].strip():
        return None
    first = markers[0]
    chosen = [first]
    for marker in markers[1:]:
        previous = chosen[-1]
        if marker.number in {m.number for m in chosen}:
            continue
        if not 1 <= marker.number <= count:
            # "… 5) hello" with four questions: said to be no question, when plainly numbered
            if marker.style in {")", "q"} and marker.number > previous.number:
                chosen.append(marker)
            continue
        if marker.style == ".":
            if not (marker.line_start or marker.number == previous.number + 1):
                continue
        elif marker.number < previous.number and not marker.line_start:
            continue  # "3) … 1) …" on one line reads as text; on its own line it is a number
        chosen.append(marker)
    parts = []
    for index, marker in enumerate(chosen):
        end = chosen[index + 1].start if index + 1 < len(chosen) else len(text)
        parts.append((marker.number, text[marker.end : end].strip()))
    return parts


# --- reading one answer ---------------------------------------------------------------------

_FRACTION = re.compile(r"(?<![\d.,])(\d{1,3})\s*(?:/|out of|sur)\s*(\d{1,3})(?![\d.,]*\d)")
_DECIMAL = re.compile(r"(?<![\d.,])\d{1,3}[.,]\d+(?![\d])")
_INTEGER = re.compile(r"(?<![\w.,])(\d{1,4})(?![\w]|[.,]\d)")
_WORD = re.compile(r"[a-z]+")
_STRONG_WORD = re.compile(r"\b(?:" + "|".join(w for w in _WORDS if w not in _ARTICLES) + r")\b")


def _scale_numbers(part: str) -> tuple[list[int], list[tuple[int, int]], bool]:
    """Numbers in a scale answer: (values, fractions as (value, out of), saw a decimal)."""
    text = _digits_from_emoji(part)
    text = _SLACK_LINK.sub(" ", text)
    text = _OTHER_EMOJI.sub(" ", _fold(text))
    text = _STRONG_WORD.sub(lambda m: f" {_WORDS[m.group(0)]} ", text)
    fractions = [(int(a), int(b)) for a, b in _FRACTION.findall(text)]
    rest = _FRACTION.sub(" ", text)
    decimal = bool(_DECIMAL.search(rest))
    rest = _DECIMAL.sub(" ", rest)
    values = [int(n) for n in _INTEGER.findall(rest)]
    if not values and not fractions and not decimal:
        values = [_WORDS[w] for w in _WORD.findall(rest) if w in _ARTICLES]
    return values, fractions, decimal


def _parse_scale(question: Question, position: int, part: str, lang: str):
    low, high = SCALE_BOUNDS[question.kind]
    scale = t(f"survey_answers.scale.{question.kind}", lang, low=low, high=high)
    values, fractions, decimal = _scale_numbers(part)

    def problem(reason: str, **params: object) -> Problem:
        message = t(f"survey_answers.problem.{reason}", lang, n=position, scale=scale, **params)
        return Problem(question.id, position, reason, message)

    for value, out_of in fractions:
        if out_of != high:
            return problem("wrong_scale", value=f"{value}/{out_of}")
    candidates = sorted({v for v, _ in fractions} | set(values))
    if not candidates:
        return problem("not_whole" if decimal else "no_number")
    if len(candidates) > 1:
        return problem("several_numbers", values=", ".join(str(v) for v in candidates))
    value = candidates[0]
    if not low <= value <= high:
        return problem("out_of_range", value=value)
    return ParsedAnswer(question.id, position, number=value)


_PUNCT = re.compile(r"[^\w\s]+")


def _key(text: str) -> str:
    return " ".join(_PUNCT.sub(" ", _fold(text)).split())


def _parse_choice(question: Question, position: int, part: str, lang: str):
    options = question.options
    listed = ", ".join(f"{i}. {o}" for i, o in enumerate(options, start=1))
    wanted = _key(_OTHER_EMOJI.sub(" ", _digits_from_emoji(part)))
    if not wanted:
        message = t("survey_answers.problem.empty", lang, n=position)
        return Problem(question.id, position, "empty", message)
    keys = [_key(o) for o in options]
    if wanted in keys:
        return ParsedAnswer(
            question.id, position, choice=options[keys.index(wanted)][:CHOICE_LIMIT]
        )
    if wanted.isdigit():
        index = int(wanted)
        if 1 <= index <= len(options):
            return ParsedAnswer(question.id, position, choice=options[index - 1][:CHOICE_LIMIT])
        message = t(
            "survey_answers.problem.no_option", lang, n=position, value=index, options=listed
        )
        return Problem(question.id, position, "no_option", message)
    padded = f" {wanted} "
    inside = [i for i, k in enumerate(keys) if k and f" {k} " in padded]
    if len(inside) > 1:  # "Sales" inside "Sales engineering": the longest wins if it contains all
        longest = max(inside, key=lambda i: len(keys[i]))
        if all(keys[i] in keys[longest] for i in inside):
            inside = [longest]
    if not inside and len(wanted) >= 3:  # "support" for "Équipe support"
        inside = [i for i, k in enumerate(keys) if f" {wanted} " in f" {k} "]
    if len(inside) == 1:
        return ParsedAnswer(question.id, position, choice=options[inside[0]][:CHOICE_LIMIT])
    if len(inside) > 1:
        names = ", ".join(options[i] for i in inside)
        message = t("survey_answers.problem.several_options", lang, n=position, options=names)
        return Problem(question.id, position, "several_options", message)
    message = t("survey_answers.problem.unknown_option", lang, n=position, options=listed)
    return Problem(question.id, position, "unknown_option", message)


def _parse_text(question: Question, position: int, part: str, lang: str):
    text = part.strip()
    if not text:
        message = t("survey_answers.problem.empty", lang, n=position)
        return Problem(question.id, position, "empty", message)
    return ParsedAnswer(question.id, position, text=truncate(text, TEXT_LIMIT))


def parse_answer(question: Question, position: int, part: str, *, lang: str):
    """One question's part of a reply → a ParsedAnswer, or a Problem saying why not."""
    if question.kind in SCALE_BOUNDS:
        if not part.strip():
            message = t("survey_answers.problem.empty", lang, n=position)
            return Problem(question.id, position, "empty", message)
        return _parse_scale(question, position, part, lang)
    if question.kind == "choice":
        return _parse_choice(question, position, part, lang)
    return _parse_text(question, position, part, lang)


# --- the whole reply ------------------------------------------------------------------------


def _about(
    questions: Sequence[Question], replying_to: str | None, answered: set[str] | frozenset[str]
) -> int | None:
    """The 0-based index of the question an unnumbered reply is about."""
    ids = [q.id for q in questions]
    if replying_to in ids:
        return ids.index(replying_to)
    for index, question in enumerate(questions):
        if question.id not in answered:
            return index
    return None


def _collect(results: list[ParsedAnswer | Problem]) -> Parsed:
    answers: dict[str, ParsedAnswer] = {}
    problems: list[Problem] = []
    for result in results:
        if isinstance(result, ParsedAnswer):
            answers[result.question_id] = result
        else:
            problems.append(result)
    return Parsed(answers, problems)


def _looks_like_answers(parts: list[tuple[int, str]], questions: Sequence[Question]) -> bool:
    """Whether a numbered reading is plausible: each scale part has a number in it, each
    choice part names an option, and every number is a question."""
    for number, part in parts:
        if not 1 <= number <= len(questions):
            return False
        question = questions[number - 1]
        if question.kind in SCALE_BOUNDS:
            values, fractions, _ = _scale_numbers(part)
            if not values and not fractions:
                return False
        elif question.kind == "choice" and not isinstance(
            parse_answer(question, number, part, lang="en"), ParsedAnswer
        ):
            return False
    return True


def parse_reply(
    text: str,
    questions: Sequence[Question],
    *,
    lang: str,
    replying_to: str | None = None,
    answered: set[str] | frozenset[str] = frozenset(),
) -> Parsed:
    """Read a thread reply against the round's questions (see the module docstring)."""
    questions = list(questions)
    count = len(questions)
    if not text or not text.strip() or not questions:
        message = t("survey_answers.problem.nothing", lang)
        return Parsed({}, [Problem(None, None, "nothing", message)])
    about = _about(questions, replying_to, answered)
    numbered = _split_numbered(text, count)
    if numbered is not None:
        about_is_text = about is not None and questions[about].kind == "text"
        if not (about_is_text and not _looks_like_answers(numbered, questions)):
            results: list[ParsedAnswer | Problem] = []
            for number, part in numbered:
                if not 1 <= number <= count:
                    message = t("survey_answers.problem.no_question", lang, n=number, count=count)
                    results.append(Problem(None, None, "no_question", message))
                    continue
                results.append(parse_answer(questions[number - 1], number, part, lang=lang))
            return _collect(results)
    if about is None:
        message = t("survey_answers.problem.all_answered", lang)
        return Parsed({}, [Problem(None, None, "all_answered", message)])
    question = questions[about]
    lines = [line.strip() for line in text.strip().split("\n") if line.strip()]
    if len(lines) > 1 and question.kind != "text":
        first = parse_answer(question, about + 1, lines[0], lang=lang)
        if isinstance(first, ParsedAnswer):
            return _collect(_by_lines(lines, questions, about, answered, lang))
    return _collect([parse_answer(question, about + 1, text, lang=lang)])


def _by_lines(
    lines: list[str],
    questions: list[Question],
    about: int,
    answered: set[str] | frozenset[str],
    lang: str,
) -> list[ParsedAnswer | Problem]:
    """One line per question, from `about` on, skipping questions already answered."""
    targets = [about] + [
        i for i in range(about + 1, len(questions)) if questions[i].id not in answered
    ]
    results: list[ParsedAnswer | Problem] = []
    for slot, index in enumerate(targets):
        if slot >= len(lines):
            break
        question = questions[index]
        if question.kind == "text":
            part = "\n".join(lines[slot:])
            results.append(parse_answer(question, index + 1, part, lang=lang))
            return results
        results.append(parse_answer(question, index + 1, lines[slot], lang=lang))
    if len(lines) > len(targets):
        extra = len(lines) - len(targets)
        message = tn("survey_answers.problem.too_many_lines", extra, lang)
        results.append(Problem(None, None, "too_many_lines", message))
    return results
