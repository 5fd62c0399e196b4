"""Making user text safe to repost in Slack: no broadcast pings, never over Slack's limits.

Jerry keeps every text in Slack's own format (`&`, `<`, `>` escaped, mentions as
`<@U…>`). Text typed into a modal arrives raw and goes through `escape_plain` first.
Everything Jerry reposts goes through `neutralize`, which defuses `<!channel>`,
`<!here>`, `<!everyone>`, `<!subteam^…>` and the like, and the bare `@channel` forms;
turns a person's mention `<@U…>` into their name, which pings nobody (the names come from
`known_names`, set by whoever renders; an unknown person shows as `@U…`); and shows the
real address of a link whose label says something else (`<https://evil|https://good>`).

`readable` turns Slack's markup into what people read, for a plain-text form field.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, timedelta
from typing import Any, overload

# Slack's limits that Jerry's messages meet (https://docs.slack.dev/reference/block-kit).
SECTION_TEXT_LIMIT = 3000
MESSAGE_TEXT_LIMIT = 40000
CONTEXT_TEXT_LIMIT = 3000
BUTTON_TEXT_LIMIT = 75
OPTION_TEXT_LIMIT = 75
HEADER_TEXT_LIMIT = 150
MODAL_TITLE_LIMIT = 24
INPUT_INITIAL_LIMIT = 3000
PRIVATE_METADATA_LIMIT = 3000
MESSAGE_BLOCK_LIMIT = 50
VIEW_BLOCK_LIMIT = 100

WORD_JOINER = "\u2060"  # invisible; breaks Slack's @-keyword parsing without changing the look
_SPECIAL = re.compile(r"<!([^>|]*)(?:\|([^>]*))?>")
_BARE_BROADCAST = re.compile(r"(?<![\w\u2060])@(channel|here|everyone)\b", re.IGNORECASE)
_USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
_CHANNEL = re.compile(r"<#([CGD][A-Z0-9]+)(?:\|([^>]*))?>")
# A link with a label: anything in <…|…> that is not a mention, a channel or a command.
_LABELLED_LINK = re.compile(r"<([^@#!<>|\s][^<>|\s]*)\|([^<>]*)>")
_BARE_LINK = re.compile(r"<([^@#!<>|\s][^<>|\s]*)>")

# Names of the people user text mentions, for `neutralize` (see `known_names`).
_known_names: ContextVar[Mapping[str, str] | None] = ContextVar("jerry_known_names", default=None)


@contextmanager
def known_names(names: Mapping[str, str]) -> Iterator[None]:
    """While rendering: the names `neutralize` writes for `<@U…>` (user id → name)."""
    token = _known_names.set(names)
    try:
        yield
    finally:
        _known_names.reset(token)


def mentioned_users(texts: Iterable[str | None]) -> set[str]:
    """The user ids mentioned (`<@U…>`) in Slack-formatted texts."""
    return {m.group(1) for text in texts if text for m in _USER_MENTION.finditer(text)}


def unnamed_channels(text: str) -> set[str]:
    """The channels `text` links without their name (`<#C…>`, `<#C…|>`)."""
    return {m.group(1) for m in _CHANNEL.finditer(text) if not m.group(2)}


def escape_plain(text: str) -> str:
    """Raw typed text → Slack's format: only &, < and > are escaped (Slack's own rule)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _defuse(match: re.Match[str]) -> str:
    command, label = match.group(1), match.group(2)
    name = command.split("^", 1)[0].lower()
    if name in {"channel", "here", "everyone"}:
        return f"@{WORD_JOINER}{name}"
    if name == "subteam":
        handle = (label or "group").lstrip("@")
        return f"@{WORD_JOINER}{handle}"
    if name == "date" and label:
        return label  # a date keeps its fallback text
    return f"@{WORD_JOINER}{label or name}"


def _person(match: re.Match[str]) -> str:
    user_id, label = match.group(1), match.group(2)
    if label:  # already in Slack's format
        return "@" + label
    name = (_known_names.get() or {}).get(user_id)
    # Written as text: Slack pings only for the <@U…> markup, and a name holds no markup.
    return "@" + (escape_plain(" ".join(name.split())) if name else user_id)


def _same_address(url: str, label: str) -> bool:
    def bare(value: str) -> str:
        value = value.strip().lower()
        for prefix in ("mailto:", "https://", "http://", "www."):
            value = value.removeprefix(prefix)
        return value.rstrip("/")

    return bare(url) == bare(label)


def _link(match: re.Match[str]) -> str:
    url, label = match.group(1), match.group(2)
    if not label.strip() or _same_address(url, label):
        return f"<{url}>"
    # The label may claim another address: the real one is shown next to it.
    return f"{label} (<{url}>)"


def neutralize(text: str, *, jerrys_mentions: bool = False) -> str:
    """Defuse every broadcast, group or person mention in Slack-formatted text, and show
    where each labelled link really goes.

    `jerrys_mentions`: the text is a line Jerry wrote (its mentions are Jerry's, to keep)
    around typed text that was escaped (which holds no markup)."""
    text = _SPECIAL.sub(_defuse, text)
    if not jerrys_mentions:
        text = _USER_MENTION.sub(_person, text)
        text = _LABELLED_LINK.sub(_link, text)
    return _BARE_BROADCAST.sub(lambda m: f"@{WORD_JOINER}{m.group(1)}", text)


