"""Block Kit for the lead actions: the item's buttons, the resolve form, the resolution
message the reporter receives, and the resolved state of the lead's DM. Pure functions.

The action ids (and each button's value, the item's number) are the same wherever an
item shows its actions: the lead's DM and the App Home.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from bot.i18n import t
from bot.items.domain import CATEGORIES, CUSTOMER_OUTCOMES, NO_REPORTER, OUTCOMES, ItemCard
from bot.text import MESSAGE_TEXT_LIMIT, neutralize, quote, truncate
from bot.views.blocks import (
    Block,
    actions,
    button,
    context,
    encode_metadata,
    fields_section,
    input_block,
    item_quote,
    modal,
    option,
    plain_text,
    reporter_mention,
    section,
    text_input,
)

RESOLVE_CALLBACK = "jerry_resolve"
ACKNOWLEDGE, ANSWER, REASSIGN = "item_acknowledge", "item_answer", "item_reassign"
RESOLVE, REOPEN = "item_resolve", "item_reopen"
# "Merge into #12" on a lead's card (its value: "<item>:<kept item>") and "Undo merge" on the
# card of a merged item (handlers/merge.py).
MERGE, UNMERGE = "item_merge", "item_unmerge"
REOPEN_CALLBACK = "jerry_reopen"  # the reporter's "What is still wrong?" form
NEW_QUESTION = "item_new_question"  # after a reply to a resolved item: the intake form
WHAT_LIMIT = 2000  # the "What is still wrong?" text
ASK_DETAILS = "item_ask_details"  # built by the conversation work (bot/relay/conversation.py)
NOTE, NOTE_CALLBACK = "item_note", "jerry_internal_note"  # an internal note (bot/relay/notes.py)
NOTE_MAX_LENGTH = 2000
PREVIEW = 500

Message = dict[str, Any]


class ActionTarget(Protocol):
    """What the action buttons read of an item: an ItemCard, or the Home's HomeItem."""

    @property
    def id(self) -> int: ...
    @property
    def status(self) -> str: ...


def _safe(text: str, limit: int) -> str:
    return truncate(neutralize(text), limit, marker=" …")


def _kind(card: ItemCard, lang: str) -> str:
    return t(f"item.kind.{card.kind}", lang).lower()


# Per state, the action that moves the item on: the card's primary (highlighted) button.
PRIMARY = {"open": ACKNOWLEDGE, "acknowledged": ANSWER, "answered": RESOLVE}


CUSTOMER_REPLY = "item_customer_reply"


def action_buttons(card: ActionTarget, lang: str) -> list[dict[str, Any]]:
    """The buttons for an item in its current state, the next step highlighted; a resolved
    item offers only Reopen (nothing else applies to it)."""
    value = str(card.id)
    if getattr(card, "merged_into", None):  # its reporter follows another item: undo, or nothing
        return [button(t("merge.action.undo", lang), UNMERGE, value)]
    if card.status == "resolved":
        return [button(t("action.reopen", lang), REOPEN, value)]
    primary = PRIMARY.get(card.status, ANSWER)
    shown = [(ANSWER, "action.answer")]
    if card.status == "open":
        shown.append((ACKNOWLEDGE, "action.acknowledge"))
    shown.append((REASSIGN, "action.reassign"))
    # Nobody to ask: imported without a reporter, or one of another organisation (whom the
    # team reaches only with "Reply to the customer").
    external = getattr(card, "reporter_external", False)
    if getattr(card, "reporter_id", None) != NO_REPORTER and not external:
        shown.append((ASK_DETAILS, "action.ask_details"))
    shown += [(RESOLVE, "action.resolve"), (NOTE, "action.note")]
    if getattr(card, "external_org", None) and getattr(card, "channel_id", None):
        # Slack Connect: the only way the customer hears anything, on purpose.
        shown.append((CUSTOMER_REPLY, "action.customer_reply"))
    return [
        button(t(key, lang), action, value, style="primary" if action == primary else None)
        for action, key in shown
    ]


def outcome_label(outcome: str, lang: str, duplicate_of: int | None = None) -> str:
    if outcome == "duplicate" and duplicate_of:
        return t("outcome.duplicate_of", lang, id=duplicate_of)
    return t(f"outcome.{outcome}", lang)


