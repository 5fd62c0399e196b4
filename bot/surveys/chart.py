"""The trend chart of a survey: each scale question's mean, round by round (a PNG in memory).

`chart_spec` decides everything shown (pure data, tested without drawing): one line per scale
question with means in the trend, named as the messages number it (Q1, Q2 …), each with its
own marker and dash pattern besides its colour (colour-blind readers, greyscale prints); the
x axis names each round with its dates, first and last day included, in the survey's
language and timezone. There is a chart only from a survey's second round with answers (a
single point is no trend: the results message says so in words).

Drawn with matplotlib's Agg canvas directly (no pyplot, no display, safe in a thread).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.i18n import t
from bot.sla.business_time import zone
from bot.surveys.results_domain import SCALE_RANGES, RoundResults, ScaleResult

LABEL_CHARS = 48
DPI = 100
# Told apart by shape and dash, not only by colour.
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "h", "<", ">", "p")
DASHES = ("-", "--", ":", "-.")


@dataclass(frozen=True)
class ChartLine:
    number: int  # the question's number in the messages
    legend: str  # "Q2 · Has product ops' data shaped …"
    marker: str
    dash: str
    rounds: tuple[int, ...]
    means: tuple[float, ...]


@dataclass(frozen=True)
class ChartSpec:
    title: str
    x_label: str
    y_label: str
    ticks: tuple[tuple[int, str], ...]  # (round number, "#3\nMar 9–12")
    y_range: tuple[float, float]
    lines: tuple[ChartLine, ...]


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1].rstrip() + "…"


def chart_filename(results: RoundResults) -> str:
    slug = re.sub(r"[^\w]+", "-", results.survey.casefold()).strip("-_")[:60] or "survey"
    return f"survey-{slug}-round-{results.round_number}-trend.png"


def charted(results: RoundResults) -> list[ScaleResult]:
    """The scale questions that have at least one mean to draw."""
    return [q for q in results.scale_results() if q.trend]


def round_days(opened: datetime, closed: datetime, timezone: str, lang: str) -> str:
    """ "Mar 9–12" / "9–12 mars": the days a round was open, both ends included (a round
    closing at midnight ended the day before)."""
    tz = zone(timezone)
    first = opened.astimezone(tz).date()
    last = max((closed - timedelta(microseconds=1)).astimezone(tz).date(), first)
    months = t("survey_results.months", lang).split()
    if first == last:
        return t("survey_results.chart.day", lang, day=first.day, month=months[first.month - 1])
    if (first.year, first.month) == (last.year, last.month):
        return t(
            "survey_results.chart.days",
            lang,
            first=first.day,
            last=last.day,
            month=months[first.month - 1],
        )
    return t(
        "survey_results.chart.days_across",
        lang,
        first=first.day,
        first_month=months[first.month - 1],
        last=last.day,
        last_month=months[last.month - 1],
    )


def chart_spec(results: RoundResults) -> ChartSpec | None:
    """What the chart shows, or None when there is no trend yet (fewer than two rounds with
    means for every scale question)."""
    if not results.has_trend:
        return None
    lang = results.language
    lines = []
    for index, result in enumerate(charted(results)):
        number = results.question_number(result.question.id)
        lines.append(
            ChartLine(
                number=number,
                legend=f"Q{number} · {_short(result.question.text)}",
                marker=MARKERS[index % len(MARKERS)],
                dash=DASHES[(index // len(MARKERS) + index) % len(DASHES)],
                rounds=tuple(p.round_number for p in result.trend),
                means=tuple(p.mean for p in result.trend),
            )
        )
    dates = {n: (opened, closed) for n, opened, closed in results.round_dates}
    ticks = []
    for number in sorted({n for line in lines for n in line.rounds}):
        label = t("survey_results.chart.round_tick", lang, number=number)
        if number in dates:
            label += "\n" + round_days(*dates[number], results.timezone, lang)
        ticks.append((number, label))
    kinds = [r.question.kind for r in charted(results)]
    lowest = min(SCALE_RANGES[k][0] for k in kinds)
    highest = max(SCALE_RANGES[k][1] for k in kinds)
    return ChartSpec(
        title=_short(t("survey_results.chart.title", lang, title=results.title)),
        x_label=t("survey_results.chart.rounds", lang),
        y_label=t("survey_results.chart.mean", lang),
        ticks=tuple(ticks),
        y_range=(lowest - 0.2, highest + 0.2),
        lines=tuple(lines),
    )


def trend_chart_png(results: RoundResults) -> bytes | None:
    """The PNG, or None when there is no trend to draw yet."""
    spec = chart_spec(results)
    if spec is None:
        return None
    figure = Figure(figsize=(8, 4.8), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    for line in spec.lines:
        axes.plot(
            line.rounds,
            line.means,
            marker=line.marker,
            linestyle=line.dash,
            markersize=7,
            label=line.legend,
        )
    axes.set_ylim(*spec.y_range)
    axes.set_xticks([number for number, _ in spec.ticks])
    axes.set_xticklabels([label for _, label in spec.ticks], fontsize="small")
    axes.set_xlabel(spec.x_label)
    axes.set_ylabel(spec.y_label)
    axes.set_title(spec.title)
    axes.grid(True, alpha=0.3)
    axes.legend(loc="lower left", fontsize="small")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
