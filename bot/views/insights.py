"""The App Home's Insights tab (pure Block Kit): the tab buttons, the period picker, the
headline numbers with their change, SLA state, themes, demand, survey trends, customers (for
admins), the charts as images with their words, and "How these are computed"."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.i18n import t, tn
from bot.insights.domain import Insights, ThemeSummary
from bot.text import VIEW_BLOCK_LIMIT, neutralize, truncate
from bot.views import insights_words as words
from bot.views.blocks import (
    MAX_OPTIONS,
    Block,
    actions,
    button,
    context,
    divider,
    header,
    input_block,
    modal,
    option,
    section,
    text_input,
)
from bot.views.insights_report import HOW_KEYS, headline_lines

TAB_ITEMS_ACTION = "home_tab_items"
TAB_INSIGHTS_ACTION = "home_tab_insights"
PERIOD_ACTION = "home_insights_period"
HOW_ACTION = "home_insights_how"
THEME_MENU_ACTION = "home_theme_menu"
THEME_RENAME_CALLBACK = "jerry_theme_rename"
THEME_MERGE_CALLBACK = "jerry_theme_merge"
THEME_MOVE_CALLBACK = "jerry_theme_move"
PERIOD_CHOICES = (
    "quarter",
    "previous_quarter",
    "month",
    "previous_month",
    "week",
    "previous_week",
)
DEMAND_ROWS = 5
THEME_ROWS = 5


@dataclass(frozen=True)
class ShownChart:
    """A chart as the tab shows it: an uploaded Slack file and its words."""

    file_id: str
    title: str
    alt_text: str


def tab_buttons(current: str, lang: str) -> Block:
    """ "Items" / "Insights" at the top of the Home (for those who may read insights)."""
    return actions(
        "home_tabs",
        button(
            t("home.tab.items", lang),
            TAB_ITEMS_ACTION,
            "items",
            style="primary" if current == "items" else None,
        ),
        button(
            t("home.tab.insights", lang),
            TAB_INSIGHTS_ACTION,
            "insights",
            style="primary" if current == "insights" else None,
        ),
    )


def _period_picker(choice: str, lang: str) -> dict[str, Any]:
    options = [option(t(f"insights.home.period.{c}", lang), c) for c in PERIOD_CHOICES]
    chosen = options[PERIOD_CHOICES.index(choice)] if choice in PERIOD_CHOICES else options[0]
    return {
        "type": "static_select",
        "action_id": PERIOD_ACTION,
        "options": options,
        "initial_option": chosen,
    }


def insights_home_view(
    insights: Insights,
    lang: str,
    *,
    period_choice: str,
    charts: Sequence[ShownChart] = (),
) -> dict[str, Any]:
    """The Insights tab of one reader's Home (admins: everything; leads: their teams)."""
    period = insights.period
    label = words.period_label(period.kind, period.key, lang)
    scope = (
        t("insights.home.scope.all", lang)
        if insights.audience.is_admin
        else t("insights.home.scope.teams", lang, teams=", ".join(r.name for r in insights.teams))
    )
    blocks: list[Block] = [
        header(t("insights.home.title", lang, period=label)),
        tab_buttons("insights", lang),
        actions(
            "home_insights_controls",
            _period_picker(period_choice, lang),
            button(t("insights.home.how", lang), HOW_ACTION, "how"),
        ),
        context(
            t(
                "insights.home.scope",
                lang,
                scope=scope,
                first=period.first_day.isoformat(),
                last=period.last_day.isoformat(),
                timezone=period.timezone,
                previous=words.period_label(insights.previous.kind, insights.previous.key, lang),
            )
        ),
        section("\n".join(headline_lines(insights, lang))),
    ]
    late = [
        f"• {neutralize(team) if team else t('insights.text.unrouted', lang)}: {count}"
        for team, count in sorted(insights.late_now.items())
    ]
    blocks.append(
        section(
            t("insights.home.sla", lang)
            + "\n"
            + ("\n".join(late) if late else t("insights.home.nothing_late", lang))
        )
    )
    if len(insights.teams) > 1:
        blocks.append(
            section(
                t("insights.text.teams", lang)
                + "\n"
                + "\n".join(
                    "• "
                    + tn(
                        "insights.home.team_line",
                        row.current.items,
                        lang,
                        name=neutralize(row.name)
                        if row.name
                        else t("insights.text.unrouted", lang),
                        change=words.change(row.current.items, row.previous.items, lang),
                        median=words.duration(row.current.acknowledge.median, lang),
                        breaches=row.current.sla_breaches,
                    )
                    for row in insights.teams[:10]
                )
            )
        )
    if insights.themes:
        blocks.append(divider())
        blocks.append(section(t("insights.report.themes", lang)))
        for theme in insights.themes[:THEME_ROWS]:
            blocks.append(theme_block(theme, lang, can_edit=_may_edit(insights, theme)))
    if insights.demand:
        blocks.append(
            section(
                t("insights.text.demand", lang)
                + "\n"
                + "\n".join(
                    "• "
                    + tn(
                        "insights.text.demand_line",
                        d.people,
                        lang,
                        id=d.item_id,
                        text=neutralize(truncate(" ".join(d.text.split()), 100)),
                    )
                    + (" · " + neutralize(", ".join(d.customers)) if d.customers else "")
                    for d in insights.demand[:DEMAND_ROWS]
                )
            )
        )
    if insights.surveys:
        blocks.append(
            section(
                t("insights.text.surveys", lang)
                + "\n"
                + "\n".join(
                    "• "
                    + t(
                        "insights.text.survey_line",
                        lang,
                        survey=neutralize(s.survey),
                        question=neutralize(truncate(s.question, 120)),
                        mean=words.decimal(s.latest_mean, lang)
                        if s.latest_mean is not None
                        else "–",
                        scale=s.scale,
                        round=s.latest_round,
                        change=words.change(s.latest_mean, s.previous_mean, lang, digits=1),
                    )
                    for s in insights.surveys[:8]
                )
            )
        )
    if insights.audience.sees_customers and (insights.at_risk_customers or insights.deals):
        lines = [
            "• "
            + t(
                "insights.text.customer_line",
                lang,
                customer=neutralize(c.customer),
                id=c.item_id,
                team=neutralize(c.team),
                outcome=t(f"insights.at_risk.{c.outcome}", lang),
            )
            for c in insights.at_risk_customers[:10]
        ] + [
            "• "
            + t(
                "insights.text.deal_line",
                lang,
                customer=neutralize(c.customer),
                id=c.item_id,
                team=neutralize(c.team),
            )
            for c in insights.deals[:10]
        ]
        blocks.append(section(t("insights.report.customers", lang) + "\n" + "\n".join(lines)))
    for chart in charts:
        blocks.append(divider())
        blocks.append(
            {
                "type": "image",
                "slack_file": {"id": chart.file_id},
                "alt_text": truncate(chart.alt_text, 2000),
                "title": {"type": "plain_text", "text": truncate(chart.title, 2000)},
            }
        )
        blocks.append(context(truncate(chart.alt_text, 2900)))
    blocks.append(context(t("insights.home.how_short", lang)))
    return {
        "type": "home",
        "callback_id": "jerry_home",
        "blocks": blocks[:VIEW_BLOCK_LIMIT],
        "private_metadata": "",
    }


