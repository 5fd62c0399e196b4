"""Feeds: changelogs Jerry fetches on a schedule and turns into "shipped" product updates.

Three kinds (Feed.kind), each mapped to the feed's product area:

- `github`: the releases of a repository (Feed.url "owner/name"), read through the GitHub
  API at JERRY_GITHUB_API_URL; drafts are skipped, pre-releases kept but marked (audience
  "internal": not something to tell customers about yet);
- `rss`: an RSS 2.0 or Atom changelog, parsed by feedparser;
- `json`: a JSON Feed 1.1 (https://jsonfeed.org/version/1.1).

    async with feed_client(settings) as client:
        results = await fetch_all(sessions, client, github_api=..., now=now)

`fetch_feed` only talks HTTP and parses (no database); `fetch_all` fetches every feed at once
(a slow or broken feed holds up no other), then stores each result in its own transaction:
new entries inserted once whatever the number of fetchers (unique feed + entry id), the
validators for the next conditional request, and the feed's health. Product ops' triage
channel hears once when a feed starts failing and once when it works again.
"""

from __future__ import annotations

import asyncio
import calendar
import hashlib
import html
import json
import logging
import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from importlib import metadata
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.i18n import t, tn
from bot.text import escape_plain, neutralize, truncate
from bot.triage import alert_triage
from bot.updates.feed_store import (
    feeds_to_fetch,
    insert_feed_entries,
    record_feed_failure,
    record_feed_success,
)
from models.updates import Feed

if TYPE_CHECKING:
    # feedparser and httpx (whose package also loads rich and pygments) cost about 15 MB and
    # 0.1 s at start: imported when a feed is first fetched or parsed, not by every process.
    import httpx

log = logging.getLogger("jerry.feeds")

try:
    VERSION = metadata.version("jerry")
except metadata.PackageNotFoundError:  # running from a checkout that is not installed
    VERSION = "0"
USER_AGENT = f"Jerry/{VERSION}"
MAX_FEED_BYTES = 5 * 1024 * 1024  # a changelog is never this big; more is a mistake or abuse
FEED_CONCURRENCY = 8
# A server that trickles bytes resets the read timeout on every chunk: a whole fetch gets at
# most this many times the timeout setting.
TOTAL_TIMEOUT_FACTOR = 3
DEFAULT_TIMEOUT = 10.0  # for a client made without a timeout
GITHUB_PAGE = 100  # releases per request: the latest hundred
# Column sizes (models/updates.py) and how much of an entry's text a summary needs.
TITLE_LIMIT = 300
LINK_LIMIT = 2000
EXTERNAL_ID_LIMIT = 500
IMPACT_LIMIT = 1500
ERROR_LIMIT = 500
ALERT_ERROR_LIMIT = 300
JSON_FEED_VERSION = "https://jsonfeed.org/version/1"
_REPOSITORY = re.compile(r"^(?:https?://github\.com/)?([\w.-]+)/([\w.-]+?)(?:\.git)?/?$")


class FeedError(Exception):
    """Why a feed could not be read; the message is stored in Feed.last_error."""


@dataclass(frozen=True)
class FeedEntry:
    external_id: str
    title: str  # plain text as the feed gave it (not yet in Slack's format)
    link: str | None
    published: datetime | None  # UTC
    text: str | None  # plain text: what it means for customers
    prerelease: bool = False


@dataclass(frozen=True)
class FetchResult:
    """What one fetch of one feed gave: `fetched` (entries read, `new` of them stored),
    `unchanged` (304 Not Modified) or `failed` (`error` says why)."""

    feed_id: int
    feed: str
    outcome: str
    entries: tuple[FeedEntry, ...] = ()
    new: int = 0
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    alert: str | None = None  # "feed_failing" | "feed_recovered" when triage was told

    @property
    def ok(self) -> bool:
        return self.outcome != "failed"


def feed_client(settings: Settings) -> httpx.AsyncClient:
    """The HTTP client for feeds: Jerry's User-Agent, the timeout setting, redirects followed
    (httpx drops the Authorization header when a redirect leaves the origin)."""
    import httpx

    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.jerry_feed_timeout_seconds),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=True,
        max_redirects=5,
    )


