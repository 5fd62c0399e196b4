"""Inbound Slack payloads, built from the samples Slack wrote (tests/slack_samples/inbound/, copied
from ../shared/slack-samples so that a clean checkout runs on its own).

Each builder loads the sample, rewrites the ids to our fake workspace and fills in what a
test chooses; the rest of the shape stays Slack's.
"""

from __future__ import annotations

import copy
import itertools
import json
import time
from functools import cache
from pathlib import Path
from typing import Any

from tests.fakeslack import BOT_USER_ID, TEAM_ID

INBOUND = Path(__file__).resolve().parent / "slack_samples" / "inbound"
APP_ID = "A0JERRY"
_counter = itertools.count(1)


@cache
def _sample(name: str) -> dict[str, Any]:
    return json.loads((INBOUND / name).read_text())


def sample(name: str) -> dict[str, Any]:
    return copy.deepcopy(_sample(name))


def unique(prefix: str) -> str:
    return f"{prefix}{next(_counter):06d}"


def new_ts() -> str:
    return f"{int(time.time())}.{next(_counter):06d}"


def slash_command(
    command: str, text: str, *, user: str, channel: str = "C0GENERAL", response_url: str = ""
) -> dict[str, str]:
    body = sample("slash_command.json")
    body.pop("enterprise_id", None)
    body.pop("enterprise_name", None)
    body.update(
        team_id=TEAM_ID,
        team_domain="jerry-test",
        channel_id=channel,
        channel_name=channel.lower(),
        user_id=user,
        user_name=user.lower(),
        command=command,
        text=text,
        api_app_id=APP_ID,
        trigger_id=unique("trigger.") + ".abc",
    )
    if response_url:
        body["response_url"] = response_url
    return body


