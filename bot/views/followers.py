"""What a follower of a kept item hears of it, in their own item's thread (bot/similar/
followers.py), and how a follower's message shows in the kept item's lead thread. Pure.

A follower's message names the kept item by its number and quotes the follower's own item
(their words, never the kept item's reporter's), so they know which of theirs it is about.
"""

from __future__ import annotations

from typing import Any

from bot.i18n import t
from bot.text import MESSAGE_TEXT_LIMIT, neutralize, quote, truncate
from bot.views.blocks import Block, actions, button, context, item_quote, section
from bot.views.items import Message, kind_label, safe
from bot.views.lead_actions import NEW_QUESTION, outcome_label

NEWS_ICONS = {
    "answer": ":speech_balloon:",
    "acknowledged": ":eyes:",
    "resolution": ":white_check_mark:",
    "reopened": ":arrows_counterclockwise:",
    "passed_on": ":outbox_tray:",
    "held": ":leftwards_arrow_with_hook:",
}
QUOTED = 2000  # characters of an answer, a note or a "still wrong" quoted


def follower_news(
    lang: str,
    news: str,
    *,
    kept_id: int,
    item_id: int,
    kind: str,
    about: str,
    who: str = "",
    team: str = "",
    answer: str = "",
    outcome: str = "",
    duplicate_of: int | None = None,
    note: str = "",
    what: str = "",
    by_reporter: bool = False,
) -> Message:
    """News of kept item #`kept_id` for the reporter of #`item_id` (a `kind`, whose text is
    `about`), which follows it. `who`: the lead who acted (a user id); `what`: the lead's
    words on reopening (the kept item's reporter's are never passed on)."""
    ids = {"kept": kept_id, "id": item_id, "kind": kind_label(kind, lang).lower()}
    lead = {"who": f"<@{who}>" if who else "—", "team": team or "—"}
    quoted = ""
    notes: list[str] = []
    buttons: list[dict[str, Any]] = []
    if news == "answer":
        line = t("follow.answer", lang, **lead)
        quoted = answer
    elif news == "acknowledged":
        line = t("follow.acknowledged", lang, **lead)
    elif news == "resolution":
        line = t("follow.resolution", lang, outcome=_outcome(outcome, lang, duplicate_of), **lead)
        if note:
            quoted = note
            line += "\n" + t("resolution.note", lang, who=lead["who"])
        notes.append(t("follow.still_wrong_hint", lang))
    elif news == "reopened" and by_reporter:
        line = t("follow.reopened_by_reporter", lang)
    elif news == "reopened":
        line = t("follow.reopened", lang, **lead)
        if what:
            quoted = what
            line += "\n" + f"*{t('reopen.still_wrong', lang)}*"
    elif news == "passed_on":
        line = t("follow.passed_on", lang, **ids)
    elif news == "held":
        line = t("follow.held", lang, outcome=_outcome(outcome, lang, duplicate_of), **ids)
        buttons.append(
            button(t("action.new_question", lang), NEW_QUESTION, str(item_id), style="primary")
        )
    else:
        raise ValueError(f"unknown follower news {news!r}")
    # About their own message, the line says it all; news of the kept item says whose.
    own = news in {"passed_on", "held"}
    head = line if own else f"*{t('follow.about', lang, **ids)}*\n{line}"
    icon = NEWS_ICONS.get(news, ":bell:")
    blocks: list[Block] = [section(f"{icon} {head}"), item_quote(about)]
    if quoted:
        blocks.append(section(quote(safe(quoted, QUOTED))))
    if notes:
        blocks.append(context(*notes))
    if buttons:
        blocks.append(actions(f"item_follow_{item_id}", *buttons))
    text = head.replace("\n", " ")
    if quoted:
        text += "\n" + neutralize(quoted)
    return {"text": truncate(text, MESSAGE_TEXT_LIMIT), "blocks": blocks}


def _outcome(outcome: str, lang: str, duplicate_of: int | None) -> str:
    """The outcome inside a sentence ("resolved it: fixed")."""
    if not outcome:
        return "—"
    label = outcome_label(outcome, lang, duplicate_of)
    return label[:1].lower() + label[1:]


def follower_line(lang: str, *, who: str | None, item_id: int, kept_id: int) -> str:
    """Who wrote, in the kept item's lead thread: the reporter of #`item_id`, which follows
    #`kept_id`; `who` None: that item is anonymous, its reporter is never named."""
    if who is None:
        return t("follow.from_anonymous", lang, id=item_id, kept=kept_id)
    return t("follow.from_follower", lang, who=who, id=item_id, kept=kept_id)


def follower_hint(lang: str, *, item_id: int, kept_id: int) -> str:
    """Under a follower's message in the lead's thread: where replies there go."""
    return t("follow.replies_hint", lang, id=item_id, kept=kept_id)
