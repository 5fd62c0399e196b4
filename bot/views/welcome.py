"""The welcome DM a lead or backup gets the first time a routing import names them for a team:
what they own, their targets, what the item card's buttons do, and how the thread relays.

Pure: plain data in (`WelcomeTeam`, as the routing file wrote it), a message out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.i18n import t, tn
from bot.sla.business_time import (
    DEFAULT_ACK_TARGET,
    DEFAULT_ANSWER_TARGET,
    SlaError,
    parse_target,
)
from bot.text import escape_plain, neutralize, truncate
from bot.views.blocks import context, divider, header, section

Message = dict[str, Any]

KEYWORDS_SHOWN = 6  # per area: the welcome says what an area is about, not every keyword
AREAS_SHOWN = 8  # per team; the rest are counted
NAME_LIMIT = 80


@dataclass(frozen=True)
class WelcomeTeam:
    name: str
    role: str  # "lead" or "backup"
    areas: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (area name, its keywords)
    ack_target: str | None = None  # as the routing file writes it ("4h"); None: the default
    answer_target: str | None = None


def _raw(text: str, limit: int = NAME_LIMIT) -> str:
    """Text from the routing file (raw): escaped for mrkdwn, no broadcast, cut."""
    return truncate(neutralize(escape_plain(" ".join(text.split()))), limit)


def target_words(target: str | None, default: str, lang: str) -> str:
    """A target in words with its real plural ("4 business hours", "1 jour ouvré")."""
    try:
        parsed = parse_target(target, default)
    except SlaError:
        return _raw(target or default)
    if parsed.days:
        amount, unit = parsed.days, "days"
    elif parsed.minutes >= 60:
        amount, unit = parsed.minutes / 60, "hours"
    else:
        amount, unit = parsed.minutes, "minutes"
    shown = f"{amount:g}"
    if lang == "fr":
        shown = shown.replace(".", ",")
    # Plural by the number as read: 1.5 is plural in English, singular in French (below 2).
    count = 1 if amount == 1 else (1 if lang == "fr" and amount < 2 else 2)
    return tn(f"welcome.target.{unit}", count, lang, n=shown)


def _areas(team: WelcomeTeam, lang: str) -> str:
    if not team.areas:
        return t("welcome.no_areas", lang)
    lines = []
    for name, keywords in team.areas[:AREAS_SHOWN]:
        words = ", ".join(_raw(word, 40) for word in keywords[:KEYWORDS_SHOWN])
        if len(keywords) > KEYWORDS_SHOWN:
            words += ", …"
        lines.append(
            t("welcome.area", lang, area=_raw(name), keywords=words)
            if words
            else t("welcome.area_no_keywords", lang, area=_raw(name))
        )
    if len(team.areas) > AREAS_SHOWN:
        lines.append(tn("welcome.more_areas", len(team.areas) - AREAS_SHOWN, lang))
    return "\n".join(lines)


def _team_section(team: WelcomeTeam, lang: str) -> str:
    role = t(
        f"welcome.role.{'backup' if team.role == 'backup' else 'lead'}", lang, team=_raw(team.name)
    )
    targets = t(
        "welcome.targets",
        lang,
        ack=target_words(team.ack_target, DEFAULT_ACK_TARGET, lang),
        answer=target_words(team.answer_target, DEFAULT_ANSWER_TARGET, lang),
    )
    parts = [role, _areas(team, lang), targets]
    if team.role == "backup":
        parts.append(t("welcome.backup_duty", lang))
    return "\n".join(parts)


def lead_welcome(teams: list[WelcomeTeam], lang: str, *, also: bool = False) -> Message:
    """The welcome DM: the team(s) the person now owns, their targets; for a first welcome
    (`also` False) what the buttons do and how the thread relays, too."""
    names = ", ".join(_raw(team.name) for team in teams)
    if also:
        intro = tn("welcome.also_intro", len(teams), lang, teams=names)
        blocks = [section(intro)]
        blocks += [section(_team_section(team, lang)) for team in teams]
        blocks.append(context(t("welcome.also_same", lang)))
        return {"text": intro, "blocks": blocks}
    intro = tn("welcome.intro", len(teams), lang, teams=names)
    blocks = [header(t("welcome.title", lang)), section(intro)]
    blocks += [section(_team_section(team, lang)) for team in teams]
    buttons = "\n".join(
        t(
            f"welcome.button.{action}",
            lang,
            button=t(f"action.{action}", lang),
        )
        for action in ("acknowledge", "answer", "ask_details", "reassign", "resolve")
    )
    blocks += [
        divider(),
        section(t("welcome.buttons_title", lang) + "\n" + buttons),
        section(t("welcome.thread", lang)),
        context(t("welcome.reminders", lang)),
    ]
    return {"text": intro, "blocks": blocks}
