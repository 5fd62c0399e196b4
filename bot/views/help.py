"""First contact, pure Block Kit: the help card, what a mistyped command gets, the "send this
to product?" prompt for a few words in a DM, and the App Home's welcome section."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.i18n import t
from bot.text import BUTTON_TEXT_LIMIT, truncate
from bot.views.blocks import Block, actions, button, context, section
from bot.views.items import safe

# The help card's buttons: the intake forms, and the person's items (the App Home).
HELP_PAINPOINT_ACTION = "help_painpoint"
HELP_QUESTION_ACTION = "help_question"
HELP_HOME_ACTION = "help_my_items"  # a link to the Home: clicking it only needs an ack
# A one-word command taken for a command word: file it as typed anyway.
FILE_ANYWAY_ACTION = "help_file_anyway"
# The prompt under a few words sent by DM: its value is the message's intake key.
PROMPT_QUESTION_ACTION = "dm_send_question"
PROMPT_PAINPOINT_ACTION = "dm_send_painpoint"
PROMPT_DECLINE_ACTION = "dm_no_thanks"
PROMPT_ACTIONS = {
    PROMPT_QUESTION_ACTION: "question",
    PROMPT_PAINPOINT_ACTION: "painpoint",
    PROMPT_DECLINE_ACTION: "declined",
}
# The Home's "How Jerry works" toggle.
WELCOME_SHOW_ACTION = "home_welcome_show"
WELCOME_HIDE_ACTION = "home_welcome_hide"

# `/jerry`'s subcommands, as typed (the French words work too), each with its one-liner.
JERRY_SUBCOMMANDS = (
    ("help", "help.jerry.sub.help"),
    ("summary preview [NAME]", "help.jerry.sub.summary"),
)
QUOTED = 200  # characters of the person's own words quoted back


def home_url(team_id: str | None, app_id: str | None) -> str | None:
    """Slack's deep link to Jerry's Home tab, when the workspace and app ids are known."""
    if not team_id or not app_id:
        return None
    return f"slack://app?team={team_id}&id={app_id}&tab=home"


def _message(text: str, blocks: list[Block]) -> dict[str, Any]:
    return {"text": text, "blocks": blocks}


def _ways(lang: str) -> str:
    return "\n".join(
        t(f"help.way.{way}", lang) for way in ("painpoint", "ask", "shortcut", "dm", "home")
    )


def help_buttons(lang: str, url: str | None) -> list[Block]:
    """Report a pain point, Ask a question, My items (a link to the Home, when known)."""
    elements = [
        button(
            t("help.button.painpoint", lang), HELP_PAINPOINT_ACTION, "painpoint", style="primary"
        ),
        button(t("help.button.question", lang), HELP_QUESTION_ACTION, "question"),
    ]
    blocks: list[Block] = []
    if url:
        my_items = button(t("help.button.my_items", lang), HELP_HOME_ACTION, "home")
        my_items["url"] = url
        elements.append(my_items)
    blocks.append(actions("help_actions", *elements))
    if not url:
        blocks.append(context(t("help.my_items_where", lang)))
    return blocks


def help_card(lang: str, *, home: str | None = None) -> dict[str, Any]:
    """What Jerry does and how to reach it, with buttons to the forms and to one's items."""
    intro = t("help.card.intro", lang)
    blocks: list[Block] = [
        section(intro, block_id="help_intro"),
        section(_ways(lang), block_id="help_ways"),
        *help_buttons(lang, home),
    ]
    return _message(t("help.card.fallback", lang), blocks)


def file_anyway_value(kind: str, text: str, key: str | None) -> str:
    """The "file it anyway" button's value: what to file, and the command's intake key."""
    return json.dumps({"kind": kind, "text": text, "key": key}, separators=(",", ":"))


def parse_file_anyway(value: str | None) -> tuple[str, str, str | None] | None:
    try:
        data = json.loads(value or "")
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        return None
    kind = "question" if data.get("kind") == "question" else "painpoint"
    key = data.get("key") if isinstance(data.get("key"), str) else None
    return kind, data["text"], key