# --- fetching ------------------------------------------------------------------------------


async def fetch_feed(
    client: httpx.AsyncClient,
    feed: Feed,
    *,
    github_api: str,
    now: datetime,
    github_token: str | None = None,
    max_bytes: int = MAX_FEED_BYTES,
) -> FetchResult:
    """Fetch and parse one feed (no database). Never raises for the feed's own trouble:
    timeouts, HTTP errors, rate limits, bodies too big, invalid XML or JSON come back as a
    `failed` result."""
    import httpx

    base = FetchResult(feed_id=feed.id, feed=feed.name, outcome="failed")
    try:
        url, headers = _request(feed, github_api, github_token)
        timeout = client.timeout
        limit = max(timeout.connect or 0, timeout.read or 0) or DEFAULT_TIMEOUT
        async with asyncio.timeout(limit * TOTAL_TIMEOUT_FACTOR):
            status, response_headers, body = await _get(client, url, headers, max_bytes, now)
        if status == 304:
            return replace(
                base,
                outcome="unchanged",
                etag=response_headers.get("etag"),
                last_modified=response_headers.get("last-modified"),
            )
        entries = await _parse(feed.kind, body, response_headers)
    except FeedError as exc:
        return replace(base, error=_clip(str(exc)))
    except (TimeoutError, httpx.TimeoutException):
        seconds = client.timeout.read or client.timeout.connect
        return replace(base, error=f"timed out (timeout {seconds:g} s)")
    except httpx.TooManyRedirects:
        return replace(base, error="too many redirects")
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        return replace(base, error=_clip(f"invalid address: {exc}"))
    except httpx.HTTPError as exc:
        return replace(base, error=_clip(f"cannot connect: {exc.__class__.__name__} {exc}"))
    except Exception as exc:  # a parser surprise must not stop the other feeds
        log.exception("feed %s: unexpected error", feed.name)
        return replace(base, error=_clip(f"unexpected error: {exc.__class__.__name__}: {exc}"))
    return replace(
        base,
        outcome="fetched",
        entries=tuple(_unique(entries)),
        etag=response_headers.get("etag"),
        last_modified=response_headers.get("last-modified"),
    )


def _request(feed: Feed, github_api: str, github_token: str | None) -> tuple[str, dict[str, str]]:
    headers: dict[str, str] = {}
    if feed.etag:
        headers["If-None-Match"] = feed.etag
    if feed.last_modified:
        headers["If-Modified-Since"] = feed.last_modified
    if feed.kind == "github":
        match = _REPOSITORY.match(feed.url.strip())
        if match is None:
            raise FeedError(f"not a GitHub repository (owner/name): {feed.url!r}")
        owner, name = match.groups()
        headers["Accept"] = "application/vnd.github+json"
        headers["X-GitHub-Api-Version"] = "2022-11-28"
        if github_token:
            headers["Authorization"] = f"Bearer {github_token}"
        url = f"{github_api.rstrip('/')}/repos/{owner}/{name}/releases?per_page={GITHUB_PAGE}"
        return url, headers
    if feed.kind == "rss":
        headers["Accept"] = (
            "application/rss+xml, application/atom+xml, application/xml;q=0.9, "
            "text/xml;q=0.8, */*;q=0.5"
        )
    elif feed.kind == "json":
        headers["Accept"] = "application/feed+json, application/json;q=0.9, */*;q=0.5"
    else:
        raise FeedError(f"unknown feed kind {feed.kind!r} (github, rss or json)")
    return feed.url.strip(), headers


async def _get(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], max_bytes: int, now: datetime
) -> tuple[int, httpx.Headers, bytes]:
    async with client.stream("GET", url, headers=headers) as response:
        if response.status_code == 304:
            return 304, response.headers, b""
        if response.status_code in (403, 429):
            limited = _rate_limit(response.headers, now)
            if limited is not None:
                raise FeedError(limited)
        if response.status_code >= 400:
            raise FeedError(f"HTTP {response.status_code} {response.reason_phrase}".strip())
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise FeedError(_too_big(max_bytes))
        chunks, size = [], 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise FeedError(_too_big(max_bytes))
            chunks.append(chunk)
        return response.status_code, response.headers, b"".join(chunks)


