"""The product-ops report as Slack messages (pure Block Kit): the post with the headline
numbers and the download buttons, and its thread (per team, per area, customers, demand,
surveys, and last how each number is computed). Built from `Insights` (bot/insights/domain.py)
for admins and the people the report lists: customer names included.
"""

from __future__ import annotations

from typing import Any

from bot.i18n import t, tn
from bot.insights.domain import Compared, Insights, Numbers
from bot.text import neutralize, truncate
from bot.views import insights_words as words
from bot.views.blocks import (
    Block,
    actions,
    button,
    context,
    header,
    section,
    thread_replies,
)

DOWNLOAD_ACTION = "insights_report_download"
DOWNLOAD_FORMATS = ("csv", "md")
REPLY_BLOCKS = 40
REPLY_CHARS = 11_000
MAX_REPLIES = 8
DEMAND_TEXT = 140
HOW_KEYS = (
    "items_in",
    "timings",
    "not_timed",
    "within_target",
    "breaches",
    "resolved",
    "at_risk",
    "bug_trend",
    "time_saved",
    "demand",
    "surveys",
)


def download_value(fmt: str, period_kind: str, period_key: str) -> str:
    return f"{fmt}|{period_kind}|{period_key}"


def parse_download_value(value: str | None) -> tuple[str, str, str] | None:
    parts = (value or "").split("|")
    if len(parts) != 3 or parts[0] not in DOWNLOAD_FORMATS:
        return None
    return parts[0], parts[1], parts[2]


def _title(insights: Insights, lang: str) -> str:
    period = insights.period
    return t(
        f"insights.report.title.{period.kind}",
        lang,
        period=words.period_label(period.kind, period.key, lang),
    )


def _stage_line(stage: str, now: Numbers, before: Numbers, lang: str) -> str:
    timing, earlier = getattr(now, stage), getattr(before, stage)
    name = t(f"insights.stage.{stage}", lang)
    if timing.count == 0:
        return t("insights.report.stage_none", lang, stage=name)
    line = t(
        "insights.report.stage",
        lang,
        stage=name,
        median=words.duration(timing.median, lang),
        p90=words.duration(timing.p90, lang),
        change=words.duration_change(timing.median, earlier.median, lang),
    )
    if timing.within_target is not None:
        line += " · " + t(
            "insights.text.within_target", lang, share=words.share(timing.within_target, lang)
        )
    return line


def headline_lines(insights: Insights, lang: str) -> list[str]:
    """The numbers of the whole period, with their change from the previous one."""
    now, before = insights.total.current, insights.total.previous
    previous = words.period_label(insights.previous.kind, insights.previous.key, lang)
    lines = [
        tn(
            "insights.report.items_in",
            now.items,
            lang,
            count_text=words.whole(now.items, lang),
            change=words.change(now.items, before.items, lang),
            previous=previous,
            kinds=words.kinds_phrase(
                now.by_kind.get("painpoint", 0),
                now.by_category.get("bug", 0),
                now.by_kind.get("question", 0),
                lang,
            ),
        ),
        *(
            _stage_line(stage, now, before, lang)
            for stage in ("acknowledge", "first_answer", "resolve")
        ),
        tn(
            "insights.text.breaches",
            now.sla_breaches,
            lang,
            change=words.change(now.sla_breaches, before.sla_breaches, lang),
        ),
        t(
            "insights.text.resolved",
            lang,
            resolved=now.resolved,
            deals=now.deals_helped,
            kept=now.at_risk.get("kept", 0),
            lost=now.at_risk.get("lost", 0),
            unknown=now.at_risk.get("unknown", 0),
        ),
        t(
            "insights.text.time_saved",
            lang,
            hours=words.decimal(insights.time_saved.hours, lang),
            change=words.change(
                insights.time_saved.hours, insights.time_saved_previous.hours, lang, digits=1
            ),
        ),
    ]
    if insights.csat and insights.csat[0].answers:
        total = insights.csat[0]
        now_share = total.helped_share or 0.0
        before_share = total.previous_share
        lines.append(
            tn(
                "insights.text.csat",
                total.answers,
                lang,
                share=words.share(now_share, lang),
                change=words.change(
                    round(now_share * 100),
                    None if before_share is None else round(before_share * 100),
                    lang,
                ),
            )
        )
    return [f"• {line}" for line in lines]


