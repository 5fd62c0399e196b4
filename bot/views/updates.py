"""Product updates in Slack: the /shipped and /upcoming form, the confirmation with its
"Edit" and "Withdraw" buttons, and the list of one's recent updates.

Pure functions: plain data in, Block Kit out, within Slack's limits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from bot.i18n import t, tn
from bot.items.domain import AreaChoice
from bot.text import MESSAGE_TEXT_LIMIT, neutralize, plain, quote, truncate
from bot.updates.domain import (
    AUDIENCES,
    CONFIDENCES,
    IMPACT_LIMIT,
    LINK_LIMIT,
    TITLE_LIMIT,
    UpdateCard,
)
from bot.views.blocks import (
    MAX_OPTIONS,
    Block,
    actions,
    button,
    context,
    encode_metadata,
    fields_section,
    header,
    input_block,
    modal,
    option,
    plain_text,
    section,
    slack_day,
)
from bot.views.items import Message, safe

UPDATE_CALLBACK = "jerry_update"
EDIT_ACTION = "update_edit"
WITHDRAW_ACTION = "update_withdraw"
NO_AREA = "none"
# Block ids of the buttons: which message a click came from (one update, or the list).
CONFIRMATION_BLOCK = "update"
LIST_BLOCK = "update_list"
TITLE_BUDGET = 400  # a stored title is at most 300 characters; room for defused mentions
IMPACT_BUDGET = 2500
LIST_IMPACT_BUDGET = 300
CONFIRM_TITLE_LIMIT = 100
CONFIRM_TEXT_LIMIT = 300
CONFIRM_BUTTON_LIMIT = 30


def _radio(options: list[dict[str, Any]], initial: str | None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "radio_buttons", "action_id": "value", "options": options}
    chosen = next((o for o in options if o["value"] == initial), None)
    if chosen is not None:
        element["initial_option"] = chosen
    return element


def update_modal(
    kind: str,
    areas: Sequence[AreaChoice],
    lang: str,
    *,
    today: date,
    metadata: dict[str, Any],
    card: UpdateCard | None = None,
    prefill_title: str | None = None,
) -> dict[str, Any]:
    """The /shipped or /upcoming form; prefilled from `card` when editing it."""
    title_element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "value",
        "multiline": False,
        "max_length": TITLE_LIMIT,
        "placeholder": plain_text(t(f"updates.title_placeholder.{kind}", lang), 150),
    }
    title = card.title if card is not None else prefill_title
    if title and plain(title, TITLE_LIMIT).strip():
        title_element["initial_value"] = plain(title, TITLE_LIMIT)
    impact_element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "value",
        "multiline": True,
        "max_length": IMPACT_LIMIT,
        "placeholder": plain_text(t("updates.impact_placeholder", lang), 150),
    }
    if card is not None and card.customer_impact:
        impact_element["initial_value"] = plain(card.customer_impact, IMPACT_LIMIT)
    blocks: list[Block] = [
        input_block("title", t("updates.title_label", lang), title_element),
        input_block("impact", t("updates.impact_label", lang), impact_element, optional=True),
    ]
    if areas:
        area_options = [option(t("updates.no_area", lang), NO_AREA)]
        area_options += [
            option(f"{a.name} ({a.team})", f"area:{a.id}") for a in areas[: MAX_OPTIONS - 1]
        ]
        area_element: dict[str, Any] = {
            "type": "static_select",
            "action_id": "value",
            "options": area_options,
            "placeholder": plain_text(t("updates.area_placeholder", lang), 150),
        }
        current = f"area:{card.area_id}" if card is not None and card.area_id else None
        chosen = next((o for o in area_options if o["value"] == current), None)
        if chosen is not None:
            area_element["initial_option"] = chosen
        blocks.append(
            input_block("area", t("updates.area_label", lang), area_element, optional=True)
        )
    link_element: dict[str, Any] = {
        "type": "url_text_input",
        "action_id": "value",
        "placeholder": plain_text("https://", 150),
    }
    if card is not None and card.link:
        link_element["initial_value"] = card.link[:LINK_LIMIT]
    blocks.append(input_block("link", t("updates.link_label", lang), link_element, optional=True))
    if kind == "shipped":  # the items it answers: everyone who asked hears it shipped
        blocks.append(
            input_block(
                "items",
                t("updates.items_label", lang),
                {
                    "type": "plain_text_input",
                    "action_id": "value",
                    "multiline": False,
                    "max_length": 300,
                    "placeholder": plain_text(t("updates.items_placeholder", lang), 150),
                },
                optional=True,
                hint=t("updates.items_hint", lang),
            )
        )
    date_element: dict[str, Any] = {"type": "datepicker", "action_id": "value"}
    if kind == "shipped":
        shipped = card.shipped_on if card is not None and card.shipped_on else today
        date_element["initial_date"] = shipped.isoformat()
        blocks.append(input_block("date", t("updates.shipped_on_label", lang), date_element))
    else:
        if card is not None and card.target_date:
            date_element["initial_date"] = card.target_date.isoformat()
        date_element["placeholder"] = plain_text(t("updates.target_placeholder", lang), 150)
        blocks.append(input_block("date", t("updates.target_label", lang), date_element))
        confidences = [option(t(f"updates.confidence.{c}", lang), c) for c in CONFIDENCES]
        initial = card.confidence if card is not None and card.confidence else "likely"
        blocks.append(
            input_block(
                "confidence", t("updates.confidence_label", lang), _radio(confidences, initial)
            )
        )
    audiences = [option(t(f"updates.audience.{a}", lang), a) for a in AUDIENCES]
    initial_audience = card.audience if card is not None else "internal"
    blocks.append(
        input_block(
            "audience", t("updates.audience_label", lang), _radio(audiences, initial_audience)
        )
    )
    title_key = "updates.modal_title.edit" if card is not None else f"updates.modal_title.{kind}"
    meta = {**metadata, "kind": kind}
    if card is not None:
        meta["update"] = card.id
    return modal(
        callback_id=UPDATE_CALLBACK,
        title=t(title_key, lang),
        submit=t("updates.submit", lang),
        close=t("modal.cancel", lang),
        blocks=blocks,
        private_metadata=encode_metadata(meta),
    )


# --- messages ---------------------------------------------------------------------------------


def _title(card: UpdateCard) -> str:
    return safe(card.title, TITLE_BUDGET)


def _date_line(card: UpdateCard, lang: str) -> str:
    if card.kind == "shipped":
        day = slack_day(card.shipped_on) if card.shipped_on else "?"
        return t("updates.shipped_on", lang, date=day)
    line = t("updates.target", lang, date=slack_day(card.target_date) if card.target_date else "?")
    if card.confidence:
        line += " · " + t(f"updates.confidence.{card.confidence}", lang)
    return line


def _link(card: UpdateCard, lang: str) -> str | None:
    if not card.link:
        return None
    url = card.link.replace("&", "&amp;")
    return f"<{url}|{t('updates.link', lang)}>"


def _facts(card: UpdateCard, lang: str) -> list[str]:
    area = neutralize(card.area) if card.area else t("updates.no_area", lang)
    facts = [
        f"*{t('updates.area', lang)}*\n{area}",
        f"*{t(f'updates.when.{card.kind}', lang)}*\n{_date_line(card, lang)}",
        f"*{t('updates.audience_label', lang)}*\n{t(f'updates.audience.{card.audience}', lang)}",
    ]
    link = _link(card, lang)
    if link:
        facts.append(f"*{t('updates.link_label', lang)}*\n{link}")
    return facts


def _buttons(card: UpdateCard, lang: str, block: str) -> Block:
    confirm = {
        "title": plain_text(t("updates.withdraw_confirm.title", lang), CONFIRM_TITLE_LIMIT),
        "text": plain_text(
            t("updates.withdraw_confirm.text", lang, title=plain(neutralize(card.title), 150)),
            CONFIRM_TEXT_LIMIT,
        ),
        "confirm": plain_text(t("updates.withdraw_confirm.yes", lang), CONFIRM_BUTTON_LIMIT),
        "deny": plain_text(t("updates.withdraw_confirm.no", lang), CONFIRM_BUTTON_LIMIT),
        "style": "danger",
    }
    withdraw = button(t("updates.withdraw", lang), WITHDRAW_ACTION, str(card.id), style="danger")
    withdraw["confirm"] = confirm
    return actions(
        f"{block}:{card.id}", button(t("updates.edit", lang), EDIT_ACTION, str(card.id)), withdraw
    )


def _fallback(text: str) -> str:
    return truncate(neutralize(text), MESSAGE_TEXT_LIMIT)


def update_message(card: UpdateCard, lang: str, *, edited: bool = False) -> Message:
    """The confirmation after the form: the update as recorded, with Edit and Withdraw."""
    key = "updates.edited" if edited else f"updates.recorded.{card.kind}"
    blocks: list[Block] = [section(t(key, lang, title=_title(card)))]
    if card.customer_impact:
        blocks.append(
            section(
                f"*{t('updates.impact_label', lang)}*\n"
                + quote(safe(card.customer_impact, IMPACT_BUDGET))
            )
        )
    blocks.append(fields_section(_facts(card, lang)))
    if card.items:
        numbers = ", ".join(f"#{item}" for item in card.items)
        blocks.append(section(tn("updates.items_told", card.told, lang, items=numbers)))
    blocks.append(context(t("updates.confirm_context", lang)))
    blocks.append(_buttons(card, lang, CONFIRMATION_BLOCK))
    return {"text": _fallback(t(key, lang, title=card.title)), "blocks": blocks}


def withdrawn_message(card: UpdateCard, lang: str) -> Message:
    text = t("updates.withdrawn", lang, title=_title(card))
    return {"text": _fallback(text), "blocks": [section(text)]}


def _list_entry(card: UpdateCard, lang: str) -> str:
    area = f" · {neutralize(card.area)}" if card.area else ""
    line = f"*{_title(card)}*\n{_date_line(card, lang)}{area} · " + t(
        f"updates.audience.{card.audience}", lang
    )
    if card.customer_impact:
        line += "\n" + quote(safe(card.customer_impact, LIST_IMPACT_BUDGET))
    link = _link(card, lang)
    if link:
        line += "\n" + link
    return line


def update_list(cards: Sequence[UpdateCard], kind: str, lang: str) -> Message:
    """Someone's recent updates of `kind` (the core gives at most 20), each with its buttons:
    2 blocks an update, 2 more for the header and the hint (42 at most, under Slack's 50)."""
    cards = list(cards)[:20]
    if not cards:
        text = t(f"updates.list_empty.{kind}", lang)
        return {"text": text, "blocks": [section(text)]}
    blocks: list[Block] = [header(t(f"updates.list_title.{kind}", lang, n=len(cards)))]
    for card in cards:
        blocks.append(section(_list_entry(card, lang)))
        blocks.append(_buttons(card, lang, LIST_BLOCK))
    blocks.append(context(t("updates.list_hint", lang)))
    fallback = (
        t(f"updates.list_title.{kind}", lang, n=len(cards))
        + "\n"
        + "\n".join(f"• {c.title}" for c in cards)
    )
    return {"text": _fallback(fallback), "blocks": blocks}


def refusal(lang: str, reason: str) -> str:
    """Why nothing changed: "not_allowed", "not_found" or "withdrawn"."""
    return t(f"updates.refused.{reason}", lang)


def form_errors(errors: dict[str, tuple[str, dict[str, object]]], lang: str) -> dict[str, str]:
    """UpdateInvalidError's problems as `response_action: errors` wants them (by block id)."""
    return {block: t(key, lang, **params) for block, (key, params) in errors.items()}