def _too_big(max_bytes: int) -> str:
    return f"the feed is larger than {max_bytes / 1024 / 1024:g} MB; Jerry stopped reading it"


def _rate_limit(headers: httpx.Headers, now: datetime) -> str | None:
    """GitHub's rate limit (primary: x-ratelimit-remaining 0 and its reset time; secondary:
    retry-after) as an error that says when to expect the feed back."""
    reset: datetime | None = None
    retry_after = headers.get("retry-after", "").strip()
    if retry_after.isdigit():
        reset = now + timedelta(seconds=int(retry_after))
    elif headers.get("x-ratelimit-remaining") == "0":
        stamp = headers.get("x-ratelimit-reset", "").strip()
        reset = datetime.fromtimestamp(int(stamp), UTC) if stamp.isdigit() else None
        if reset is None:
            return "rate limited by GitHub"
    else:
        return None
    return f"rate limited by GitHub until {reset.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _clip(text: str) -> str:
    return truncate(" ".join(text.split()), ERROR_LIMIT)


def _unique(entries: list[FeedEntry]) -> list[FeedEntry]:
    """A feed that lists an entry twice gives it once (the first)."""
    seen: dict[str, FeedEntry] = {}
    for entry in entries:
        seen.setdefault(entry.external_id, entry)
    return list(seen.values())


# --- parsing -------------------------------------------------------------------------------


async def _parse(kind: str, body: bytes, headers: httpx.Headers) -> list[FeedEntry]:
    if kind == "rss":
        # feedparser is synchronous and a big changelog takes a moment: off the event loop.
        return await asyncio.to_thread(parse_rss, body, headers.get("content-type"))
    data = _json(body)
    if kind == "github":
        return parse_github_releases(data)
    return parse_json_feed(data)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise FeedError(f"invalid JSON: {exc}") from exc


def parse_github_releases(data: Any) -> list[FeedEntry]:
    """GitHub's "list releases" answer: drafts skipped, pre-releases marked."""
    if not isinstance(data, list):
        message = data.get("message") if isinstance(data, dict) else None
        raise FeedError(
            f"GitHub did not answer with a list of releases{f': {message}' if message else ''}"
        )
    entries = []
    for release in data:
        if not isinstance(release, dict) or release.get("draft") or release.get("id") is None:
            continue
        title = _str(release.get("name")) or _str(release.get("tag_name"))
        entries.append(
            FeedEntry(
                external_id=str(release["id"]),
                title=title or f"release {release['id']}",
                link=_str(release.get("html_url")) or None,
                published=_iso_date(release.get("published_at") or release.get("created_at")),
                text=_str(release.get("body")) or None,
                prerelease=bool(release.get("prerelease")),
            )
        )
    return entries


def parse_json_feed(data: Any) -> list[FeedEntry]:
    """A JSON Feed (1.0 or 1.1): id, title, url, date_published, content_text or summary."""
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith(JSON_FEED_VERSION):
        raise FeedError("not a JSON Feed (no https://jsonfeed.org/version/1.x version)")
    items = data.get("items")
    if not isinstance(items, list):
        raise FeedError("not a JSON Feed (no list of items)")
    entries = []
    for item in items:
        if not isinstance(item, dict):
            continue
        published = _iso_date(item.get("date_published") or item.get("date_modified"))
        text = (
            _str(item.get("content_text"))
            or _str(item.get("summary"))
            or html_to_text(_str(item.get("content_html")))
        )
        url = _str(item.get("url")) or _str(item.get("external_url"))
        title = _str(item.get("title")) or _first_line(text) or url
        if not title:
            continue  # nothing to show
        raw_id = item.get("id")
        external_id = str(raw_id).strip() if raw_id not in (None, "") else ""
        entries.append(
            FeedEntry(
                external_id=external_id or url or _digest(title, published),
                title=title,
                link=url or None,
                published=published,
                text=text or None,
            )
        )
    return entries


