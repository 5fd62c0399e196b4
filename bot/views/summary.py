"""The weekly summary as Slack messages, plain text, JSON, Markdown and CSV (pure functions).

`summary_messages` gives the channel post first (header, shipped, coming up, the numbers,
one-line summaries of what customers say and of the shared answers, the download buttons),
then thread replies that carry what did not fit, and last, always, how the numbers are
counted (the post stays short; the method is one tap away). Every message is within
Slack's limits (50 blocks, 3000 characters a section), whatever the size of the week.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.i18n import t, tn
from bot.summaries.domain import AreaVoice, Numbers, SharedAnswer, Summary, UpdateLine
from bot.text import (
    MESSAGE_TEXT_LIMIT,
    SECTION_TEXT_LIMIT,
    csv_cell,
    escape_plain,
    json_ready,
    neutralize,
    truncate,
)
from bot.updates.domain import CONFIDENCES
from bot.views.blocks import (
    DATE_AND_TIME,
    Block,
    actions,
    button,
    context,
    fields_section,
    header,
    section,
    slack_date,
    thread_replies,
)
from bot.views.blocks import block_chars as block_chars  # re-exported: how posts are measured
from bot.views.items import human_duration

Message = dict[str, Any]  # {"text": fallback, "blocks": [...]}, ready for chat.postMessage

DOWNLOAD_CSV = "summary_download_csv"
DOWNLOAD_MD = "summary_download_md"
MAIN_LINES = 8  # lines of each list shown in the channel post; the rest go to the thread
# Characters of a list's lines in the channel post (shipped, next six weeks, later this half).
MAIN_BUDGET = {"shipped": 4000, "soon": 2500, "later": 1500}
# All the text of one message's blocks. Slack documents no total, but refuses messages whose
# blocks hold around 13,000 characters or more ("msg_blocks_too_long", slackapi/bolt-js#2509).
MESSAGE_CHARS = 12000
SCOPE_LIMIT = 500  # the scope line and the unknown areas line, each
MAIN_AREAS = 3  # areas named in the post's one-line summary of what customers say
REPLY_BLOCKS = 45  # blocks of a thread reply (Slack allows 50; room for a closing note)
MAX_REPLIES = 10  # thread replies at most (the method note's included); beyond that the
# download has everything
LINE_LIMIT = 900  # one line of a list, so a section always holds a few
QUESTION_LIMIT = 700
ANSWER_LIMIT = 1500
SECTION_BUDGET = SECTION_TEXT_LIMIT - 100


# --- small pieces --------------------------------------------------------------------------


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _user_text(text: str, limit: int) -> str:
    """Text typed by a person or a feed, as Slack mrkdwn: escaped once, no broadcast, cut."""
    return truncate(neutralize(escape_plain(_unescape(text)).strip()), limit)


def _slack_text(text: str, limit: int) -> str:
    """Text already in Slack's format (item texts, answers): no broadcast, cut cleanly."""
    return truncate(neutralize(text.strip()), limit)


def _safe_url(url: str | None) -> str | None:
    if not url:
        return None
    url = url.strip()
    if not url.lower().startswith(("http://", "https://")) or any(c in url for c in "<>| \n"):
        return None
    return url


def day_text(day: date, lang: str) -> str:
    """A day as people write it: "Nov 25" in English, "25 nov." in French."""
    months = t("summary.months", lang).split()
    return t("summary.date", lang, day=day.day, month=months[day.month - 1])


def period_days(summary: Summary) -> tuple[date, date]:
    """The first and last local day of the period."""
    tz = ZoneInfo(summary.scope.timezone)
    first = summary.period.start.astimezone(tz).date()
    last = (summary.period.end - timedelta(microseconds=1)).astimezone(tz).date()
    return first, max(first, last)


