"""A survey round's results as Slack messages, plain text, JSON and CSV (pure functions).

`results_messages` gives the owner channel's post first (header, response rate, each scale
and choice question with its distribution and trend, the breakdown), then thread replies
with what did not fit and the free-text answers. Every message is within Slack's limits
(50 blocks, 3000 characters a section), whatever the number of questions and answers.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from datetime import datetime
from typing import Any

from bot.i18n import t, tn
from bot.sla.business_time import zone
from bot.surveys.results_domain import (
    LISTED_PEOPLE,
    OTHER_GROUPS,
    SCALE_RANGES,
    ChoiceResult,
    GroupResult,
    RoundResults,
    ScaleResult,
    TextResult,
)
from bot.text import (
    MESSAGE_TEXT_LIMIT,
    SECTION_TEXT_LIMIT,
    csv_cell,
    escape_plain,
    json_ready,
    neutralize,
    truncate,
)
from bot.views.blocks import (
    Block,
    block_chars,
    context,
    header,
    section,
    slack_date,
    thread_replies,
)

Message = dict[str, Any]

BAR_WIDTH = 12  # characters of the longest bar
MAIN_BLOCKS = 45  # blocks of the channel post (Slack allows 50)
REPLY_BLOCKS = 45
# Slack refuses messages whose blocks hold around 13,000 characters ("msg_blocks_too_long").
MESSAGE_CHARS = 12000
MAX_REPLIES = 20  # beyond that, `jerry surveys results NAME --format csv` has everything
ANSWER_LIMIT = 1500  # one free-text answer
QUESTION_LIMIT = 600
LABEL_LIMIT = 80
SECTION_BUDGET = SECTION_TEXT_LIMIT - 100


# --- small pieces -----------------------------------------------------------------------------


def _slack_text(text: str, limit: int) -> str:
    """Text typed in Slack (already in Slack's format): no broadcast, cut cleanly."""
    return truncate(neutralize(text.strip()), limit)


def safe_label(text: str, limit: int = LABEL_LIMIT) -> str:
    """Raw text (the surveys file, people's names): escaped for mrkdwn, no broadcast, cut."""
    return truncate(neutralize(escape_plain(text.strip())), limit)


def number(value: float | None, lang: str) -> str:
    if value is None:
        return "–"
    text = f"{value:.1f}"
    return text.replace(".", ",") if lang == "fr" else text


def signed(value: float, lang: str) -> str:
    text = number(abs(value), lang)
    if round(value, 1) > 0:
        return "+" + text
    if round(value, 1) < 0:
        return "−" + text
    return "±" + text


def percent(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


def moment(instant: datetime, tz: str | None, lang: str) -> str:
    """ "Thu 12 Mar 10:00" / "jeu. 12 mars 10:00" in `tz`."""
    local = instant.astimezone(zone(tz))
    days = t("survey_results.weekdays", lang).split()
    months = t("survey_results.months", lang).split()
    return t(
        "survey_results.moment",
        lang,
        weekday=days[local.weekday()],
        day=local.day,
        month=months[local.month - 1],
        time=local.strftime("%H:%M"),
    )


def bar(count: int, biggest: int) -> str:
    if count <= 0 or biggest <= 0:
        return ""
    return "█" * max(1, round(BAR_WIDTH * count / biggest))


def bars(rows: list[tuple[str, int]], total: int) -> str:
    """A small text bar chart: one line per row (label, bar, count, share)."""
    biggest = max((n for _, n in rows), default=0)
    width = max((len(label) for label, _ in rows), default=1)
    lines = [
        f"{label.rjust(width)} {bar(n, biggest).ljust(BAR_WIDTH)} {n} ({percent(n, total)}%)"
        for label, n in rows
    ]
    return "```" + "\n".join(lines) + "```"


def title_text(results: RoundResults, lang: str) -> str:
    key = "survey_results.title_so_far" if results.so_far else "survey_results.title"
    return t(key, lang, title=results.title, number=results.round_number)


def status_line(results: RoundResults, lang: str, *, in_slack: bool = True) -> str:
    """When the round opened and closed (or closes): in Slack, in each reader's timezone;
    in the CLI's plain text (`in_slack=False`), in the survey's."""

    def when(instant: datetime) -> str:
        if in_slack:
            return slack_date(instant, fallback_timezone=str(zone(results.timezone)))
        return moment(instant, results.timezone, lang)

    if results.so_far:
        return t("survey_results.status.open", lang, closes=when(results.closes_at))
    return t(
        "survey_results.status.closed",
        lang,
        opened=when(results.opened_at),
        closed=when(results.closed_at or results.closes_at),
    )


def rate_line(results: RoundResults, lang: str) -> str:
    text = tn(
        "survey_results.rate",
        results.finished,
        lang,
        invited=results.invited,
        percent=percent(results.finished, results.invited),
    )
    if results.partial:
        text += " " + tn("survey_results.partial", results.partial, lang)
    if results.anonymous:
        text += " " + t("survey_results.anonymous", lang)
    return text


def _change(result: ScaleResult, lang: str) -> str:
    if result.change is None or result.previous is None:
        return t("survey_results.first_time", lang)
    arrow = "↗" if round(result.change, 1) > 0 else "↘" if round(result.change, 1) < 0 else "→"
    return t(
        "survey_results.change",
        lang,
        arrow=arrow,
        change=signed(result.change, lang),
        number=result.previous.round_number,
    )


def trend_text(result: ScaleResult, lang: str) -> str:
    """ "#3 3.1 → #4 3.4 → #5 3.8" (up to six rounds)."""
    return " → ".join(
        t("survey_results.trend_point", lang, number=p.round_number, mean=number(p.mean, lang))
        for p in result.trend
    )


def scale_mrkdwn(index: int, result: ScaleResult, lang: str) -> str:
    q = result.question
    low, high = SCALE_RANGES[q.kind]
    lines = [f"*{index}. {safe_label(q.text, QUESTION_LIMIT)}*"]
    if result.count == 0:
        lines.append(t("survey_results.no_answers", lang))
        return "\n".join(lines)
    lines.append(
        tn("survey_results.mean", result.count, lang, mean=number(result.mean, lang), high=high)
        + " · "
        + _change(result, lang)
    )
    if len(result.trend) > 1:
        lines.append(t("survey_results.trend", lang, trend=trend_text(result, lang)))
    ends = []
    if q.low:
        ends.append(f"{low} = {safe_label(q.low)}")
    if q.high:
        ends.append(f"{high} = {safe_label(q.high)}")
    if ends:
        lines.append("_" + " · ".join(ends) + "_")
    rows = [(str(value), n) for value, n in reversed(result.distribution)]
    lines.append(bars(rows, result.count))
    return truncate("\n".join(lines), SECTION_BUDGET)


def choice_mrkdwn(index: int, result: ChoiceResult, lang: str) -> str:
    lines = [f"*{index}. {safe_label(result.question.text, QUESTION_LIMIT)}*"]
    if result.count == 0:
        lines.append(t("survey_results.no_answers", lang))
        return "\n".join(lines)
    lines.append(tn("survey_results.answers", result.count, lang))
    rows = [(truncate(option, 40), n) for option, n in result.counts]
    lines.append(bars(rows, result.count))
    return truncate("\n".join(lines), SECTION_BUDGET)


def text_summary_mrkdwn(index: int, result: TextResult, lang: str) -> str:
    line = (
        tn("survey_results.text_in_thread", result.count, lang)
        if result.count
        else t("survey_results.no_answers", lang)
    )
    return truncate(f"*{index}. {safe_label(result.question.text, QUESTION_LIMIT)}*\n{line}", 2900)


def answer_lines(result: TextResult, lang: str) -> list[str]:
    lines = []
    for answer in result.answers:
        quoted = "\n".join(
            "> " + line if line else ">"
            for line in _slack_text(answer.text, ANSWER_LIMIT).split("\n")
        )
        if answer.who:
            quoted += "\n— " + safe_label(answer.who)
        lines.append(quoted)
    return lines


def group_line(group: GroupResult, results: RoundResults, lang: str) -> str:
    if group.name == OTHER_GROUPS:
        merged = ", ".join(_group_name(name, lang) for name in group.merged)
        if group.hidden:
            return t("survey_results.group.other_hidden", lang, groups=merged)
        return tn(
            "survey_results.group.other",
            group.respondents,
            lang,
            groups=merged,
            means=_group_means(group, results, lang),
        )
    name = _group_name(group.name, lang)
    if group.respondents == 0:
        return t("survey_results.group.none", lang, group=name)
    return tn(
        "survey_results.group.line",
        group.respondents,
        lang,
        group=name,
        means=_group_means(group, results, lang),
    )


def _group_means(group: GroupResult, results: RoundResults, lang: str) -> str:
    """ "Q1 4.2 · Q2 3.1", numbered as the questions are (a mean over too few: "–")."""
    means = dict(group.means)
    parts = [
        f"Q{i} {number(means.get(q.question.id), lang)}"
        for i, q in enumerate(results.questions, 1)
        if isinstance(q, ScaleResult)
    ]
    return " · ".join(parts) or "–"


def _group_name(name: str, lang: str = "en") -> str:
    """A channel as a link (no ping), a user group by its id as text (`<!subteam^…>` would
    notify the whole group), people listed by id as words."""
    if name.startswith(("C", "G")) and name.isalnum() and name.isupper():
        return f"<#{name}>"
    if name == LISTED_PEOPLE:
        return t("survey_results.group.listed", lang)
    return safe_label(name.lstrip("@"), 80)


# --- the messages -----------------------------------------------------------------------------


def _pack_lines(title: str, lines: list[str]) -> list[tuple[Block, int]]:
    """Lines into sections of at most SECTION_BUDGET characters (the title on the first),
    each with how many lines it holds."""
    packed: list[tuple[Block, int]] = []
    current, count = f"*{title}*", 0
    for line in lines:
        line = truncate(line, SECTION_BUDGET - len(title) - 10)
        candidate = f"{current}\n\n{line}" if current else line
        if len(candidate) > SECTION_BUDGET and count:
            packed.append((section(current), count))
            current, count = line, 1
        else:
            current, count = candidate, count + 1
    if count:
        packed.append((section(current), count))
    return packed


def results_messages(results: RoundResults, lang: str) -> list[Message]:
    """The channel post, then thread replies (each a valid message on its own)."""
    head: list[Block] = [
        header(title_text(results, lang)),
        context(status_line(results, lang)),
        section(rate_line(results, lang)),
    ]
    body: list[Block] = []
    overflow: list[tuple[Block, int]] = []
    for index, result in enumerate(results.questions, 1):
        if isinstance(result, ScaleResult):
            body.append(section(scale_mrkdwn(index, result, lang)))
        elif isinstance(result, ChoiceResult):
            body.append(section(choice_mrkdwn(index, result, lang)))
        else:
            body.append(section(text_summary_mrkdwn(index, result, lang)))
            title = t(
                "survey_results.text_title",
                lang,
                index=index,
                question=safe_label(result.question.text, 200),
            )
            overflow += _pack_lines(title, answer_lines(result, lang))
    if results.groups:
        lines = [group_line(g, results, lang) for g in results.groups]
        body.append(
            section(
                truncate(
                    f"*{t('survey_results.group.title', lang)}*\n" + "\n".join(lines),
                    SECTION_BUDGET,
                )
            )
        )
        body.append(context(t("survey_results.group.how", lang)))
    if results.scale_results() and not results.has_trend:
        body.append(context(t("survey_results.chart.first_round", lang)))
    body.append(context(t("survey_results.how", lang)))

    main = list(head)
    size = sum(block_chars(b) for b in main)
    spill: list[tuple[Block, int]] = []
    for block in body:
        chars = block_chars(block)
        if not spill and len(main) < MAIN_BLOCKS - 1 and size + chars <= MESSAGE_CHARS - 300:
            main.append(block)
            size += chars
        else:
            spill.append((block, 0))
    if spill:
        main.append(context(t("survey_results.more_in_thread", lang)))
    fallback = truncate(
        title_text(results, lang) + " — " + rate_line(results, lang), MESSAGE_TEXT_LIMIT
    )
    messages: list[Message] = [{"text": fallback, "blocks": main}]
    messages += _replies(results, lang, spill + overflow)
    return messages


def _replies(results: RoundResults, lang: str, packed: list[tuple[Block, int]]) -> list[Message]:
    replies = thread_replies(
        packed,
        max_blocks=REPLY_BLOCKS,
        max_chars=MESSAGE_CHARS,
        max_replies=MAX_REPLIES,
        cut_note=lambda left: context(
            tn("survey_results.cut", left, lang, name=safe_label(results.survey))
        ),
    )
    text = truncate(
        t("survey_results.reply_fallback", lang, title=title_text(results, lang)),
        MESSAGE_TEXT_LIMIT,
    )
    return [{"text": text, "blocks": blocks} for blocks in replies]


# --- text, JSON, CSV (the CLI) ----------------------------------------------------------------


def _plain(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def results_text(results: RoundResults, lang: str) -> str:
    """The results for a terminal."""
    out = [
        title_text(results, lang),
        _plain(status_line(results, lang, in_slack=False)).replace("*", ""),
        _plain(rate_line(results, lang)).replace("*", "").replace("_", ""),
    ]
    for index, result in enumerate(results.questions, 1):
        out.append("")
        if isinstance(result, ScaleResult):
            text = scale_mrkdwn(index, result, lang)
        elif isinstance(result, ChoiceResult):
            text = choice_mrkdwn(index, result, lang)
        else:
            text = f"*{index}. {safe_label(result.question.text, QUESTION_LIMIT)}*"
            if not result.answers:
                text += "\n" + t("survey_results.no_answers", lang)
            for answer in result.answers:
                text += "\n  - " + answer.text.replace("\n", "\n    ")
                if answer.who:
                    text += f" ({answer.who})"
        out.append(_plain(text).replace("```", "").replace("*", ""))
    if results.groups:
        out += ["", t("survey_results.group.title", lang)]
        out += [
            "  " + _plain(group_line(g, results, lang)).replace("*", "") for g in results.groups
        ]
    return "\n".join(out) + "\n"


def results_json(results: RoundResults) -> dict[str, Any]:
    """Everything in the results as JSON-ready data (dates ISO)."""
    data: dict[str, Any] = {
        "survey": results.survey,
        "title": results.title,
        "round": results.round_number,
        "status": results.status,
        "so_far": results.so_far,
        "anonymous": results.anonymous,
        "opened_at": results.opened_at,
        "closes_at": results.closes_at,
        "closed_at": results.closed_at,
        "invited": results.invited,
        "finished": results.finished,
        "partial": results.partial,
        "response_rate": results.response_rate,
        "questions": [],
        "groups": [],
    }
    for result in results.questions:
        entry: dict[str, Any] = {
            "id": result.question.id,
            "kind": result.question.kind,
            "text": result.question.text,
            "answers": result.count,
        }
        if isinstance(result, ScaleResult):
            entry["mean"] = result.mean
            entry["distribution"] = {str(v): n for v, n in result.distribution}
            entry["previous"] = asdict(result.previous) if result.previous else None
            entry["change"] = result.change
            entry["trend"] = [asdict(p) for p in result.trend]
        elif isinstance(result, ChoiceResult):
            entry["counts"] = dict(result.counts)
        else:
            entry["texts"] = [
                {"text": a.text, **({"who": a.who} if a.who else {})} for a in result.answers
            ]
        data["questions"].append(entry)
    for group in results.groups:
        data["groups"].append(
            {
                "name": group.name or None,  # None: the small groups merged (`merged`)
                **({"merged": list(group.merged)} if group.name == OTHER_GROUPS else {}),
                "respondents": None if group.hidden else group.respondents,
                "hidden": group.hidden,
                "means": None if group.hidden else dict(group.means),
            }
        )
    return json_ready(data)


CSV_COLUMNS = ("survey", "round", "status", "question", "kind", "text", "measure", "key", "value")


def results_csv(results: RoundResults) -> str:
    """One row per figure (measure says which), free-text answers one row each."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()

    def row(**values: Any) -> None:
        base = {"survey": results.survey, "round": results.round_number, "status": results.status}
        writer.writerow({k: csv_cell({**base, **values}.get(k)) for k in CSV_COLUMNS})

    row(measure="invited", value=results.invited)
    row(measure="finished", value=results.finished)
    row(measure="partial", value=results.partial)
    rate = results.response_rate
    row(measure="response_rate", value=None if rate is None else f"{rate:.3f}")
    for result in results.questions:
        q = result.question
        common = {"question": q.id, "kind": q.kind, "text": _plain(q.text)}
        row(**common, measure="answers", value=result.count)
        if isinstance(result, ScaleResult):
            mean = None if result.mean is None else f"{result.mean:.2f}"
            row(**common, measure="mean", value=mean)
            for value, n in result.distribution:
                row(**common, measure="count", key=value, value=n)
            if result.change is not None:
                row(**common, measure="change", value=f"{result.change:+.2f}")
            for point in result.trend:
                row(**common, measure="trend", key=point.round_number, value=f"{point.mean:.2f}")
        elif isinstance(result, ChoiceResult):
            for option, n in result.counts:
                row(**common, measure="count", key=option, value=n)
        else:
            for answer in result.answers:
                row(**common, measure="answer", key=answer.who or "", value=_plain(answer.text))
    for group in results.groups:
        # the small groups merged: "other:S0CS+S0SE"
        key = group.name or "other:" + "+".join(group.merged)
        if group.hidden:
            row(measure="group_hidden", key=key)
            continue
        row(measure="group_respondents", key=key, value=group.respondents)
        for qid, group_mean in group.means:
            row(
                question=qid,
                measure="group_mean",
                key=key,
                value=None if group_mean is None else f"{group_mean:.2f}",
            )
    return buffer.getvalue()
