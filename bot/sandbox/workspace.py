"""The sandbox's workspace: the local Slack Web API plus what a Slack client needs to show.

`LocalSlack` answers Jerry's Web API calls; this adds what Slack keeps for its people and
the tests do not need: who opened which modal (trigger ids, a stack of views per person),
ephemeral messages for one person, what Jerry answers through response_url applied to the
conversation, people's own messages and reactions, and a version number the page polls.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.sandbox.slack_api import BOT_USER_ID, TEAM_ID, LocalSlack, SlackError


@dataclass
class ResponseTarget:
    """Where a response_url's answers go: who acted, where, and on which message."""

    user: str
    channel: str
    message_ts: str | None = None
    thread_ts: str | None = None


@dataclass
class Ephemeral:
    channel: str
    user: str
    message: dict[str, Any]


@dataclass
class Notice:
    level: str
    text: str


@dataclass
class SandboxState:
    stacks: dict[str, list[str]] = field(default_factory=dict)  # user → open modal view ids
    triggers: dict[str, str] = field(default_factory=dict)  # trigger_id → user
    ephemerals: list[Ephemeral] = field(default_factory=list)
    responses: dict[str, ResponseTarget] = field(default_factory=dict)
    notices: dict[str, Notice] = field(default_factory=dict)  # user → the last thing to tell