def when_text(when: datetime, timezone: str, lang: str) -> str:
    """A moment as people write it, in `timezone`: "Mon Dec 7, 09:00" (files and the CLI;
    Slack messages use slack_date, in each reader's timezone)."""
    local = when.astimezone(ZoneInfo(timezone))
    weekdays = t("summary.weekdays", lang).split()
    return t(
        "summary.when",
        lang,
        weekday=weekdays[local.weekday()],
        day=day_text(local.date(), lang),
        time=f"{local:%H:%M}",
    )


def _title(summary: Summary, lang: str) -> str:
    return t("summary.title", lang, name=summary.scope.name)


def _period_line(summary: Summary, lang: str, *, in_slack: bool = True) -> str:
    """The days the summary covers, both included ("Nov 30 – Dec 6"); for a post still to
    come, when it goes out and the days so far."""
    first, last = period_days(summary)
    start, end = day_text(first, lang), day_text(last, lang)
    posts_at = summary.period.posts_at
    if posts_at is None:
        return t("summary.period", lang, start=start, end=end)
    timezone = summary.scope.timezone
    when = (
        slack_date(posts_at, DATE_AND_TIME, fallback_timezone=timezone)
        if in_slack
        else when_text(posts_at, timezone, lang)
    )
    return t("summary.period_so_far", lang, when=when, start=start, end=end)


def _scope_line(summary: Summary, lang: str) -> str:
    if not summary.scope.areas:
        return t("summary.scope.all", lang)
    return t("summary.scope.areas", lang, areas=", ".join(summary.scope.areas))


def _update_facts(line: UpdateLine, lang: str, *, upcoming: bool) -> list[str]:
    facts: list[str] = []
    if line.area:
        facts.append(line.area)
    if line.date:
        key = "summary.target" if upcoming else "summary.shipped_on"
        facts.append(t(key, lang, day=day_text(line.date, lang)))
    if upcoming and line.confidence in CONFIDENCES:
        facts.append(t(f"summary.confidence.{line.confidence}", lang))
    if line.overdue:
        facts.append(t("summary.overdue", lang))
    facts.append(
        t(
            "summary.audience.customer" if line.customer_facing else "summary.audience.internal",
            lang,
        )
    )
    return facts


ASKED_BUDGET = 1500  # characters of "Shipped because you asked" in the channel post


def asked_line(line: UpdateLine, lang: str) -> str:
    """ "• Refunds in any currency: asked by 4 people, 2 customers"."""
    who = tn("summary.asked.people", line.asked_people, lang)
    if line.asked_customers:
        who += ", " + tn("summary.asked.customers", line.asked_customers, lang)
    return t("summary.asked.line", lang, title=_user_text(line.title, 300), who=who)


def update_mrkdwn(line: UpdateLine, lang: str, *, upcoming: bool = False) -> str:
    title = _user_text(line.title, 300)
    url = _safe_url(line.link)
    head = f"• *<{url}|{title}>*" if url else f"• *{title}*"
    text = (
        head
        + " — _"
        + " · ".join(escape_plain(f) for f in _update_facts(line, lang, upcoming=upcoming))
        + "_"
    )
    if line.customer_impact and line.customer_impact.strip():
        text += "\n      " + _user_text(line.customer_impact, LINE_LIMIT - 200)
    return truncate(text, LINE_LIMIT)


def _counts(
    lang: str, *, painpoints: int, questions: int, answered: int, resolved: int
) -> dict[str, str]:
    """Each count in its own words, in the right plural form ("1 pain point", "2 questions")."""
    return {
        "painpoints": tn("summary.count.painpoints", painpoints, lang),
        "questions": tn("summary.count.questions", questions, lang),
        "answered": tn("summary.count.answered", answered, lang),
        "resolved": tn("summary.count.resolved", resolved, lang),
    }


