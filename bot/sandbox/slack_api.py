"""A local Slack Web API on 127.0.0.1 that the real `slack_sdk` client talks to over HTTP.

The sandbox (`jerry sandbox`) runs Jerry against it, and the tests do (tests/fakeslack.py).
It answers in Slack's documented shapes (the tests compare them with Slack-written samples
in tests/slack_samples/api/), keeps a small workspace (users, channels, messages, views,
files), refuses what Slack refuses (token, required arguments, Block Kit limits, invalid
views, archived channels, membership) and can be told to fail: an `ok: false` error, HTTP
429 with Retry-After, a 5xx. Tests assert on `calls`.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import math
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from bot.sandbox.manifest import bot_scopes

TOKEN = "xoxb-test"
TEAM_ID = "T0JERRY"
BOT_USER_ID = "U0JERRYBOT"
BOT_ID = "B0JERRY"
BROADCASTS = re.compile(r"<!(channel|here|everyone)(\|[^>]*)?>|<!subteam\^[^>]*>")
MESSAGE_BLOCKS, VIEW_BLOCKS = 50, 100
SECTION_TEXT, FIELD_TEXT, HEADER_TEXT, MESSAGE_TEXT = 3000, 2000, 150, 40_000
# https://docs.slack.dev/reference/block-kit/blocks and …/block-elements
BLOCK_TYPES = {
    "actions",
    "context",
    "divider",
    "file",
    "header",
    "image",
    "input",
    "markdown",
    "rich_text",
    "section",
    "video",
    "table",
    "context_actions",
}
ELEMENT_TYPES = {
    "button",
    "checkboxes",
    "datepicker",
    "datetimepicker",
    "email_text_input",
    "image",
    "multi_static_select",
    "multi_external_select",
    "multi_users_select",
    "multi_conversations_select",
    "multi_channels_select",
    "number_input",
    "overflow",
    "plain_text_input",
    "radio_buttons",
    "rich_text_input",
    "static_select",
    "external_select",
    "users_select",
    "conversations_select",
    "channels_select",
    "timepicker",
    "url_text_input",
    "workflow_button",
    "file_input",
}
# Slack's body for a 429 (tests/slack_samples/api/ratelimited.429.body.json).
RATELIMITED = {"ok": False, "error": "ratelimited"}


def manifest_bot_scopes() -> list[str]:
    """The bot scopes in the repository's manifest.yml."""
    return list(bot_scopes())


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str | None
    response: dict[str, Any] = field(default_factory=dict)
    status: int = 200
    at: float = field(default_factory=time.monotonic)  # when it arrived (for backoff checks)
    peer: Any = None  # the client's address and port: one per TCP connection

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))

    def __getitem__(self, key: str) -> Any:
        return self.args[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.args.get(key, default)


@dataclass
class Failure:
    error: str | None = None  # ok: false with this error
    status: int = 200  # 429 or 5xx
    retry_after: int = 0
    times: int = 1
    when: Callable[[dict[str, Any]], bool] | None = None


@dataclass
class Slowness:
    """An answer Slack is slow to give: the call is done, its answer comes `seconds` later."""

    seconds: float
    times: int = 1
    when: Callable[[dict[str, Any]], bool] | None = None


@dataclass
class _Bucket:
    """A token bucket: `rate` calls a second, up to `burst` at once."""

    rate: float
    burst: float
    tokens: float = -1.0
    at: float = 0.0

    def wait(self, now: float) -> float:
        """0 when a call may go now, else the seconds until it may."""
        if self.tokens < 0:
            self.tokens, self.at = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


# Slack's documented tiers (https://api.slack.com/apis/rate-limits) of the methods Jerry
# calls, in calls per minute: Tier 2 20+, Tier 3 50+, Tier 4 100+.
METHOD_TIERS: dict[str, int] = {
    "conversations.open": 50,
    "conversations.history": 50,
    "conversations.replies": 50,
    "conversations.info": 50,
    "conversations.members": 100,
    "users.info": 100,
    "users.list": 20,
    "users.lookupByEmail": 50,
    "usergroups.users.list": 20,
    "chat.getPermalink": 100,
    "chat.update": 50,
    "chat.postEphemeral": 100,
    "reactions.add": 50,
    "views.publish": 100,
    "team.info": 20,
}


@dataclass
class User:
    id: str
    name: str
    real_name: str
    email: str | None = None
    tz: str = "Europe/Paris"
    tz_offset: int = 3600
    locale: str = "en-US"
    deleted: bool = False
    is_bot: bool = False
    is_admin: bool = False
    team: str = TEAM_ID  # Slack Connect: a person of another organisation has its team


@dataclass
class Channel:
    id: str
    name: str
    is_archived: bool = False
    is_member: bool = True
    members: list[str] = field(default_factory=list)
    is_im: bool = False
    user: str | None = None  # the other party of a DM


class SlackError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


class LocalSlack:
    """The local workspace and its Web API server."""

    def __init__(self, *, token: str = TOKEN, strict_channels: bool = False) -> None:
        self.token = token
        # Unknown C… channels exist (with the bot in them) unless strict: tests add only the
        # channels whose state matters.
        self.strict_channels = strict_channels
        self.auto_users = False
        self.echo = False  # print each call (when run by hand)
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.usergroups: dict[str, list[str]] = {}
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.home: dict[str, dict[str, Any]] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.calls: list[Call] = []
        self.responses: list[dict[str, Any]] = []  # what was POSTed to response_urls
        # Slack Connect: other organisations' teams (id → name), for team.info.
        self.external_teams: dict[str, str] = {}
        self.violations: list[str] = []  # things real Slack would reject or that would ping
        self.failures: dict[str, list[Failure]] = {}
        # The scopes the token was granted: by default every bot scope manifest.yml asks for.
        self.scopes: list[str] = manifest_bot_scopes()
        self.expired_response_urls: set[str] = set()
        # An outage: while set, every Web API call answers this HTTP status (e.g. 503).
        self.outage_status: int | None = None
        self.slow: dict[str, list[Slowness]] = {}
        # Slack's pace for chat.postMessage: about one message per second per channel; when
        # set, a faster post to a channel is answered 429 with Retry-After.
        self.channel_post_interval: float | None = None
        # Slack allows short bursts over that pace: this many posts to a channel at once.
        self.channel_post_burst = 1
        self._channel_buckets: dict[str, _Bucket] = {}
        # A workspace-wide ceiling on chat.postMessage (messages per second, bursts of a
        # second's worth). Slack publishes no number: an assumption the benchmark states.
        self.workspace_post_rate: float | None = None
        self._workspace_bucket: _Bucket | None = None
        # Per-method limits in calls per minute (Slack's tiers: Tier 2 20, Tier 3 50, Tier 4
        # 100), each answered 429 with Retry-After like Slack. See METHOD_TIERS.
        self.method_limits: dict[str, int] = {}
        self._method_buckets: dict[str, _Bucket] = {}
        # Random 429s on any call, this fraction of them (Retry-After: 1), from `rng`.
        self.random_429_rate = 0.0
        self.rng = random.Random(0)
        # Every answer comes this much later (a network round trip to Slack).
        self.latency = 0.0
        self._ts = itertools.count(1)
        # Seconds since the epoch for message timestamps (the sandbox moves it ahead).
        self.clock: Callable[[], float] = time.time
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.add_user(BOT_USER_ID, "jerry", is_bot=True)

    # --- the workspace ---------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        name: str | None = None,
        *,
        real_name: str | None = None,
        email: str | None = None,
        tz: str = "Europe/Paris",
        tz_offset: int = 3600,
        locale: str = "en-US",
        deleted: bool = False,
        is_bot: bool = False,
        is_admin: bool = False,
    ) -> User:
        name = name or user_id.lower()
        user = User(
            user_id,
            name,
            real_name or name.title(),
            email if email is not None else f"{name}@example.com",
            tz,
            tz_offset,
            locale,
            deleted,
            is_bot,
            is_admin,
        )
        self.users[user_id] = user
        return user

    def add_channel(
        self,
        channel_id: str,
        name: str | None = None,
        *,
        archived: bool = False,
        member: bool = True,
        members: list[str] | None = None,
    ) -> Channel:
        channel = Channel(channel_id, name or channel_id.lower(), archived, member, members or [])
        self.channels[channel_id] = channel
        return channel

    def dm_channel(self, user_id: str) -> str:
        return "D" + user_id[1:]

    # --- failures --------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        error: str,
        *,
        times: int = 1,
        when: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        """The next `times` calls of `method` (matching `when`) answer ok: false, `error`."""
        self.failures.setdefault(method, []).append(Failure(error=error, times=times, when=when))

    def rate_limit_next(
        self, method: str, *, times: int = 1, retry_after: int = 0, when: Callable | None = None
    ) -> None:
        """HTTP 429 with Retry-After, as Slack does for a method over its limit."""
        self.failures.setdefault(method, []).append(
            Failure(status=429, retry_after=retry_after, times=times, when=when)
        )

    def server_error_next(
        self, method: str, *, status: int = 503, times: int = 1, when: Callable | None = None
    ) -> None:
        self.failures.setdefault(method, []).append(Failure(status=status, times=times, when=when))

    def slow_next(
        self,
        method: str,
        seconds: float,
        *,
        times: int = 1,
        when: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        """The next `times` calls of `method` (matching `when`) are done at once (a message
        is posted) but answered only `seconds` later: a slow Slack."""
        self.slow.setdefault(method, []).append(Slowness(seconds, times, when))

    def _slowness_for(self, method: str, args: dict[str, Any]) -> float:
        for slowness in self.slow.get(method, []):
            if slowness.times > 0 and (slowness.when is None or slowness.when(args)):
                slowness.times -= 1
                return slowness.seconds
        return 0.0

    def _paced(self, method: str, args: dict[str, Any]) -> float | None:
        """Seconds to wait (Retry-After) when this call is over one of Slack's limits (a
        random 429, the method's tier, the channel's pace, the workspace's ceiling); None when
        it may go (and it counts against each of them)."""
        now = time.monotonic()
        if self.random_429_rate and self.rng.random() < self.random_429_rate:
            return 1.0
        buckets: list[_Bucket] = []
        per_minute = self.method_limits.get(method)
        if per_minute:
            bucket = self._method_buckets.get(method)
            if bucket is None:
                # Slack's tiers allow bursts: a minute's worth at once, then the pace.
                bucket = self._method_buckets[method] = _Bucket(per_minute / 60.0, per_minute)
            buckets.append(bucket)
        if method == "chat.postMessage" and self.channel_post_interval:
            channel = self._resolve_channel_id(str(args.get("channel") or ""))
            bucket = self._channel_buckets.get(channel)
            if bucket is None:
                bucket = self._channel_buckets[channel] = _Bucket(
                    1.0 / self.channel_post_interval, self.channel_post_burst
                )
            buckets.append(bucket)
        if method == "chat.postMessage" and self.workspace_post_rate:
            if self._workspace_bucket is None:
                rate = self.workspace_post_rate
                self._workspace_bucket = _Bucket(rate, max(1.0, rate))
            buckets.append(self._workspace_bucket)
        waits = [bucket.wait(now) for bucket in buckets]
        if any(waits):
            return max(waits)
        for bucket in buckets:
            bucket.take()
        return None

    def _failure_for(self, method: str, args: dict[str, Any]) -> Failure | None:
        for failure in self.failures.get(method, []):
            if failure.times > 0 and (failure.when is None or failure.when(args)):
                failure.times -= 1
                return failure
        return None

    # --- what tests look at ----------------------------------------------------------------

    def calls_to(self, method: str, *, ok: bool | None = None) -> list[Call]:
        return [c for c in self.calls if c.method == method and (ok is None or c.ok == ok)]

    def posts(self, channel: str | None = None) -> list[Call]:
        """Successful chat.postMessage calls, to `channel` (a user id means their DM)."""
        wanted = None if channel is None else self._resolve_channel_id(channel)
        return [
            c
            for c in self.calls_to("chat.postMessage", ok=True)
            if wanted is None or c.response.get("channel") == wanted
        ]

    def dms_to(self, user_id: str) -> list[Call]:
        return self.posts(self.dm_channel(user_id))

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        for message in self.messages.get(self._resolve_channel_id(channel), []):
            if message["ts"] == ts:
                return message
        return None

    def thread(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        return [
            m
            for m in self.messages.get(self._resolve_channel_id(channel), [])
            if m.get("thread_ts") == thread_ts and m["ts"] != thread_ts
        ]

    async def wait_for(
        self,
        predicate: Callable[[], Any],
        *,
        timeout: float = 10.0,
        message: str = "condition",
    ) -> Any:
        """Poll until `predicate()` is truthy (the bot works after its ack, in the background)."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {message}; calls: {self.summary()}")
            await asyncio.sleep(0.01)

    async def wait_for_call(
        self,
        method: str,
        where: Callable[[Call], bool] = lambda c: True,
        *,
        count: int = 1,
        timeout: float = 10.0,
    ) -> list[Call]:
        return await self.wait_for(
            lambda: (m := [c for c in self.calls_to(method) if where(c)])[count - 1 :] and m,
            timeout=timeout,
            message=f"{count} call(s) to {method}",
        )

    def summary(self) -> list[str]:
        return [
            f"{c.method}({c.args.get('channel') or c.args.get('user') or ''}) -> "
            f"{c.status} {c.response.get('error') or 'ok'}"
            for c in self.calls[-30:]
        ]

    def response_url(self, name: str = "") -> str:
        return f"{self.base}/response/{name or next(self._ids)}"

    # --- the server ------------------------------------------------------------------------

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def add_routes(self, app: web.Application) -> None:
        """The Web API, response_url and file upload routes, on `app`."""
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/response/{name}", self._handle_response_url)
        app.router.add_post("/upload/{file_id}", self._handle_upload)

    async def start(self, port: int = 0) -> LocalSlack:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        self.add_routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        url = str(request.url)
        body = await request.json()
        self.responses.append({"url": url, **body})
        if self.echo:  # running by hand: show what the app answered through response_url
            print(
                f"response_url {json.dumps({'text': body.get('text')}, ensure_ascii=False)[:300]}"
            )
            for line in _readable_blocks(body.get("blocks") or []):
                print(f"    {line}", flush=True)
        if request.match_info["name"] in self.expired_response_urls:
            return web.Response(status=404, text="expired_url")
        self._check_message("response_url", body)
        return web.Response(text="ok")

    async def _handle_upload(self, request: web.Request) -> web.Response:
        file = self.files.get(request.match_info["file_id"])
        if file is None:
            return web.Response(status=404, text="not found")
        data = await request.read()
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            data = b""
            async for part in reader:
                data += await part.read()  # type: ignore[union-attr]
        file["content"] = data
        return web.Response(text=f"OK - {len(data)}")

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        raw = await request.read()
        if raw:
            if request.content_type == "application/json":
                args.update(json.loads(raw))
            else:
                args.update(parse_qsl(raw.decode(), keep_blank_values=True))
        for key in ("blocks", "view", "attachments", "files", "metadata"):
            if isinstance(args.get(key), str) and args[key][:1] in "[{":
                args[key] = json.loads(args[key])
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth else args.pop("token", None)
        call = Call(method, args, token)
        call.peer = request.transport.get_extra_info("peername") if request.transport else None
        self.calls.append(call)
        if self.echo:  # running by hand: show what the app asked of Slack
            shown = {k: v for k, v in args.items() if k in ("channel", "user", "thread_ts", "text")}
            print(f"{method} {json.dumps(shown, ensure_ascii=False)[:300]}", flush=True)
            for line in _readable_blocks(args.get("blocks") or (args.get("view") or {})):
                print(f"    | {line}", flush=True)
        if self.latency:
            await asyncio.sleep(self.latency)
        if self.outage_status is not None:
            call.status = self.outage_status
            return web.Response(status=self.outage_status, text="slack is down")
        failure = self._failure_for(method, args)
        wait = self._paced(method, args) if failure is None else None
        if wait is not None:
            call.status, call.response = 429, dict(RATELIMITED)
            return web.json_response(
                call.response, status=429, headers={"Retry-After": str(max(1, math.ceil(wait)))}
            )
        if failure is not None and failure.status == 429:
            call.status, call.response = 429, dict(RATELIMITED)
            return web.json_response(
                call.response, status=429, headers={"Retry-After": str(failure.retry_after)}
            )
        if failure is not None and failure.status >= 500:
            call.status = failure.status
            return web.Response(status=failure.status, text="upstream trouble")
        try:
            if token is None:
                raise SlackError("not_authed")
            if token != self.token:
                raise SlackError("invalid_auth")
            if failure is not None:
                raise SlackError(failure.error or "internal_error")
            handler = getattr(self, "api_" + method.replace(".", "_"), None)
            if handler is None:
                raise SlackError("unknown_method")
            response = {"ok": True, **handler(args)}
        except SlackError as exc:
            response = {"ok": False, "error": exc.error, **exc.extra}
        call.response = response
        delay = self._slowness_for(method, args)
        if delay:
            await asyncio.sleep(delay)
        # Slack names the token's scopes on every Web API answer
        # (https://docs.slack.dev/authentication/tokens: "x-oauth-scopes").
        return web.json_response(response, headers={"x-oauth-scopes": ",".join(self.scopes)})

    # --- checks ----------------------------------------------------------------------------

    def _check_message(self, where: str, args: dict[str, Any]) -> None:
        """Raise what Slack would for a message; record anything that would ping everyone."""
        text, blocks = args.get("text"), args.get("blocks")
        if not text and not blocks and not args.get("attachments"):
            raise SlackError("no_text")
        if blocks and not (text or "").strip():
            # Slack shows the top-level text in notifications and to screen readers: a message
            # of blocks without it is refused here (Slack itself only warns).
            self.violations.append(f"{where}: blocks without the text fallback")
            raise SlackError("no_text", errors=["a message with blocks needs its text fallback"])
        if text and len(text) > MESSAGE_TEXT:
            raise SlackError("msg_too_long")
        if blocks:
            self._check_blocks(where, blocks, MESSAGE_BLOCKS)
        for string in [text or "", *self._mrkdwn(blocks or [])]:
            if BROADCASTS.search(string):
                self.violations.append(f"{where}: broadcast mention in {string[:200]!r}")

    def _check_blocks(self, where: str, blocks: Any, limit: int) -> None:
        if not isinstance(blocks, list) or len(blocks) > limit:
            self.violations.append(f"{where}: {len(blocks)} blocks (limit {limit})")
            raise SlackError("invalid_blocks", errors=[f"must provide at most {limit} items"])
        block_ids = [b.get("block_id") for b in blocks if isinstance(b, dict) and b.get("block_id")]
        if len(block_ids) != len(set(block_ids)):
            self.violations.append(f"{where}: a block_id used twice")
            raise SlackError(
                "invalid_blocks", errors=["block_id must be unique [json-pointer:/blocks]"]
            )
        for n, block in enumerate(blocks):
            problem = self._block_problem(block) if isinstance(block, dict) else "not an object"
            if problem:
                self.violations.append(f"{where}: block {n}: {problem}")
                raise SlackError("invalid_blocks", errors=[f"{problem} [json-pointer:/blocks/{n}]"])

    @staticmethod
    def _block_problem(block: dict[str, Any]) -> str | None:
        kind = block.get("type")
        if kind not in BLOCK_TYPES:
            return f"unknown block type {kind!r}"
        text = (block.get("text") or {}).get("text", "")
        for element in [
            *(block.get("elements") or [] if kind == "actions" else []),
            block.get("accessory"),
            block.get("element"),
        ]:
            problem = _element_problem(element) if element is not None else None
            if problem:
                return problem
        if kind == "input":
            label = block.get("label") or {}
            if label.get("type") != "plain_text" or not 0 < len(label.get("text") or "") <= 2000:
                return "input needs a plain_text label of 1 to 2000 characters"
            if not isinstance(block.get("element"), dict):
                return "input needs an element"
        if kind == "section":
            if not text and not block.get("fields"):
                return "section needs text or fields"
            if len(text) > SECTION_TEXT:
                return f"section text is {len(text)} characters"
            if len(block.get("fields") or []) > 10:
                return "more than 10 fields"
            for f in block.get("fields") or []:
                if len(f.get("text", "")) > FIELD_TEXT:
                    return "field text too long"
        if kind == "header" and len(text) > HEADER_TEXT:
            return f"header text is {len(text)} characters"
        if kind in {"actions", "context"}:
            elements = block.get("elements") or []
            if not elements or len(elements) > (25 if kind == "actions" else 10):
                return f"{kind} has {len(elements)} elements"
            action_ids = [e["action_id"] for e in elements if "action_id" in e]
            if len(action_ids) != len(set(action_ids)):
                return "action_id must be unique within a block"
            for element in elements:
                if element.get("type") == "button" and len(element["text"]["text"]) > 75:
                    return "button text too long"
                if element.get("type") in {"mrkdwn", "plain_text"} and len(element["text"]) > 3000:
                    return "context text too long"
        if kind == "image":
            # https://docs.slack.dev/reference/block-kit/blocks/image-block: alt_text required
            # (2000 at most), and exactly one of image_url and slack_file (itself exactly one
            # of url and id).
            alt = block.get("alt_text")
            if not isinstance(alt, str) or not alt or len(alt) > 2000:
                return "image needs alt_text of 1 to 2000 characters"
            source = [key for key in ("image_url", "slack_file") if key in block]
            if len(source) != 1:
                return "image needs exactly one of image_url and slack_file"
            if "slack_file" in block:
                file = block["slack_file"]
                if not isinstance(file, dict) or len({"url", "id"} & set(file)) != 1:
                    return "slack_file needs exactly one of url and id"
            title = (block.get("title") or {}).get("text", "")
            if len(title) > 2000:
                return "image title too long"
        if "block_id" in block and len(block["block_id"]) > 255:
            return "block_id too long"
        return None

    @classmethod
    def _mrkdwn(cls, value: Any) -> list[str]:
        if isinstance(value, dict):
            if value.get("type") == "plain_text":
                return []
            if value.get("type") == "mrkdwn":
                return [value.get("text", "")]
            return [s for k, v in value.items() if k != "initial_value" for s in cls._mrkdwn(v)]
        if isinstance(value, list):
            return [s for v in value for s in cls._mrkdwn(v)]
        return []

    def _check_view(self, view: Any) -> dict[str, Any]:
        if not isinstance(view, dict) or view.get("type") not in {"modal", "home"}:
            raise SlackError("invalid_arguments")
        self._check_blocks("view", view.get("blocks") or [], VIEW_BLOCKS)
        if view["type"] == "modal":
            title = (view.get("title") or {}).get("text", "")
            if not title or len(title) > 24:
                self.violations.append(f"view: title {title!r}")
                raise SlackError("invalid_arguments")
            # https://docs.slack.dev/reference/views/modal-views: submit is required when the
            # blocks hold an input; submit and close are plain_text of 24 characters at most.
            inputs = any(b.get("type") == "input" for b in view.get("blocks") or [])
            if inputs and not view.get("submit"):
                self.violations.append("view: input blocks without a submit button")
                raise SlackError("invalid_arguments", errors=["submit is required with inputs"])
            for key in ("submit", "close"):
                button = view.get(key)
                if button is not None and (
                    not isinstance(button, dict)
                    or button.get("type") != "plain_text"
                    or not 0 < len(button.get("text") or "") <= 24
                ):
                    self.violations.append(f"view: {key} {button!r}")
                    raise SlackError(
                        "invalid_arguments", errors=[f"{key} must be 1 to 24 characters"]
                    )
        if len(view.get("callback_id") or "") > 255:
            self.violations.append("view: callback_id over 255 characters")
            raise SlackError("invalid_arguments")
        if len(view.get("private_metadata") or "") > 3000:
            self.violations.append("view: private_metadata over 3000 characters")
            raise SlackError("invalid_arguments")
        for string in self._mrkdwn(view.get("blocks") or []):
            if BROADCASTS.search(string):
                self.violations.append(f"view: broadcast mention in {string[:200]!r}")
        return view

    # --- channels and users ----------------------------------------------------------------

    def _user(self, user_id: str | None) -> User:
        if not user_id:
            raise SlackError("user_not_found")
        user = self.users.get(user_id)
        if user is None and self.auto_users and user_id.startswith(("U", "W")):
            user = self.add_user(user_id)
        if user is None:
            raise SlackError("user_not_found")
        return user

    def _resolve_channel_id(self, channel: str) -> str:
        return self.dm_channel(channel) if channel[:1] in {"U", "W"} else channel

    def _channel_for_post(self, channel: str | None) -> str:
        """Where a message to `channel` lands; raises what Slack would."""
        if not channel:
            raise SlackError("channel_not_found")
        if channel[:1] in {"U", "W"}:
            user = self.users.get(channel)
            if user is None and self.auto_users:
                user = self._user(channel)
            if user is None:
                raise SlackError("channel_not_found")
            if user.is_bot:
                raise SlackError("cannot_dm_bot")
            if user.deleted:
                raise SlackError("user_disabled")
            return self.dm_channel(channel)
        if channel.startswith("D"):
            user = self.users.get("U" + channel[1:])
            if user is None or user.deleted:
                raise SlackError("channel_not_found")
            return channel
        known = self.channels.get(channel)
        if known is None:
            if self.strict_channels:
                raise SlackError("channel_not_found")
            known = self.add_channel(channel)
        if known.is_archived:
            raise SlackError("is_archived")
        if not known.is_member:
            raise SlackError("not_in_channel")
        return channel

    def _next_ts(self) -> str:
        return f"{int(self.clock())}.{next(self._ts):06d}"

    # --- Web API methods -------------------------------------------------------------------

    def api_api_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"args": args}

    def api_auth_test(self, _args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://jerry-test.slack.com/",
            "team": "Jerry Test",
            "user": "jerry",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def api_team_info(self, args: dict[str, Any]) -> dict[str, Any]:
        team = args.get("team") or TEAM_ID
        if team != TEAM_ID:  # Slack Connect: another organisation Jerry shares a channel with
            if team not in self.external_teams:
                raise SlackError("team_not_found")
            name = self.external_teams[team]
            return {"team": {"id": team, "name": name, "domain": name.lower().replace(" ", "-")}}
        return {"team": {"id": TEAM_ID, "name": "Jerry Test", "domain": "jerry-test"}}

    def api_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_for_post(args.get("channel"))
        self._check_message("chat.postMessage", args)
        thread_ts = args.get("thread_ts") or None
        if thread_ts and not any(m["ts"] == thread_ts for m in self.messages.get(channel, [])):
            # Slack posts to a thread whose parent it does not know as a new message; tests
            # seed parents they rely on, so flag it.
            self.violations.append(f"chat.postMessage: unknown thread_ts {thread_ts}")
        message = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": "A0JERRY",
            "text": args.get("text") or "",
            "blocks": copy.deepcopy(args.get("blocks") or []),
            "ts": self._next_ts(),
            "team": TEAM_ID,
        }
        if thread_ts:
            message["thread_ts"] = thread_ts
        if isinstance(args.get("metadata"), dict):  # https://api.slack.com/metadata
            message["metadata"] = copy.deepcopy(args["metadata"])
        self.messages.setdefault(channel, []).append(message)
        return {"channel": channel, "ts": message["ts"], "message": message}

    def add_message(
        self, channel: str, user: str, text: str, *, thread_ts: str | None = None
    ) -> dict[str, Any]:
        """A message a person wrote (so permalinks, threads and replies can find it)."""
        message = {"type": "message", "user": user, "text": text, "ts": self._next_ts()}
        if thread_ts:
            message["thread_ts"] = thread_ts
        self.messages.setdefault(self._resolve_channel_id(channel), []).append(message)
        return message

    def api_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_for_post(args.get("channel"))
        user = self._user(args.get("user"))
        known = self.channels.get(channel)
        if known is not None and known.members and user.id not in known.members:
            raise SlackError("user_not_in_channel")
        self._check_message("chat.postEphemeral", args)
        thread_ts = args.get("thread_ts") or None
        if thread_ts and not any(m["ts"] == thread_ts for m in self.messages.get(channel, [])):
            self.violations.append(f"chat.postEphemeral: unknown thread_ts {thread_ts}")
        return {"message_ts": self._next_ts()}

    def api_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel_id(args.get("channel") or "")
        message = self.message(channel, args.get("ts") or "")
        if message is None:
            raise SlackError("message_not_found")
        if message.get("user") != BOT_USER_ID:
            raise SlackError("cant_update_message")
        self._check_message("chat.update", args)
        message["text"] = args.get("text") or ""
        message["blocks"] = copy.deepcopy(args.get("blocks") or [])
        message["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
        return {"channel": channel, "ts": message["ts"], "text": message["text"]}

    def api_chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel_id(args.get("channel") or "")
        message = self.message(channel, args.get("ts") or "")
        if message is None:
            raise SlackError("message_not_found")
        self.messages[channel].remove(message)
        return {"channel": channel, "ts": message["ts"]}

    def api_chat_getPermalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = args.get("channel") or ""
        if channel in self.channels and self.channels[channel].is_archived:
            raise SlackError("channel_not_found")
        ts = args.get("message_ts") or ""
        if not ts:
            raise SlackError("message_not_found")
        return {
            "channel": channel,
            "permalink": f"https://jerry-test.slack.com/archives/{channel}/p{ts.replace('.', '')}",
        }

    def api_conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = [u for u in (args.get("users") or "").split(",") if u]
        if len(users) != 1:
            raise SlackError("not_implemented" if users else "users_list_not_supplied")
        return {"channel": {"id": self._channel_for_post(users[0])}}

    def api_conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.channels.get(args.get("channel") or "")
        if channel is None:
            raise SlackError("channel_not_found")
        return {
            "channel": {
                "id": channel.id,
                "name": channel.name,
                "is_channel": True,
                "is_archived": channel.is_archived,
                "is_member": channel.is_member,
                "is_private": False,
            }
        }

    def api_conversations_members(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.channels.get(args.get("channel") or "")
        if channel is None:
            raise SlackError("channel_not_found")
        return self._page(channel.members, args, "members")

    def api_conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel_id(args.get("channel") or "")
        ts = args.get("ts") or ""
        parent = self.message(channel, ts)
        if parent is not None and parent.get("thread_ts") not in (None, parent["ts"]):
            # A reply's ts names its thread, as Slack reads it: the parent, then the replies.
            parent = self.message(channel, parent["thread_ts"])
        if parent is None:
            raise SlackError("thread_not_found")
        ts = parent["ts"]
        replies = [m for m in self.thread(channel, ts) if self._in_timeline(m, args)]
        messages = [self._as_read(m, args) for m in [parent, *replies]]
        return {"messages": messages, "has_more": False}

    def api_conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        """A channel's messages, newest first (thread replies are not in it); `oldest` and
        `latest` bound it; metadata only with include_all_metadata, as Slack does."""
        channel = self._resolve_channel_id(args.get("channel") or "")
        if channel[:1] not in {"C", "G", "D"} or (
            channel.startswith("C") and channel not in self.channels and self.strict_channels
        ):
            raise SlackError("channel_not_found")
        top_level = [
            m
            for m in self.messages.get(channel, [])
            if m.get("thread_ts") in (None, m["ts"]) and self._in_timeline(m, args)
        ]
        newest_first = [self._as_read(m, args) for m in reversed(top_level)]
        page = self._page(newest_first, args, "messages")
        page["has_more"] = bool(page["response_metadata"]["next_cursor"])
        return page

    @staticmethod
    def _in_timeline(message: dict[str, Any], args: dict[str, Any]) -> bool:
        inclusive = str(args.get("inclusive") or "").lower() in {"1", "true"}
        ts = float(message["ts"])
        if args.get("oldest"):
            oldest = float(args["oldest"])
            if ts < oldest or (ts == oldest and not inclusive):
                return False
        if args.get("latest"):
            latest = float(args["latest"])
            if ts > latest or (ts == latest and not inclusive):
                return False
        return True

    @staticmethod
    def _as_read(message: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
        if str(args.get("include_all_metadata") or "").lower() in {"1", "true"}:
            return message
        return {k: v for k, v in message.items() if k != "metadata"}

    def _page(self, values: list[Any], args: dict[str, Any], key: str) -> dict[str, Any]:
        limit = int(args.get("limit") or 100)
        cursor = args.get("cursor") or ""
        if cursor and not cursor.startswith("next:"):
            raise SlackError("invalid_cursor")
        start = int(cursor[5:]) if cursor else 0
        page = values[start : start + limit]
        more = start + limit < len(values)
        return {
            key: page,
            "response_metadata": {"next_cursor": f"next:{start + limit}" if more else ""},
        }

    def _user_json(self, user: User) -> dict[str, Any]:
        return {
            "id": user.id,
            "team_id": user.team,
            "name": user.name,
            "deleted": user.deleted,
            "real_name": user.real_name,
            "tz": user.tz,
            "tz_label": user.tz,
            "tz_offset": user.tz_offset,
            "locale": user.locale,
            "is_admin": user.is_admin,
            "is_bot": user.is_bot,
            "is_app_user": False,
            "updated": 1502138686,
            "profile": {
                "real_name": user.real_name,
                "display_name": user.name,
                "email": user.email,
                "team": TEAM_ID,
            },
        }

    def api_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"user": self._user_json(self._user(args.get("user")))}

    def api_users_lookupByEmail(self, args: dict[str, Any]) -> dict[str, Any]:
        email = (args.get("email") or "").lower()
        for user in self.users.values():
            if user.email and user.email.lower() == email and not user.deleted:
                return {"user": self._user_json(user)}
        raise SlackError("users_not_found")

    def api_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._page([self._user_json(u) for u in self.users.values()], args, "members")

    def api_usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group = self.usergroups.get(args.get("usergroup") or "")
        if group is None:
            raise SlackError("no_such_subteam")
        return {"users": list(group)}

    def api_reactions_add(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel_id(args.get("channel") or "")
        message = self.message(channel, args.get("timestamp") or "")
        if message is None:
            raise SlackError("message_not_found")
        name = args.get("name") or ""
        reactions = message.setdefault("reactions", [])
        if name in reactions:
            raise SlackError("already_reacted")
        reactions.append(name)
        return {}

    def api_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        trigger = args.get("trigger_id") or ""
        if not trigger:
            raise SlackError("invalid_arguments")
        if trigger.startswith("expired"):
            raise SlackError("expired_trigger_id")
        view = self._check_view(args.get("view"))
        view_id = f"V{next(self._ids):08d}"
        stored = {**view, "id": view_id, "hash": f"{time.time_ns()}.hash", "state": {"values": {}}}
        self.views[view_id] = stored
        return {"view": stored}

    api_views_push = api_views_open

    def api_views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = args.get("view_id") or ""
        if view_id not in self.views:
            raise SlackError("not_found")
        view = self._check_view(args.get("view"))
        self.views[view_id] = {**view, "id": view_id, "hash": f"{time.time_ns()}.hash"}
        return {"view": self.views[view_id]}

    def api_views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._user(args.get("user_id"))
        view = self._check_view(args.get("view"))
        if view.get("type") != "home":
            raise SlackError("invalid_arguments")
        self.home[user.id] = {**view, "id": f"VH{user.id}"}
        return {"view": self.home[user.id]}

    def api_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("filename") or not args.get("length"):
            raise SlackError("invalid_arguments")
        file_id = f"F{next(self._ids):08d}"
        self.files[file_id] = {
            "id": file_id,
            "name": args["filename"],
            "length": int(args["length"]),
            "content": None,
        }
        return {"upload_url": f"{self.base}/upload/{file_id}", "file_id": file_id}

    def api_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        entries = args.get("files") or []
        # `channels`: comma-separated channel or user ids (a user id: the DM with the bot).
        targets = [c for c in (args.get("channels") or "").split(",") if c]
        shared_in = ",".join(self._channel_for_post(c) for c in targets) or None
        done = []
        for entry in entries:
            file = self.files.get(entry.get("id", ""))
            if file is None or file["content"] is None:
                raise SlackError("file_not_found")
            file.update(
                title=entry.get("title"),
                channel=args.get("channel_id") or shared_in,
                thread_ts=args.get("thread_ts"),
                initial_comment=args.get("initial_comment"),
            )
            done.append({"id": file["id"], "name": file["name"], "title": entry.get("title")})
        if args.get("channel_id"):
            self._channel_for_post(args["channel_id"])
        return {"files": done}


def _readable_blocks(blocks: object) -> list[str]:
    """The texts and button labels of a message or view, a line each (for reading by hand)."""
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except ValueError:
            return []
    if isinstance(blocks, dict):
        blocks = blocks.get("blocks", [])
    lines: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("plain_text", "mrkdwn") and isinstance(node.get("text"), str):
                lines.extend(node["text"].split("\n"))
                return
            if node.get("type") == "button":
                lines.append(f"[{node.get('text', {}).get('text')}]")
                return
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return lines


def _element_problem(element: Any) -> str | None:
    """What Slack refuses in one interactive element (or an image accessory)."""
    if not isinstance(element, dict):
        return "an element must be an object"
    kind = element.get("type")
    if kind not in ELEMENT_TYPES:
        return f"unknown element type {kind!r}"
    if len(element.get("action_id") or "") > 255:
        return "action_id over 255 characters"
    if kind == "button":
        label = element.get("text") or {}
        if label.get("type") != "plain_text" or not 0 < len(label.get("text") or "") <= 75:
            return "button text must be plain_text of 1 to 75 characters"
        if len(element.get("value") or "") > 2000:
            return "button value over 2000 characters"
    if kind in {"static_select", "multi_static_select", "overflow", "checkboxes", "radio_buttons"}:
        options = list(element.get("options") or [])
        for group in element.get("option_groups") or []:
            options += group.get("options") or []
        if not options:
            return f"{kind} needs options"
        limit = (
            5 if kind == "overflow" else (10 if kind in {"checkboxes", "radio_buttons"} else 100)
        )
        if len(element.get("options") or []) > limit:
            return f"{kind} has more than {limit} options"
        for option in options:
            if len((option.get("text") or {}).get("text") or "") > 75:
                return "option text over 75 characters"
            if len(option.get("value") or "") > 150:
                return "option value over 150 characters"
    return None
