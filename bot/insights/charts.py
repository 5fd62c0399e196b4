"""The insight charts as PNG images: the bug trend, items by product area, and the time to
acknowledge per team. Each comes with its title and a text alternative (the image block's
alt_text and a line under it) saying what it shows in words, so no reader needs the picture.

Readable at Slack's preview size (1200 × 600 px, large type); the Okabe–Ito palette, which
colour-blind readers tell apart, and never colour alone: each series also has its own marker,
dash or hatching. `chart_specs` decides everything shown (pure data, tested without drawing);
matplotlib's Agg canvas draws it, imported only when a chart is drawn (no pyplot, no display,
safe in a thread).
"""

from __future__ import annotations

import io
import re
import textwrap
from dataclasses import dataclass

from bot.i18n import t
from bot.insights.domain import Insights
from bot.views import insights_words as words

WIDTH, HEIGHT, DPI = 12, 6, 100  # inches at 100 dpi: 1200 × 600 px
# Okabe & Ito (2008): blue, vermillion, bluish green, orange, sky blue, reddish purple.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#E69F00", "#56B4E9", "#CC79A7")
TREND_WEEKS = 26  # the bug trend chart shows the latest half year (the CSV has every week)
MAX_BARS = 12  # areas or teams on one chart; the rest are in the text and the CSV


@dataclass(frozen=True)
class Series:
    label: str
    values: tuple[float, ...]
    colour: str
    marker: str = "o"
    dash: str = "-"
    hatch: str = ""


@dataclass(frozen=True)
class ChartSpec:
    name: str  # bug_trend | items_by_area | acknowledge
    title: str
    alt_text: str  # what the chart says, in words
    kind: str  # line | bars
    categories: tuple[str, ...]  # x ticks (weeks) or bar labels (areas, teams)
    series: tuple[Series, ...]
    y_label: str


@dataclass(frozen=True)
class Chart:
    spec: ChartSpec
    png: bytes

    @property
    def filename(self) -> str:
        return f"{self.spec.name}.png"


def _slug(text: str) -> str:
    return re.sub(r"[^\w]+", "-", text.casefold()).strip("-_")[:60]


def chart_filename(spec: ChartSpec, insights: Insights) -> str:
    return f"insights-{insights.period.key}-{_slug(spec.name)}.png"


def bug_trend_spec(insights: Insights, lang: str) -> ChartSpec | None:
    # Complete weeks only: a week the period's end cuts short would look like a drop.
    points = [p for p in insights.bug_trend if p.complete][-TREND_WEEKS:]
    if not points or not any(p.opened or p.fixed for p in points):
        return None
    opened = sum(p.opened for p in points)
    fixed = sum(p.fixed for p in points)
    last = points[-1]
    return ChartSpec(
        name="bug_trend",
        title=t("insights.chart.bug_trend.title", lang, weeks=len(points)),
        alt_text=t(
            "insights.chart.bug_trend.alt",
            lang,
            weeks=len(points),
            opened=opened,
            fixed=fixed,
            week=last.week,
            last_opened=last.opened,
            last_fixed=last.fixed,
        ),
        kind="line",
        categories=tuple(p.week for p in points),
        series=(
            Series(
                t("insights.chart.bug_trend.opened", lang),
                tuple(float(p.opened) for p in points),
                PALETTE[0],
                "o",
                "-",
            ),
            Series(
                t("insights.chart.bug_trend.fixed", lang),
                tuple(float(p.fixed) for p in points),
                PALETTE[1],
                "s",
                "--",
            ),
        ),
        y_label=t("insights.chart.bug_trend.y", lang),
    )


def items_by_area_spec(insights: Insights, lang: str) -> ChartSpec | None:
    areas = sorted(
        (a for a in insights.areas if a.current.items or a.previous.items),
        key=lambda a: (-a.current.items, a.name.casefold()),
    )[:MAX_BARS]
    if not areas:
        return None
    listed = ", ".join(
        t(
            "insights.chart.area_alt_item",
            lang,
            area=a.name,
            items=a.current.items,
            previous=a.previous.items,
        )
        for a in areas
    )
    return ChartSpec(
        name="items_by_area",
        title=t(
            "insights.chart.items_by_area.title",
            lang,
            period=insights.period.key,
            previous=insights.previous.key,
        ),
        alt_text=t(
            "insights.chart.items_by_area.alt",
            lang,
            period=insights.period.key,
            previous=insights.previous.key,
            areas=listed,
        ),
        kind="bars",
        categories=tuple(a.name for a in areas),
        series=(
            Series(insights.period.key, tuple(float(a.current.items) for a in areas), PALETTE[0]),
            Series(
                insights.previous.key,
                tuple(float(a.previous.items) for a in areas),
                PALETTE[3],
                hatch="//",
            ),
        ),
        y_label=t("insights.chart.items_by_area.y", lang),
    )