def voice_mrkdwn(voice: AreaVoice, lang: str) -> str:
    area = escape_plain(voice.area) if voice.area else t("summary.voice.no_area", lang)
    text = "• " + t(
        "summary.voice.area",
        lang,
        area=area,
        total=voice.total,
        **_counts(
            lang,
            painpoints=voice.painpoints,
            questions=voice.questions,
            answered=voice.answered,
            resolved=voice.resolved,
        ),
    )
    if voice.themes:
        text += "\n      " + t(
            "summary.voice.themes", lang, themes=", ".join(escape_plain(th) for th in voice.themes)
        )
    return truncate(text, LINE_LIMIT)


def shared_mrkdwn(answer: SharedAnswer, lang: str) -> str:
    question = _slack_text(answer.question, QUESTION_LIMIT)
    reply = _slack_text(answer.answer, ANSWER_LIMIT)
    who = answer.team or answer.area
    text = t("summary.answered.question", lang, text=question.replace("\n", " "))
    text += "\n" + t("summary.answered.answer", lang, text=reply)
    if who:
        text += "\n_" + t("summary.answered.by", lang, team=escape_plain(who)) + "_"
    return truncate(text, SECTION_BUDGET)


def _pack_counted(title: str | None, lines: list[str]) -> list[tuple[Block, int]]:
    """Lines into as few sections as fit (3000 characters each), the title on the first;
    each section with the number of lines it holds."""
    packed: list[tuple[Block, int]] = []
    current, count = (f"*{title}*" if title else ""), 0
    for line in lines:
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > SECTION_BUDGET and current:
            packed.append((section(current), count))
            current, count = line, 1
        else:
            current, count = candidate, count + 1
    if current:
        packed.append((section(current), count))
    return packed


def _pack(title: str | None, lines: list[str]) -> list[Block]:
    return [block for block, _ in _pack_counted(title, lines)]


def _shown(lines: list[str], budget: int) -> int:
    """How many of the first lines fit the post's budget (at least one, at most MAIN_LINES)."""
    used = 0
    for n, line in enumerate(lines[:MAIN_LINES]):
        used += len(line) + 1
        if used > budget and n:
            return n
    return min(len(lines), MAIN_LINES)


def _count_change(now: int, before: Numbers | None, field: str, lang: str) -> str:
    if before is None:
        return t("summary.numbers.no_previous", lang)
    previous: int = getattr(before, field)
    delta = now - previous
    sign = f"+{delta}" if delta > 0 else str(delta) if delta < 0 else "="
    return t("summary.numbers.previous_count", lang, value=previous, change=sign)


def _duration(value: timedelta | None, lang: str) -> str:
    if value is None:
        return t("summary.numbers.no_answer", lang)
    return human_duration(value.total_seconds(), lang)


def numbers_pairs(summary: Summary, lang: str) -> list[tuple[str, str]]:
    """The three numbers as (label, value with the previous period's)."""
    now, before = summary.numbers, summary.previous_numbers
    median_before = (
        t("summary.numbers.no_previous", lang)
        if before is None
        else t("summary.numbers.previous", lang, value=_duration(before.median_first_answer, lang))
    )
    return [
        (
            t("summary.numbers.routed", lang),
            f"{now.routed} " + _count_change(now.routed, before, "routed", lang),
        ),
        (
            t("summary.numbers.first_answer", lang),
            f"{_duration(now.median_first_answer, lang)} {median_before}",
        ),
        (
            t("summary.numbers.resolved", lang),
            f"{now.resolved} " + _count_change(now.resolved, before, "resolved", lang),
        ),
    ]


def numbers_fields(summary: Summary, lang: str) -> list[str]:
    return [f"*{label}*\n{value}" for label, value in numbers_pairs(summary, lang)]


def voice_totals(summary: Summary) -> tuple[int, int, int, int]:
    painpoints = sum(v.painpoints for v in summary.voice)
    questions = sum(v.questions for v in summary.voice)
    answered = sum(v.answered for v in summary.voice)
    resolved = sum(v.resolved for v in summary.voice)
    return painpoints, questions, answered, resolved


