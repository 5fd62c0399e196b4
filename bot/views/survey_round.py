"""The message that opens a survey round (its questions, and an Answer button opening the
private form, bot/views/survey_form.py), and the reminder someone who has not finished gets
before the round closes.

Pure builders: plain data in, Block Kit dicts out, within Slack's limits. Rounds posted before
the form existed have one thread reply per question, scale ones with a button per value
(action id `survey_answer_<n>`, value "round:question:n"): those buttons still answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.i18n import t, tn
from bot.sla.business_time import zone
from bot.surveys.answers import localized
from bot.surveys.results_domain import SCALE_RANGES
from bot.text import MESSAGE_BLOCK_LIMIT, MESSAGE_TEXT_LIMIT, escape_plain, neutralize, truncate
from bot.views.blocks import Block, actions, button, context, header, section, slack_date
from bot.views.survey_results import safe_label

Message = dict[str, Any]
# The round message's button opening the answer form (value: the round id).
ANSWER_FORM_ACTION = "survey_answer_form"


def _safe(text: str) -> str:
    """Text from the surveys file (raw) → Slack's format, with no broadcast ping."""
    return neutralize(escape_plain(text))


def closes_text(closes_at: datetime, timezone: str) -> str:
    """A date Slack shows in each reader's own timezone (the survey's one as the fallback)."""
    return slack_date(closes_at, fallback_timezone=timezone)


def round_message(
    *,
    title: str,
    questions: list[dict[str, Any]],
    round_id: int,
    closes_at: datetime,
    timezone: str,
    anonymous: bool,
    in_channel: bool,
    lang: str,
) -> Message:
    """The one message of a round: every question (in `lang` when the surveys file translates
    it), how to answer in the thread, and the Answer button opening the private form. A
    channel round says plainly that its thread is public and the form is the private way."""
    count = len(questions)
    closes = closes_text(closes_at, timezone)
    key = "survey_form.intro_channel" if in_channel else "survey_form.intro"
    blocks: list[Block] = [header(title), section(tn(key, count, lang, closes=closes))]
    for n, question in enumerate(questions, start=1):
        blocks.extend(question_blocks(localized(question, lang), n=n, count=count, lang=lang))
    blocks.append(
        actions(
            f"survey_round_{round_id}",
            button(
                t("survey_form.answer", lang), ANSWER_FORM_ACTION, str(round_id), style="primary"
            ),
        )
    )
    blocks.append(
        context(t("surveys.round.anonymous" if anonymous else "surveys.round.named", lang))
    )
    text = tn("survey_form.fallback", count, lang, title=_safe(title))
    return {"text": truncate(text, MESSAGE_TEXT_LIMIT), "blocks": blocks[:MESSAGE_BLOCK_LIMIT]}


def question_blocks(question: dict[str, Any], *, n: int, count: int, lang: str) -> list[Block]:
    """Question `n` of `count` (a dict as in SurveyRound.questions) and how to answer it."""
    text = t("surveys.round.question", lang, n=n, count=count, text=_safe(question["text"]))
    kind = question["kind"]
    if kind in SCALE_RANGES:
        low_n, high_n = SCALE_RANGES[kind]
        hint = t("surveys.round.scale_hint", lang, low_n=low_n, high_n=high_n)
        if question.get("low") and question.get("high"):
            labels = t(
                "surveys.round.scale_labels",
                lang,
                low_n=low_n,
                low=_safe(question["low"]),
                high_n=high_n,
                high=_safe(question["high"]),
            )
            hint = f"{hint} {labels}"
    elif kind == "choice":
        options = " · ".join(
            f"{index}) {_safe(option)}"
            for index, option in enumerate(question.get("options") or [], start=1)
        )
        hint = t("surveys.round.choice_hint", lang, options=options)
    else:
        hint = t("surveys.round.text_hint", lang)
    return [section(text), context(hint)]


def reminder_message(
    lang: str,
    *,
    left: int,
    closes_at: datetime,
    tz: str | None,
    title: str,
    channel: str | None = None,
) -> Message:
    """`left` questions are still unanswered; the round closes at `closes_at` (shown in the
    reader's timezone `tz`); `channel`: the round was posted there, not in the DM."""
    closes = slack_date(closes_at, fallback_timezone=str(zone(tz)))
    line = tn("survey_reminder.unanswered", left, lang, closes=closes, title=safe_label(title, 200))
    if channel:
        line += " " + t("survey_reminder.in_channel", lang, channel=f"<#{channel}>")
    return {"text": line, "blocks": [section(line)]}
