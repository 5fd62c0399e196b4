"""What a reporter sees of similar items at intake: the items that look like theirs (each
with "Same problem: add me to #12", and one "Mine is different"), a past answer to their
question ("This answers it" / "I still need help"), what their click did, and the line their
item's lead reads when the choice came after the lead got the item.

Other people's items are quoted mention-safe and never say who reported them (nor where).
"""

from __future__ import annotations

import re
from typing import Any

from bot.i18n import t, tn
from bot.similar.domain import ChoiceMade, Offer, Shown
from bot.text import neutralize, quote, truncate
from bot.views.blocks import Block, actions, button, context, section
from bot.views.items import kind_label, safe

Message = dict[str, Any]

ADD = "similar_add"  # value "<item>:<suggested item>"
DIFFERENT = "similar_different"  # value "<item>"
ANSWERED = "similar_answered"  # value "<item>:<item whose answer it is>"
NEEDS_HELP = "similar_needs_help"  # value "<item>"
ACTIONS = (ADD, DIFFERENT, ANSWERED, NEEDS_HELP)

PREVIEW = 150  # characters of a suggested item's first line
ANSWER_PREVIEW = 200  # characters of its answer, on one line, in a suggestion
PAST_ANSWER = 1500  # characters of a past answer offered in full
_QUOTE_MARKS = re.compile(r"^\s*(&gt;\s*)+")


def number(item_id: int, lang: str) -> str:
    return t("item.number", lang, id=item_id)


def one_line(text: str, limit: int) -> str:
    """The first line with words of user text (without its quote marks), mention-safe, cut."""
    lines = (_QUOTE_MARKS.sub("", line).strip() for line in text.split("\n"))
    first = next((line for line in lines if line), "")
    return truncate(neutralize(first), limit, marker=" …")


def flat(text: str, limit: int) -> str:
    """User text on one line (its lines joined), mention-safe, cut."""
    joined = " ".join(part.strip() for part in text.split("\n") if part.strip())
    return truncate(neutralize(joined), limit, marker=" …")


def state(shown: Shown, lang: str) -> str:
    """A suggested item's state in words: open, answered (and how), resolved (and how)."""
    answer = flat(shown.answer, ANSWER_PREVIEW) if shown.answer else ""
    if shown.status in ("resolved", "closed"):
        outcome = t(f"similar.outcome.{shown.outcome or 'none'}", lang)
        if answer:
            return t("similar.state.resolved_answer", lang, outcome=outcome, answer=answer)
        return t("similar.state.resolved", lang, outcome=outcome)
    if shown.status == "answered" and answer:
        return t("similar.state.answered", lang, answer=answer)
    return t("similar.state.open", lang)


def _suggestion(offer: Offer, shown: Shown, lang: str) -> Block:
    facts = [state(shown, lang)]
    if shown.followers:
        facts.append(tn("similar.followers", shown.followers, lang))
    line = f"*{number(shown.id, lang)}* {one_line(shown.text, PREVIEW)}\n{' · '.join(facts)}"
    block = section(line)
    block["accessory"] = button(
        t("similar.add", lang, number=number(shown.id, lang)),
        ADD,
        f"{offer.item_id}:{shown.id}",
    )
    return block


def _hold_line(offer: Offer, lang: str) -> list[str]:
    if offer.hold_minutes <= 0:
        return []
    return [tn("similar.hold", offer.hold_minutes, lang)]


