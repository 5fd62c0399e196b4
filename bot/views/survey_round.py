"""The messages that open a survey round: the intro, then one thread reply per question;
and the reminder someone who has not finished gets before the round closes.

Pure builders: plain data in, Block Kit dicts out, within Slack's limits. Scale questions
carry one button per value (action id `survey_answer`, value "round:question:n").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.i18n import t
from bot.sla.business_time import zone
from bot.surveys.results_domain import SCALE_RANGES
from bot.text import MESSAGE_TEXT_LIMIT, escape_plain, neutralize, truncate
from bot.views.blocks import (
    Block,
    actions,
    button,
    context,
    header,
    section,
    slack_date,
)
from bot.views.survey_results import safe_label

Message = dict[str, Any]
# One action id per button (Slack wants them unique within a block): survey_answer_<n>.
ANSWER_ACTION_PREFIX = "survey_answer_"


def _safe(text: str) -> str:
    """Text from the surveys file (raw) → Slack's format, with no broadcast ping."""
    return neutralize(escape_plain(text))


def closes_text(closes_at: datetime, timezone: str) -> str:
    """A date Slack shows in each reader's own timezone (the survey's one as the fallback)."""
    return slack_date(closes_at, fallback_timezone=timezone)


def answer_value(round_id: int, question_id: str, n: int) -> str:
    return f"{round_id}:{question_id}:{n}"


def intro_message(
    *,
    title: str,
    count: int,
    closes_at: datetime,
    timezone: str,
    anonymous: bool,
    in_channel: bool,
    lang: str,
) -> Message:
    closes = closes_text(closes_at, timezone)
    key = "surveys.round.intro_channel" if in_channel else "surveys.round.intro"
    blocks: list[Block] = [
        header(title),
        section(t(key, lang, count=count, closes=closes)),
        context(t("surveys.round.anonymous" if anonymous else "surveys.round.named", lang)),
    ]
    text = t("surveys.round.fallback", lang, title=_safe(title), count=count)
    return {"text": truncate(text, MESSAGE_TEXT_LIMIT), "blocks": blocks}


def question_message(
    question: dict[str, Any], *, n: int, count: int, round_id: int, lang: str
) -> Message:
    """Question `n` of `count` (a dict as in SurveyRound.questions)."""
    text = t("surveys.round.question", lang, n=n, count=count, text=_safe(question["text"]))
    blocks: list[Block] = [section(text)]
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
            hint = f"{labels}\n{hint}"
        blocks.append(context(hint))
        blocks.append(
            actions(
                f"survey_{round_id}_{question['id']}",
                *(
                    button(
                        str(value),
                        f"{ANSWER_ACTION_PREFIX}{value}",
                        answer_value(round_id, question["id"], value),
                    )
                    for value in range(low_n, high_n + 1)
                ),
            )
        )
    elif kind == "choice":
        options = " · ".join(
            f"{index}) {_safe(option)}"
            for index, option in enumerate(question.get("options") or [], start=1)
        )
        blocks.append(context(t("surveys.round.choice_hint", lang, options=options)))
    else:
        blocks.append(context(t("surveys.round.text_hint", lang)))
    return {"text": truncate(text, MESSAGE_TEXT_LIMIT), "blocks": blocks}


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
    key = "survey_reminder.one" if left == 1 else "survey_reminder.many"
    closes = slack_date(closes_at, fallback_timezone=str(zone(tz)))
    line = t(key, lang, n=left, closes=closes, title=safe_label(title, 200))
    if channel:
        line += " " + t("survey_reminder.in_channel", lang, channel=f"<#{channel}>")
    return {"text": line, "blocks": [section(line)]}
