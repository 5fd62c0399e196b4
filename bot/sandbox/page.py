"""The sandbox's web page and the JSON it reads and posts (bot/sandbox/static/sandbox.js).

GET /sandbox/api/state gives what one person sees (sidebar, a channel or the App Home, a
thread, their open modal); the POSTs are what people do in Slack, carried out by the
platform (bot/sandbox/platform.py). A refusal (what Slack would not allow, or Jerry
answering badly) comes back as {"ok": false, "error": "…"}, shown on the page.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.i18n import normalize_language, t, tn
from bot.sandbox import demo
from bot.sandbox.manifest import slash_commands
from bot.sandbox.platform import Refused
from bot.sandbox.slack_api import BOT_USER_ID, SlackError
from bot.sandbox.workspace import SandboxSlack

if TYPE_CHECKING:
    from bot.sandbox.sandbox import Sandbox

log = logging.getLogger("jerry.sandbox")
STATIC = Path(__file__).resolve().parent / "static"
SETTLE_SECONDS = 20.0
# The reactions the page offers (Slack's names); the capture emoji are among them.
EMOJI = [
    "ticket",
    "+1",
    "eyes",
    "white_check_mark",
    "heart",
    "tada",
    "rocket",
    "bug",
    "bulb",
    "fire",
    "pray",
    "raised_hands",
    "thinking_face",
    "-1",
]


# The page's own words (sandbox.page.* in the catalogs), sent in the person's language.
PAGE_TEXT = (
    "you_are",
    "clock_title",
    "skip_hour",
    "skip_day",
    "skip_summary",
    "skip_hour_title",
    "skip_day_title",
    "skip_summary_title",
    "apps",
    "channels",
    "home_tab",
    "messages_tab",
    "home",
    "messages",
    "message_placeholder",
    "composer_hint",
    "only_you",
    "edited",
    "add_reaction",
    "reply_in_thread",
    "send_to_jerry",
    "thread",
    "close",
    "reply_placeholder",
    "cancel",
    "loading_home",
    "no_messages",
    "optional",
    "choose",
    "are_you_sure",
    "yes",
    "no_answer",
    "unsupported_block",
    "unsupported_element",
)


def add_page_routes(app: web.Application, slack: SandboxSlack) -> Page:
    """The page's routes (before the server starts); `page.attach(sandbox)` once Jerry runs."""
    page = Page(slack)
    app.router.add_get("/", page.index)
    app.router.add_static("/sandbox/static/", STATIC)
    app.router.add_get("/sandbox/api/state", page.state)
    app.router.add_get("/sandbox/files/{file_id}", page.file)
    for name in ("post", "react", "shortcut", "action", "submit", "close", "skip", "open_home"):
        app.router.add_post(f"/sandbox/api/{name}", page.handler(name))
    return page