def _may_edit(insights: Insights, theme: ThemeSummary) -> bool:
    audience = insights.audience
    return audience.is_admin or (theme.team_id is not None and theme.team_id in audience.team_ids)


def theme_block(theme: ThemeSummary, lang: str, *, can_edit: bool) -> Block:
    """One theme: its name, how many items (and the change), an example; the lead's menu."""
    text = "*" + neutralize(theme.label) + "* · " + neutralize(theme.area) + "\n"
    text += tn(
        "insights.home.theme_count",
        theme.items,
        lang,
        change=words.change(theme.items, theme.previous_items, lang),
    )
    if theme.examples:
        item_id, example = theme.examples[0]
        text += "\n> " + t(
            "insights.home.theme_example",
            lang,
            id=item_id,
            text=neutralize(truncate(" ".join(example.split()), 140)),
        )
    block = section(text)
    if can_edit:
        block["accessory"] = {
            "type": "overflow",
            "action_id": THEME_MENU_ACTION,
            "options": [
                option(t(f"insights.theme.menu.{what}", lang), f"{what}:{theme.id}")
                for what in ("rename", "merge", "move")
            ],
        }
    return block


def parse_theme_menu(value: str | None) -> tuple[str, int] | None:
    what, _, number = (value or "").partition(":")
    if what not in ("rename", "merge", "move") or not number.isdigit():
        return None
    return what, int(number)


def _theme_modal(
    callback: str, title: str, theme_id: int, blocks: list[Block], lang: str
) -> dict[str, Any]:
    return modal(
        callback_id=callback,
        title=title,
        submit=t("insights.theme.save", lang),
        close=t("modal.cancel", lang),
        blocks=[*blocks, context(t("insights.theme.kept", lang))],
        private_metadata=str(theme_id),
    )


def theme_rename_modal(theme_id: int, label: str, lang: str) -> dict[str, Any]:
    return _theme_modal(
        THEME_RENAME_CALLBACK,
        t("insights.theme.rename_title", lang),
        theme_id,
        [
            input_block(
                "name",
                t("insights.theme.name_label", lang),
                text_input("value", multiline=False, initial=label, max_length=80),
            )
        ],
        lang,
    )


def theme_merge_modal(
    theme_id: int, label: str, others: Sequence[tuple[int, str]], lang: str
) -> dict[str, Any]:
    if not others:
        return modal(
            callback_id="jerry_theme_alone",
            title=t("insights.theme.merge_title", lang),
            submit=None,
            close=t("insights.home.close", lang),
            blocks=[section(t("insights.theme.alone", lang))],
        )
    return _theme_modal(
        THEME_MERGE_CALLBACK,
        t("insights.theme.merge_title", lang),
        theme_id,
        [
            section("*" + neutralize(label) + "*"),
            input_block(
                "other",
                t("insights.theme.merge_label", lang),
                {
                    "type": "static_select",
                    "action_id": "value",
                    "options": [option(other, str(i)) for i, other in others[:MAX_OPTIONS]],
                },
            ),
        ],
        lang,
    )


def theme_move_modal(
    theme_id: int, label: str, items: Sequence[tuple[int, str]], lang: str
) -> dict[str, Any]:
    return _theme_modal(
        THEME_MOVE_CALLBACK,
        t("insights.theme.move_title", lang),
        theme_id,
        [
            section("*" + neutralize(label) + "*"),
            input_block(
                "item",
                t("insights.theme.move_label", lang),
                {
                    "type": "static_select",
                    "action_id": "value",
                    "options": [
                        option(f"#{i} {' '.join(text.split())}", str(i))
                        for i, text in items[:MAX_OPTIONS]
                    ],
                },
            ),
        ],
        lang,
    )


def how_modal(lang: str) -> dict[str, Any]:
    """ "How these are computed": every definition, one a line."""
    lines = [f"• {t(f'insights.how.{key}', lang)}" for key in HOW_KEYS]
    return modal(
        callback_id="jerry_insights_how",
        title=t("insights.home.how_title", lang),
        submit=None,
        close=t("insights.home.close", lang),
        blocks=[section("\n".join(lines))],
        private_metadata="",
    )
