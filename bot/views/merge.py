"""Block Kit for merging items on the lead's side (issue 12): the "Looks like" section of a
lead's card with its "Merge into #12" buttons, what each merged reporter is told when their
item is merged or the merge undone, and the line for the kept item's lead. Pure functions.

Anonymity: a reporter is named to a lead only when their item is not anonymous and the lead
may see it; the kept item's text reaches a reporter only as `duplicate_blocks` allows (the
caller's snapshot leaves out another team's text and answer, and a hidden origin's link).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.i18n import t, tn
from bot.items.domain import ItemCard, LooksLike
from bot.text import MESSAGE_TEXT_LIMIT, neutralize, quote, truncate
from bot.views.blocks import Block, button, context, item_quote, reporter_mention, section
from bot.views.lead_actions import MERGE, duplicate_blocks, outcome_label

Message = dict[str, Any]

PREVIEW = 200  # characters of a similar item's text on a card
NOTICE_PREVIEW = 500  # characters of a merged item's text in the kept item's lead's notice
MERGED, UNMERGED = "merged", "unmerged"  # what a notice is about


def _safe(text: str, limit: int) -> str:
    return truncate(neutralize(text), limit, marker=" …")


def merge_value(item_id: int, into_id: int) -> str:
    """A "Merge into" button's value: the item to merge and the item to keep."""
    return f"{item_id}:{into_id}"


def looks_like_state(other: LooksLike, lang: str) -> str:
    """ "open, 3 reporters", "answered, 1 reporter", "resolved: fixed"."""
    if other.status == "resolved":
        outcome = outcome_label(other.outcome, lang).lower() if other.outcome else ""
        if not outcome:
            return t("merge.looks_like.resolved_plain", lang)
        return t("merge.looks_like.resolved", lang, outcome=outcome)
    if other.status == "answered":
        return tn("merge.looks_like.answered", other.people, lang)
    return tn("merge.looks_like.open", other.people, lang)


def looks_like_blocks(card: ItemCard, lang: str) -> list[Block]:
    """The items that look like the card's item, each with its state, its text when the
    reader may see it, and "Merge into #12" (only into an item the reader may see: they
    could not name another in the Resolve form either)."""
    if not card.looks_like or card.status == "resolved" or card.merged_into:
        return []
    blocks: list[Block] = [section(f":mag: *{t('merge.looks_like.title', lang)}*")]
    for other in card.looks_like:
        number = t("item.number", lang, id=other.id)
        line = f"*{number}* · {looks_like_state(other, lang)}"
        if other.text is None:
            line += f" · _{t('merge.looks_like.hidden', lang)}_"
        else:
            line += "\n" + quote(_safe(other.text, PREVIEW))
        block = section(line)
        if other.text is not None:
            block["accessory"] = button(
                t("merge.action.merge", lang, id=other.id), MERGE, merge_value(card.id, other.id)
            )
        blocks.append(block)
    blocks.append(context(t("merge.looks_like.hint", lang, id=card.id)))
    return blocks


def merge_notice(
    card: ItemCard,
    lang: str,
    *,
    change: str,
    merged: int,
    into: int,
    by: str,
    team: str,
    duplicate: Mapping[str, Any] | None = None,
    **_: Any,
) -> Message:
    """To a reporter whose item was merged (`change` "merged": it is now followed as `into`,
    and `duplicate` says what `into` is), or whose merge was undone ("unmerged"): in their
    own thread. `merged` is the item that was merged: theirs, or the one theirs followed."""
    params = {
        "who": f"<@{by}>",
        "team": team,
        "kind": t(f"item.kind.{card.kind}", lang).lower(),
        "id": card.id,
        "merged": merged,
        "into": into,
    }
    own = "own" if merged == card.id else "followed"
    if change == UNMERGED:
        line = t(f"merge.notice.unmerged_{own}", lang, **params)
        undone = [section(f":leftwards_arrow_with_hook: {line}"), item_quote(card.text)]
        return {"text": line, "blocks": undone}
    line = t(f"merge.notice.merged_{own}", lang, **params)
    blocks: list[Block] = [section(f":link: {line}"), item_quote(card.text)]
    if duplicate:
        blocks += duplicate_blocks(duplicate, lang)
    blocks.append(context(t("merge.notice.hear_there", lang, into=into)))
    return {"text": truncate(line, MESSAGE_TEXT_LIMIT), "blocks": blocks}


def merge_lead_notice(
    card: ItemCard,
    lang: str,
    *,
    change: str,
    merged: int,
    by: str,
    people: int,
    reporter: str = "",
    anonymous: bool = False,
    text: str = "",
    **_: Any,
) -> Message:
    """For the kept item's lead, under their card: `merged` was merged into it (or taken out
    again) by `by`, and how many people now asked for it. What `merged` says and who reported
    it, only when the lead may see it (`text` given); an anonymous reporter is never named."""
    key = "merge.lead_notice.unmerged" if change == UNMERGED else "merge.lead_notice.merged"
    line = tn(key, people, lang, who=f"<@{by}>", merged=merged, id=card.id)
    emoji = ":leftwards_arrow_with_hook:" if change == UNMERGED else ":link:"
    if not text:
        return {"text": line, "blocks": [section(f"{emoji} {line}")]}
    if anonymous:
        reported = t("merge.lead_notice.reported_anonymous", lang, merged=merged)
    else:
        reported = t(
            "merge.lead_notice.reported_by",
            lang,
            merged=merged,
            who=reporter_mention(reporter, lang),
        )
    body = f"{emoji} {line}\n{reported}\n{quote(_safe(text, NOTICE_PREVIEW))}"
    return {"text": line, "blocks": [section(body)]}
