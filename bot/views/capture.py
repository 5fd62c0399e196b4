"""Emoji filing on Slack's surfaces: the reactor's ephemeral receipt (Change area, Make
anonymous, Undo), what they are told when nothing was filed or it was undone, and the
"Change area" form."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.i18n import t, tn
from bot.items.domain import AreaChoice
from bot.views.blocks import (
    Block,
    actions,
    button,
    context,
    encode_metadata,
    input_block,
    item_quote,
    modal,
    option,
    section,
)

UNDO_ACTION = "capture_undo"  # value: the item id
ANONYMOUS_ACTION = "capture_anonymous"
AREA_ACTION = "capture_area"
AREA_CALLBACK = "capture_area_submit"
UNDO_MINUTES = 10


def filed_receipt(
    lang: str,
    *,
    item_id: int,
    kind: str,
    text: str,
    team: str | None,
    author: str | None,
    added: bool,
    people: int,
    anonymous: bool,
) -> dict[str, Any]:
    """What the reactor alone sees: what Jerry filed, for whom, and how to change it."""
    kind_word = t(f"item.kind.{kind}", lang).lower()
    if added:
        line = tn("capture.receipt.added", people, lang, id=item_id, kind=kind_word)
    elif team:
        line = t("capture.receipt.filed", lang, id=item_id, kind=kind_word, team=team)
    else:
        line = t("capture.receipt.filed_unrouted", lang, id=item_id, kind=kind_word)
    notes = [t("capture.receipt.answers", lang)]
    if author and author.startswith(("U", "W")):
        notes.insert(0, t("capture.receipt.said_by", lang, who=f"<@{author}>"))
    if anonymous:
        notes.append(t("capture.receipt.anonymous", lang))
    value = str(item_id)
    buttons = []
    if not added:
        buttons.append(button(t("capture.change_area", lang), AREA_ACTION, value))
        if not anonymous:
            buttons.append(button(t("capture.make_anonymous", lang), ANONYMOUS_ACTION, value))
    buttons.append(
        button(t("capture.undo", lang, minutes=UNDO_MINUTES), UNDO_ACTION, value, style="danger")
    )
    blocks: list[Block] = [
        section(f":ticket: {line}"),
        item_quote(text),
        context(*notes),
        actions(f"capture_{item_id}", *buttons),
    ]
    return {"text": line, "blocks": blocks}


def notice(lang: str, notice: str, *, item_id: int | None = None) -> dict[str, Any]:
    """Nothing was filed (the message could not be read, or had no text), or it was undone."""
    line = t(f"capture.notice.{notice}", lang, id=item_id or "")
    return {"text": line, "blocks": [section(line)]}


def area_modal(item_id: int, areas: Sequence[AreaChoice], lang: str) -> dict[str, Any]:
    options = [option(f"{a.name} ({a.team})", str(a.id)) for a in areas[:100]]
    return modal(
        callback_id=AREA_CALLBACK,
        title=t("capture.area_form.title", lang),
        submit=t("capture.area_form.submit", lang),
        close=t("modal.cancel", lang),
        blocks=[
            input_block(
                "area",
                t("capture.area_form.label", lang, id=item_id),
                {"type": "static_select", "action_id": "value", "options": options},
            )
        ],
        private_metadata=encode_metadata({"item": item_id}),
    )


CUSTOMER_REPLY_CALLBACK = "customer_reply_submit"


def customer_reply_modal(item_id: int, channel: str, org: str, lang: str) -> dict[str, Any]:
    """The reply to someone of another organisation: the form names where it goes."""
    from bot.text import neutralize
    from bot.views.blocks import text_input

    return modal(
        callback_id=CUSTOMER_REPLY_CALLBACK,
        title=t("capture.customer_form.title", lang),
        submit=t("capture.customer_form.submit", lang),
        close=t("modal.cancel", lang),
        blocks=[
            section(t("capture.customer_form.where", lang, channel=channel, org=neutralize(org))),
            input_block(
                "reply",
                t("capture.customer_form.label", lang, id=item_id),
                text_input("value", multiline=True, max_length=3000),
            ),
        ],
        private_metadata=encode_metadata({"item": item_id}),
    )


def customer_reply(lang: str, *, text: str, who: str, team: str) -> dict[str, Any]:
    """A lead's reply posted where the customer reads it: their words, said as theirs."""
    from bot.text import neutralize, quote

    line = t("capture.customer_reply.line", lang, who=f"<@{who}>", team=team)
    return {
        "text": f"{line} {neutralize(text)}"[:3000],
        "blocks": [section(line), section(quote(neutralize(text)))],
    }
