"""Small Block Kit element builders that enforce Slack's limits as they build."""

from __future__ import annotations

from typing import Any

from bot.text import (
    BUTTON_TEXT_LIMIT,
    CONTEXT_TEXT_LIMIT,
    HEADER_TEXT_LIMIT,
    MODAL_TITLE_LIMIT,
    OPTION_TEXT_LIMIT,
    SECTION_TEXT_LIMIT,
    plain,
    truncate,
)

Block = dict[str, Any]
FIELD_TEXT_LIMIT = 2000
MAX_FIELDS = 10
OPTION_VALUE_LIMIT = 150
MAX_OPTIONS = 100


def plain_text(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": plain(text, limit), "emoji": True}


def mrkdwn(text: str, limit: int = SECTION_TEXT_LIMIT) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": truncate(text, limit)}


def header(text: str) -> Block:
    return {"type": "header", "text": plain_text(text, HEADER_TEXT_LIMIT)}


def section(text: str, *, fields: list[str] | None = None, block_id: str | None = None) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if fields:
        block["fields"] = [mrkdwn(field, FIELD_TEXT_LIMIT) for field in fields[:MAX_FIELDS]]
    if block_id:
        block["block_id"] = block_id
    return block


def fields_section(fields: list[str]) -> Block:
    return {"type": "section", "fields": [mrkdwn(f, FIELD_TEXT_LIMIT) for f in fields[:MAX_FIELDS]]}


def context(*texts: str) -> Block:
    return {
        "type": "context",
        "elements": [mrkdwn(text, CONTEXT_TEXT_LIMIT) for text in texts[:10]],
    }


def divider() -> Block:
    return {"type": "divider"}


def button(text: str, action_id: str, value: str, *, style: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": plain_text(text, BUTTON_TEXT_LIMIT),
        "action_id": action_id,
        "value": value[:2000],
    }
    if style:
        element["style"] = style
    return element


def actions(block_id: str, *elements: dict[str, Any]) -> Block:
    return {"type": "actions", "block_id": block_id, "elements": list(elements)[:25]}


def option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain_text(text, OPTION_TEXT_LIMIT), "value": value[:OPTION_VALUE_LIMIT]}


def modal(
    *,
    callback_id: str,
    title: str,
    submit: str | None,
    close: str,
    blocks: list[Block],
    private_metadata: str = "",
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain_text(title, MODAL_TITLE_LIMIT),
        "close": plain_text(close, MODAL_TITLE_LIMIT),
        "blocks": blocks,
        "private_metadata": private_metadata,
    }
    if submit:
        view["submit"] = plain_text(submit, MODAL_TITLE_LIMIT)
    return view
