"""The App Home tab: pure Block Kit builders (plain data in, a `home` view out).

The view always fits Slack's limits whatever the data: each list shows one page (its size is
chosen so that every list at once stays under the 100 blocks of a Home), each text is cut to
its limit, and a "show more" button per list carries the list name and the next offset.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from bot.i18n import CATALOGS, DEFAULT_LANGUAGE, t, tn
from bot.items.domain import QUEUE_SORTS, ItemDemand, LinkedIssue
from bot.text import PRIVATE_METADATA_LIMIT, VIEW_BLOCK_LIMIT, truncate
from bot.views.blocks import (
    Block,
    actions,
    button,
    context,
    divider,
    header,
    option,
    reporter_mention,
    section,
    slack_date,
)
from bot.views.demand import demand_text
from bot.views.help import WELCOME_HIDE_ACTION, WELCOME_SHOW_ACTION, Welcome, welcome_blocks
from bot.views.items import kind_label, safe
from bot.views.lead_actions import REOPEN, action_buttons
from bot.views.trackers import issue_line, work_buttons

# The lists of a Home, and how many rows each shows at once. With every list full (a lead
# who is an admin) the view stays well under VIEW_BLOCK_LIMIT: see tests/test_views_home.py.
MINE, QUEUE, TEAMS, BREACHES, UNDELIVERED = "mine", "queue", "teams", "breaches", "undelivered"
LISTS = (MINE, QUEUE, TEAMS, BREACHES, UNDELIVERED)
PAGE_SIZES = {MINE: 10, QUEUE: 8, TEAMS: 10, BREACHES: 8, UNDELIVERED: 8}

MORE_ACTION = "home_more"  # value "<list>:<offset>"
FIRST_ACTION = "home_first"  # value "<list>:0"
ADD_PAINPOINT_ACTION = "home_add_painpoint"
SORT_QUEUE_ACTION = "home_queue_sort"  # the queue's order: a static_select of QUEUE_SORTS
ASK_QUESTION_ACTION = "home_ask_question"

PREVIEW = 200  # characters of an item's text shown in a list
RULES_SHOWN = 15
UNKNOWN = "—"
SLA_ICONS = {
    "ok": ":large_green_circle:",
    "due_soon": ":large_orange_circle:",
    "breached": ":red_circle:",
    "escalated": ":rotating_light:",
    "none": ":white_circle:",
}

Row = TypeVar("Row")


@dataclass(frozen=True)
class Page(Generic[Row]):
    """One page of a list: its rows, where it starts, how many there are in all."""

    name: str
    rows: tuple[Row, ...]
    offset: int
    total: int

    @property
    def size(self) -> int:
        return PAGE_SIZES[self.name]

    @property
    def next_offset(self) -> int | None:
        end = self.offset + len(self.rows)
        return end if end < self.total else None


@dataclass(frozen=True)
class HomeItem:
    id: int
    kind: str
    status: str
    text: str  # Slack-formatted, as stored (cut and defused here)
    team: str
    lead: str | None  # who has it: the assigned lead (or the team's)
    reporter_id: str
    anonymous: bool
    created_at: datetime
    age: timedelta
    area: str | None = None
    resolved_at: datetime | None = None
    sla: str = "none"  # ok | due_soon | breached | escalated | none
    due_at: datetime | None = None
    can_reopen: bool = False
    # Who else asked for it (items merged into it); None when only its reporter did.
    demand: ItemDemand | None = None
    follows: int | None = None  # merged into this item: its reporter follows that one
    # Its Jira or Linear issues, and what its buttons offer (bot/trackers): the queue only.
    issues: tuple[LinkedIssue, ...] = ()
    create_in: str | None = None
    can_link: bool = False


@dataclass(frozen=True)
class TeamGlance:
    id: int
    name: str
    lead: str
    backup: str | None
    channel: str | None
    areas: tuple[str, ...]
    is_triage: bool
    new_this_week: int = 0
    open_now: int = 0
    breached: int = 0


@dataclass(frozen=True)
class RuleGlance:
    name: str
    channel: str | None
    pattern: str | None
    target: str


@dataclass(frozen=True)
class UndeliveredRow:
    id: int
    purpose: str
    recipient: str | None
    item_id: int | None
    status: str
    error: str | None
    attempts: int
    created_at: datetime


@dataclass(frozen=True)
class AdminHome:
    teams: Page[TeamGlance]
    rules: tuple[RuleGlance, ...]
    breaches: Page[HomeItem]
    undelivered: Page[UndeliveredRow]
    new_this_week: int = 0
    has_model: bool = True


@dataclass(frozen=True)
class HomeData:
    user_id: str
    now: datetime
    mine: Page[HomeItem]
    queue: Page[HomeItem] | None = None  # only for leads and backups
    admin: AdminHome | None = None  # only for admins
    offsets: dict[str, int] = field(default_factory=dict)
    # The welcome: in full on the first open (or when asked), else a "How Jerry works" button.
    welcome: Welcome | None = None
    queue_sort: str = QUEUE_SORTS[0]  # the order of the queue, as its lead chose it
    insights_tab: bool = False  # the reader may switch to Insights (admins, leads, backups)


# --- paging state (kept in the view's private_metadata) ------------------------------------


def encode_offsets(offsets: dict[str, int]) -> str:
    kept = {name: int(value) for name, value in offsets.items() if name in LISTS and value > 0}
    encoded = json.dumps({"offsets": kept}, separators=(",", ":"))
    return encoded if len(encoded) <= PRIVATE_METADATA_LIMIT else "{}"


def decode_offsets(raw: str | None) -> dict[str, int]:
    """The offsets a Home was published with; anything unreadable means the first pages."""
    try:
        data = json.loads(raw or "{}")
    except ValueError:
        return {}
    offsets = data.get("offsets") if isinstance(data, dict) else None
    if not isinstance(offsets, dict):
        return {}
    return {
        name: value
        for name, value in offsets.items()
        if name in LISTS and isinstance(value, int) and not isinstance(value, bool) and value >= 0
    }


def parse_page_value(value: str | None) -> tuple[str, int] | None:
    """A "show more" button's value, "<list>:<offset>"; None when it is not one."""
    name, _, raw = (value or "").partition(":")
    if name not in LISTS or not raw.isdigit() or len(raw) > 9:
        return None
    return name, int(raw)