def _bug_trend_line(insights: Insights, lang: str, *, chart: bool = True) -> str | None:
    weeks = [p for p in insights.bug_trend if p.complete]
    if not weeks:
        return None
    latest, earlier = weeks[-4:], weeks[-8:-4]
    if not earlier:
        return t(
            "insights.report.bug_trend_alone",
            lang,
            weeks=len(latest),
            opened=sum(p.opened for p in latest),
            fixed=sum(p.fixed for p in latest),
            chart=t("insights.report.chart_in_thread", lang) if chart else "",
        )
    return t(
        "insights.report.bug_trend",
        lang,
        weeks=len(latest),
        opened=sum(p.opened for p in latest),
        fixed=sum(p.fixed for p in latest),
        change=words.change(sum(p.opened for p in latest), sum(p.opened for p in earlier), lang),
        chart=t("insights.report.chart_in_thread", lang) if chart else "",
    )


def _theme_lines(insights: Insights, lang: str) -> list[str]:
    lines = []
    for theme in insights.themes[:5]:
        lines.append(
            "• "
            + tn(
                "insights.report.theme",
                theme.items,
                lang,
                area=neutralize(theme.area),
                label=neutralize(theme.label),
                change=words.change(theme.items, theme.previous_items, lang),
            )
        )
    return lines


def report_post(insights: Insights, lang: str) -> dict[str, Any]:
    """The report's message in the channel (and in each listed person's DM)."""
    period = insights.period
    blocks: list[Block] = [
        header(truncate(_title(insights, lang), 150)),
        context(
            t(
                "insights.report.scope",
                lang,
                first=period.first_day.isoformat(),
                last=period.last_day.isoformat(),
                timezone=period.timezone,
            )
        ),
        section("\n".join(headline_lines(insights, lang))),
    ]
    themes = _theme_lines(insights, lang)
    if themes:
        blocks.append(section(t("insights.report.themes", lang) + "\n" + "\n".join(themes)))
    trend = _bug_trend_line(insights, lang)
    if trend:
        blocks.append(section(trend))
    blocks.append(context(t("insights.report.more_in_thread", lang)))
    blocks.append(
        actions(
            "insights_report_downloads",
            *(
                button(
                    t(f"insights.report.download.{fmt}", lang),
                    f"{DOWNLOAD_ACTION}_{fmt}",
                    download_value(fmt, period.kind, period.key),
                )
                for fmt in DOWNLOAD_FORMATS
            ),
        )
    )
    return {"text": _title(insights, lang), "blocks": blocks}


def _scope_line(row: Compared, lang: str) -> str:
    now, before = row.current, row.previous
    ack = now.acknowledge
    return t(
        "insights.report.scope_line",
        lang,
        name=neutralize(row.name) if row.name else t("insights.text.unrouted", lang),
        items=tn("insights.report.received", now.items, lang),
        change=words.change(now.items, before.items, lang),
        median=words.duration(ack.median, lang),
        p90=words.duration(ack.p90, lang),
        breaches=tn("insights.report.breaches", now.sla_breaches, lang),
        resolved=tn("insights.report.resolved", now.resolved, lang),
    )


