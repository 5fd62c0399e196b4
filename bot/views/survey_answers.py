"""Messages about answering a survey in its thread: pure builders, data in, dict out.

A reply fully understood gets a ✓ reaction and no note; these notes say what was not
understood, and the one-click buttons of rounds posted before the answer form."""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from typing import Any

from bot.i18n import t, tn
from bot.surveys.answers import Parsed, ParsedAnswer
from bot.text import MESSAGE_BLOCK_LIMIT, SECTION_TEXT_LIMIT, neutralize, truncate
from bot.views.blocks import Block, context, section

# The one-click buttons on scale questions: action ids survey_answer_<n>, value round:q:n.
ANSWER_ACTION = re.compile(r"^survey_answer_\d+$")
CHOSEN_BLOCK = "survey_answer_chosen"
MAX_PROBLEMS = 10  # problems listed in one note (a pasted essay cannot flood the thread)
Message = dict[str, Any]


_MENTION = re.compile(r"<([@#])[A-Z0-9]+(?:\|([^>]*))?>")


def _echo(text: str) -> str:
    """An answer echoed back: no ping of anyone, mentions shown by name only when named."""
    text = _MENTION.sub(lambda m: m.group(1) + (m.group(2) or "…"), text)
    return neutralize(text)


def _pairs(answers: Sequence[ParsedAnswer]) -> str:
    ordered = sorted(answers, key=lambda a: a.position)
    return ", ".join(f"{a.position} → {_echo(a.shown)}" for a in ordered)


def remaining_line(remaining: Sequence[int], lang: str) -> str:
    """ "2 questions left (2, 3)." or "All done, thank you!"."""
    if not remaining:
        return t("survey_answering.done", lang)
    numbers = ", ".join(str(n) for n in remaining)
    return tn("survey_answering.left", len(remaining), lang, numbers=numbers)


def reply_note(
    parsed: Parsed, remaining: Sequence[int], lang: str, *, done: str | None = None
) -> Message:
    """The threaded note after a reply some of which was not understood: what was understood,
    what was not and why, what is left (or `done`, the confirmation, when nothing is). It
    never names the person (anonymous rounds stay anonymous in the thread too)."""
    lines: list[str] = []
    if parsed.answers:
        lines.append(
            t("survey_answering.got_it", lang, answers=_pairs(list(parsed.answers.values())))
        )
    if parsed.problems:
        lines.append(t("survey_answering.not_understood", lang))
        lines.extend(f"• {p.message}" for p in parsed.problems[:MAX_PROBLEMS])
    if not parsed.answers:
        lines.append(t("survey_answering.hint", lang))
    lines.append(done if done and not remaining else remaining_line(remaining, lang))
    text = truncate("\n".join(lines), SECTION_TEXT_LIMIT)
    return {"text": text, "blocks": [section(text)]}


def closed_note(lang: str) -> Message:
    text = t("survey_answering.closed", lang)
    return {"text": text, "blocks": [section(text)]}


def notice(text: str) -> Message:
    """An ephemeral one-liner (a refusal, a failure)."""
    return {"text": text, "blocks": [section(text)]}


def button_saved(answer: ParsedAnswer, remaining: Sequence[int], lang: str) -> Message:
    """The ephemeral confirmation of a one-click answer in a channel round."""
    saved = t("survey_answering.button_saved", lang, n=answer.position, value=answer.shown)
    text = f"{saved} {remaining_line(remaining, lang)}"
    return {"text": text, "blocks": [section(text)]}


def _is_choice_of(element: dict[str, Any], prefix: str) -> bool:
    action_id = str(element.get("action_id", ""))
    return bool(ANSWER_ACTION.match(action_id)) and str(element.get("value", "")).startswith(prefix)


def button_chosen(
    blocks: Sequence[Block],
    *,
    round_id: int,
    question_id: str,
    answer: ParsedAnswer,
    remaining: Sequence[int],
    lang: str,
) -> list[Block]:
    """The question's message (in the person's own DM) showing the value they chose: that
    button marked primary, the others plain, and a line under the buttons."""
    prefix = f"{round_id}:{question_id}:"
    chosen_value = f"{prefix}{answer.number}"
    note_id = f"{CHOSEN_BLOCK}:{question_id}"[:255]
    note = context(
        t("survey_answering.button_chosen", lang, value=answer.shown)
        + " · "
        + remaining_line(remaining, lang)
    )
    note["block_id"] = note_id
    out: list[Block] = []
    placed = False
    for block in blocks:
        if block.get("block_id") == note_id:
            continue  # the line of an earlier click
        block = copy.deepcopy(block)
        out.append(block)
        elements = block.get("elements") if block.get("type") == "actions" else None
        if elements and any(_is_choice_of(e, prefix) for e in elements):
            for element in elements:
                if _is_choice_of(element, prefix):
                    element.pop("style", None)
                    if element.get("value") == chosen_value:
                        element["style"] = "primary"
            out.append(note)
            placed = True
    if not placed:
        out.append(note)
    return out[:MESSAGE_BLOCK_LIMIT]