class SandboxSlack(LocalSlack):
    """The local Slack of `jerry sandbox`: refuses what Slack refuses, keeps what it shows."""

    def __init__(self, *, token: str) -> None:
        super().__init__(token=token, strict_channels=True)
        self.state = SandboxState()
        self.version = 0
        self._triggers = itertools.count(1)
        self._responses = itertools.count(1)
        self.base_url = ""  # set by the server once it listens
        self.saved_to: Path | None = None
        self._save_handle: asyncio.TimerHandle | None = None

    @property
    def base(self) -> str:
        return self.base_url

    def changed(self) -> None:
        self.version += 1
        if self.saved_to is not None and self._save_handle is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return
            # Written a moment after a change: a burst of calls is one write.
            self._save_handle = loop.call_later(0.5, self.save)

    # --- kept across restarts (Jerry's database is, so what Slack showed must be too) ------

    def keep_in(self, path: Path) -> None:
        """Load what the workspace showed from `path` (if any) and save it there on change."""
        self.saved_to = path
        if not path.exists():
            return
        try:
            kept = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            return  # an unreadable file: the conversations start empty, Jerry's data stays
        self.messages = kept.get("messages") or {}
        self.home = kept.get("home") or {}
        for file in kept.get("files") or []:
            content = file.pop("content_b64", None)
            file["content"] = base64.b64decode(content) if content else None
            self.files[file["id"]] = file
        numbers = [
            int(m["ts"].split(".")[1])
            for ms in self.messages.values()
            for m in ms
            if "." in m["ts"]
        ]
        self._ts = itertools.count(max(numbers, default=0) + 1)
        ids = [int(f[1:]) for f in self.files if f[1:].isdigit()]
        self._ids = itertools.count(max(ids, default=0) + 1000)

    def save(self) -> None:
        self._save_handle = None
        if self.saved_to is None:
            return
        files = [
            {
                **{k: v for k, v in f.items() if k != "content"},
                "content_b64": base64.b64encode(f["content"]).decode()
                if f.get("content")
                else None,
            }
            for f in self.files.values()
        ]
        kept = {"messages": self.messages, "home": self.home, "files": files}
        temporary = self.saved_to.with_suffix(".tmp")
        temporary.write_text(json.dumps(kept), encoding="utf-8")
        temporary.replace(self.saved_to)

    # --- the page's reads -----------------------------------------------------------------

    def top_modal(self, user: str) -> dict[str, Any] | None:
        stack = self.state.stacks.get(user) or []
        return self.views.get(stack[-1]) if stack else None

    def ephemerals_for(self, user: str, channel: str) -> list[dict[str, Any]]:
        return [e.message for e in self.state.ephemerals if e.user == user and e.channel == channel]

    def tell(self, user: str, text: str, level: str = "error") -> None:
        self.state.notices[user] = Notice(level, text)
        self.changed()

    def take_notice(self, user: str) -> Notice | None:
        return self.state.notices.pop(user, None)

    # --- what people do (the platform side calls these) -----------------------------------

    def new_trigger(self, user: str) -> str:
        trigger = f"{next(self._triggers)}.{int(self.clock())}.sandbox"
        self.state.triggers[trigger] = user
        return trigger

    def new_response_url(self, target: ResponseTarget) -> str:
        name = f"r{next(self._responses)}"
        self.state.responses[name] = target
        return f"{self.base_url}/response/{name}"

    def post_as(
        self, user: str, channel: str, text: str, *, thread_ts: str | None = None
    ) -> dict[str, Any]:
        """A person's message, in Slack's shape (with the team their profile belongs to)."""
        message: dict[str, Any] = {
            "type": "message",
            "user": user,
            "text": text,
            "ts": self._next_ts(),
            "team": self.users[user].team if user in self.users else TEAM_ID,
        }
        if thread_ts:
            message["thread_ts"] = thread_ts
            parent = self.message(channel, thread_ts)
            if parent is not None:
                parent.setdefault("thread_ts", thread_ts)
        self.messages.setdefault(channel, []).append(message)
        self.changed()
        return message

    def react(self, user: str, channel: str, ts: str, name: str, *, remove: bool) -> bool:
        """Add or take back `user`'s reaction; False when nothing changed."""
        message = self.message(channel, ts)
        if message is None:
            raise SlackError("message_not_found")
        reactions = message.setdefault("reactions", [])
        entry = next((r for r in reactions if r["name"] == name), None)
        if remove:
            if entry is None or user not in entry["users"]:
                return False
            entry["users"].remove(user)
            entry["count"] -= 1
            if not entry["users"]:
                reactions.remove(entry)
        else:
            if entry is None:
                entry = {"name": name, "users": [], "count": 0}
                reactions.append(entry)
            if user in entry["users"]:
                return False
            entry["users"].append(user)
            entry["count"] += 1
        self.changed()
        return True

    def close_top(self, user: str) -> dict[str, Any] | None:
        stack = self.state.stacks.get(user) or []
        if not stack:
            return None
        view = self.views.get(stack.pop())
        self.changed()
        return view

    def clear_modals(self, user: str) -> None:
        self.state.stacks.pop(user, None)
        self.changed()

    def replace_top(self, user: str, view: dict[str, Any]) -> dict[str, Any]:
        """A view_submission answered with response_action "update"."""
        stack = self.state.stacks.get(user) or []
        if not stack:
            raise SlackError("not_found")
        checked = self._check_view(view)
        self.views[stack[-1]] = {
            **checked,
            "id": stack[-1],
            "hash": f"{self.clock()}.{next(self._ids)}",
            "state": {"values": {}},
        }
        self.changed()
        return self.views[stack[-1]]

    def push_view(self, user: str, view: dict[str, Any]) -> dict[str, Any]:
        """A view_submission answered with response_action "push"."""
        checked = self._check_view(view)
        view_id = f"V{next(self._ids):08d}"
        self.views[view_id] = {
            **checked,
            "id": view_id,
            "hash": f"{self.clock()}.{next(self._ids)}",
            "state": {"values": {}},
        }
        self.state.stacks.setdefault(user, []).append(view_id)
        self.changed()
        return self.views[view_id]

    # --- Jerry's Web API calls, as Slack's client shows them -------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        response = await super()._handle_api(request)
        self.changed()
        return response

    def _trigger_user(self, args: dict[str, Any]) -> str:
        trigger = args.get("trigger_id") or ""
        user = self.state.triggers.pop(trigger, None)
        if user is None:
            # Slack's trigger ids are single use and expire after 3 seconds.
            raise SlackError("expired_trigger_id")
        return user

    def api_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._trigger_user(args)
        args = {**args, "trigger_id": "sandbox"}
        answer = super().api_views_open(args)
        self.state.stacks[user] = [answer["view"]["id"]]
        return answer

    def api_views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._trigger_user(args)
        stack = self.state.stacks.get(user) or []
        if not stack:
            raise SlackError("invalid_arguments")  # push needs an open modal
        if len(stack) >= 3:
            raise SlackError("push_limit_reached")  # Slack: at most 3 views in a stack
        answer = super().api_views_open({**args, "trigger_id": "sandbox"})
        stack.append(answer["view"]["id"])
        return answer

    def api_views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        external = args.get("external_id")
        if external and not args.get("view_id"):
            found = next((v for v in self.views.values() if v.get("external_id") == external), None)
            if found is None:
                raise SlackError("not_found")
            args = {**args, "view_id": found["id"]}
        answer = super().api_views_update(args)
        self.views[answer["view"]["id"]].setdefault("state", {"values": {}})
        return answer

    def api_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        answer = super().api_chat_postEphemeral(args)
        channel = self._resolve_channel_id(args.get("channel") or "")
        message = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": "B0JERRY",
            "text": args.get("text") or "",
            "blocks": copy.deepcopy(args.get("blocks") or []),
            "ts": answer["message_ts"],
            "ephemeral": True,
        }
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        self.state.ephemerals.append(Ephemeral(channel, args["user"], message))
        return answer

    def api_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        """Sharing files in a conversation posts a message carrying them, as Slack does."""
        answer = super().api_files_completeUploadExternal(args)
        shared = [self.files[f["id"]] for f in answer["files"]]
        channel = shared[0].get("channel") if shared else None
        if channel:
            for target in str(channel).split(","):
                message: dict[str, Any] = {
                    "type": "message",
                    "user": BOT_USER_ID,
                    "bot_id": "B0JERRY",
                    "text": args.get("initial_comment") or "",
                    "ts": self._next_ts(),
                    "files": [
                        {"id": f["id"], "name": f["name"], "title": f.get("title")} for f in shared
                    ],
                }
                if args.get("thread_ts"):
                    message["thread_ts"] = args["thread_ts"]
                self.messages.setdefault(target, []).append(message)
        return answer

    def api_reactions_add(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel_id(args.get("channel") or "")
        if not self.react(
            BOT_USER_ID, channel, args.get("timestamp") or "", args.get("name") or "", remove=False
        ):
            raise SlackError("already_reacted")
        return {}

    # --- response_url: what Jerry answers to a command or a click --------------------------

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        target = self.state.responses.get(request.match_info["name"])
        try:
            body = await request.json()
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        if target is None or not isinstance(body, dict):
            return web.Response(status=404, text="expired_url")
        try:
            self._check_response(body)
            self._apply_response(target, body)
        except SlackError as exc:
            return web.Response(status=400, text=exc.error)
        self.changed()
        return web.Response(text="ok")

    def _check_response(self, body: dict[str, Any]) -> None:
        if body.get("delete_original"):
            return
        self._check_message("response_url", body)

    def _apply_response(self, target: ResponseTarget, body: dict[str, Any]) -> None:
        """Slack's rules: delete_original, replace_original (the message acted on, or the
        ephemeral one), in_channel (a message everyone sees) or else an ephemeral one."""
        if body.get("delete_original") and target.message_ts:
            self._forget(target.channel, target.message_ts)
            return
        if body.get("replace_original") and target.message_ts:
            original = self.message(target.channel, target.message_ts) or next(
                (
                    e.message
                    for e in self.state.ephemerals
                    if e.channel == target.channel and e.message["ts"] == target.message_ts
                ),
                None,
            )
            if original is not None:
                original["text"] = body.get("text") or ""
                original["blocks"] = copy.deepcopy(body.get("blocks") or [])
                return
        message = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": "B0JERRY",
            "text": body.get("text") or "",
            "blocks": copy.deepcopy(body.get("blocks") or []),
            "ts": self._next_ts(),
        }
        thread_ts = body.get("thread_ts") or target.thread_ts
        if thread_ts:
            message["thread_ts"] = thread_ts
        if body.get("response_type") == "in_channel":
            self.messages.setdefault(target.channel, []).append(message)
        else:
            message["ephemeral"] = True
            self.state.ephemerals.append(Ephemeral(target.channel, target.user, message))

    def _forget(self, channel: str, ts: str) -> None:
        kept = [m for m in self.messages.get(channel, []) if m["ts"] != ts]
        if channel in self.messages:
            self.messages[channel] = kept
        self.state.ephemerals = [
            e for e in self.state.ephemerals if not (e.channel == channel and e.message["ts"] == ts)
        ]

    def dismiss_ephemeral(self, user: str, channel: str, ts: str) -> None:
        self.state.ephemerals = [
            e
            for e in self.state.ephemerals
            if not (e.user == user and e.channel == channel and e.message["ts"] == ts)
        ]
        self.changed()