def _envelope(name: str, event: dict[str, Any], event_id: str | None) -> dict[str, Any]:
    body = sample(name)
    body.update(
        team_id=TEAM_ID,
        api_app_id=APP_ID,
        event_id=event_id or unique("Ev"),
        event_time=int(time.time()),
        authorizations=[
            {
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
    )
    body["event"] = event
    return body


def app_mention(
    text: str,
    *,
    user: str,
    channel: str = "C0GENERAL",
    ts: str | None = None,
    thread_ts: str | None = None,
    event_id: str | None = None,
    user_team: str | None = None,
) -> dict[str, Any]:
    event = sample("docs_examples/event_callback.app_mention.json")["event"]
    ts = ts or new_ts()
    event.update(user=user, text=text, ts=ts, channel=channel, event_ts=ts)
    if user_team:  # Slack Connect: the author's team, not the receiving workspace's
        event["user_team"] = user_team
    if thread_ts:
        event["thread_ts"] = thread_ts
    return _envelope("docs_examples/event_callback.app_mention.json", event, event_id)


def direct_message(
    text: str,
    *,
    user: str,
    ts: str | None = None,
    thread_ts: str | None = None,
    event_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    event = sample("event_callback.message_im.json")["event"]
    ts = ts or new_ts()
    event.update(channel="D" + user[1:], user=user, text=text, ts=ts, event_ts=ts)
    if thread_ts:
        event["thread_ts"] = thread_ts
    event.update(extra)
    return _envelope("event_callback.message_im.json", event, event_id)


def app_home_opened(
    *,
    user: str,
    tab: str = "home",
    view: dict[str, Any] | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """The user opened Jerry's Home (or Messages) tab; `view` is the Home last published."""
    name = "event_callback.app_home_opened.json"
    event = sample(name)["event"]
    event.update(user=user, channel="D" + user[1:], tab=tab, event_ts=new_ts())
    if view is None:
        event.pop("view", None)  # Slack sends no view before a first publish
    else:
        event["view"] = {**event["view"], **view, "team_id": TEAM_ID, "app_id": APP_ID}
    return _envelope(name, event, event_id)


def home_click(
    *, user: str, view: dict[str, Any], action_id: str, value: str, block_id: str
) -> dict[str, Any]:
    """A button clicked in the Home `view` Jerry published (kept whole, private_metadata too)."""
    body = sample("block_actions.home_tab_button.json")
    body.update(
        team={"id": TEAM_ID, "domain": "jerry-test"},
        user={"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM_ID},
        api_app_id=APP_ID,
        container={"type": "view", "view_id": view.get("id") or "VHOME"},
        trigger_id=unique("trigger.") + ".abc",
    )
    body["view"] = {
        **body["view"],
        **view,
        "id": view.get("id") or "VHOME",
        "team_id": TEAM_ID,
        "app_id": APP_ID,
        "type": "home",
    }
    action = body["actions"][0]
    action.update(action_id=action_id, value=value, block_id=block_id, action_ts=new_ts())
    body["actions"] = [action]
    return body


def home_select(
    *, user: str, view: dict[str, Any], action_id: str, value: str, block_id: str
) -> dict[str, Any]:
    """An option chosen in a menu (static_select) of the Home `view` Jerry published."""
    body = home_click(user=user, view=view, action_id=action_id, value=value, block_id=block_id)
    chosen = sample("block_actions.modal_static_select.json")["actions"][0]
    chosen.update(
        action_id=action_id,
        block_id=block_id,
        action_ts=new_ts(),
        selected_option={
            "text": {"type": "plain_text", "text": value, "emoji": True},
            "value": value,
        },
    )
    body["actions"] = [chosen]
    return body


def bot_message_im(text: str, *, channel: str) -> dict[str, Any]:
    event = sample("event_callback.message_bot_message.json")["event"]
    ts = new_ts()
    event.update(channel=channel, text=text, ts=ts, event_ts=ts, channel_type="im")
    return _envelope("event_callback.message_bot_message.json", event, None)


def message_changed_im(*, user: str, text: str) -> dict[str, Any]:
    body = sample("docs_examples/event_callback.message_changed.json")
    event = body["event"]
    event.update(channel="D" + user[1:], channel_type="im")
    event["message"].update(user=user, text=text)
    return _envelope("docs_examples/event_callback.message_changed.json", event, None)


def message_deleted_im(*, user: str) -> dict[str, Any]:
    body = sample("docs_examples/event_callback.message_deleted.json")
    event = body["event"]
    event.update(channel="D" + user[1:], channel_type="im")
    return _envelope("docs_examples/event_callback.message_deleted.json", event, None)


def message_shortcut(
    *,
    user: str,
    channel: str,
    message: dict[str, Any],
    callback_id: str = "send_to_jerry",
    response_url: str = "",
) -> dict[str, Any]:
    body = sample("message_action.json")
    body.update(
        team={"id": TEAM_ID, "domain": "jerry-test"},
        user={"id": user, "name": user.lower()},
        channel={"id": channel, "name": channel.lower()},
        callback_id=callback_id,
        trigger_id=unique("trigger.") + ".abc",
        message_ts=message["ts"],
        message={**body["message"], **message, "team": TEAM_ID},
    )
    body["message"].pop("blocks", None)
    if response_url:
        body["response_url"] = response_url
    return body


def view_submission(
    view: dict[str, Any], values: dict[str, dict[str, Any]], *, user: str
) -> dict[str, Any]:
    """Submit `view` (as Jerry opened it) with `values`: {block_id: {action_id: value}}."""
    body = sample("view_submission.json")
    body.update(
        team={"id": TEAM_ID, "domain": "jerry-test"},
        user={"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM_ID},
        api_app_id=APP_ID,
        trigger_id=unique("trigger.") + ".abc",
    )
    submitted = {**body["view"], **view}
    submitted.update(
        team_id=TEAM_ID,
        app_id=APP_ID,
        state={"values": values},
        id=view.get("id") or unique("V"),
        hash=view.get("hash") or f"{time.time()}.hash",
    )
    body["view"] = submitted
    return body


def block_action(
    *,
    user: str,
    action_id: str,
    value: str,
    channel: str,
    message: dict[str, Any],
    response_url: str,
) -> dict[str, Any]:
    body = sample("block_actions.message_button.json")
    body.update(
        user={"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM_ID},
        api_app_id=APP_ID,
        container={
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": channel,
            "is_ephemeral": False,
        },
        trigger_id=unique("trigger.") + ".abc",
        team={"id": TEAM_ID, "domain": "jerry-test"},
        channel={"id": channel, "name": "directmessage"},
        message={**message, "team": TEAM_ID},
        response_url=response_url,
    )
    action = body["actions"][0]
    action.update(action_id=action_id, value=value, block_id=unique("b"), action_ts=new_ts())
    body["actions"] = [action]
    return body


def input_value(value: str) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


def selected(value: str | None) -> dict[str, Any]:
    return {
        "type": "static_select",
        "selected_option": None
        if value is None
        else {"text": {"type": "plain_text", "text": value}, "value": value},
    }


def checked(*values: str) -> dict[str, Any]:
    return {
        "type": "checkboxes",
        "selected_options": [
            {"text": {"type": "plain_text", "text": v}, "value": v} for v in values
        ],
    }


def home_block_action(*, user: str, action_id: str, value: str) -> dict[str, Any]:
    """A button clicked in Jerry's App Home: container.type "view", no response_url, no channel."""
    body = sample("block_actions.home_tab_button.json")
    view_id = unique("VH")
    body.update(
        user={"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM_ID},
        api_app_id=APP_ID,
        container={"type": "view", "view_id": view_id},
        trigger_id=unique("trigger.") + ".abc",
        team={"id": TEAM_ID, "domain": "jerry-test"},
    )
    body["view"].update(id=view_id, team_id=TEAM_ID, app_id=APP_ID, root_view_id=view_id)
    action = body["actions"][0]
    action.update(action_id=action_id, value=value, block_id=unique("b"), action_ts=new_ts())
    body["actions"] = [action]
    for absent in ("response_url", "channel", "message"):
        body.pop(absent, None)
    return body


# --- conversation: messages in threads, edits, deletions (Slack's samples, our ids) ---


def thread_message(
    text: str,
    *,
    user: str,
    channel: str,
    thread_ts: str | None,
    ts: str | None = None,
    channel_type: str = "channel",
    event_id: str | None = None,
    files: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A person's message (a thread reply when `thread_ts`), in any kind of conversation."""
    event = sample("event_callback.message_thread_reply.json")["event"]
    ts = ts or new_ts()
    event.update(
        user=user, text=text, ts=ts, event_ts=ts, channel=channel, channel_type=channel_type
    )
    event.update(team=TEAM_ID, user_team=TEAM_ID, source_team=TEAM_ID, parent_user_id=user)
    if thread_ts:
        event["thread_ts"] = thread_ts
    else:
        event.pop("thread_ts", None)
        event.pop("parent_user_id", None)
    if files:
        event.update(subtype="file_share", files=files, upload=False)
    return _envelope("event_callback.message_thread_reply.json", event, event_id)


def shared_file(name: str, *, user: str) -> dict[str, Any]:
    """A file object as a file_share message carries it (the fields Jerry reads)."""
    file_id = unique("F")
    return {
        "id": file_id,
        "name": name,
        "title": name,
        "mimetype": "text/plain",
        "user": user,
        "permalink": f"https://jerry-test.slack.com/files/{user}/{file_id}/{name}",
        "url_private": f"https://files.slack.com/files-pri/{TEAM_ID}-{file_id}/{name}",
    }


def message_changed(
    *,
    user: str,
    channel: str,
    ts: str,
    text: str,
    thread_ts: str | None = None,
    channel_type: str = "channel",
    bot: bool = False,
) -> dict[str, Any]:
    """`user` edited their message `ts` (Slack's docs sample: message.ts is the original)."""
    body = sample("docs_examples/event_callback.message_changed.json")
    event = body["event"]
    now = new_ts()
    event.update(channel=channel, channel_type=channel_type, ts=now, event_ts=now)
    event["message"].update(user=user, text=text, ts=ts, edited={"user": user, "ts": now})
    if thread_ts:
        event["message"]["thread_ts"] = thread_ts
    if bot:
        event["message"]["bot_id"] = BOT_USER_ID.replace("U", "B", 1)
    return _envelope("docs_examples/event_callback.message_changed.json", event, None)


def message_deleted(
    *, channel: str, ts: str, user: str, thread_ts: str | None = None, channel_type: str = "channel"
) -> dict[str, Any]:
    """The message `ts` was deleted (Slack's sample: deleted_ts and previous_message)."""
    body = sample("event_callback.message_deleted.json")
    event = body["event"]
    now = new_ts()
    event.update(channel=channel, channel_type=channel_type, ts=now, event_ts=now, deleted_ts=ts)
    event["previous_message"].update(user=user, team=TEAM_ID, ts=ts)
    if thread_ts:
        event["previous_message"]["thread_ts"] = thread_ts
    return _envelope("event_callback.message_deleted.json", event, None)


def other_bot_message(text: str, *, channel: str, thread_ts: str) -> dict[str, Any]:
    """Another app's bot writing in a thread (bot_id and bot_profile, no subtype)."""
    body = sample("event_callback.message_from_app_bot.json")
    event = body["event"]
    ts = new_ts()
    event.update(text=text, channel=channel, ts=ts, event_ts=ts, thread_ts=thread_ts)
    event["team"] = TEAM_ID
    return _envelope("event_callback.message_from_app_bot.json", event, None)


def user_change(user: str, *, deleted: bool | None, name: str = "pat") -> dict[str, Any]:
    """Slack's `user_change` event: the whole user object (as users.info gives it) after a change.

    `deleted=None` leaves the key out, as Slack sometimes does.
    """
    api_sample = INBOUND.parent / "api" / "users.info.ok.json"
    profile = json.loads(api_sample.read_text())["user"]
    profile.update(id=user, team_id=TEAM_ID, name=name, updated=int(time.time()))
    if deleted is None:
        profile.pop("deleted", None)
    else:
        profile["deleted"] = deleted
    event = {
        "type": "user_change",
        "user": profile,
        "cache_ts": int(time.time()),
        "event_ts": new_ts(),
    }
    return _envelope("event_callback.app_home_opened.json", event, None)


def reaction(
    kind: str,
    *,
    user: str,
    reaction: str,
    channel: str,
    ts: str,
    author: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """`reaction_added` or `reaction_removed` (`kind`) on the message `ts` in `channel`."""
    event = sample("event_callback.reaction_added.json")["event"]
    event.update(
        type=kind,
        user=user,
        reaction=reaction,
        item={"type": "message", "channel": channel, "ts": ts},
        item_user=author or user,
        event_ts=new_ts(),
    )
    return _envelope("event_callback.reaction_added.json", event, event_id)