def command_word_card(
    command: str,
    typed: str,
    *,
    kind: str,
    note: str | None,
    lang: str,
    home: str | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    """`/painpoint liste`, `/ask help`: no item. The help card; for a word taken for a command
    (`note`: "list", or "help" for any other command word), why nothing was filed and a button
    to file the word as typed after all (a real one-word pain point)."""
    card = help_card(lang, home=home)
    if note is None:
        return card
    said = t(f"help.command_word.{note}", lang, command=command, word=safe(typed, 40))
    label = truncate(t(f"help.file_anyway.{kind}", lang, word=typed.strip()), BUTTON_TEXT_LIMIT)
    blocks: list[Block] = [
        section(said, block_id="help_command_word"),
        *card["blocks"],
        actions(
            "help_file_anyway",
            button(label, FILE_ANYWAY_ACTION, file_anyway_value(kind, typed.strip(), key)),
        ),
    ]
    return _message(said, blocks)


def jerry_unknown(
    typed: str, lang: str, *, suggestion: str | None = None, home: str | None = None
) -> dict[str, Any]:
    """`/jerry something-else`: it does not exist; here is what does (and the help card)."""
    said = t("help.jerry.unknown", lang, typed=safe(typed, 60).replace("`", "'"))
    if suggestion:
        said += " " + t("help.jerry.did_you_mean", lang, suggestion=suggestion)
    blocks: list[Block] = [
        section(said, block_id="help_unknown"),
        section(jerry_subcommands(lang), block_id="help_subcommands"),
        *help_card(lang, home=home)["blocks"],
    ]
    return _message(said, blocks)


def jerry_subcommands(lang: str) -> str:
    lines = [t("help.jerry.title", lang)]
    for usage, key in JERRY_SUBCOMMANDS:
        lines.append(t("help.jerry.line", lang, usage=usage, what=t(key, lang)))
    return "\n".join(lines)


def jerry_help(lang: str, *, home: str | None = None) -> dict[str, Any]:
    """`/jerry` or `/jerry help`: the help card, then what `/jerry` itself does."""
    card = help_card(lang, home=home)
    blocks = [
        *card["blocks"][:2],
        section(jerry_subcommands(lang), block_id="help_subcommands"),
        *card["blocks"][2:],
    ]
    return _message(card["text"], blocks)


# --- a direct message of a few words -------------------------------------------------------


def short_prompt(text: str, key: str, lang: str) -> dict[str, Any]:
    """ "Send “pricing page” to product as a question?" Nothing is filed before a click."""
    asked = t("help.prompt.ask", lang, text=safe(" ".join(text.split()), QUOTED))
    return _message(
        asked,
        [
            section(asked, block_id="help_prompt"),
            context(t("help.prompt.why", lang)),
            actions(
                "help_prompt_actions",
                button(
                    t("help.prompt.question", lang), PROMPT_QUESTION_ACTION, key, style="primary"
                ),
                button(t("help.prompt.painpoint", lang), PROMPT_PAINPOINT_ACTION, key),
                button(t("help.prompt.decline", lang), PROMPT_DECLINE_ACTION, key),
            ),
        ],
    )


def short_prompt_decided(
    text: str, decision: str, lang: str, *, item_id: int | None = None
) -> dict[str, Any]:
    """The prompt once answered: what was sent (with its number), or that nothing was."""
    quoted = safe(" ".join(text.split()), QUOTED)
    if decision == "declined":
        said = t("help.prompt.declined", lang, text=quoted)
    else:
        said = t(f"help.prompt.sent.{decision}", lang, text=quoted, id=item_id or "?")
    return _message(said, [section(said, block_id="help_prompt")])


def thanks_reply(lang: str) -> dict[str, Any]:
    """A friendly word back to "thanks" or "ok": no item, no prompt."""
    said = t("help.thanks", lang)
    return _message(said, [section(said, block_id="help_thanks")])


# --- the App Home's welcome ----------------------------------------------------------------


@dataclass(frozen=True)
class LedTeam:
    """A team the person leads or backs up, for the welcome's "what you own"."""

    name: str
    areas: tuple[str, ...]
    backup: bool = False


@dataclass(frozen=True)
class Welcome:
    """The welcome at the top of a Home: shown in full on the first open (or when asked)."""

    expanded: bool
    teams: tuple[LedTeam, ...] = ()


def welcome_blocks(welcome: Welcome, lang: str) -> list[Block]:
    """The welcome in full: what Jerry does, the ways in, and for a lead what they own (the
    Home puts its "hide" / "How Jerry works" button in its own row of buttons)."""
    blocks: list[Block] = [
        section(t("help.welcome.title", lang), block_id="home_welcome_intro"),
        section(_ways(lang), block_id="home_welcome_ways"),
    ]
    if welcome.teams:
        lines = [t("help.welcome.lead", lang)]
        for team in welcome.teams[:10]:
            areas = ", ".join(truncate(a, 100) for a in team.areas) or "—"
            role = t("help.welcome.role.backup" if team.backup else "help.welcome.role.lead", lang)
            lines.append(
                t("help.welcome.team", lang, team=truncate(team.name, 200), role=role, areas=areas)
            )
        lines.append(t("help.welcome.lead_how", lang))
        blocks.append(section(truncate("\n".join(lines), 2900), block_id="home_welcome_lead"))
    return blocks
