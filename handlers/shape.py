"""The shape Slack documents for each request, checked before Bolt dispatches it.

A signed request whose payload is not of that shape (an object missing, a string that is a
number or a list, half a UTF-16 character) is nobody's real request: it is refused with a
400 and a log line naming what is wrong, before any listener can store part of it or fail
with a traceback (a 500 only makes Slack retry the same body).
"""

from __future__ import annotations

import re
from typing import Any

# A lone UTF-16 surrogate (JSON's `\ud800` escape): no text can hold it, no database store it.
_SURROGATE = re.compile("[\ud800-\udfff]")
# The fields of a person's event (and of the message inside message_changed) that Slack
# sends as strings.
EVENT_STRINGS = (
    "type",
    "subtype",
    "user",
    "channel",
    "channel_type",
    "text",
    "ts",
    "thread_ts",
    "event_ts",
    "bot_id",
    "deleted_ts",
    "tab",
)
# The events whose fields above are strings, that Jerry's listeners read as such.
PERSON_EVENTS = {"app_mention", "message", "app_home_opened"}
INTERACTIVE_TYPES = {
    "block_actions",
    "view_submission",
    "view_closed",
    "shortcut",
    "message_action",
}


def problem(body: dict[str, Any]) -> str | None:
    """What makes `body` not a request Slack sends, or None when its shape is Slack's."""
    if _has_lone_surrogate(body):
        return "a text holds half a character (a lone UTF-16 surrogate)"
    kind = body.get("type")
    if kind == "event_callback":
        return _event_problem(body.get("event"))
    if kind in INTERACTIVE_TYPES:
        user = body.get("user")
        if not isinstance(user, dict) or not isinstance(user.get("id"), str):
            return "user.id is not a string"
        if kind in {"view_submission", "view_closed"}:
            return _view_problem(body.get("view"), submitted=kind == "view_submission")
        if kind == "block_actions":
            return _actions_problem(body.get("actions"))
        message = body.get("message")
        if message is not None:
            return _strings_problem(message, "message", ("text", "ts", "thread_ts", "user"))
    return None


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return not value.isascii() and _SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


def _strings_problem(value: Any, where: str, fields: tuple[str, ...]) -> str | None:
    if not isinstance(value, dict):
        return f"{where} is not an object"
    for name in fields:
        if value.get(name) is not None and not isinstance(value[name], str):
            return f"{where}.{name} is not a string"
    return None


def _files_problem(files: Any, where: str) -> str | None:
    if files is not None and not (
        isinstance(files, list) and all(isinstance(file, dict) for file in files)
    ):
        return f"{where}.files is not a list of objects"
    return None


def _event_problem(event: Any) -> str | None:
    found = _strings_problem(event, "event", ("type",))
    if found:
        return found
    if event.get("type") not in PERSON_EVENTS:
        return None  # others have shapes of their own (user_change: `user` is an object)
    found = _strings_problem(event, "event", EVENT_STRINGS) or _files_problem(
        event.get("files"), "event"
    )
    if found:
        return found
    for inner in ("message", "previous_message"):
        if event.get(inner) is not None:
            found = _strings_problem(event[inner], f"event.{inner}", EVENT_STRINGS)
            found = found or _files_problem(event[inner].get("files"), f"event.{inner}")
            if found:
                return found
    if event.get("type") == "app_mention" and not (event.get("channel") and event.get("ts")):
        return "a mention without its channel or ts"
    return None


def _view_problem(view: Any, *, submitted: bool) -> str | None:
    found = _strings_problem(view, "view", ("type", "id", "callback_id", "private_metadata"))
    if found:
        return found
    if not isinstance(view.get("type"), str):
        return "view.type is missing"
    if not submitted:
        return None
    state = view.get("state")
    values = state.get("values") if isinstance(state, dict) else None
    if not isinstance(values, dict):
        return "view.state.values is missing"
    for block_id, block in values.items():
        if not isinstance(block, dict):
            return f"view.state.values.{block_id} is not an object"
        for action_id, element in block.items():
            found = _element_problem(element, f"view.state.values.{block_id}.{action_id}")
            if found:
                return found
    return None


def _element_problem(element: Any, where: str) -> str | None:
    """An input's value as Slack sends it: strings, an option, a list of options."""
    found = _strings_problem(element, where, ("type", "value", "selected_date", "selected_user"))
    if found:
        return found
    option = element.get("selected_option")
    if option is not None:
        found = _strings_problem(option, f"{where}.selected_option", ("value",))
        if found:
            return found
    options = element.get("selected_options")
    if options is not None:
        if not isinstance(options, list):
            return f"{where}.selected_options is not a list"
        for option in options:
            found = _strings_problem(option, f"{where}.selected_options[]", ("value",))
            if found:
                return found
    return None


def _actions_problem(actions: Any) -> str | None:
    if not isinstance(actions, list) or not actions:
        return "actions is not a list"
    for action in actions:
        found = _strings_problem(action, "actions[]", ("action_id", "block_id", "value", "type"))
        if found:
            return found
        if not isinstance(action.get("action_id"), str):
            return "actions[].action_id is missing"
    return None