def parse_rss(body: bytes, content_type: str | None = None) -> list[FeedEntry]:
    """RSS 2.0 or Atom; id = the entry's id/guid, else its link, else a hash of title+date."""
    import feedparser

    headers = {"content-type": content_type} if content_type else {}
    parsed = feedparser.parse(body, response_headers=headers)
    problem = parsed.get("bozo_exception")
    if not parsed.get("version"):
        detail = f": {_xml_problem(problem)}" if problem is not None else ""
        raise FeedError(f"not an RSS or Atom feed (invalid XML{detail})")
    if problem is not None and not parsed.entries and _is_xml_error(problem):
        raise FeedError(f"invalid XML: {_xml_problem(problem)}")
    entries = []
    for entry in parsed.entries:
        published = _struct_time(entry.get("published_parsed") or entry.get("updated_parsed"))
        text = html_to_text(entry.get("summary") or "")
        if not text and entry.get("content"):
            text = html_to_text(entry["content"][0].get("value") or "")
        title = _str(entry.get("title")) or _first_line(text)
        link = _str(entry.get("link"))
        if not title and not link:
            continue
        external_id = _str(entry.get("id")) or link or _digest(title, published)
        entries.append(
            FeedEntry(
                external_id=external_id,
                title=title or link,
                link=link or None,
                published=published,
                text=text or None,
            )
        )
    return entries


def _is_xml_error(problem: BaseException) -> bool:
    import feedparser

    return not isinstance(
        problem, feedparser.CharacterEncodingOverride | feedparser.NonXMLContentType
    )


def _xml_problem(problem: BaseException) -> str:
    getter = getattr(problem, "getLineNumber", None)
    line = f"line {getter()}: " if callable(getter) else ""
    return f"{line}{getattr(problem, 'getMessage', lambda: str(problem))()}"


def _str(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0][:TITLE_LIMIT] if text else ""


def _digest(title: str, published: datetime | None) -> str:
    stamp = published.isoformat() if published else ""
    return "sha256:" + hashlib.sha256(f"{title}\n{stamp}".encode()).hexdigest()


def _iso_date(value: Any) -> datetime | None:
    """RFC 3339 (GitHub, JSON Feed) → UTC; RFC 822 accepted too; None if unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _struct_time(value: Any) -> datetime | None:
    """feedparser's dates are UTC struct_time (it applies the entry's own offset)."""
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (TypeError, ValueError, OverflowError):
        return None


_BREAKS = re.compile(r"<\s*(br\s*/?|/p|/li|/h\d|/div|/tr)\s*>", re.IGNORECASE)
_ITEMS = re.compile(r"<\s*li\b[^>]*>", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]*>")
_DROPPED = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


def html_to_text(value: str) -> str:
    """HTML (an RSS description, an Atom content) → plain text with its line breaks."""
    if not value:
        return ""
    text = _DROPPED.sub("", value)
    text = _BREAKS.sub("\n", text)
    text = _ITEMS.sub("• ", text)
    text = html.unescape(_TAGS.sub("", text))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --- storing -------------------------------------------------------------------------------


def entry_row(entry: FeedEntry, now: datetime) -> dict[str, Any]:
    """A feed entry as a shipped update's columns, in Slack's text format, safe to repost."""
    title = truncate(neutralize(escape_plain(" ".join(entry.title.split()))), TITLE_LIMIT)
    text = neutralize(escape_plain(entry.text)) if entry.text else ""
    external_id = entry.external_id
    if len(external_id) > EXTERNAL_ID_LIMIT:
        external_id = "sha256:" + hashlib.sha256(external_id.encode()).hexdigest()
    shipped_on: date = (entry.published or now).astimezone(UTC).date()
    return {
        "external_id": external_id,
        "title": title,
        "customer_impact": truncate(text, IMPACT_LIMIT) if text else None,
        "link": _safe_link(entry.link),
        "shipped_on": shipped_on,
        "audience": "internal" if entry.prerelease else "customer",
    }


def _safe_link(link: str | None) -> str | None:
    """Only http(s) links, with the characters that would break Slack's <url|label> escaped."""
    if not link or not link.lower().startswith(("https://", "http://")):
        return None
    for char, code in (("|", "%7C"), ("<", "%3C"), (">", "%3E"), (" ", "%20")):
        link = link.replace(char, code)
    return link if len(link) <= LINK_LIMIT else None


