"""A fake feed server on 127.0.0.1: GitHub's releases API, RSS, Atom and JSON Feed.

Each resource is a path with a body; the server answers with an ETag and a Last-Modified and
honours If-None-Match / If-Modified-Since with 304, as real servers do. It can be told to
fail, per path, for the next N requests (or until `heal`):

    feeds.set_body("/changelog.xml", rss(...), "application/rss+xml")
    feeds.fail("/changelog.xml", "500")          # 500, hang, invalid_xml, invalid_json,
                                                 # trickle, rate_limit, huge, huge_declared
    feeds.requests_to("/changelog.xml")[-1].headers["If-None-Match"]
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web

FAILURES = (
    "500",
    "hang",
    "trickle",
    "invalid_xml",
    "invalid_json",
    "rate_limit",
    "huge",
    "huge_declared",
)
TRICKLE_SECONDS = 0.1  # between two bytes: each read is quick, the whole never ends
HUGE_BYTES = 6 * 1024 * 1024  # over Jerry's 5 MB cap
RATE_LIMIT_RESET = 1_900_000_000  # 2030-03-17 17:46:40 UTC


@dataclass
class Resource:
    body: bytes
    content_type: str
    etag: str
    last_modified: str


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    status: int = 0


@dataclass
class FakeFeeds:
    resources: dict[str, Resource] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    failures: dict[str, list[str]] = field(default_factory=dict)  # path -> kinds, in order
    _versions: int = 0
    _runner: web.AppRunner | None = None
    _release: asyncio.Event = field(default_factory=asyncio.Event)
    port: int = 0

    # --- the server ----------------------------------------------------------------------

    async def start(self) -> FakeFeeds:
        app = web.Application()
        app.router.add_get("/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        self._release.set()  # let hanging handlers end
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    # --- what it serves ------------------------------------------------------------------

    def set_body(self, path: str, body: bytes | str, content_type: str) -> Resource:
        """Serve `body` at `path`: a new version, with a new ETag and Last-Modified."""
        data = body.encode() if isinstance(body, str) else body
        self._versions += 1
        changed = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=self._versions)
        resource = Resource(
            body=data,
            content_type=content_type,
            etag='"' + hashlib.sha256(data).hexdigest()[:20] + '"',
            last_modified=format_datetime(changed, usegmt=True),
        )
        self.resources[path] = resource
        return resource

    def github_releases(self, repo: str, releases: list[dict[str, Any]]) -> str:
        path = f"/repos/{repo}/releases"
        self.set_body(path, json.dumps(releases), "application/json; charset=utf-8")
        return path

    def fail(self, path: str, kind: str, times: int = 1_000_000) -> None:
        """Make the next `times` requests to `path` fail as `kind` (default: until healed)."""
        assert kind in FAILURES, kind
        self.failures[path] = [kind] * times

    def heal(self, path: str) -> None:
        self.failures.pop(path, None)

    def requests_to(self, path: str) -> list[Seen]:
        return [seen for seen in self.requests if seen.path == path]

    # --- answering -----------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["path"]
        seen = Seen(path, dict(request.headers))
        self.requests.append(seen)
        pending = self.failures.get(path)
        if pending:
            kind = pending.pop(0)
            if not pending:
                self.failures.pop(path, None)
            response = await self._fail(request, kind)
        else:
            response = self._serve(request, path)
        seen.status = response.status
        return response

    def _serve(self, request: web.Request, path: str) -> web.StreamResponse:
        resource = self.resources.get(path)
        if resource is None:
            return web.json_response({"message": "Not Found"}, status=404)
        validators = {"ETag": resource.etag, "Last-Modified": resource.last_modified}
        match = request.headers.get("If-None-Match")
        since = request.headers.get("If-Modified-Since")
        if (match is not None and match == resource.etag) or (
            match is None and since == resource.last_modified
        ):
            return web.Response(status=304, headers=validators)
        return web.Response(
            body=resource.body,
            headers={**validators, "Content-Type": resource.content_type},
        )

    async def _fail(self, request: web.Request, kind: str) -> web.StreamResponse:
        if kind == "500":
            return web.Response(status=500, text="upstream trouble")
        if kind == "hang":
            await self._release.wait()
            return web.Response(status=500, text="too late")
        if kind == "invalid_xml":
            return web.Response(
                text="<html><body>this is <not xml", content_type="application/rss+xml"
            )
        if kind == "invalid_json":
            return web.Response(text='{"version": "https://jsonfeed.org/version/1.1", "items": [')
        if kind == "rate_limit":
            return web.json_response(
                {"message": "API rate limit exceeded for 127.0.0.1."},
                status=403,
                headers={
                    "x-ratelimit-limit": "60",
                    "x-ratelimit-remaining": "0",
                    "x-ratelimit-used": "60",
                    "x-ratelimit-reset": str(RATE_LIMIT_RESET),
                },
            )
        if kind == "trickle":
            # Every read comes within the read timeout; only a deadline on the whole stops it.
            response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
            await response.prepare(request)
            try:
                while not self._release.is_set():
                    await response.write(b" ")
                    await asyncio.sleep(TRICKLE_SECONDS)
            except (ConnectionError, asyncio.CancelledError):
                pass
            return response
        if kind == "huge_declared":
            return web.Response(body=b" " * HUGE_BYTES, content_type="application/json")
        # huge: streamed without a Content-Length, so only counting the bytes read catches it.
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        chunk = b"<!-- " + b"x" * 65_000 + b" -->"
        try:
            for _ in range(HUGE_BYTES // len(chunk) + 2):
                await response.write(chunk)
            await response.write_eof()
        except (ConnectionError, asyncio.CancelledError):
            pass
        return response


# --- feed bodies ---------------------------------------------------------------------------


def release(
    release_id: int,
    tag: str,
    *,
    name: str | None = None,
    body: str | None = None,
    published_at: str | None = "2026-03-02T10:00:00Z",
    draft: bool = False,
    prerelease: bool = False,
    repo: str = "acme/app",
) -> dict[str, Any]:
    """One release as GitHub's "list releases" returns it (the fields Jerry reads, and more)."""
    return {
        "url": f"https://api.github.com/repos/{repo}/releases/{release_id}",
        "html_url": f"https://github.com/{repo}/releases/tag/{tag}",
        "id": release_id,
        "node_id": f"RE_{release_id}",
        "tag_name": tag,
        "target_commitish": "main",
        "name": name,
        "body": body,
        "draft": draft,
        "prerelease": prerelease,
        "created_at": published_at or "2026-03-01T09:00:00Z",
        "published_at": None if draft else published_at,
        "author": {"login": "octocat", "id": 1, "type": "User"},
        "assets": [],
    }