# --- small pieces ---------------------------------------------------------------------------


def _has_key(key: str) -> bool:
    return key in CATALOGS[DEFAULT_LANGUAGE]


def status_text(status: str, lang: str) -> str:
    return t(f"status.{status}", lang) if _has_key(f"status.{status}") else status


def age_phrase(age: timedelta, lang: str) -> str:
    """ "3 h old", or "arrived just now" (never "just now old")."""
    if age < timedelta(minutes=1):
        return t("home.age_new", lang)
    return t("home.age", lang, age=age_text(age, lang))


def age_text(age: timedelta, lang: str) -> str:
    minutes = max(0, int(age.total_seconds() // 60))
    if minutes < 1:
        return t("home.age.now", lang)
    if minutes < 60:
        return t("home.age.minutes", lang, n=minutes)
    if minutes < 48 * 60:
        return t("home.age.hours", lang, n=minutes // 60)
    return tn("home.age.days", minutes // (24 * 60), lang)


def date_text(when: datetime) -> str:
    """A date Slack shows in the reader's own timezone and format (UTC as the fallback)."""
    return slack_date(when)


def who(user: str | None) -> str:
    return f"<@{user}>" if user else UNKNOWN


def preview(text: str) -> str:
    """An item's text on one line, defused and cut."""
    return safe(" ".join(text.split()), PREVIEW)


def _title(item: HomeItem, lang: str) -> str:
    title = f"*{t('lead_dm.title', lang, id=item.id, kind=kind_label(item.kind, lang))}*"
    if item.area:
        title += f" · {truncate(item.area, 200)}"
    return title


def sla_text(item: HomeItem, lang: str) -> str:
    label = f"{SLA_ICONS.get(item.sla, '')} {t(f'home.sla.{item.sla}', lang)}".strip()
    if item.due_at is not None and item.sla in {"ok", "due_soon"}:
        label += " " + t("home.sla.due", lang, when=date_text(item.due_at))
    elif item.due_at is not None and item.sla in {"breached", "escalated"}:
        label += " " + t("home.sla.was_due", lang, when=date_text(item.due_at))
    return label


def _paging(page: Page[Any], lang: str) -> list[Block]:
    """The "show more" row of a list, when it has more than one page."""
    if page.total <= page.size and page.offset == 0:
        return []
    first, last = page.offset + 1, page.offset + len(page.rows)
    buttons = []
    if page.next_offset is not None:
        buttons.append(button(t("home.more", lang), MORE_ACTION, f"{page.name}:{page.next_offset}"))
    if page.offset > 0:
        buttons.append(button(t("home.first", lang), FIRST_ACTION, f"{page.name}:0"))
    shown = t("home.shown", lang, first=min(first, last), last=last, total=page.total)
    blocks: list[Block] = [context(shown)]
    if buttons:
        blocks.append(actions(f"home_page_{page.name}", *buttons))
    return blocks


# --- the lists ------------------------------------------------------------------------------


def _mine(page: Page[HomeItem], lang: str) -> list[Block]:
    blocks: list[Block] = [header(t("home.mine.title", lang, total=page.total))]
    if not page.rows:
        return [*blocks, section(t("home.mine.empty", lang))]
    for item in page.rows:
        facts = [status_text(item.status, lang), item.team, who(item.lead)]
        if item.resolved_at is not None:
            facts.append(t("home.resolved_on", lang, when=date_text(item.resolved_at)))
        else:
            facts.append(age_phrase(item.age, lang))
        if item.anonymous:
            facts.append(t("home.anonymous", lang))
        if item.follows is not None:
            facts.append(t("follow.home_follows", lang, kept=item.follows))
        if item.demand is not None:
            facts.append(demand_text(item.demand, lang))
        text = f"{_title(item, lang)}\n{preview(item.text)}\n{' · '.join(facts)}"
        block = section(text, block_id=f"home_mine_{item.id}")
        if item.can_reopen:
            block["accessory"] = button(t("action.reopen", lang), REOPEN, str(item.id))
        blocks.append(block)
    return blocks + _paging(page, lang)


def queue_buttons(item: HomeItem, lang: str) -> list[dict[str, Any]]:
    """The lead DM's buttons for the item in its state: the same builder, ids and values."""
    return [*action_buttons(item, lang), *work_buttons(item, lang)]


def sort_menu(sort: str, lang: str) -> Block:
    """The queue's order, a menu above it: oldest first (as it always was), newest first,
    most asked for first (demand)."""
    options = [option(t(f"demand.sort.{name}", lang), name) for name in QUEUE_SORTS]
    chosen = next((o for o in options if o["value"] == sort), options[0])
    block = section(t("demand.sort.label", lang), block_id="home_queue_sort")
    block["accessory"] = {
        "type": "static_select",
        "action_id": SORT_QUEUE_ACTION,
        "options": options,
        "initial_option": chosen,
    }
    return block


def _queue(page: Page[HomeItem], lang: str, sort: str = QUEUE_SORTS[0]) -> list[Block]:
    blocks: list[Block] = [header(t("home.queue.title", lang, total=page.total))]
    if not page.rows:
        return [*blocks, section(t("home.queue.empty", lang))]
    if page.total > 1:  # an order for one item means nothing
        blocks.append(sort_menu(sort, lang))
    for item in page.rows:
        reporter = (
            t("home.anonymous", lang)
            if item.anonymous
            else reporter_mention(item.reporter_id, lang)
        )
        blocks.append(
            section(f"{_title(item, lang)}\n{preview(item.text)}", block_id=f"home_q_{item.id}")
        )
        demand = f" · {demand_text(item.demand, lang)}" if item.demand is not None else ""
        work = "".join(f"\n{issue_line(issue, lang)}" for issue in item.issues)
        blocks.append(
            context(
                f"{sla_text(item, lang)} · {age_phrase(item.age, lang)}"
                f" · {status_text(item.status, lang)} · {item.team}"
                f" · {t('home.reported_by', lang, who=reporter)}{demand}{work}"
            )
        )
        blocks.append(actions(f"home_q_actions_{item.id}", *queue_buttons(item, lang)))
    return blocks + _paging(page, lang)


def _teams(admin: AdminHome, lang: str) -> list[Block]:
    page = admin.teams
    blocks: list[Block] = [
        section(f"*{t('home.admin.routing', lang)}*", block_id="home_admin_routing"),
    ]
    if not admin.has_model:
        return [*blocks, section(t("home.admin.no_model", lang))]
    for team in page.rows:
        name = f"*{truncate(team.name, 200)}*"
        if team.channel:
            name += f" · <#{team.channel}>"
        areas = ", ".join(team.areas) if team.areas else UNKNOWN
        week = t(
            "home.admin.team_counts",
            lang,
            new=tn("home.admin.count.new", team.new_this_week, lang),
            open=tn("home.admin.count.open", team.open_now, lang),
            late=tn("home.admin.count.late", team.breached, lang),
        )
        fields = [
            f"*{t('home.admin.lead', lang)}*\n{who(team.lead)}",
            f"*{t('home.admin.backup', lang)}*\n{who(team.backup)}",
            f"*{t('home.admin.areas', lang)}*\n{truncate(areas, 1900)}",
            f"*{t('home.admin.this_week', lang)}*\n{week}",
        ]
        blocks.append(section(name, fields=fields, block_id=f"home_team_{team.id}"))
    blocks += _paging(page, lang)
    blocks.append(section(_rules_text(admin.rules, lang), block_id="home_admin_rules"))
    return blocks


def _rules_text(rules: tuple[RuleGlance, ...], lang: str) -> str:
    title = f"*{t('home.admin.rules', lang, total=len(rules))}*"
    if not rules:
        return f"{title}\n{t('home.admin.no_rules', lang)}"
    lines = []
    for n, rule in enumerate(rules[:RULES_SHOWN], 1):
        when = []
        if rule.channel:
            when.append(f"<#{rule.channel}>")
        if rule.pattern:
            pattern = truncate(rule.pattern.replace("`", "'"), 100)
            when.append(f"`{pattern}`")
        lines.append(
            f"{n}. {truncate(rule.name, 100)}: {' + '.join(when) or UNKNOWN} → "
            f"{truncate(rule.target, 100)}"
        )
    if len(rules) > RULES_SHOWN:
        lines.append(t("home.admin.more_rules", lang, n=len(rules) - RULES_SHOWN))
    return truncate(f"{title}\n" + "\n".join(lines), 2900)


def _breaches(page: Page[HomeItem], lang: str) -> list[Block]:
    blocks: list[Block] = [
        section(f"*{t('home.admin.breaches', lang, total=page.total)}*", block_id="home_breaches")
    ]
    if not page.rows:
        return [*blocks, context(t("home.admin.no_breaches", lang))]
    for item in page.rows:
        text = (
            f"{_title(item, lang)} · {item.team} · {who(item.lead)}\n{preview(item.text)}\n"
            f"{sla_text(item, lang)} · {age_phrase(item.age, lang)}"
        )
        blocks.append(section(text, block_id=f"home_breach_{item.id}"))
    return blocks + _paging(page, lang)


def _undelivered(page: Page[UndeliveredRow], lang: str) -> list[Block]:
    blocks: list[Block] = [
        section(
            f"*{t('home.admin.undelivered', lang, total=page.total)}*",
            block_id="home_undelivered",
        )
    ]
    if not page.rows:
        return [*blocks, context(t("home.admin.no_undelivered", lang))]
    for row in page.rows:
        to = UNKNOWN
        if row.recipient:
            to = who(row.recipient) if row.recipient[:1] in {"U", "W"} else f"<#{row.recipient}>"
        elif row.item_id is not None:
            to = t("home.admin.the_reporter", lang)
        item = t("item.number", lang, id=row.item_id) if row.item_id is not None else UNKNOWN
        text = t(
            "home.admin.undelivered_row",
            lang,
            purpose=truncate(row.purpose, 60),
            item=item,
            to=to,
            attempts=tn("home.admin.attempts", row.attempts, lang),
            error=truncate(row.error or UNKNOWN, 500).replace("`", "'"),
            when=date_text(row.created_at),
        )
        blocks.append(section(text, block_id=f"home_delivery_{row.id}"))
    return blocks + _paging(page, lang)


def _admin(admin: AdminHome, lang: str) -> list[Block]:
    blocks: list[Block] = [
        header(t("home.admin.title", lang)),
        context(tn("home.admin.summary", admin.new_this_week, lang)),
    ]
    blocks += _teams(admin, lang)
    blocks.append(divider())
    blocks += _breaches(admin.breaches, lang)
    blocks.append(divider())
    blocks += _undelivered(admin.undelivered, lang)
    return blocks


# --- the whole tab --------------------------------------------------------------------------


def home_view(data: HomeData, lang: str) -> dict[str, Any]:
    """The Home tab for one person: their items, their queue (leads), the admin overview."""
    new_buttons = [
        button(t("home.add_painpoint", lang), ADD_PAINPOINT_ACTION, "painpoint", style="primary"),
        button(t("home.ask_question", lang), ASK_QUESTION_ACTION, "question"),
    ]
    blocks: list[Block] = [header(t("home.title", lang))]
    if data.insights_tab:
        from bot.views.insights import tab_buttons

        blocks.append(tab_buttons("items", lang))
    if data.welcome is not None and data.welcome.expanded:
        blocks += welcome_blocks(data.welcome, lang)
        new_buttons.append(button(t("help.welcome.hide", lang), WELCOME_HIDE_ACTION, "hide"))
    else:
        blocks.append(section(t("home.intro", lang)))
        if data.welcome is not None:
            new_buttons.append(button(t("help.welcome.show", lang), WELCOME_SHOW_ACTION, "show"))
    blocks += [actions("home_new", *new_buttons), divider()]
    if data.queue is not None:
        blocks += _queue(data.queue, lang, data.queue_sort)
        blocks.append(divider())
    blocks += _mine(data.mine, lang)
    if data.admin is not None:
        blocks.append(divider())
        blocks += _admin(data.admin, lang)
    if len(blocks) > VIEW_BLOCK_LIMIT:  # never with PAGE_SIZES as they are; a last safety net
        blocks = [*blocks[: VIEW_BLOCK_LIMIT - 1], context(t("home.cut", lang))]
    return {
        "type": "home",
        "callback_id": "jerry_home",
        "blocks": blocks,
        "private_metadata": encode_offsets(data.offsets),
    }