class Page:
    def __init__(self, slack: SandboxSlack) -> None:
        self.slack = slack
        self._sandbox: Sandbox | None = None

    def attach(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox

    @property
    def sandbox(self) -> Sandbox:
        if self._sandbox is None:
            raise Starting
        return self._sandbox

    async def index(self, _request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")

    async def file(self, request: web.Request) -> web.Response:
        """A file Jerry uploaded (a chart, a summary's CSV): what `slack_file` images show."""
        file = self.slack.files.get(request.match_info["file_id"])
        if file is None or file.get("content") is None:
            return web.Response(status=404, text="file_not_found")
        name = str(file.get("name") or "")
        kind = "image/png" if name.endswith(".png") else "text/plain; charset=utf-8"
        if name.endswith(".md"):
            kind = "text/markdown; charset=utf-8"
        return web.Response(body=file["content"], content_type=kind.split(";")[0])

    # --- what one person sees -------------------------------------------------------------

    async def state(self, request: web.Request) -> web.Response:
        if self._sandbox is None:
            text = t("sandbox.refused.starting", self.lang(None))
            return web.json_response({"ok": False, "error": text}, status=503)
        me = request.query.get("as") or demo.DEFAULT_PERSON
        if me not in self.slack.users or me == BOT_USER_ID:
            me = demo.DEFAULT_PERSON
        channel = request.query.get("channel") or self.slack.dm_channel(me)
        thread = request.query.get("thread") or None
        lang = self.lang(me)
        body: dict[str, Any] = {
            "version": self.slack.version,
            "me": me,
            "lang": lang,
            "text": {key: t(f"sandbox.page.{key}", lang) for key in PAGE_TEXT},
            "bot": {"id": BOT_USER_ID, "name": "Jerry"},
            "people": self.people(lang),
            "channels": self.channels(me),
            "clock": self.clock(),
            "commands": slash_commands(),
            "emoji": EMOJI,
            "channel": None,
            "thread": None,
            "home": None,
            "modal": self.slack.top_modal(me),
            "notice": None,
        }
        if channel == "home":
            body["home"] = self.slack.home.get(me)
        elif self.visible(me, channel):
            body["channel"] = {
                **self.channel_entry(me, channel),
                "messages": self.timeline(me, channel),
            }
            if thread:
                body["thread"] = self.thread(me, channel, thread)
        notice = self.slack.take_notice(me)
        if notice is not None:
            body["notice"] = {"level": notice.level, "text": notice.text}
        return web.json_response(body)

    def people(self, lang: str) -> list[dict[str, Any]]:
        roles = {p.id: p for p in demo.PEOPLE}
        return [
            {
                "id": user.id,
                "name": user.name,
                "real_name": user.real_name,
                "title": roles[user.id].title if user.id in roles else "",
                "role_label": roles[user.id].role_label(lang) if user.id in roles else "",
                "locale": user.locale,
                "tz": user.tz,
                "is_bot": False,
            }
            for user in self.slack.users.values()
            if not user.is_bot and user.id in roles
        ]

    def clock(self) -> dict[str, str]:
        now = self.sandbox.clock.now()
        return {"now": now.isoformat(), "label": label(now)}

    def visible(self, me: str, channel: str) -> bool:
        if channel.startswith("D"):
            return channel == self.slack.dm_channel(me)
        known = self.slack.channels.get(channel)
        return known is not None and (not known.members or me in known.members)

    def channel_entry(self, me: str, channel: str) -> dict[str, Any]:
        if channel.startswith("D"):
            return {"id": channel, "name": "Jerry", "kind": "app"}
        return {"id": channel, "name": self.slack.channels[channel].name, "kind": "channel"}

    def channels(self, me: str) -> list[dict[str, Any]]:
        entries = [self.channel_entry(me, self.slack.dm_channel(me))]
        for channel in self.slack.channels.values():
            if not channel.is_im and self.visible(me, channel.id):
                entries.append(self.channel_entry(me, channel.id))
        return entries

    def timeline(self, me: str, channel: str) -> list[dict[str, Any]]:
        messages = [
            m
            for m in self.slack.messages.get(channel, [])
            if not m.get("thread_ts") or m.get("thread_ts") == m["ts"]
        ]
        mine = [m for m in self.slack.ephemerals_for(me, channel) if not m.get("thread_ts")]
        shown = sorted([*messages, *mine], key=lambda m: float(m["ts"]))
        return [self.message(me, channel, m) for m in shown]

    def thread(self, me: str, channel: str, thread_ts: str) -> dict[str, Any] | None:
        root = self.slack.message(channel, thread_ts)
        if root is None:
            return None
        replies = [
            m
            for m in self.slack.messages.get(channel, [])
            if m.get("thread_ts") == thread_ts and m["ts"] != thread_ts
        ]
        replies += [
            m for m in self.slack.ephemerals_for(me, channel) if m.get("thread_ts") == thread_ts
        ]
        replies.sort(key=lambda m: float(m["ts"]))
        return {
            "root": self.message(me, channel, root),
            "replies": [self.message(me, channel, m) for m in replies],
            "replies_label": tn("sandbox.page.replies", len(replies), self.lang(me)),
        }

    def message(self, me: str, channel: str, message: dict[str, Any]) -> dict[str, Any]:
        author = message.get("user") or ""
        person = self.slack.users.get(author)
        is_bot = bool(message.get("bot_id")) or author == BOT_USER_ID
        replies = [
            m
            for m in self.slack.messages.get(channel, [])
            if m.get("thread_ts") == message["ts"] and m["ts"] != message["ts"]
        ]
        return {
            "ts": message["ts"],
            "user": author,
            "name": "Jerry" if is_bot else (person.real_name if person else author),
            "is_bot": is_bot,
            "text": message.get("text") or "",
            "blocks": message.get("blocks") or None,
            "thread_ts": message.get("thread_ts"),
            "reply_count": len(replies),
            "replies_label": tn("sandbox.page.replies", len(replies), self.lang(me)),
            "reactions": [
                {"name": r["name"], "count": r["count"], "mine": me in r["users"]}
                for r in message.get("reactions") or []
                if isinstance(r, dict)
            ],
            "ephemeral": bool(message.get("ephemeral")),
            "edited": bool(message.get("edited")),
            "files": [
                {
                    "name": f.get("name"),
                    "title": f.get("title") or f.get("name"),
                    "url": f"/sandbox/files/{f['id']}",
                }
                for f in message.get("files") or []
            ],
        }

    # --- what people do -------------------------------------------------------------------

    def lang(self, user: str | None) -> str:
        person = self.slack.users.get(user or "")
        default = self._sandbox.settings.jerry_language if self._sandbox else "en"
        return normalize_language(person.locale if person else None, default)

    def handler(self, name: str) -> Any:
        async def handle(request: web.Request) -> web.Response:
            def refuse(key: str, lang: str, status: int = 400, **params: object) -> web.Response:
                text = t(f"sandbox.refused.{key}", lang, **params)
                return web.json_response({"ok": False, "error": text}, status=status)

            try:
                body = await request.json()
            except (ValueError, UnicodeDecodeError):
                body = None
            if not isinstance(body, dict):
                return refuse("pick_person", self.lang(None))
            me = body.get("as")
            lang = self.lang(me)
            if self._sandbox is None:
                return refuse("starting", lang, 503)
            if me not in self.slack.users or me == BOT_USER_ID:
                return refuse("pick_person", lang)
            try:
                answer = await getattr(self, f"do_{name}")(me, body)
                await asyncio.wait_for(self.sandbox.settle(), SETTLE_SECONDS)
            except FormErrors as exc:  # Slack keeps the form open with the errors under inputs
                return web.json_response({"ok": False, "errors": exc.errors})
            except Refused as exc:
                return web.json_response({"ok": False, "error": exc.text(lang)}, status=400)
            except SlackError as exc:
                return refuse("slack", lang, error=exc.error)
            except TimeoutError:
                answer = {}  # Jerry goes on in the background; the page shows it when done
            except Exception as exc:  # a bug of the sandbox: the page must hear of it, not hang
                log.exception("sandbox: %s failed", name)
                return refuse("failed", lang, 500, error=exc.__class__.__name__)
            finally:
                self.slack.changed()
            return web.json_response({"ok": True, **(answer or {})})

        return handle

    async def do_post(self, me: str, body: dict[str, Any]) -> dict[str, Any]:
        channel = str(body.get("channel") or "")
        if not self.visible(me, channel):
            raise Refused("not_in_conversation")
        await self.sandbox.platform.post(
            me, channel, str(body.get("text") or ""), thread_ts=body.get("thread_ts") or None
        )
        return {}

    async def do_react(self, me: str, body: dict[str, Any]) -> dict[str, Any]:
        channel = str(body.get("channel") or "")
        if not self.visible(me, channel):
            raise Refused("not_in_conversation")
        name = str(body.get("name") or "").strip(":")
        if not name:
            raise Refused("pick_emoji")
        await self.sandbox.platform.react(
            me, channel, str(body.get("ts") or ""), name, remove=bool(body.get("remove"))
        )
        return {}

    async def do_shortcut(self, me: str, body: dict[str, Any]) -> dict[str, Any]:
        channel = str(body.get("channel") or "")
        if not self.visible(me, channel):
            raise Refused("not_in_conversation")
        await self.sandbox.platform.shortcut(me, channel, str(body.get("ts") or ""))
        return {}

    async def do_action(self, me: str, body: dict[str, Any]) -> dict[str, Any]:
        action = body.get("action")
        if not isinstance(action, dict):
            raise Refused("no_action")
        action = {**action, "action_id": body.get("action_id") or action.get("action_id")}
        if body.get("block_id"):
            action["block_id"] = body["block_id"]
        where = body.get("where") or "message"
        channel = body.get("channel")
        if where == "message" and not self.visible(me, str(channel or "")):
            raise Refused("not_in_conversation")
        state = body.get("state") if isinstance(body.get("state"), dict) else None
        await self.sandbox.platform.action(
            me,
            action,
            where=where,
            channel=channel,
            ts=body.get("ts"),
            view_id=body.get("view_id"),
            state=state,
        )
        return {}

    async def do_submit(self, me: str, body: dict[str, Any]) -> dict[str, Any]:
        values = body.get("values")
        if not isinstance(values, dict):
            raise Refused("no_values")
        answer = await self.sandbox.platform.submit(me, str(body.get("view_id") or ""), values)
        if answer.errors:
            raise FormErrors(answer.errors)
        return {}

    async def do_close(self, me: str, body: dict[str, Any]) -> dict[str, Any]:
        await self.sandbox.platform.close_view(me, str(body.get("view_id") or ""))
        return {}

    async def do_skip(self, me: str, body: dict[str, Any]) -> dict[str, Any]:
        now = await self.sandbox.skip(str(body.get("by") or ""))
        return {"label": label(now)}

    async def do_open_home(self, me: str, body: dict[str, Any]) -> dict[str, Any]:
        await self.sandbox.platform.open_home(me)
        return {}


class Starting(Exception):
    """The page was asked something before Jerry runs."""


class FormErrors(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(json.dumps(errors))
        self.errors = errors


def label(moment: datetime) -> str:
    """The sandbox clock as people read it (the demo company works in Paris)."""
    from zoneinfo import ZoneInfo

    local = moment.astimezone(ZoneInfo("Europe/Paris"))
    return local.strftime("%a %d %b %Y, %H:%M")
