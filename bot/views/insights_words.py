"""How insight numbers read, in English and French: durations, decimals (a comma in French),
shares, and the change from the previous period. Shared by the App Home tab, the report and
`jerry insights` so a number reads the same everywhere."""

from __future__ import annotations

from bot.i18n import t

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0


def decimal(value: float, lang: str, digits: int = 1) -> str:
    text = f"{value:,.{digits}f}"
    if lang == "fr":
        # 1,234.5 → 1 234,5 (narrow no-break space between thousands, as French prints them)
        text = text.replace(",", "\u202f").replace(".", ",")
    return text


def whole(value: int, lang: str) -> str:
    return decimal(value, lang, 0)


def duration(seconds: float | None, lang: str) -> str:
    """ "45 min", "2.5 h", "3.2 d" ("2,5 h", "3,2 j"); an en dash when there is none."""
    if seconds is None:
        return "–"
    if seconds < MINUTE:
        return t("insights.duration.under_minute", lang)
    if seconds < HOUR:
        return t("insights.duration.minutes", lang, value=round(seconds / MINUTE))
    if seconds < 2 * DAY:
        return t("insights.duration.hours", lang, value=decimal(seconds / HOUR, lang))
    return t("insights.duration.days", lang, value=decimal(seconds / DAY, lang))


def share(value: float | None, lang: str) -> str:
    """ "67 %" (French puts a narrow no-break space before %; English none)."""
    if value is None:
        return "–"
    percent = round(value * 100)
    return f"{percent}\u202f%" if lang == "fr" else f"{percent}%"


def change(current: float | None, previous: float | None, lang: str, *, digits: int = 0) -> str:
    """The change from the previous period in words and an arrow, never by colour alone:
    "▲ +5", "▼ −2", "= same", or "new" when there was nothing before."""
    if current is None or previous is None:
        return t("insights.change.none", lang)
    delta = current - previous
    if abs(delta) < 10 ** (-digits) / 2:
        return t("insights.change.same", lang)
    text = decimal(abs(delta), lang, digits)
    return t("insights.change.up" if delta > 0 else "insights.change.down", lang, value=text)


def duration_change(current: float | None, previous: float | None, lang: str) -> str:
    """A duration's change: "▲ 1.5 h longer" / "▼ 20 min shorter"."""
    if current is None or previous is None:
        return t("insights.change.none", lang)
    delta = current - previous
    if abs(delta) < MINUTE:
        return t("insights.change.same", lang)
    key = "insights.change.longer" if delta > 0 else "insights.change.shorter"
    return t(key, lang, value=duration(abs(delta), lang))


def period_label(kind: str, key: str, lang: str) -> str:
    """ "November 2026", "Q4 2026", "week 48 of 2026" ("novembre 2026", "T4 2026",
    "semaine 48 de 2026") from a period's kind and key ("2026-11", "2026-Q4", "2026-W48")."""
    year, _, rest = key.partition("-")
    if kind == "month":
        names = t("insights.month_names", lang).split()
        return t("insights.period.month", lang, month=names[int(rest) - 1], year=year)
    if kind == "quarter":
        return t("insights.period.quarter", lang, quarter=rest.lstrip("Qq"), year=year)
    return t("insights.period.week", lang, week=int(rest.lstrip("Ww")), year=year)


def kinds_phrase(painpoints: int, bugs: int, questions: int, lang: str) -> str:
    """ "5 pain points (2 bugs), 1 question" with each count's own plural form."""
    from bot.i18n import tn

    # "(0 bugs)" says nothing the reader needs: the bug share shows only when there is one.
    return t(
        "insights.count.kinds" if bugs else "insights.count.kinds_no_bugs",
        lang,
        painpoints=tn("insights.count.painpoints", painpoints, lang),
        bugs=tn("insights.count.bugs", bugs, lang),
        questions=tn("insights.count.questions", questions, lang),
    )
