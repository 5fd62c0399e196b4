"""The private answer form of a survey round (a modal opened by the round message's Answer
button) and the one confirmation a person gets once every question is answered or skipped.

Pure builders: plain data in, Block Kit dicts out. Every question is an optional input, so a
person may save some answers and come back; each offers "Skip this question" (a choice among
the values, or a box under a free-text question), recorded as skipped, not as missing.
Inputs use these block ids, which handlers/surveys.py reads back on submission:

* `q:<question id>`: the answer (action `answer`): a scale value "4", an option "o2" (its
  1-based number), the free text; or SKIP;
* `skip:<question id>`: the box under a free-text question (action `skip`, value SKIP).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.i18n import t, tn
from bot.surveys.answers import Given, localized
from bot.surveys.results_domain import SCALE_RANGES
from bot.text import OPTION_TEXT_LIMIT, plain
from bot.views.blocks import (
    Block,
    context,
    input_block,
    modal,
    option,
    section,
    slack_date,
    text_input,
)

CALLBACK_ID = "survey_answer_form"
ANSWER_BLOCK = "q:"
SKIP_BLOCK = "skip:"
ANSWER = "answer"
SKIP = "skip"
RADIO_LIMIT = 10  # Slack's radio buttons: at most 10 options, else a menu
TEXT_LIMIT = 2000  # bot/surveys/answers.TEXT_LIMIT: what is kept of a free-text answer
View = dict[str, Any]


def _option_value(question: dict[str, Any], given: Given | None) -> str | None:
    """The option the person chose earlier (its value), to show it selected."""
    if given is None:
        return None
    if given.skipped:
        return SKIP
    if given.number is not None and question["kind"] in SCALE_RANGES:
        return str(int(given.number))
    options = list(question.get("options") or [])
    if given.choice is not None and given.choice in options:
        return f"o{options.index(given.choice) + 1}"
    return None


def _scale_options(question: dict[str, Any], lang: str) -> list[dict[str, Any]]:
    low_n, high_n = SCALE_RANGES[question["kind"]]
    labels = {low_n: question.get("low"), high_n: question.get("high")}
    shown = []
    for value in range(low_n, high_n + 1):
        label = labels.get(value)
        text = t("survey_form.scale_option", lang, n=value, label=label) if label else str(value)
        shown.append(option(plain(text, OPTION_TEXT_LIMIT), str(value)))
    return shown


def _choice_element(options: list[dict[str, Any]], chosen: str | None, lang: str) -> dict[str, Any]:
    """Radio buttons while they fit (10), else a menu; the earlier answer selected."""
    if len(options) <= RADIO_LIMIT:
        element: dict[str, Any] = {"type": "radio_buttons", "action_id": ANSWER}
    else:
        element = {
            "type": "static_select",
            "action_id": ANSWER,
            "placeholder": {"type": "plain_text", "text": t("survey_form.choose", lang)},
        }
    element["options"] = options
    initial = next((o for o in options if o["value"] == chosen), None)
    if initial is not None:
        element["initial_option"] = initial
    return element


def question_inputs(
    question: dict[str, Any], *, n: int, given: Given | None, lang: str
) -> list[Block]:
    """Question `n`'s input (and, for free text, its Skip box), showing what was answered."""
    block_id = f"{ANSWER_BLOCK}{question['id']}"
    label = f"{n}. {question['text']}"
    skip = option(t("survey_form.skip", lang), SKIP)
    kind = question["kind"]
    if kind == "text":
        text = None if given is None or given.skipped else given.text
        skipped = given is not None and given.skipped
        box: dict[str, Any] = {"type": "checkboxes", "action_id": ANSWER, "options": [skip]}
        if skipped:
            box["initial_options"] = [skip]
        return [
            input_block(
                block_id,
                label,
                text_input(ANSWER, multiline=True, initial=text, max_length=TEXT_LIMIT),
                optional=True,
            ),
            input_block(
                f"{SKIP_BLOCK}{question['id']}",
                t("survey_form.skip_text_label", lang, n=n),
                {**box, "action_id": SKIP},
                optional=True,
            ),
        ]
    if kind in SCALE_RANGES:
        options = _scale_options(question, lang)
    else:
        options = [
            option(plain(text, OPTION_TEXT_LIMIT), f"o{index}")
            for index, text in enumerate(question.get("options") or [], start=1)
        ]
    element = _choice_element([*options, skip], _option_value(question, given), lang)
    return [input_block(block_id, label, element, optional=True)]


def answer_form(
    *,
    title: str,
    questions: list[dict[str, Any]],
    given: Mapping[str, Given],
    closes_at: datetime,
    timezone: str,
    anonymous: bool,
    lang: str,
    metadata: str,
) -> View:
    """The form: every question in the person's language, pre-filled with their answers."""
    count = len(questions)
    closes = slack_date(closes_at, fallback_timezone=timezone)
    blocks: list[Block] = [
        section(tn("survey_form.form_intro", count, lang, closes=closes)),
        context(t("surveys.round.anonymous" if anonymous else "surveys.round.named", lang)),
    ]
    for n, question in enumerate(questions, start=1):
        shown = localized(question, lang)
        blocks.extend(question_inputs(shown, n=n, given=given.get(question["id"]), lang=lang))
    return modal(
        callback_id=CALLBACK_ID,
        title=title,
        submit=t("survey_form.save", lang),
        close=t("survey_form.cancel", lang),
        blocks=blocks,
        private_metadata=metadata,
    )


def done_text(*, count: int, skipped: int, closes_at: datetime, timezone: str, lang: str) -> str:
    """ "Thanks — all 3 answers are in (1 skipped). You can change them until …"."""
    closes = slack_date(closes_at, fallback_timezone=timezone)
    text = tn("survey_form.done", count, lang, closes=closes)
    if skipped:
        text += " " + tn("survey_form.done_skipped", skipped, lang)
    return text


def done_message(
    *, count: int, skipped: int, closes_at: datetime, timezone: str, lang: str
) -> dict[str, Any]:
    """The confirmation in the round's thread once the last question is answered there."""
    text = done_text(
        count=count, skipped=skipped, closes_at=closes_at, timezone=timezone, lang=lang
    )
    return {"text": text, "blocks": [section(text)]}


def done_view(
    *, title: str, count: int, skipped: int, closes_at: datetime, timezone: str, lang: str
) -> View:
    """The form, once saved with every question answered or skipped, says so in its place."""
    text = done_text(
        count=count, skipped=skipped, closes_at=closes_at, timezone=timezone, lang=lang
    )
    return modal(
        callback_id=f"{CALLBACK_ID}_done",
        title=title,
        submit=None,
        close=t("survey_form.close", lang),
        blocks=[section(text)],
    )