def _offer_blocks(offer: Offer, lang: str) -> list[Block]:
    item = number(offer.item_id, lang)
    kind = kind_label(offer.kind, lang).lower()
    if offer.past_answer is not None:
        past = offer.past_answer
        answer = safe(past.answer or "", PAST_ANSWER)
        return [
            section(f":bulb: {t('similar.past.intro', lang, item=item)}"),
            section(
                f"*{number(past.id, lang)}* {one_line(past.text, PREVIEW)}\n"
                f"*{t('similar.past.answer', lang)}*\n{quote(answer)}"
            ),
            actions(
                f"similar_past_{offer.item_id}",
                button(
                    t("similar.past.accept", lang),
                    ANSWERED,
                    f"{offer.item_id}:{past.id}",
                    style="primary",
                ),
                button(t("similar.past.refuse", lang), NEEDS_HELP, str(offer.item_id)),
            ),
            context(t("similar.past.how", lang, item=item), *_hold_line(offer, lang)),
        ]
    blocks: list[Block] = [section(f":mag: {t('similar.offer.intro', lang, item=item, kind=kind)}")]
    blocks += [_suggestion(offer, shown, lang) for shown in offer.suggestions]
    blocks.append(
        actions(
            f"similar_offer_{offer.item_id}",
            button(t("similar.different", lang), DIFFERENT, str(offer.item_id)),
        )
    )
    blocks.append(context(t("similar.offer.how", lang), *_hold_line(offer, lang)))
    return blocks


def _offer_text(offer: Offer, lang: str) -> str:
    item = number(offer.item_id, lang)
    if offer.past_answer is not None:
        return t("similar.past.text", lang, item=item, source=number(offer.past_answer.id, lang))
    ids = ", ".join(number(s.id, lang) for s in offer.suggestions)
    kind = kind_label(offer.kind, lang).lower()
    return t("similar.offer.text", lang, item=item, kind=kind, numbers=ids)


def offer_message(offer: Offer, lang: str) -> Message:
    """The offer on its own: after a slash command's receipt (in its ack), or only its
    reporter sees it under the receipt in a channel's thread."""
    return {"text": _offer_text(offer, lang), "blocks": _offer_blocks(offer, lang)}


def receipt_with_offer(receipt: Message, offer: Offer | object, lang: str) -> Message:
    """The receipt that only its reporter sees (a DM, an ephemeral answer), with the offer
    (an Offer, or as kept in the receipt's params; the receipt alone when there is none)."""
    if not isinstance(offer, Offer):
        offer = Offer.from_params(offer)
        if offer is None:
            return receipt
    blocks = [*receipt["blocks"], *_offer_blocks(offer, lang)][:50]
    return {"text": f"{receipt['text']} {_offer_text(offer, lang)}", "blocks": blocks}


def choice_made(done: ChoiceMade, lang: str) -> Message:
    """What replaces the offer once its reporter clicked: the outcome, in words."""
    item = number(done.item_id, lang)
    target = number(done.target, lang) if done.target is not None else ""
    kind = kind_label(done.kind, lang).lower()
    if done.choice is None:
        line = t("similar.done.closed", lang, item=item)
    elif done.choice == "added":
        line = t("similar.done.added", lang, item=item, target=target, kind=kind)
        if done.anonymous:
            line += " " + t("similar.done.added_anonymous", lang, target=target)
    elif done.choice == "answered":
        line = t("similar.done.answered", lang, item=item, target=target)
    else:
        key = "similar.done.team_has_it" if done.team_had_it else "similar.done.to_team"
        line = t(key, lang, item=item, kind=kind)
    icon = ":white_check_mark:" if done.choice in ("added", "answered") else ":inbox_tray:"
    blocks: list[Block] = [section(f"{icon} {line}")]
    if done.already:
        blocks.append(context(t("similar.done.already", lang, item=item)))
    return {"text": line, "blocks": blocks}


def lead_notice(
    item_id: int, choice: str, target: int, lang: str, *, who: str, anonymous: bool
) -> Message:
    """For the lead who already had the item: its reporter found it was another item (or
    answered by another's answer), so it is resolved and there is nothing to do. `who` is the
    reporter's id; an anonymous reporter is never named."""
    reporter = t("item.anonymous_reporter", lang) if anonymous else f"<@{who}>"
    key = "similar.lead_notice.answered" if choice == "answered" else "similar.lead_notice.added"
    line = t(key, lang, who=reporter, item=number(item_id, lang), target=number(target, lang))
    return {"text": line, "blocks": [section(line)]}