def voice_summary_line(summary: Summary, lang: str) -> str:
    if not summary.voice:
        return t("summary.voice.empty", lang)
    painpoints, questions, answered, resolved = voice_totals(summary)
    text = t(
        "summary.voice.total",
        lang,
        items=tn("summary.count.items", painpoints + questions, lang),
        **_counts(
            lang,
            painpoints=painpoints,
            questions=questions,
            answered=answered,
            resolved=resolved,
        ),
    )
    # Items not routed to an area are counted, but they are no subject customers mention.
    top = [f"{escape_plain(v.area)} ({v.total})" for v in summary.voice if v.area][:MAIN_AREAS]
    if not top:
        return text
    return text + " " + t("summary.voice.top", lang, areas=", ".join(top))


# --- Slack messages ----------------------------------------------------------------------


def summary_messages(summary: Summary, lang: str, *, download_value: str | None) -> list[Message]:
    """The channel post, then the thread replies (each a valid message on its own)."""
    overflow: list[tuple[str, list[str]]] = []
    blocks: list[Block] = [
        header(_title(summary, lang)),
        context(
            _period_line(summary, lang) + " · " + truncate(_scope_line(summary, lang), SCOPE_LIMIT)
        ),
    ]
    if summary.unknown_areas:
        unknown = t("summary.unknown_areas", lang, areas=", ".join(summary.unknown_areas))
        blocks.append(context(truncate(unknown, SCOPE_LIMIT)))

    # 1. Shipped
    shipped = [update_mrkdwn(u, lang) for u in summary.shipped]
    if shipped:
        shown = _shown(shipped, MAIN_BUDGET["shipped"])
        blocks += _pack(t("summary.shipped.title", lang), shipped[:shown])
        if len(shipped) > shown:
            blocks.append(context(t("summary.more_in_thread", lang, n=len(shipped) - shown)))
            overflow.append((t("summary.shipped.more", lang), shipped[shown:]))
    else:
        blocks.append(
            section(f"*{t('summary.shipped.title', lang)}*\n{t('summary.shipped.empty', lang)}")
        )

    # 1b. Shipped because you asked: the shipped updates that name items
    if summary.because_asked:
        asked = [asked_line(u, lang) for u in summary.because_asked]
        shown = _shown(asked, ASKED_BUDGET)
        blocks += _pack(t("summary.asked.title", lang), asked[:shown])
        if len(asked) > shown:
            blocks.append(context(t("summary.more_in_thread", lang, n=len(asked) - shown)))
            overflow.append((t("summary.asked.title", lang), asked[shown:]))

    # 2. Coming up
    blocks.append(section(f"*{t('summary.coming.title', lang)}*"))
    for key, lines_of in (
        ("summary.coming.soon", summary.coming_soon),
        ("summary.coming.later", summary.coming_later),
    ):
        lines = [update_mrkdwn(u, lang, upcoming=True) for u in lines_of]
        if lines:
            shown = _shown(lines, MAIN_BUDGET[key.rsplit(".", 1)[1]])
            blocks += _pack(t(key, lang), lines[:shown])
            if len(lines) > shown:
                blocks.append(context(t("summary.more_in_thread", lang, n=len(lines) - shown)))
                overflow.append((t(key, lang) + " " + t("summary.continued", lang), lines[shown:]))
        else:
            empty = (
                "summary.coming.soon_empty"
                if key.endswith("soon")
                else "summary.coming.later_empty"
            )
            blocks.append(section(f"*{t(key, lang)}*\n{t(empty, lang)}"))

    # 3. What customers are telling us (one line here, per area in the thread)
    blocks.append(
        section(f"*{t('summary.voice.title', lang)}*\n{voice_summary_line(summary, lang)}")
    )
    if summary.voice:
        overflow.append(
            (t("summary.voice.title", lang), [voice_mrkdwn(v, lang) for v in summary.voice])
        )

    # 4. Answered this week (a count here, the answers in the thread)
    if summary.shared_answers:
        line = tn("summary.answered.count", len(summary.shared_answers), lang)
        overflow.append(
            (
                t("summary.answered.title", lang),
                [shared_mrkdwn(a, lang) for a in summary.shared_answers],
            )
        )
    else:
        line = t("summary.answered.empty", lang)
    blocks.append(section(f"*{t('summary.answered.title', lang)}*\n{line}"))

    # 5. The numbers
    blocks.append(section(f"*{t('summary.numbers.title', lang)}*"))
    blocks.append(fields_section(numbers_fields(summary, lang)))
    blocks.append(context(t("summary.numbers.how_pointer", lang)))

    if download_value:
        blocks.append(
            actions(
                "summary_download",
                button(t("summary.download.csv", lang), DOWNLOAD_CSV, download_value),
                button(t("summary.download.md", lang), DOWNLOAD_MD, download_value),
            )
        )
    fallback = truncate(
        _title(summary, lang) + " — " + _period_line(summary, lang), MESSAGE_TEXT_LIMIT
    )
    messages: list[Message] = [{"text": fallback, "blocks": blocks}]
    messages += _replies(summary, lang, overflow, has_download=bool(download_value))
    return messages


