"""The insight charts: what each shows (specs, in words too) and that each is drawn at
Slack's preview size, from the seeded history of tests/test_insights_numbers.py."""

from __future__ import annotations

import struct

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.insights.charts import PALETTE, chart_specs, insight_charts
from bot.insights.numbers import ADMIN, compute_insights
from bot.insights.periods import parse_period
from tests.test_insights_numbers import NOW, PARIS, _history


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


async def test_three_charts_each_with_words_and_never_colour_alone(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        await _history(session)
    insights = await compute_insights(sessions, parse_period("2026-Q4", PARIS), ADMIN, now=NOW)
    specs = {spec.name: spec for spec in chart_specs(insights, "en")}
    assert set(specs) == {"bug_trend", "items_by_area", "acknowledge"}
    trend = specs["bug_trend"]
    # Complete weeks only (2026-W53 is cut by the quarter's end), the latest 26.
    assert trend.categories[-1] == "2026-W52" and len(trend.categories) == 26
    # W27 to W52: items 8 (W31), 1 (W40), 5 (W45, merged: never fixed), 7 (W47).
    assert "bug pain points opened 4, fixed 3" in trend.alt_text
    areas = specs["items_by_area"]
    assert areas.categories == ("Billing", "iOS", "Checkout")
    assert "Billing 3 (1), iOS 3 (0), Checkout 1 (1)" in areas.alt_text
    ack = specs["acknowledge"]
    assert ack.categories == ("Payments",) and "Payments 2.0 h and 3.0 h" in ack.alt_text
    for spec in specs.values():
        colours = [s.colour for s in spec.series]
        assert set(colours) <= set(PALETTE) and len(set(colours)) == len(colours)
        # Told apart by marker and dash (lines) or hatching (bars) too.
        cues = [(s.marker, s.dash) if spec.kind == "line" else s.hatch for s in spec.series]
        assert len(set(cues)) == len(cues)
    french = {spec.name: spec for spec in chart_specs(insights, "fr")}
    assert "Payments 2,0 h et 3,0 h" in french["acknowledge"].alt_text
    drawn = insight_charts(insights, "fr")
    assert [png_size(chart.png) for chart in drawn] == [(1200, 600)] * 3


async def test_an_empty_period_has_no_chart(sessions: async_sessionmaker[AsyncSession]) -> None:
    insights = await compute_insights(sessions, parse_period("2026-11"), ADMIN, now=NOW)
    assert chart_specs(insights, "en") == []
