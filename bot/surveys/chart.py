"""The trend chart of a survey: each scale question's mean, round by round (a PNG in memory).

Drawn with matplotlib's Agg canvas directly (no pyplot, no display, safe in a thread).
"""

from __future__ import annotations

import io
import re

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.i18n import t
from bot.surveys.results_domain import SCALE_RANGES, RoundResults, ScaleResult

LABEL_CHARS = 48
DPI = 100


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1].rstrip() + "…"


def chart_filename(results: RoundResults) -> str:
    slug = re.sub(r"[^\w]+", "-", results.survey.casefold()).strip("-_")[:60] or "survey"
    return f"survey-{slug}-round-{results.round_number}-trend.png"


def charted(results: RoundResults) -> list[ScaleResult]:
    """The scale questions that have at least one mean to draw."""
    return [q for q in results.scale_results() if q.trend]


def trend_chart_png(results: RoundResults) -> bytes | None:
    """The PNG, or None when no scale question has an answer yet (nothing to draw)."""
    lines = charted(results)
    if not lines:
        return None
    lang = results.language
    figure = Figure(figsize=(8, 4.5), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    numbers = sorted({p.round_number for q in lines for p in q.trend})
    for index, result in enumerate(lines, 1):
        xs = [p.round_number for p in result.trend]
        ys = [p.mean for p in result.trend]
        axes.plot(xs, ys, marker="o", label=f"{index}. {_short(result.question.text)}")
    highest = max(SCALE_RANGES[q.question.kind][1] for q in lines)
    lowest = min(SCALE_RANGES[q.question.kind][0] for q in lines)
    axes.set_ylim(lowest - 0.2, highest + 0.2)
    axes.set_xticks(numbers)
    axes.set_xticklabels([f"#{n}" for n in numbers])
    axes.set_xlabel(t("survey_results.chart.rounds", lang))
    axes.set_ylabel(t("survey_results.chart.mean", lang))
    axes.set_title(_short(t("survey_results.chart.title", lang, title=results.title)))
    axes.grid(True, alpha=0.3)
    axes.legend(loc="lower left", fontsize="small")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