def rss(items: list[dict[str, str]], *, encoding: str = "utf-8", title: str = "Changelog") -> bytes:
    """RSS 2.0; each item's keys: title, link, guid, description, pubDate (any may be absent)."""
    parts = []
    for item in items:
        fields = []
        for key in ("title", "link", "guid", "description", "pubDate"):
            if key in item:
                fields.append(f"<{key}>{escape(item[key])}</{key}>")
        parts.append("<item>" + "".join(fields) + "</item>")
    text = (
        f'<?xml version="1.0" encoding="{encoding}"?>\n<rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>https://example.com/</link>"
        f"<description>What changed</description>{''.join(parts)}</channel></rss>"
    )
    return text.encode(encoding)


def atom(entries: list[dict[str, str]]) -> bytes:
    """Atom 1.0; each entry's keys: id, title, link, updated, published, summary, content."""
    parts = []
    for entry in entries:
        fields = []
        for key in ("id", "title", "updated", "published"):
            if key in entry:
                fields.append(f"<{key}>{escape(entry[key])}</{key}>")
        if "link" in entry:
            fields.append(f'<link rel="alternate" href="{escape(entry["link"])}"/>')
        if "summary" in entry:
            fields.append(f'<summary type="html">{escape(entry["summary"])}</summary>')
        if "content" in entry:
            fields.append(f'<content type="html">{escape(entry["content"])}</content>')
        parts.append("<entry>" + "".join(fields) + "</entry>")
    text = (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>Release notes</title><id>urn:example:notes</id>"
        f"<updated>2026-03-01T00:00:00Z</updated>{''.join(parts)}</feed>"
    )
    return text.encode()


def json_feed(items: list[dict[str, Any]]) -> bytes:
    return json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "Product changelog",
            "home_page_url": "https://example.com/",
            "items": items,
        },
        ensure_ascii=False,
    ).encode()