def readable(
    text: str,
    names: Mapping[str, str] | None = None,
    channels: Mapping[str, str] | None = None,
) -> str:
    """Slack-formatted text as people read it, for a plain-text field: `@Name` for a person,
    `#name` for a channel, a link's label with its address when they differ, no entities.
    `names` and `channels` name what the markup does not (user or channel id → name)."""
    names = names or {}
    channels = channels or {}

    def person(match: re.Match[str]) -> str:
        return "@" + (match.group(2) or names.get(match.group(1)) or match.group(1))

    def channel(match: re.Match[str]) -> str:
        return "#" + (match.group(2) or channels.get(match.group(1)) or match.group(1))

    def special(match: re.Match[str]) -> str:
        command, label = match.group(1), match.group(2)
        return label or "@" + command.split("^", 1)[0]

    def link(match: re.Match[str]) -> str:
        url, label = match.group(1), match.group(2)
        if not label.strip() or _same_address(url, label):
            return url
        return f"{label} ({url})"

    text = _USER_MENTION.sub(person, text)
    text = _CHANNEL.sub(channel, text)
    text = _SPECIAL.sub(special, text)
    text = _LABELLED_LINK.sub(link, text)
    text = _BARE_LINK.sub(lambda m: m.group(1), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# Slack's emphasis marks, for a terminal: *bold*, _italic_, ~strike~, `code` and ``` blocks.
_EMPHASIS = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~(?=\S)([^~\n]*?\S)~(?![\w~])")
_CODE = re.compile(r"```\n?|`([^`\n]*)`")


def plain_for_terminal(text: str, names: Mapping[str, str] | None = None) -> str:
    """Slack-formatted text as a terminal should print it: a person or a channel by name
    (`names`: user or channel id → name, e.g. from the slack_users cache; an id nobody
    named is printed bare, without its brackets), a date's fallback, a link's label with its
    address when they differ, no `&amp;` entities and no mrkdwn marks (`*bold*`, `_italic_`,
    backticks)."""
    names = names or {}
    # Someone or a channel nobody named: the bare id (an "@U0…" would look like a handle).
    text = _USER_MENTION.sub(
        lambda m: (
            "@" + (m.group(2) or names[m.group(1)])
            if m.group(2) or m.group(1) in names
            else m.group(1)
        ),
        text,
    )
    text = _CHANNEL.sub(
        lambda m: (
            "#" + (m.group(2) or names[m.group(1)])
            if m.group(2) or m.group(1) in names
            else m.group(1)
        ),
        text,
    )
    text = readable(text)
    text = _CODE.sub(lambda m: m.group(1) or "", text)
    text = _EMPHASIS.sub(r"\1", text)
    text = _ITALIC.sub(r"\1", text)
    return _STRIKE.sub(r"\1", text)


def ids_to_name(text: str) -> tuple[set[str], set[str]]:
    """The user ids and the channel ids that Slack markup in `text` names only by id (what
    a caller looks up for `plain_for_terminal`)."""
    users = {m.group(1) for m in _USER_MENTION.finditer(text) if not m.group(2)}
    return users, unnamed_channels(text)


def _safe_cut(text: str, end: int) -> int:
    """Move a cut point back so it splits no `<…>` link, `&…;` entity or surrogate pair."""
    lt = text.rfind("<", 0, end)
    if lt != -1 and text.find(">", lt) >= end:
        end = lt
    amp = text.rfind("&", max(0, end - 8), end)
    if amp != -1 and ";" not in text[amp:end]:
        semi = text.find(";", amp, amp + 8)
        if semi != -1 and semi >= end:
            end = amp
    # Prefer a word boundary if there is one close by.
    space = text.rfind(" ", max(0, end - 40), end)
    if space > 0 and end < len(text):
        end = space
    return end


def truncate(text: str, limit: int, marker: str = "…") -> str:
    """Cut `text` to at most `limit` characters, cleanly, ending with `marker` when cut."""
    if len(text) <= limit:
        return text
    room = max(0, limit - len(marker))
    return text[: _safe_cut(text, room)].rstrip() + marker


def quote(text: str) -> str:
    """Slack block quote of (already safe) text."""
    return "\n".join("> " + line if line else ">" for line in text.split("\n"))


def plain(text: str, limit: int) -> str:
    """Slack-formatted text for a plain_text field: entities decoded, cut to the limit."""
    decoded = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return truncate(decoded, limit)


def csv_cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run as a formula (=, +, -, @ … at its start)."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    return text


# A dict comes back a dict (the exports go on to index it); anything else as whatever it becomes.
@overload
def json_ready(value: dict[str, Any]) -> dict[str, Any]: ...
@overload
def json_ready(value: object) -> object: ...
def json_ready(value: object) -> object:
    """Exported data as JSON takes it: dates and times ISO 8601, durations in seconds."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return value


def has_visible_text(text: str) -> bool:
    """Whether `text` shows anything: not only spaces, control characters (NUL …) or
    invisible format characters (zero-width spaces and joiners, the byte-order mark …)."""
    return any(not ch.isspace() and unicodedata.category(ch) not in {"Cc", "Cf"} for ch in text)