def resolution_blocks(card: ItemCard, lang: str) -> list[Block]:
    """What the lead's DM shows once the item is resolved: outcome, note, customer facts."""
    if card.merged_into:
        line = merged_line(card, lang)
    elif card.status != "resolved" or not card.outcome:
        return []
    else:
        who = f"<@{card.resolved_by}>" if card.resolved_by else ""
        if card.anonymous and card.resolved_by == card.reporter_id:
            # Its reporter resolved it themselves (bot/similar/intake.py): still not named.
            who = t("lead_dm.words.anonymous", lang)
        line = t(
            "lead_dm.resolved",
            lang,
            who=who,
            outcome=outcome_label(card.outcome, lang, card.duplicate_of),
        )
    if card.resolution_note:
        line += "\n" + quote(_safe(card.resolution_note, 2500))
    blocks: list[Block] = [section(line)]
    if card.customer_outcome:
        facts = [
            f"*{t('resolve.customer_label', lang)}*\n"
            f"{t(f'customer_outcome.{card.customer_outcome}', lang)}",
            f"*{t('resolve.deal_label', lang)}*\n"
            f"{t('resolve.deal_yes' if card.helped_deal else 'resolve.deal_no', lang)}",
        ]
        blocks.append(fields_section(facts))
    return blocks


def merged_line(card: ItemCard, lang: str) -> str:
    """ "Merged into #12 by @pat" on a merged item's card, and what that means. Merged by its
    own reporter ("Same problem: add me to #12"): an anonymous one is not named."""
    by_reporter = card.resolved_by == card.reporter_id
    if by_reporter and card.anonymous:
        who = t("lead_dm.words.anonymous", lang)
    else:
        who = f"<@{card.resolved_by}>" if card.resolved_by else "Jerry"
    line = t("merge.card.merged", lang, into=card.merged_into, who=who)
    return f"{line}\n{t('merge.card.follows', lang, into=card.merged_into)}"


def resolve_modal(card: ItemCard, lang: str, *, customer_flagged: bool) -> dict[str, Any]:
    """The form behind "Resolve": outcome, duplicate number, note; customer facts if any."""
    outcomes = [option(t(f"outcome.{o}", lang), o) for o in OUTCOMES]
    blocks: list[Block] = [
        section(
            f"*{t('item.number', lang, id=card.id)}* · {card.team}\n{quote(_safe(card.text, 2500))}"
        ),
        input_block(
            "outcome",
            t("resolve.outcome_label", lang),
            {"type": "static_select", "action_id": "value", "options": outcomes},
            optional=False,
        ),
        input_block(
            "duplicate",
            t("resolve.duplicate_label", lang),
            {
                "type": "plain_text_input",
                "action_id": "value",
                "max_length": 12,
                "placeholder": plain_text(t("resolve.duplicate_placeholder", lang), 150),
            },
            optional=True,
        ),
        input_block(
            "note",
            t("resolve.note_label", lang),
            {
                "type": "plain_text_input",
                "action_id": "value",
                "multiline": True,
                "max_length": NOTE_MAX_LENGTH,
            },
            optional=True,
        ),
    ]
    if card.kind == "painpoint":
        # The reporter's category, set or corrected here (the insights' bug trend reads it).
        category_options = [option(t(f"category.{c}", lang), c) for c in CATEGORIES]
        category: dict[str, Any] = {
            "type": "static_select",
            "action_id": "value",
            "options": category_options,
        }
        if card.category in CATEGORIES:
            category["initial_option"] = category_options[CATEGORIES.index(card.category)]
        blocks.append(
            input_block(
                "category",
                t("resolve.category_label", lang),
                category,
                optional=True,
                hint=t("resolve.category_hint", lang),
            )
        )
    if customer_flagged:
        customer_options = [option(t(f"customer_outcome.{c}", lang), c) for c in CUSTOMER_OUTCOMES]
        blocks += [
            input_block(
                "customer",
                t("resolve.customer_label", lang),
                {
                    "type": "static_select",
                    "action_id": "value",
                    "options": customer_options,
                    "initial_option": customer_options[-1],
                },
                optional=True,
            ),
            input_block(
                "deal",
                t("resolve.deal_label", lang),
                {
                    "type": "checkboxes",
                    "action_id": "value",
                    "options": [option(t("resolve.deal_option", lang), "helped_deal")],
                },
                optional=True,
            ),
        ]
    if card.anonymous:
        goes_to = t("resolve.goes_to_anonymous", lang)
    elif card.reporter_id == NO_REPORTER:
        goes_to = t("resolve.goes_to_nobody", lang)
    else:
        goes_to = t("resolve.goes_to", lang, who=f"<@{card.reporter_id}>")
    blocks.append(context(goes_to))
    return modal(
        callback_id=RESOLVE_CALLBACK,
        title=t("resolve.title", lang, id=card.id),
        submit=t("resolve.submit", lang),
        close=t("modal.cancel", lang),
        blocks=blocks,
        private_metadata=encode_metadata({"item": card.id}),
    )