def _replies(
    summary: Summary, lang: str, overflow: list[tuple[str, list[str]]], *, has_download: bool
) -> list[Message]:
    """The overflow as thread replies: each within REPLY_BLOCKS blocks and MESSAGE_CHARS
    characters; at most MAX_REPLIES - 1 of them, the last saying how many lines did not fit.
    Then the method note, its own reply, whatever the overflow."""
    packed: list[tuple[Block, int]] = []
    for title, lines in overflow:
        packed += _pack_counted(title, lines)
    key = "summary.cut.download" if has_download else "summary.cut.cli"
    replies = thread_replies(
        packed,
        max_blocks=REPLY_BLOCKS,
        max_chars=MESSAGE_CHARS,
        max_replies=MAX_REPLIES - 1,
        cut_note=lambda left: context(tn(key, left, lang)),
    )
    text = truncate(
        t("summary.reply_fallback", lang, title=_title(summary, lang)), MESSAGE_TEXT_LIMIT
    )
    method = t("summary.method.title", lang)
    messages = [{"text": text, "blocks": blocks} for blocks in replies]
    messages.append(
        {
            "text": truncate(
                t("summary.label_value", lang, label=method, value=t("summary.numbers.how", lang)),
                MESSAGE_TEXT_LIMIT,
            ),
            "blocks": [section(f"*{method}*\n{t('summary.numbers.how', lang)}")],
        }
    )
    return messages


# --- text, JSON, Markdown, CSV --------------------------------------------------------------


_EMOJI = re.compile(r":[a-z][a-z0-9_+-]*:\s*")


def _no_emoji(text: str) -> str:
    """Jerry's own labels without Slack emoji codes (files and terminals do not render them)."""
    return _EMOJI.sub("", text)


def _plain(text: str) -> str:
    return _unescape(neutralize(text)).strip()


def _update_plain(line: UpdateLine, lang: str, *, upcoming: bool) -> tuple[str, str]:
    facts = _no_emoji(", ".join(_update_facts(line, lang, upcoming=upcoming)))
    return _plain(line.title.replace("\n", " ")), facts


def _sections_plain(summary: Summary, lang: str) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """(section title, [(title, facts, detail)]) shared by text and Markdown."""

    def updates(lines: list[UpdateLine], upcoming: bool) -> list[tuple[str, str, str]]:
        out = []
        for u in lines:
            title, facts = _update_plain(u, lang, upcoming=upcoming)
            detail = _plain(u.customer_impact or "")
            link = _safe_url(u.link) or ""
            out.append((title, facts, "\n".join(x for x in (detail, link) if x)))
        return out

    return [
        (t("summary.shipped.title", lang), updates(summary.shipped, False)),
        (t("summary.coming.soon", lang), updates(summary.coming_soon, True)),
        (t("summary.coming.later", lang), updates(summary.coming_later, True)),
    ]