def _thread_blocks(insights: Insights, lang: str) -> list[tuple[Block, int]]:
    packed: list[tuple[Block, int]] = []

    def add(title: str, lines: list[str]) -> None:
        if not lines:
            return
        packed.append((section(f"*{title}*"), 0))
        for start in range(0, len(lines), 10):
            chunk = lines[start : start + 10]
            packed.append((section("\n".join(chunk)), len(chunk)))

    add(t("insights.text.teams", lang), [f"• {_scope_line(r, lang)}" for r in insights.teams])
    add(t("insights.text.areas", lang), [f"• {_scope_line(r, lang)}" for r in insights.areas])
    customers = [
        "• "
        + t(
            "insights.text.customer_line",
            lang,
            customer=neutralize(c.customer),
            id=c.item_id,
            team=neutralize(c.team),
            outcome=t(f"insights.at_risk.{c.outcome}", lang),
        )
        for c in insights.at_risk_customers
    ] + [
        "• "
        + t(
            "insights.text.deal_line",
            lang,
            customer=neutralize(c.customer),
            id=c.item_id,
            team=neutralize(c.team),
        )
        for c in insights.deals
    ]
    add(t("insights.report.customers", lang), customers)
    add(
        t("insights.text.demand", lang),
        [
            "• "
            + tn(
                "insights.text.demand_line",
                d.people,
                lang,
                id=d.item_id,
                text=neutralize(truncate(" ".join(d.text.split()), DEMAND_TEXT)),
            )
            + (" · " + neutralize(", ".join(d.customers)) if d.customers else "")
            for d in insights.demand
        ],
    )
    add(
        t("insights.text.surveys", lang),
        [
            "• "
            + t(
                "insights.text.survey_line",
                lang,
                survey=neutralize(s.survey),
                question=neutralize(s.question),
                mean=words.decimal(s.latest_mean, lang) if s.latest_mean is not None else "–",
                scale=s.scale,
                round=s.latest_round,
                change=words.change(s.latest_mean, s.previous_mean, lang, digits=1),
            )
            for s in insights.surveys
        ],
    )
    if insights.late_now:
        add(
            t("insights.text.late_now", lang),
            [
                f"• {neutralize(team) if team else t('insights.text.unrouted', lang)}: {count}"
                for team, count in sorted(insights.late_now.items())
            ],
        )
    return packed


def method_note(lang: str) -> dict[str, Any]:
    lines = [f"• {t(f'insights.how.{key}', lang)}" for key in HOW_KEYS]
    text = t("insights.report.how_title", lang) + "\n" + "\n".join(lines)
    return {"text": t("insights.report.how_title", lang), "blocks": [section(text)]}


def report_thread(insights: Insights, lang: str) -> list[dict[str, Any]]:
    """The thread replies, in order; the method note is always the last."""
    replies = thread_replies(
        _thread_blocks(insights, lang),
        max_blocks=REPLY_BLOCKS,
        max_chars=REPLY_CHARS,
        max_replies=MAX_REPLIES,
        cut_note=lambda left: context(tn("insights.report.cut", left, lang)),
    )
    messages = [
        {"text": t("insights.report.thread_text", lang), "blocks": blocks} for blocks in replies
    ]
    return [*messages, method_note(lang)]


def _markdown(text: str) -> str:
    """Slack's *bold* as Markdown's **bold** (the report's lines use no other markup)."""
    import re

    return re.sub(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])", r"**\1**", text)


def report_markdown(insights: Insights, lang: str) -> str:
    """The whole report as a Markdown document (the download): every line of the post and of
    its thread, with nothing cut."""
    period = insights.period
    out = [
        f"# {_title(insights, lang)}",
        "",
        t(
            "insights.report.scope",
            lang,
            first=period.first_day.isoformat(),
            last=period.last_day.isoformat(),
            timezone=period.timezone,
        ),
        "",
        *(_markdown(line).replace("• ", "- ", 1) for line in headline_lines(insights, lang)),
    ]
    themes = _theme_lines(insights, lang)
    if themes:
        out += ["", _markdown(t("insights.report.themes", lang)), ""]
        out += [line.replace("• ", "- ", 1) for line in themes]
    trend = _bug_trend_line(insights, lang, chart=False)
    if trend:
        out += ["", _markdown(trend)]
        out += [
            "",
            f"| {t('insights.report.week', lang)} | {t('insights.chart.bug_trend.opened', lang)}"
            f" | {t('insights.chart.bug_trend.fixed', lang)} |",
            "|---|---:|---:|",
        ]
        out += [f"| {p.week} | {p.opened} | {p.fixed} |" for p in insights.bug_trend if p.complete]
    for block, _ in _thread_blocks(insights, lang):
        text = block["text"]["text"]
        if text.startswith("*") and "\n" not in text:
            heading = text.strip("*").rstrip(" :\u00a0")
            out += ["", f"## {heading}", ""]
        else:
            out += [_markdown(line).replace("• ", "- ", 1) for line in text.split("\n")]
    out += ["", f"## {t('insights.report.how_title', lang).strip('*')}", ""]
    out += [f"- {t(f'insights.how.{key}', lang)}" for key in HOW_KEYS]
    return "\n".join(out) + "\n"