def acknowledge_spec(insights: Insights, lang: str) -> ChartSpec | None:
    teams = [team for team in insights.teams if team.current.acknowledge.count][:MAX_BARS]
    if not teams:
        return None
    listed = ", ".join(
        t(
            "insights.chart.acknowledge_alt_item",
            lang,
            team=team.name or t("insights.text.unrouted", lang),
            median=words.duration(team.current.acknowledge.median, lang),
            p90=words.duration(team.current.acknowledge.p90, lang),
        )
        for team in teams
    )
    hours = 3600.0
    return ChartSpec(
        name="acknowledge",
        title=t("insights.chart.acknowledge.title", lang, period=insights.period.key),
        alt_text=t(
            "insights.chart.acknowledge.alt", lang, period=insights.period.key, teams=listed
        ),
        kind="bars",
        categories=tuple(team.name or t("insights.text.unrouted", lang) for team in teams),
        series=(
            Series(
                t("insights.chart.acknowledge.median", lang),
                tuple((team.current.acknowledge.median or 0) / hours for team in teams),
                PALETTE[2],
            ),
            Series(
                t("insights.chart.acknowledge.p90", lang),
                tuple((team.current.acknowledge.p90 or 0) / hours for team in teams),
                PALETTE[5],
                hatch="..",
            ),
        ),
        y_label=t("insights.chart.acknowledge.y", lang),
    )


def chart_specs(insights: Insights, lang: str) -> list[ChartSpec]:
    """The charts there is something to draw for (none for an empty period)."""
    specs = (
        bug_trend_spec(insights, lang),
        items_by_area_spec(insights, lang),
        acknowledge_spec(insights, lang),
    )
    return [spec for spec in specs if spec is not None]


def draw(spec: ChartSpec) -> bytes:
    """The PNG of a chart (matplotlib imported here, on first use)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    positions = list(range(len(spec.categories)))
    if spec.kind == "line":
        for series in spec.series:
            axes.plot(
                positions,
                series.values,
                color=series.colour,
                marker=series.marker,
                linestyle=series.dash,
                linewidth=2.5,
                markersize=7,
                label=series.label,
            )
        step = max(1, len(positions) // 8)
        axes.set_xticks(positions[::step])
        axes.set_xticklabels(list(spec.categories)[::step], fontsize=13)
    else:
        width = 0.8 / len(spec.series)
        for index, series in enumerate(spec.series):
            offsets = [p - 0.4 + width * (index + 0.5) for p in positions]
            bars = axes.bar(
                offsets,
                series.values,
                width,
                color=series.colour,
                hatch=series.hatch,
                edgecolor="#000000",
                linewidth=0.6,
                label=series.label,
            )
            axes.bar_label(bars, fmt="%.3g", fontsize=11, padding=2)
        axes.set_xticks(positions)
        axes.set_xticklabels(
            list(spec.categories),
            fontsize=13,
            rotation=20 if len(positions) > 5 else 0,
            ha="right" if len(positions) > 5 else "center",
        )
    axes.set_title("\n".join(textwrap.wrap(spec.title, 80)), fontsize=17, pad=12)
    axes.set_ylabel(spec.y_label, fontsize=14)
    axes.tick_params(axis="y", labelsize=13)
    axes.grid(True, axis="y", alpha=0.3)
    axes.set_ylim(bottom=0)
    axes.legend(fontsize=13, loc="upper left")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def insight_charts(insights: Insights, lang: str) -> list[Chart]:
    """Every chart of these insights, drawn (CPU work: call it in a thread)."""
    return [Chart(spec, draw(spec)) for spec in chart_specs(insights, lang)]
