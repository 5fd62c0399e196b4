"""What Slack sends an app when people act, in Slack's documented shapes, signed.

The sandbox's page calls these; each one updates the local workspace as Slack would (the
message exists before its event arrives), then POSTs the event, command or interaction to
Jerry's /slack/events with a v0 signature, and applies Jerry's answer (an ack's body, a
view_submission's response_action). Shapes: https://docs.slack.dev/reference/events,
https://docs.slack.dev/interactivity/handling-user-interaction, slash commands'
https://docs.slack.dev/interactivity/implementing-slash-commands.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from bot.i18n import normalize_language, t
from bot.sandbox.slack_api import BOT_USER_ID, TEAM_ID, SlackError
from bot.sandbox.workspace import ResponseTarget, SandboxSlack

APP_ID = "A0JERRY"
TEAM_DOMAIN = "jerry-sandbox"
MENTION = re.compile(r"<@(U[A-Z0-9]+)>")


class Refused(Exception):
    """Something Slack itself would not let a person do (the page shows it, in the person's
    language: `key` names the catalog's sandbox.refused.* string)."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params

    def text(self, lang: str) -> str:
        return t(f"sandbox.refused.{self.key}", lang, **self.params)


@dataclass
class Answer:
    """Jerry's answer to one request: the HTTP status and, for a form, its errors."""

    status: int
    errors: dict[str, str] | None = None


class SlackPlatform:
    def __init__(self, slack: SandboxSlack, jerry_url: str, signing_secret: str) -> None:
        self.slack = slack
        self.jerry_url = jerry_url.rstrip("/")
        self.signing_secret = signing_secret
        # Idle connections closed before Jerry's server would (10 s without a request).
        self.http = httpx.AsyncClient(timeout=30, limits=httpx.Limits(keepalive_expiry=5))
        self._events = itertools.count(1)

    async def aclose(self) -> None:
        await self.http.aclose()

    # --- delivery -------------------------------------------------------------------------

    def _sign(self, body: bytes) -> dict[str, str]:
        # Slack signs with real time (Jerry refuses requests more than 5 minutes off), not
        # with the sandbox's skipped-ahead clock.
        ts = str(int(time.time()))
        digest = hmac.new(
            self.signing_secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256
        ).hexdigest()
        return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}

    async def _post(self, body: bytes, content_type: str) -> httpx.Response:
        headers = {"Content-Type": content_type, **self._sign(body)}
        return await self.http.post(f"{self.jerry_url}/slack/events", content=body, headers=headers)

    async def _event(self, event: dict[str, Any]) -> httpx.Response:
        envelope = {
            "token": "sandbox-verification-token",
            "team_id": TEAM_ID,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{next(self._events):08d}SANDBOX",
            "event_time": int(self.slack.clock()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": TEAM_ID,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
        return await self._post(json.dumps(envelope).encode(), "application/json")

    async def _interactive(self, payload: dict[str, Any]) -> httpx.Response:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return await self._post(body, "application/x-www-form-urlencoded")

    def lang(self, user: str) -> str:
        """The person's Slack language, as Slack's own client speaks it to them."""
        person = self.slack.users.get(user)
        return normalize_language(person.locale if person else None)

    def _user(self, user: str) -> dict[str, Any]:
        person = self.slack.users[user]
        return {"id": user, "username": person.name, "name": person.name, "team_id": TEAM_ID}

    def _channel_type(self, channel: str) -> str:
        return "im" if channel.startswith("D") else "channel"

    def _check_answer(self, response: httpx.Response, what: str) -> None:
        """Slack shows a warning when an app does not answer 200 in time (here: any non-200)."""
        if response.status_code != 200:
            raise Refused("jerry_failed", status=response.status_code)

    # --- messages -------------------------------------------------------------------------

    async def post(
        self, user: str, channel: str, text: str, *, thread_ts: str | None = None
    ) -> dict[str, Any] | None:
        """A person types in `channel`: a slash command, or a message (with its events)."""
        text = text.strip()
        if not text:
            raise Refused("type_first")
        if text.startswith("/"):
            await self.command(user, channel, text, thread_ts=thread_ts)
            return None
        text = self.mentions_in(text)
        message = self.slack.post_as(user, channel, text, thread_ts=thread_ts)
        event: dict[str, Any] = {
            "type": "message",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": message["ts"],
            "event_ts": message["ts"],
            "channel_type": self._channel_type(channel),
            "team": TEAM_ID,
            "user_team": TEAM_ID,
            "source_team": TEAM_ID,
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        self._check_answer(await self._event(event), "message")
        if f"<@{BOT_USER_ID}>" in text and not channel.startswith("D"):
            mention = {
                "type": "app_mention",
                "user": user,
                "text": text,
                "ts": message["ts"],
                "channel": channel,
                "event_ts": message["ts"],
                "team": TEAM_ID,
                "user_team": TEAM_ID,
            }
            if thread_ts:
                mention["thread_ts"] = thread_ts
            self._check_answer(await self._event(mention), "mention")
        return message

    def mentions_in(self, text: str) -> str:
        """`@Jerry` or `@Real Name` typed on the page becomes Slack's `<@U…>`."""
        names = {"jerry": BOT_USER_ID}
        for person in self.slack.users.values():
            names[person.real_name.lower()] = person.id
            names[person.name.lower()] = person.id
        # Longest names first, so "@Leo Garcia" is not read as "@Leo".
        for name in sorted(names, key=len, reverse=True):
            text = re.sub(rf"(?<![<\w])@{re.escape(name)}\b", f"<@{names[name]}>", text, flags=re.I)
        return text

    async def command(
        self, user: str, channel: str, line: str, *, thread_ts: str | None = None
    ) -> None:
        command, _, text = line.partition(" ")
        if command not in self.commands():
            known = ", ".join(self.commands())
            raise Refused("unknown_command", command=command, known=known)
        target = ResponseTarget(user=user, channel=channel, thread_ts=thread_ts)
        person = self.slack.users[user]
        fields = {
            "token": "sandbox-verification-token",
            "team_id": TEAM_ID,
            "team_domain": TEAM_DOMAIN,
            "channel_id": channel,
            "channel_name": "directmessage" if channel.startswith("D") else self._name(channel),
            "user_id": user,
            "user_name": person.name,
            "command": command,
            "text": self.mentions_in(text.strip()),
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": self.slack.new_response_url(target),
            "trigger_id": self.slack.new_trigger(user),
        }
        response = await self._post(urlencode(fields).encode(), "application/x-www-form-urlencoded")
        self._check_answer(response, command)
        self._ack_body(response, target)

    def commands(self) -> list[str]:
        from bot.sandbox.manifest import slash_commands

        return [c["command"] for c in slash_commands()]

    def _name(self, channel: str) -> str:
        known = self.slack.channels.get(channel)
        return known.name if known else channel.lower()

    def _ack_body(self, response: httpx.Response, target: ResponseTarget) -> None:
        """A command's ack may carry a message: Slack shows it as if sent to response_url."""
        if not response.content:
            return
        try:
            body = response.json()
        except ValueError:
            body = {"text": response.text}
        if isinstance(body, dict) and (body.get("text") or body.get("blocks")):
            self.slack._check_response(body)
            self.slack._apply_response(target, body)
            self.slack.changed()

    # --- reactions and the message shortcut ------------------------------------------------

    async def react(self, user: str, channel: str, ts: str, name: str, *, remove: bool) -> None:
        message = self.slack.message(channel, ts)
        if message is None:
            raise Refused("message_gone")
        if not self.slack.react(user, channel, ts, name, remove=remove):
            return
        event = {
            "type": "reaction_removed" if remove else "reaction_added",
            "user": user,
            "reaction": name,
            "item_user": message.get("user"),
            "item": {"type": "message", "channel": channel, "ts": ts},
            "event_ts": f"{self.slack.clock():.6f}",
        }
        self._check_answer(await self._event(event), "reaction")

    async def shortcut(self, user: str, channel: str, ts: str) -> None:
        message = self.slack.message(channel, ts)
        if message is None:
            raise Refused("message_gone")
        target = ResponseTarget(user=user, channel=channel, thread_ts=message.get("thread_ts"))
        payload = {
            "type": "message_action",
            "token": "sandbox-verification-token",
            "action_ts": f"{self.slack.clock():.6f}",
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "user": self._user(user),
            "channel": {"id": channel, "name": self._name(channel)},
            "is_enterprise_install": False,
            "callback_id": "send_to_jerry",
            "trigger_id": self.slack.new_trigger(user),
            "response_url": self.slack.new_response_url(target),
            "message_ts": ts,
            "message": {k: v for k, v in message.items() if k != "reactions"},
        }
        self._check_answer(await self._interactive(payload), "shortcut")

    # --- App Home, buttons and forms -------------------------------------------------------

    async def open_home(self, user: str) -> None:
        home = self.slack.home.get(user)
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user,
            "channel": self.slack.dm_channel(user),
            "tab": "home",
            "event_ts": f"{self.slack.clock():.6f}",
        }
        if home is not None:
            event["view"] = {**home, "team_id": TEAM_ID, "app_id": APP_ID}
        self._check_answer(await self._event(event), "Home tab")

    async def action(
        self,
        user: str,
        action: dict[str, Any],
        *,
        where: str,
        channel: str | None = None,
        ts: str | None = None,
        view_id: str | None = None,
        state: dict[str, Any] | None = None,
    ) -> None:
        """A click or a choice on an interactive element the person can see."""
        action_id = action.get("action_id") or ""
        payload: dict[str, Any] = {
            "type": "block_actions",
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "user": self._user(user),
            "api_app_id": APP_ID,
            "token": "sandbox-verification-token",
            "trigger_id": self.slack.new_trigger(user),
            "is_enterprise_install": False,
            "enterprise": None,
        }
        if where == "message":
            if not channel or not ts:
                raise Refused("message_gone")
            message = self.slack.message(channel, ts)
            ephemeral = False
            if message is None:
                message = next(
                    (m for m in self.slack.ephemerals_for(user, channel) if m["ts"] == ts), None
                )
                ephemeral = message is not None
            if message is None:
                raise Refused("message_gone")
            element = find_element(message.get("blocks") or [], action_id, action.get("block_id"))
            target = ResponseTarget(
                user=user, channel=channel, message_ts=ts, thread_ts=message.get("thread_ts")
            )
            payload.update(
                container={
                    "type": "message",
                    "message_ts": ts,
                    "channel_id": channel,
                    "is_ephemeral": ephemeral,
                },
                channel={"id": channel, "name": self._name(channel)},
                response_url=self.slack.new_response_url(target),
                state={"values": {}},
            )
            if not ephemeral:
                payload["message"] = {k: v for k, v in message.items() if k != "reactions"}
        else:
            view = (
                self.slack.home.get(user)
                if where == "home"
                else self.slack.views.get(view_id or "")
            )
            if view is None:
                raise Refused("view_closed")
            element = find_element(view.get("blocks") or [], action_id, action.get("block_id"))
            payload.update(
                container={"type": "view", "view_id": view["id"]},
                view={
                    **view,
                    "team_id": TEAM_ID,
                    "app_id": APP_ID,
                    "bot_id": "B0JERRY",
                    "root_view_id": view["id"],
                    "state": state or {"values": {}},
                },
            )
        if element is None:
            # Slack only sends actions of elements it shows: an unknown action_id is refused.
            raise Refused("unknown_action", action_id=action_id)
        sent = {
            **{k: v for k, v in action.items() if k not in {"text", "options"}},
            "action_id": action_id,
            "block_id": element["block_id"],
            "type": element["element"].get("type"),
            "action_ts": f"{self.slack.clock():.6f}",
        }
        if sent["type"] == "button":
            sent["text"] = element["element"].get("text")
            if "value" in element["element"]:
                sent["value"] = element["element"]["value"]
        payload["actions"] = [sent]
        self._check_answer(await self._interactive(payload), "click")

    async def submit(self, user: str, view_id: str, values: dict[str, Any]) -> Answer:
        view = self.slack.views.get(view_id)
        if view is None or self.slack.top_modal(user) is not view:
            raise Refused("form_closed")
        missing = required_inputs_missing(view, values)
        if missing:
            # Slack checks required inputs itself; the app never hears of an empty form.
            said = t("sandbox.refused.fill_field", self.lang(user))
            return Answer(200, {block: said for block in missing})
        submitted = {
            **view,
            "team_id": TEAM_ID,
            "app_id": APP_ID,
            "bot_id": "B0JERRY",
            "root_view_id": (self.slack.state.stacks.get(user) or [view_id])[0],
            "state": {"values": values},
        }
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "user": self._user(user),
            "api_app_id": APP_ID,
            "token": "sandbox-verification-token",
            "trigger_id": self.slack.new_trigger(user),
            "view": submitted,
            "response_urls": [],
            "is_enterprise_install": False,
        }
        response = await self._interactive(payload)
        self._check_answer(response, "form")
        body: Any = None
        if response.content:
            try:
                body = response.json()
            except ValueError:
                raise Refused("form_answer", error="not JSON") from None
        action = body.get("response_action") if isinstance(body, dict) else None
        try:
            if action == "errors":
                return Answer(200, dict(body.get("errors") or {}))
            if action == "update":
                self.slack.replace_top(user, body["view"])
            elif action == "push":
                self.slack.push_view(user, body["view"])
            elif action == "clear":
                self.slack.clear_modals(user)
            else:
                if self.slack.top_modal(user) is view:
                    self.slack.close_top(user)
        except SlackError as exc:
            raise Refused("form_answer", error=exc.error) from exc
        return Answer(200)

    async def close_view(self, user: str, view_id: str) -> None:
        view = self.slack.views.get(view_id)
        if view is None or self.slack.top_modal(user) is not view:
            return
        self.slack.close_top(user)
        if view.get("notify_on_close"):
            payload = {
                "type": "view_closed",
                "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
                "user": self._user(user),
                "api_app_id": APP_ID,
                "view": {**view, "team_id": TEAM_ID, "app_id": APP_ID},
                "is_cleared": False,
            }
            self._check_answer(await self._interactive(payload), "closed form")


def find_element(
    blocks: list[dict[str, Any]], action_id: str, block_id: str | None = None
) -> dict[str, Any] | None:
    """The interactive element `action_id` in `blocks` (in the block `block_id` when given:
    Slack names a block without a block_id; the page names it b<index>), with its block's id."""
    for index, block in enumerate(blocks):
        if block_id and (block.get("block_id") or f"b{index}") != block_id:
            continue
        candidates = []
        if block.get("type") == "actions":
            candidates = list(block.get("elements") or [])
        elif block.get("type") in {"section", "input"}:
            candidates = [block.get("accessory") or {}, block.get("element") or {}]
        for element in candidates:
            if element.get("action_id") == action_id:
                return {"block_id": block.get("block_id") or f"b{index}", "element": element}
    return None


def required_inputs_missing(view: dict[str, Any], values: dict[str, Any]) -> list[str]:
    missing = []
    for block in view.get("blocks") or []:
        if block.get("type") != "input" or block.get("optional"):
            continue
        element = block.get("element") or {}
        given = (values.get(block.get("block_id") or "") or {}).get(element.get("action_id"))
        if not given or not any(
            given.get(key)
            for key in (
                "value",
                "selected_option",
                "selected_options",
                "selected_date",
                "selected_time",
                "selected_user",
                "selected_users",
                "selected_conversation",
                "selected_channel",
            )
        ):
            missing.append(block.get("block_id") or "")
    return missing