def duplicate_blocks(duplicate: Mapping[str, Any], lang: str) -> list[Block]:
    """What the reporter is shown of the item theirs is a duplicate of (bot/relay/resolution.py
    `_duplicate_snapshot`): its text and answer when they may read them, its status."""
    number = duplicate.get("id")
    lines = []
    if duplicate.get("text"):  # not when it is another team's (bot/relay/resolution.py)
        lines.append(t("resolution.duplicate_says", lang, id=number))
        lines.append(quote(_safe(str(duplicate["text"]), PREVIEW)))
    status = str(duplicate.get("status") or "open")
    known = {"open", "acknowledged", "answered", "resolved"}
    state = t(f"status.{status}", lang) if status in known else status
    outcome = str(duplicate.get("outcome") or "")
    if outcome in OUTCOMES:
        state += f" ({t(f'outcome.{outcome}', lang)})"
    lines.append(t("resolution.duplicate_status", lang, id=number, status=state))
    if duplicate.get("answer"):
        lines.append(t("resolution.duplicate_answer", lang))
        lines.append(quote(_safe(str(duplicate["answer"]), PREVIEW)))
    blocks: list[Block] = [section("\n".join(lines))]
    if duplicate.get("permalink"):
        link = f"<{duplicate['permalink']}|{t('item.view_message', lang)}>"
        blocks.append(context(t("resolution.duplicate_link", lang, id=number, link=link)))
    return blocks


def resolution_to_reporter(
    card: ItemCard,
    lang: str,
    *,
    outcome: str,
    by: str,
    team: str,
    note: str = "",
    duplicate: Mapping[str, Any] | None = None,
    **_: Any,
) -> Message:
    """The outcome told to the reporter in plain words, with a Reopen button."""
    params = {"who": f"<@{by}>", "team": team, "kind": _kind(card, lang), "id": card.id}
    dup_id = (duplicate or {}).get("id", "?")
    line = t(f"resolution.{outcome}", lang, dup=dup_id, **params)
    text = line
    blocks: list[Block] = [section(f":white_check_mark: {line}"), item_quote(card.text)]
    if note:
        said = quote(_safe(note, 2000))
        blocks.append(section(t("resolution.note", lang, who=params["who"]) + "\n" + said))
        text += "\n" + neutralize(note)
    if outcome == "duplicate" and duplicate:
        blocks += duplicate_blocks(duplicate, lang)
    if card.merged_into:
        # Merged: its reporter follows the kept item (a lead may undo it; nothing to reopen).
        blocks.append(context(t("merge.notice.hear_there", lang, into=card.merged_into)))
        return {"text": truncate(text, MESSAGE_TEXT_LIMIT), "blocks": blocks}
    blocks.append(context(t("resolution.reopen_hint", lang, days=30)))
    blocks.append(
        actions(
            f"item_resolution_{card.id}", button(t("action.reopen", lang), REOPEN, str(card.id))
        )
    )
    return {"text": truncate(text, MESSAGE_TEXT_LIMIT), "blocks": blocks}


def lead_notice(card: ItemCard, lang: str, notice: str, *, what: str = "") -> Message:
    """A short line for the lead, in the thread of their DM about the item; `what`: what the
    reporter says is still wrong when they reopen it."""
    who = (
        t("item.anonymous_reporter", lang)
        if card.anonymous
        else reporter_mention(card.reporter_id, lang)
    )
    line = t(f"lead_notice.{notice}", lang, id=card.id, who=who, team=card.team)
    if not what:
        return {"text": line, "blocks": [section(line)]}
    said = _safe(what, WHAT_LIMIT)
    blocks = [section(f"{line}\n*{t('reopen.still_wrong', lang)}*\n{quote(said)}")]
    return {"text": truncate(f"{line}\n{neutralize(what)}", MESSAGE_TEXT_LIMIT), "blocks": blocks}


def reopen_note(lang: str, *, who: str, by_reporter: bool, anonymous: bool, what: str = "") -> str:
    """The note on a fresh DM to the lead who gets a reopened item (`what`: escaped typed
    text, what the person who reopened it says is still wrong)."""
    hidden = by_reporter and anonymous
    who_label = t("item.anonymous_reporter", lang) if hidden else f"<@{who}>"
    note = t("note.reopened", lang, who=who_label)
    if what:
        note += "\n" + t("note.reopen_what", lang, what=truncate(what, 500, marker=" …"))
    return note


# --- the reporter's side of reopening ---------------------------------------------------------