def _empty_key(index: int) -> str:
    return ("summary.shipped.empty", "summary.coming.soon_empty", "summary.coming.later_empty")[
        index
    ]


def _numbers_plain(summary: Summary, lang: str) -> list[str]:
    return [
        t("summary.label_value", lang, label=label, value=value)
        for label, value in numbers_pairs(summary, lang)
    ]


def _voice_plain(v: AreaVoice, lang: str) -> str:
    return _unescape(voice_mrkdwn(v, lang).lstrip("• ").replace("\n      ", " — ")).replace("*", "")


def summary_text(summary: Summary, lang: str) -> str:
    """The summary as plain text (the CLI prints it)."""
    out = [
        _title(summary, lang),
        _plain(_period_line(summary, lang, in_slack=False)) + " · " + _scope_line(summary, lang),
    ]
    if summary.unknown_areas:
        out.append(t("summary.unknown_areas", lang, areas=", ".join(summary.unknown_areas)))
    for index, (title, rows) in enumerate(_sections_plain(summary, lang)):
        out += ["", _no_emoji(title).upper()]
        if not rows:
            out.append("  " + t(_empty_key(index), lang))
        for name, facts, detail in rows:
            out.append(f"- {name} ({facts})")
            out += [f"    {d}" for d in detail.split("\n") if d]
    out += [
        "",
        _no_emoji(t("summary.voice.title", lang)).upper(),
        "  " + _plain(voice_summary_line(summary, lang)),
    ]
    out += [f"- {_voice_plain(v, lang)}" for v in summary.voice]
    out += ["", _no_emoji(t("summary.answered.title", lang)).upper()]
    if not summary.shared_answers:
        out.append("  " + t("summary.answered.empty", lang))
    for a in summary.shared_answers:
        out.append(
            f"- {t('summary.answered.question', lang, text=_plain(a.question)).replace('*', '')}"
        )
        out.append(
            f"  {t('summary.answered.answer', lang, text=_plain(a.answer)).replace('*', '')}"
        )
        if a.team or a.area:
            out.append("  " + t("summary.answered.by", lang, team=a.team or a.area))
    out += ["", _no_emoji(t("summary.numbers.title", lang)).upper()]
    out += [f"- {line}" for line in _numbers_plain(summary, lang)]
    out.append(_plain(t("summary.numbers.how", lang)))
    return "\n".join(out) + "\n"


def _md_escape(text: str) -> str:
    for ch in "\\`*_[]<>#|":
        text = text.replace(ch, "\\" + ch)
    return text


