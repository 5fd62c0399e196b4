"""Messages and modals of the conversation through Jerry (pure: data in, dict out)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.i18n import t, tn
from bot.items.domain import NO_REPORTER, ItemCard
from bot.text import MESSAGE_BLOCK_LIMIT, SECTION_TEXT_LIMIT, neutralize, quote, truncate
from bot.views.blocks import (
    Block,
    context,
    encode_metadata,
    input_block,
    item_quote,
    modal,
    section,
    text_input,
)
from bot.views.items import Message, kind_label, safe

ASK_DETAILS_CALLBACK = "jerry_ask_details"
ASK_DETAILS_ACTION = "item_ask_details"
# How much of one message Jerry relays (in sections of at most 3000 characters); beyond it,
# the text is cut cleanly with a marker and the relay says so.
RELAY_TEXT_LIMIT = 12_000
CUT_MARKER = " …"
FALLBACK_LIMIT = 3_000
MAX_FILES_SHOWN = 20


def split_for_sections(text: str, limit: int = SECTION_TEXT_LIMIT) -> list[str]:
    """Cut safe text into pieces that, quoted, each fit a section; cut at clean points."""
    pieces: list[str] = []
    rest = text
    while rest:
        budget = limit - 10
        while True:
            piece = truncate(rest, budget, marker="") if len(rest) > budget else rest
            if not piece.strip():
                piece = rest[:budget]  # nothing clean to cut at: cut hard
            if len(quote(piece)) <= limit or budget <= 100:
                break
            budget -= len(quote(piece)) - limit + 10
        pieces.append(piece)
        rest = rest[len(piece) :].lstrip("\n ")
    return pieces


def _files_block(files: Sequence[dict[str, Any]], lang: str, *, hide_links: bool) -> Block | None:
    if not files:
        return None
    lines = []
    for file in files[:MAX_FILES_SHOWN]:
        name = (file.get("name") or t("conversation.file_unnamed", lang)).replace("|", "¦")
        name = neutralize(name)
        if file.get("permalink") and not hide_links:
            lines.append(f":paperclip: <{file['permalink']}|{name}>")
        else:
            lines.append(f":paperclip: {name}")
    if len(files) > MAX_FILES_SHOWN:
        lines.append(tn("conversation.more_files", len(files) - MAX_FILES_SHOWN, lang))
    if hide_links:
        lines.append(t("conversation.file_links_hidden", lang))
    return section(truncate("\n".join(lines), SECTION_TEXT_LIMIT))


def relayed_message(
    lang: str,
    *,
    line: str,
    text: str,
    files: Sequence[dict[str, Any]] = (),
    status: str = "relayed",
    hint: str | None = None,
    hide_file_links: bool = False,
    about: str | None = None,
) -> Message:
    """One message carried across: who wrote it (`line`), the text quoted, files as links.

    `status` "edited" adds a marker; "deleted" shows only that the author deleted it.
    `about`: the item's text, quoted in one line under `line` (messages to the reporter).
    """
    head: list[Block] = [section(line)] + ([item_quote(about)] if about is not None else [])
    if status == "deleted":
        note = t("conversation.deleted", lang)
        return {
            "text": truncate(f"{line} {note}", FALLBACK_LIMIT),
            "blocks": [*head, context(note)],
        }
    shown = neutralize(text)
    total = len(shown)
    cut = total > RELAY_TEXT_LIMIT
    if cut:
        shown = truncate(shown, RELAY_TEXT_LIMIT, marker=CUT_MARKER)
    blocks: list[Block] = list(head)
    blocks += [section(quote(piece)) for piece in split_for_sections(shown)]
    files_block = _files_block(files, lang, hide_links=hide_file_links)
    if files_block is not None:
        blocks.append(files_block)
    notes = []
    if status == "edited":
        notes.append(t("conversation.edited", lang))
    if cut:
        notes.append(t("conversation.cut", lang, shown=RELAY_TEXT_LIMIT, total=total))
    if hint:
        notes.append(hint)
    if notes:
        blocks.append(context(*notes))
    blocks = blocks[:MESSAGE_BLOCK_LIMIT]
    preview = truncate(shown, FALLBACK_LIMIT, marker=CUT_MARKER) if shown else ""
    if not preview and files:
        preview = tn("conversation.files_only", len(files), lang)
    return {"text": truncate(f"{line}\n{preview}".strip(), FALLBACK_LIMIT + 500), "blocks": blocks}


def from_lead_line(lang: str, *, who: str, team: str, kind: str, item_id: int) -> str:
    return t(
        "conversation.from_lead",
        lang,
        who=who,
        team=team,
        kind=kind_label(kind, lang).lower(),
        id=item_id,
    )


def from_reporter_line(lang: str, *, who: str | None, item_id: int) -> str:
    """`who` None: the item is anonymous, the reporter is never named."""
    if who is None:
        return t("conversation.from_anonymous", lang, id=item_id)
    return t("conversation.from_reporter", lang, who=who, id=item_id)


def question_to_reporter(
    lang: str, *, who: str, team: str, kind: str, item_id: int, question: str, about: str
) -> Message:
    """The lead's "Ask for details" question; `about`: the item's text."""
    line = t(
        "conversation.question",
        lang,
        who=who,
        team=team,
        kind=kind_label(kind, lang).lower(),
        id=item_id,
    )
    return relayed_message(
        lang,
        line=f":question: {line}",
        text=question,
        hint=t("conversation.reply_hint", lang),
        about=about,
    )


def question_note_for_lead(lang: str, *, question: str) -> Message:
    line = t("conversation.question_note", lang)
    return relayed_message(
        lang, line=line, text=question, hint=t("conversation.question_note_hint", lang)
    )


def ask_details_modal(card: ItemCard, lang: str) -> dict[str, Any]:
    if card.anonymous:
        goes_to = t("conversation.modal_goes_to_anonymous", lang)
    elif card.reporter_id == NO_REPORTER:
        goes_to = t("conversation.modal_goes_to_nobody", lang)
    else:
        goes_to = t("conversation.modal_goes_to", lang, who=f"<@{card.reporter_id}>")
    blocks: list[Block] = [
        section(
            f"*{t('item.number', lang, id=card.id)}* · {card.team}\n{quote(safe(card.text, 2500))}"
        ),
        input_block(
            "question",
            t("conversation.modal_label", lang),
            text_input(
                "value", multiline=True, placeholder=t("conversation.modal_placeholder", lang)
            ),
        ),
        context(goes_to),
    ]
    return modal(
        callback_id=ASK_DETAILS_CALLBACK,
        title=t("conversation.modal_title", lang, id=card.id),
        submit=t("conversation.modal_submit", lang),
        close=t("modal.cancel", lang),
        blocks=blocks,
        private_metadata=encode_metadata({"item": card.id}),
    )
