"""Small Block Kit element builders that enforce Slack's limits as they build."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.text import (
    BUTTON_TEXT_LIMIT,
    CONTEXT_TEXT_LIMIT,
    HEADER_TEXT_LIMIT,
    INPUT_INITIAL_LIMIT,
    MODAL_TITLE_LIMIT,
    OPTION_TEXT_LIMIT,
    PRIVATE_METADATA_LIMIT,
    SECTION_TEXT_LIMIT,
    neutralize,
    plain,
    quote,
    truncate,
)

Block = dict[str, Any]


def reporter_mention(reporter_id: str, lang: str) -> str:
    """The reporter as a mention; an imported item's stand-in (nobody) in words."""
    from bot.i18n import t
    from bot.items.domain import NO_REPORTER

    return t("item.no_reporter", lang) if reporter_id == NO_REPORTER else f"<@{reporter_id}>"


FIELD_TEXT_LIMIT = 2000
MAX_FIELDS = 10
OPTION_VALUE_LIMIT = 150
MAX_OPTIONS = 100
INPUT_TEXT_LIMIT = 3000  # Slack's max_length for plain_text_input


# Slack's date tokens (https://api.slack.com/reference/surfaces/formatting#date-formatting)
DATE_AND_TIME = "{date_short_pretty} {time}"
DATE_ONLY = "{date_short_pretty}"
DAY_AND_TIME = "{date_pretty} {time}"


def slack_date(when: datetime, fmt: str = DATE_AND_TIME, *, fallback_timezone: str = "UTC") -> str:
    """An instant every reader sees in their own timezone, language and format.

    Never write "12:00 UTC" or an ISO string to a person: Slack renders `<!date^…>` per
    reader. The fallback (shown by clients that cannot render it, and in notification text)
    is in `fallback_timezone`, named so it is never mistaken for local time.
    """
    local = when.astimezone(ZoneInfo(fallback_timezone))
    if fmt == DATE_ONLY:
        shown = f"{local:%Y-%m-%d}"
    else:
        shown = f"{local:%Y-%m-%d %H:%M} {fallback_timezone}"
    return f"<!date^{int(when.timestamp())}^{fmt}|{shown}>"


def slack_day(day: date) -> str:
    """A calendar day (a ship date, a target date) in each reader's format. Slack formats an
    instant: noon UTC is the same day in every timezone from UTC-12 to UTC+11."""
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    return f"<!date^{int(noon.timestamp())}^{DATE_ONLY}|{day:%Y-%m-%d}>"


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


ITEM_QUOTE_LIMIT = 80  # characters of an item's first line in the line that names it
_QUOTE_MARKS = re.compile(r"^\s*(&gt;\s*)+")


def item_quote(text: str) -> Block:
    """The item a message to its reporter is about, in one quoted line (its first line, cut,
    mention-safe), so the reporter knows which of their items it is without its number."""
    # The first line with words, without the reporter's own quote marks.
    lines = (_QUOTE_MARKS.sub("", line).strip() for line in text.split("\n"))
    first = next((line for line in lines if line), "")
    return context(quote(truncate(neutralize(first), ITEM_QUOTE_LIMIT, marker=" …")))


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


def input_block(
    block_id: str,
    label: str,
    element: dict[str, Any],
    *,
    optional: bool = False,
    hint: str | None = None,
) -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": plain_text(label, 2000),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = plain_text(hint, 2000)
    return block


def text_input(
    action_id: str,
    *,
    multiline: bool,
    initial: str | None = None,
    placeholder: str | None = None,
    max_length: int = INPUT_TEXT_LIMIT,
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": action_id,
        "multiline": multiline,
        "max_length": max_length,
    }
    if initial:
        element["initial_value"] = plain(initial, min(INPUT_INITIAL_LIMIT, max_length))
    if placeholder:
        element["placeholder"] = plain_text(placeholder, 150)
    return element


def encode_metadata(data: dict[str, Any]) -> str:
    """private_metadata is limited to 3000 characters: drop optional bulky keys to fit."""
    encoded = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    for bulky in ("source_text", "prefill", "permalink", "response_url"):
        if len(encoded) <= PRIVATE_METADATA_LIMIT:
            break
        data = {k: v for k, v in data.items() if k != bulky}
        encoded = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return encoded


def decode_metadata(raw: str | None) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def block_chars(block: Block) -> int:
    """The characters of text a block carries (what Slack's total limit counts)."""
    total = 0
    if isinstance(block.get("text"), dict):
        total += len(block["text"].get("text", ""))
    for element in block.get("fields", []) + block.get("elements", []):
        text = element.get("text")
        total += len(text["text"]) if isinstance(text, dict) else len(text or "")
    return total


def thread_replies(
    packed: list[tuple[Block, int]],
    *,
    max_blocks: int,
    max_chars: int,
    max_replies: int,
    cut_note: Callable[[int], Block],
) -> list[list[Block]]:
    """The blocks of a long post's overflow, each with how many lines it holds, as the blocks
    of thread replies: each within `max_blocks` blocks and `max_chars` characters. Beyond
    `max_replies` replies, the last ends with `cut_note(n)`, n the lines left out."""
    chunks: list[list[tuple[Block, int]]] = []
    size = 0
    for block, count in packed:
        chars = block_chars(block)
        if not chunks or len(chunks[-1]) >= max_blocks or size + chars > max_chars:
            chunks.append([])
            size = 0
        chunks[-1].append((block, count))
        size += chars
    if len(chunks) > max_replies:
        chunks = chunks[:max_replies]
        last = chunks[-1]
        # Room in the last reply for the note (a note is at most a few hundred characters).
        while last and sum(block_chars(b) for b, _ in last) > max_chars - 500:
            last.pop()
        left = sum(count for _, count in packed) - sum(c for chunk in chunks for _, c in chunk)
        last.append((cut_note(left), 0))
    return [[block for block, _ in chunk] for chunk in chunks]