def summary_markdown(summary: Summary, lang: str) -> str:
    """The summary as a Markdown file (the "Download Markdown" button)."""
    out = [
        f"# {_md_escape(_title(summary, lang))}",
        "",
        _md_escape(
            _plain(_period_line(summary, lang, in_slack=False)) + " · " + _scope_line(summary, lang)
        ),
    ]
    if summary.unknown_areas:
        out += [
            "",
            _md_escape(t("summary.unknown_areas", lang, areas=", ".join(summary.unknown_areas))),
        ]
    for index, (title, rows) in enumerate(_sections_plain(summary, lang)):
        out += ["", f"## {_md_escape(_no_emoji(title))}", ""]
        if not rows:
            out.append(_md_escape(t(_empty_key(index), lang)))
        lines = (
            summary.shipped
            if index == 0
            else summary.coming_soon
            if index == 1
            else summary.coming_later
        )
        for (name, facts, _detail), u in zip(rows, lines, strict=True):
            url = _safe_url(u.link)
            shown = f"[{_md_escape(name)}]({url})" if url else _md_escape(name)
            out.append(f"- **{shown}** — *{_md_escape(facts)}*")
            if u.customer_impact and u.customer_impact.strip():
                out.append(f"  {_md_escape(_plain(u.customer_impact).replace(chr(10), ' '))}")
    out += [
        "",
        f"## {_md_escape(_no_emoji(t('summary.voice.title', lang)))}",
        "",
        _md_escape(_plain(voice_summary_line(summary, lang)).replace("*", "")),
    ]
    if summary.voice:
        out.append("")
        out += [f"- {_md_escape(_voice_plain(v, lang))}" for v in summary.voice]
    out += ["", f"## {_md_escape(_no_emoji(t('summary.answered.title', lang)))}", ""]
    if not summary.shared_answers:
        out.append(_md_escape(t("summary.answered.empty", lang)))
    for a in summary.shared_answers:
        question = _md_escape(_plain(a.question).replace("\n", " "))
        out.append(f"- **{_md_escape(t('summary.answered.q', lang))}** {question}")
        answer = _md_escape(_plain(a.answer)).replace("\n", "\n  > ")
        out.append(f"  > {answer}")
        if a.team or a.area:
            out.append(f"  *{_md_escape(t('summary.answered.by', lang, team=a.team or a.area))}*")
    out += ["", f"## {_md_escape(_no_emoji(t('summary.numbers.title', lang)))}", ""]
    out += [f"- {_md_escape(line)}" for line in _numbers_plain(summary, lang)]
    out += ["", f"*{_md_escape(_plain(t('summary.numbers.how', lang)))}*"]
    return "\n".join(out) + "\n"


def summary_json(summary: Summary) -> dict[str, Any]:
    """Everything in the summary as JSON-ready data (dates ISO, durations in seconds)."""
    data = json_ready(asdict(summary))
    for v, voice in zip(data["voice"], summary.voice, strict=True):
        v["total"] = voice.total
    return data


CSV_COLUMNS = (
    "section",
    "area",
    "team",
    "title",
    "details",
    "date",
    "confidence",
    "audience",
    "overdue",
    "link",
    "painpoints",
    "questions",
    "answered",
    "resolved",
    "themes",
    "value",
    "previous_value",
)


def summary_csv(summary: Summary) -> str:
    """Every line of the summary, one row each, in a single table (section says which part)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()

    def row(**values: Any) -> None:
        writer.writerow({k: csv_cell(values.get(k)) for k in CSV_COLUMNS})

    for name, lines in (
        ("shipped", summary.shipped),
        ("coming_soon", summary.coming_soon),
        ("coming_later", summary.coming_later),
    ):
        for u in lines:
            row(
                section=name,
                area=u.area,
                title=_plain(u.title),
                details=_plain(u.customer_impact or ""),
                date=u.date.isoformat() if u.date else None,
                confidence=u.confidence,
                audience="customer" if u.customer_facing else "internal",
                overdue="yes" if u.overdue else None,
                link=u.link,
            )
    for v in summary.voice:
        row(
            section="customers",
            area=v.area,
            painpoints=v.painpoints,
            questions=v.questions,
            answered=v.answered,
            resolved=v.resolved,
            themes="; ".join(v.themes),
        )
    for a in summary.shared_answers:
        row(
            section="answered",
            area=a.area,
            team=a.team,
            title=_plain(a.question),
            details=_plain(a.answer),
            date=a.answered_at.date().isoformat(),
        )
    now, before = summary.numbers, summary.previous_numbers
    median_now = now.median_first_answer.total_seconds() if now.median_first_answer else None
    median_before = (
        before.median_first_answer.total_seconds()
        if before and before.median_first_answer
        else None
    )
    row(
        section="numbers",
        title="items_routed",
        value=now.routed,
        previous_value=before.routed if before else None,
    )
    row(
        section="numbers",
        title="median_seconds_to_first_answer",
        value=median_now,
        previous_value=median_before,
    )
    row(
        section="numbers",
        title="items_resolved",
        value=now.resolved,
        previous_value=before.resolved if before else None,
    )
    return buffer.getvalue()