def reopen_modal(card: ItemCard, lang: str, *, draft: str = "") -> dict[str, Any]:
    """The form behind the reporter's "Reopen": what is still wrong (required); `draft`: what
    they wrote in the resolved item's thread, as the text to start from."""
    blocks: list[Block] = [
        section(f"*{t('reopen.modal_item', lang, id=card.id)}*\n{quote(_safe(card.text, 2500))}"),
        input_block(
            "what",
            t("reopen.still_wrong", lang),
            text_input(
                "value",
                multiline=True,
                max_length=WHAT_LIMIT,
                initial=draft or None,
                placeholder=t("reopen.modal_placeholder", lang),
            ),
        ),
        context(t("reopen.modal_goes_to", lang)),
    ]
    return modal(
        callback_id=REOPEN_CALLBACK,
        title=t("reopen.modal_title", lang, id=card.id),
        submit=t("reopen.modal_submit", lang),
        close=t("modal.cancel", lang),
        blocks=blocks,
        private_metadata=encode_metadata({"item": card.id}),
    )


def internal_note_modal(card: ItemCard, lang: str) -> dict[str, Any]:
    """The form behind "Internal note": a note the team keeps on the item, which the
    reporter never sees."""
    if card.anonymous:
        not_sent_to = t("note_modal.not_sent_anonymous", lang)
    elif card.reporter_id == NO_REPORTER:
        not_sent_to = t("note_modal.not_sent_nobody", lang)
    else:
        not_sent_to = t("note_modal.not_sent", lang, who=f"<@{card.reporter_id}>")
    blocks: list[Block] = [
        section(f"*{t('lead_dm.title', lang, id=card.id, kind=_kind(card, lang))}* · {card.team}"),
        section(quote(_safe(card.text, 2500))),
        input_block(
            "note",
            t("note_modal.label", lang),
            text_input("value", multiline=True, max_length=NOTE_MAX_LENGTH),
        ),
        context(f":lock: {not_sent_to}"),
    ]
    return modal(
        callback_id=NOTE_CALLBACK,
        title=t("note_modal.title", lang, id=card.id),
        submit=t("note_modal.submit", lang),
        close=t("modal.cancel", lang),
        blocks=blocks,
        private_metadata=encode_metadata({"item": card.id}),
    )


def reopen_offer(card: ItemCard, lang: str, *, can_reopen: bool, days: int) -> Message:
    """The reporter wrote in the thread of a resolved item: Jerry passes nothing on and
    offers to reopen it (within `days` of its resolution) or to ask a new question."""
    value = str(card.id)
    kind = _kind(card, lang)
    if can_reopen:
        line = t("reopen.offer", lang, kind=kind, id=card.id)
        buttons = [
            button(t("action.reopen", lang), REOPEN, value, style="primary"),
            button(t("action.new_question", lang), NEW_QUESTION, value),
        ]
    else:
        line = t("reopen.offer_too_late", lang, kind=kind, id=card.id, days=days)
        buttons = [button(t("action.new_question", lang), NEW_QUESTION, value, style="primary")]
    blocks: list[Block] = [
        section(f":leftwards_arrow_with_hook: {line}"),
        item_quote(card.text),
        actions(f"item_reopen_offer_{card.id}", *buttons),
    ]
    return {"text": line, "blocks": blocks}


def reopened_for_reporter(
    card: ItemCard, lang: str, *, who: str, by_reporter: bool, what: str = ""
) -> Message:
    """What the reporter's earlier "resolved" message (and any offer to reopen) becomes once
    the item is reopened: it no longer says resolved, nor offers to reopen."""
    kind = _kind(card, lang)
    if by_reporter:
        line = t("reopen.reopened_by_you", lang, kind=kind, id=card.id)
    else:
        line = t("reopen.reopened_by", lang, kind=kind, id=card.id, who=f"<@{who}>")
    blocks: list[Block] = [section(f":arrows_counterclockwise: {line}"), item_quote(card.text)]
    text = line
    if what:
        said = _safe(what, WHAT_LIMIT)
        blocks.append(section(f"*{t('reopen.still_wrong', lang)}*\n{quote(said)}"))
        text += "\n" + neutralize(what)
    return {"text": truncate(text, MESSAGE_TEXT_LIMIT), "blocks": blocks}


def note_kept(card: ItemCard, lang: str) -> Message:
    """Jerry's line under a thread reply it kept as an internal note instead of relaying."""
    if card.anonymous:
        line = t("note_kept.anonymous", lang)
    elif card.reporter_id == NO_REPORTER:
        line = t("note_kept.nobody", lang)
    else:
        line = t("note_kept.named", lang, who=f"<@{card.reporter_id}>")
    return {"text": line, "blocks": [context(f":lock: {line}")]}
