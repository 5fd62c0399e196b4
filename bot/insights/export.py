"""The insights as `jerry insights` prints them: text for people (English or French), JSON
and CSV for scripts (machine names in English, numbers unformatted, durations in seconds).

CSV is long-form, one number per row (scope, name, metric, period's value, previous value),
so a spreadsheet pivots it any way and a new number never shifts a column.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from bot.i18n import t, tn
from bot.insights.domain import (
    AT_RISK_OUTCOMES,
    CATEGORY_KEYS,
    ITEM_KINDS,
    SAVING_KINDS,
    Compared,
    Insights,
    Numbers,
    Timing,
)
from bot.text import csv_cell, json_ready
from bot.views import insights_words as words

CSV_HEADER = ("period", "scope", "name", "metric", "value", "previous")
TREND_WEEKS_IN_TEXT = 12  # the text shows the latest weeks; JSON and CSV have every week


# --- JSON ------------------------------------------------------------------------------------


def insights_json(insights: Insights) -> str:
    data: dict[str, Any] = {
        "period": {
            "key": insights.period.key,
            "kind": insights.period.kind,
            "first_day": insights.period.first_day,
            "last_day": insights.period.last_day,
            "timezone": insights.period.timezone,
        },
        "previous_period": insights.previous.key,
        "generated_at": insights.generated_at,
        "total": _compared_json(insights.total),
        "teams": [_compared_json(row) for row in insights.teams],
        "areas": [_compared_json(row) for row in insights.areas],
        "bug_trend": [asdict(point) for point in insights.bug_trend],
        "time_saved": {
            "counts": insights.time_saved.counts,
            "minutes_each": insights.time_saved.minutes,
            "hours": round(insights.time_saved.hours, 2),
            "previous_counts": insights.time_saved_previous.counts,
            "previous_hours": round(insights.time_saved_previous.hours, 2),
        },
        "demand": [asdict(row) for row in insights.demand],
        "surveys": [asdict(row) for row in insights.surveys],
        "themes": [asdict(row) for row in insights.themes],
        "late_now": insights.late_now,
        "csat": [
            {**asdict(row), "helped_share": row.helped_share, "previous_share": row.previous_share}
            for row in insights.csat
        ],
    }
    if insights.audience.sees_customers:
        data["at_risk_customers"] = [asdict(row) for row in insights.at_risk_customers]
        data["deals"] = [asdict(row) for row in insights.deals]
    return json.dumps(json_ready(data), ensure_ascii=False, indent=2) + "\n"


def _compared_json(row: Compared) -> dict[str, Any]:
    return {
        "scope": row.scope,
        "id": row.id,
        "name": row.name,
        **({"team_id": row.team_id} if row.scope == "area" else {}),
        "current": asdict(row.current),
        "previous": asdict(row.previous),
    }


# --- CSV -------------------------------------------------------------------------------------


def _metrics(numbers: Numbers) -> Iterator[tuple[str, float | int | None]]:
    yield "items", numbers.items
    for kind in ITEM_KINDS:
        yield f"items_{kind}", numbers.by_kind.get(kind, 0)
    for category in CATEGORY_KEYS:
        yield f"painpoints_{category}", numbers.by_category.get(category, 0)
    for stage in ("acknowledge", "first_answer", "resolve"):
        timing: Timing = getattr(numbers, stage)
        yield f"{stage}_count", timing.count
        yield f"{stage}_median_seconds", timing.median
        yield f"{stage}_p90_seconds", timing.p90
        if stage != "resolve":
            yield f"{stage}_within_target_share", timing.within_target
    yield "sla_breaches", numbers.sla_breaches
    yield "resolved", numbers.resolved
    yield "deals_helped", numbers.deals_helped
    for outcome in AT_RISK_OUTCOMES:
        yield f"at_risk_{outcome}", numbers.at_risk.get(outcome, 0)


def insights_rows(insights: Insights) -> list[tuple[object, ...]]:
    key = insights.period.key
    rows: list[tuple[object, ...]] = []
    for scoped in (insights.total, *insights.teams, *insights.areas):
        previous = dict(_metrics(scoped.previous))
        for metric, value in _metrics(scoped.current):
            rows.append((key, scoped.scope, scoped.name, metric, value, previous[metric]))
    saved, before = insights.time_saved, insights.time_saved_previous
    for kind in SAVING_KINDS:
        rows.append((key, "time_saved", kind, "count", saved.counts[kind], before.counts[kind]))
        rows.append((key, "time_saved", kind, "minutes_each", saved.minutes[kind], ""))
    rows.append((key, "time_saved", "", "hours", round(saved.hours, 2), round(before.hours, 2)))
    for point in insights.bug_trend:
        rows.append((key, "bug_trend", point.week, "opened", point.opened, ""))
        rows.append((key, "bug_trend", point.week, "fixed", point.fixed, ""))
    for demand in insights.demand:
        rows.append((key, "demand", f"#{demand.item_id}", "people", demand.people, ""))
        if demand.customers:
            rows.append(
                (key, "demand", f"#{demand.item_id}", "customers", len(demand.customers), "")
            )
    for trend in insights.surveys:
        name = f"{trend.survey}/{trend.question_id}"
        rows.append(
            (key, "survey", name, "mean", _round(trend.latest_mean), _round(trend.previous_mean))
        )
    for team, count in sorted(insights.late_now.items()):
        rows.append((key, "late_now", team, "items", count, ""))
    for csat in insights.csat:
        rows.append((key, "csat", csat.team, "answers", csat.answers, csat.previous_answers))
        rows.append((key, "csat", csat.team, "helped", csat.helped, csat.previous_helped))
    if insights.audience.sees_customers:
        for row in insights.at_risk_customers:
            rows.append((key, "at_risk_customer", row.customer, row.outcome, row.item_id, ""))
        for row in insights.deals:
            rows.append((key, "deal", row.customer, "helped", row.item_id, ""))
    return rows


def _round(value: float | None) -> float | str:
    return "" if value is None else round(value, 2)


def insights_csv(insights: Insights) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for row in insights_rows(insights):
        writer.writerow([csv_cell("" if cell is None else cell) for cell in row])
    return out.getvalue()


# --- text ------------------------------------------------------------------------------------


def _timing_line(stage: str, current: Timing, previous: Timing, lang: str) -> str:
    if current.count == 0:
        return t("insights.text.timing_none", lang, stage=t(f"insights.stage.{stage}", lang))
    line = tn(
        "insights.text.timing",
        current.count,
        lang,
        stage=t(f"insights.stage.{stage}", lang),
        median=words.duration(current.median, lang),
        p90=words.duration(current.p90, lang),
        change=words.duration_change(current.median, previous.median, lang),
    )
    if current.within_target is not None:
        line += " · " + t(
            "insights.text.within_target", lang, share=words.share(current.within_target, lang)
        )
    return line


def _numbers_lines(row: Compared, lang: str, indent: str) -> list[str]:
    now, before = row.current, row.previous
    lines = [
        tn(
            "insights.text.items_in",
            now.items,
            lang,
            count_text=words.whole(now.items, lang),
            change=words.change(now.items, before.items, lang),
            kinds=words.kinds_phrase(
                now.by_kind.get("painpoint", 0),
                now.by_category.get("bug", 0),
                now.by_kind.get("question", 0),
                lang,
            ),
        )
    ]
    if now.by_kind.get("painpoint", 0):
        lines.append(
            t("insights.text.categories", lang)
            + ", ".join(
                f"{t(f'insights.category.{c}', lang)} {now.by_category.get(c, 0)}"
                for c in CATEGORY_KEYS
            )
        )
    for stage in ("acknowledge", "first_answer", "resolve"):
        lines.append(_timing_line(stage, getattr(now, stage), getattr(before, stage), lang))
    lines.append(
        tn(
            "insights.text.breaches",
            now.sla_breaches,
            lang,
            change=words.change(now.sla_breaches, before.sla_breaches, lang),
        )
    )
    lines.append(
        t(
            "insights.text.resolved",
            lang,
            resolved=now.resolved,
            deals=now.deals_helped,
            kept=now.at_risk.get("kept", 0),
            lost=now.at_risk.get("lost", 0),
            unknown=now.at_risk.get("unknown", 0),
        )
    )
    return [indent + line for line in lines]


def insights_text(insights: Insights, lang: str) -> str:
    period = insights.period
    out = [
        t(
            "insights.text.title",
            lang,
            period=period.key,
            first=period.first_day.isoformat(),
            last=period.last_day.isoformat(),
            timezone=period.timezone,
            previous=insights.previous.key,
        ),
        "",
        t("insights.text.all", lang)
        if insights.audience.is_admin
        else t("insights.text.yours", lang),
        *_numbers_lines(insights.total, lang, "  "),
    ]
    for heading, rows in (("teams", insights.teams), ("areas", insights.areas)):
        if rows:
            out += ["", t(f"insights.text.{heading}", lang)]
            for row in rows:
                name = row.name or t("insights.text.unrouted", lang)
                out.append(f"  {name}")
                out += _numbers_lines(row, lang, "    ")
    saved = insights.time_saved
    out += [
        "",
        t(
            "insights.text.time_saved",
            lang,
            hours=words.decimal(saved.hours, lang),
            change=words.change(saved.hours, insights.time_saved_previous.hours, lang, digits=1),
        ),
    ]
    for kind in SAVING_KINDS:
        out.append(
            "  "
            + tn(
                f"insights.saving.{kind}",
                saved.counts[kind],
                lang,
                minutes=saved.minutes[kind],
            )
        )
    if insights.bug_trend:
        out += ["", t("insights.text.bug_trend", lang, weeks=TREND_WEEKS_IN_TEXT)]
        for point in insights.bug_trend[-TREND_WEEKS_IN_TEXT:]:
            out.append(
                "  "
                + t(
                    "insights.text.bug_week",
                    lang,
                    week=point.week,
                    opened=point.opened,
                    fixed=point.fixed,
                )
            )
    if insights.demand:
        out += ["", t("insights.text.demand", lang)]
        for demand in insights.demand:
            line = tn(
                "insights.text.demand_line",
                demand.people,
                lang,
                id=demand.item_id,
                text=" ".join(demand.text.split())[:120],
            )
            if demand.customers:
                line += " · " + ", ".join(demand.customers)
            out.append("  " + line)
    if insights.surveys:
        out += ["", t("insights.text.surveys", lang)]
        for trend in insights.surveys:
            out.append(
                "  "
                + t(
                    "insights.text.survey_line",
                    lang,
                    survey=trend.survey,
                    question=trend.question,
                    mean=words.decimal(trend.latest_mean, lang)
                    if trend.latest_mean is not None
                    else "–",
                    scale=trend.scale,
                    round=trend.latest_round,
                    change=words.change(trend.latest_mean, trend.previous_mean, lang, digits=1),
                )
            )
    if insights.csat:
        out += ["", t("insights.text.csat_title", lang)]
        for csat in insights.csat:
            out.append(
                "  "
                + tn(
                    "insights.text.csat_team",
                    csat.answers,
                    lang,
                    team=csat.team or t("insights.text.every_team", lang),
                    share=words.share(csat.helped_share, lang),
                )
            )
    if insights.late_now:
        out += ["", t("insights.text.late_now", lang)]
        for team, count in sorted(insights.late_now.items()):
            out.append(f"  {team or t('insights.text.unrouted', lang)}: {count}")
    if insights.audience.sees_customers and (insights.at_risk_customers or insights.deals):
        out += ["", t("insights.text.customers", lang)]
        for customer in insights.at_risk_customers:
            out.append(
                "  "
                + t(
                    "insights.text.customer_line",
                    lang,
                    customer=customer.customer,
                    id=customer.item_id,
                    team=customer.team,
                    outcome=t(f"insights.at_risk.{customer.outcome}", lang),
                )
            )
        for customer in insights.deals:
            out.append(
                "  "
                + t(
                    "insights.text.deal_line",
                    lang,
                    customer=customer.customer,
                    id=customer.item_id,
                    team=customer.team,
                )
            )
    out += ["", t("insights.text.how", lang)]
    return "\n".join(out) + "\n"