async def store_result(
    sessions: async_sessionmaker[AsyncSession], feed: Feed, result: FetchResult, now: datetime
) -> FetchResult:
    """Store one fetch, in one transaction: its new entries, its validators, the feed's
    health, and the triage alert when the feed starts failing or works again."""
    async with sessions() as session:
        name = neutralize(escape_plain(feed.name))
        if not result.ok:
            first = await record_feed_failure(session, feed.id, result.error or "", now)
            if first:
                error = neutralize(escape_plain(truncate(result.error or "", ALERT_ERROR_LIMIT)))
                await alert_triage(session, "feed_failing", feed=name, error=error)
            await session.commit()
            return replace(result, alert="feed_failing" if first else None)
        new = 0
        if result.outcome == "fetched":
            rows = [entry_row(entry, now) for entry in result.entries]
            new = await insert_feed_entries(session, feed, rows, now)
        recovered = await record_feed_success(
            session,
            feed.id,
            now,
            etag=result.etag,
            last_modified=result.last_modified,
            # A 304 need not repeat the validators: keep the ones that earned it.
            keep_validators=result.outcome == "unchanged",
        )
        if recovered:
            await alert_triage(session, "feed_recovered", feed=name)
        await session.commit()
        return replace(result, new=new, alert="feed_recovered" if recovered else None)


async def fetch_all(
    sessions: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    *,
    github_api: str,
    now: datetime,
    github_token: str | None = None,
    max_bytes: int = MAX_FEED_BYTES,
) -> list[FetchResult]:
    """Fetch every feed still in the summaries file, all at once (a few at a time), and store
    each as it comes; results in feed-name order."""
    async with sessions() as session:
        feeds = await feeds_to_fetch(session)
    gate = asyncio.Semaphore(FEED_CONCURRENCY)
    writing = asyncio.Lock()  # one write at a time: SQLite has one writer anyway

    async def one(feed: Feed) -> FetchResult:
        async with gate:
            result = await fetch_feed(
                client,
                feed,
                github_api=github_api,
                now=now,
                github_token=github_token,
                max_bytes=max_bytes,
            )
        async with writing:
            try:
                return await store_result(sessions, feed, result, now)
            except Exception as exc:
                log.exception("feed %s: could not store what was fetched", feed.name)
                return replace(result, outcome="failed", new=0, error=_clip(f"not stored: {exc}"))

    return list(await asyncio.gather(*(one(feed) for feed in feeds)))


async def fetch_now(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    now: datetime,
    client: httpx.AsyncClient | None = None,
) -> list[FetchResult]:
    """fetch_all with the settings' GitHub API, token and timeouts (the job and the CLI)."""
    own = client is None
    http = client if client is not None else feed_client(settings)
    try:
        return await fetch_all(
            sessions,
            http,
            github_api=settings.jerry_github_api_url,
            now=now,
            github_token=settings.jerry_github_token,
        )
    finally:
        if own:
            await http.aclose()


async def fetch_command(settings: Settings) -> int:
    """`jerry summaries fetch`: fetch every feed now and print what each brought; 1 if any
    failed (its triage alert waits in the outbox for the running bot to send)."""
    from bot.db import create_engine, session_factory
    from models.base import utcnow

    lang = settings.jerry_language
    logging.getLogger("httpx").setLevel(logging.WARNING)  # no line per request
    engine = create_engine(settings.database_url)
    try:
        results = await fetch_now(session_factory(engine), settings, now=utcnow())
    finally:
        await engine.dispose()
    if not results:
        print(t("feeds.cli.none", lang))
    for result in results:
        if result.outcome == "fetched":
            line = tn(
                "feeds.cli.fetched", result.new, lang, feed=result.feed, total=len(result.entries)
            )
        elif result.outcome == "unchanged":
            line = t("feeds.cli.unchanged", lang, feed=result.feed)
        else:
            line = t("feeds.cli.failed", lang, feed=result.feed, error=result.error)
        print(line)
    return 0 if all(result.ok for result in results) else 1
