"""Jira Cloud through its REST API v3: create an issue for an item, link it back, and read
where issues stand (on demand, in batches for the poll, or from a webhook delivery).

    async with JiraClient(base_url, email, api_token) as jira:
        issue = await jira.create_issue("PAY", "Bug", title, adf_document([text], link))
        await jira.add_remote_link(issue.key, permalink, "Slack thread")
        changed = await jira.search(keys, updated_since=latest.updated)

What it follows of Atlassian's documentation (developer.atlassian.com/cloud/jira/platform):

- Authentication: basic auth with the account's email and an API token; `Accept:
  application/json`.
- POST /rest/api/3/issue `{"fields": {project: {key}, issuetype: {name}, summary,
  description}}`, the description in the Atlassian Document Format (v3 refuses plain text):
  201 `{id, key, self}`.
- POST /rest/api/3/issue/{key}/remotelink `{globalId, object: {url, title}}`: a link with the
  same globalId is updated rather than added again (201 created, 200 updated).
- GET /rest/api/3/issue/{key}?fields=…: 404 `{"errorMessages": ["Issue does not exist or you
  do not have permission to see it."], "errors": {}}`.
- POST /rest/api/3/search/jql (the enhanced search that replaced /search): body `{jql,
  fields, maxResults, nextPageToken}`; the answer's `nextPageToken` leads to the next page
  and is absent (or null) on the last one, where `isLast` is true (JRACLOUD-92184: the key is
  left out rather than null).
- GET /rest/api/3/issue/createmeta/{project}/issuetypes?startAt&maxResults: a page
  `{issueTypes, startAt, maxResults, total}` (older answers name the list `values`, the
  OpenAPI document also `createMetaIssueType`: all three are read).
- Errors `{"errorMessages": [...], "errors": {field: message}}`; rate limiting ("Rate
  limiting" page): 429 with `Retry-After` (seconds) and/or `X-RateLimit-Reset` (ISO 8601,
  "yyyy-MM-ddTHH:mmZ"); some transient 5xx also carry `Retry-After`.
- Webhooks: `jira:issue_created` / `jira:issue_updated` with `{timestamp, webhookEvent,
  issue: {id, key, fields}}` (signatures: bot/trackers/signatures.py).

Every failure comes out as a TrackerError (IssueNotFound when it is about an issue): no httpx
exception leaves this module.
"""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from importlib import metadata
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import quote

from bot.trackers.domain import (
    CANCELED,
    DONE,
    IN_PROGRESS,
    ISSUE_KEY,
    JIRA,
    TODO,
    IssueNotFound,
    IssueState,
    TrackerError,
)

if TYPE_CHECKING:
    # httpx (whose package also loads rich and pygments) is imported when a client is first
    # made, not by every process that imports this module (tests/test_lazy_imports.py).
    import httpx

try:
    VERSION = metadata.version("jerry")
except metadata.PackageNotFoundError:  # running from a checkout that is not installed
    VERSION = "0"
USER_AGENT = f"Jerry/{VERSION}"

API = "/rest/api/3"
ISSUE_FIELDS = ("summary", "status", "resolution", "fixVersions", "updated")
SEARCH_PAGE = 100  # maxResults asked of search/jql (Jira may answer with fewer)
SEARCH_CHUNK = 100  # keys in one JQL `key in (…)`: short queries, well under any length limit
TYPES_PAGE = 50
# A server that trickles bytes resets the read timeout on every chunk: a whole request gets
# at most this many times the timeout.
TOTAL_TIMEOUT_FACTOR = 3
MESSAGE_LIMIT = 500
# JQL reads a date in the time zone of the account's profile, which the search does not say.
# Written this much earlier than asked (UTC-12 is the furthest behind), a date in any zone
# misses no change; the caller compares `updated` with what it has seen anyway.
JQL_ZONE_MARGIN = timedelta(hours=12)

# Status category key → stage. "undefined" (no category) reads as not started.
_STAGES = {"new": TODO, "indeterminate": IN_PROGRESS, "done": DONE, "undefined": TODO}
# Resolutions of Jira's default schemes that close an issue without doing it: done by its
# status category, but nothing shipped.
NOT_DONE_RESOLUTIONS = frozenset(
    {"won't do", "won't fix", "duplicate", "cannot reproduce", "incomplete", "declined"}
)
ISSUE_EVENTS = ("jira:issue_created", "jira:issue_updated")
# A JQL search naming a key that does not exist (deleted, moved) fails whole; the message
# names the key, which is then left out.
_KEY_IN_MESSAGE = re.compile(r"'([A-Z][A-Z0-9_]*-[0-9]+)'")


class JiraClient:
    """One Jira Cloud site, as one account (its email and API token)."""

    def __init__(
        self,
        base_url: str,
        email: str,
        token: str,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        import httpx

        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        credentials = base64.b64encode(f"{email}:{token}".encode()).decode()
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers={
                "Accept": "application/json",
                "Authorization": f"Basic {credentials}",
                "User-Agent": USER_AGENT,
            },
            timeout=httpx.Timeout(timeout),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    # --- issues --------------------------------------------------------------------------

    async def create_issue(
        self, project: str, issue_type: str, title: str, description: dict[str, Any]
    ) -> IssueState:
        """Create an issue; `description` is an ADF document (`adf_document`)."""
        body = {
            "fields": {
                "project": {"key": project},
                "issuetype": {"name": issue_type},
                "summary": title,
                "description": description,
            }
        }
        created = await self._call("POST", f"{API}/issue", json=body)
        key = str(_dict(created).get("key") or "")
        issue_id = str(_dict(created).get("id") or "")
        if not key:
            raise TrackerError("bad_response", "Jira created an issue but did not say its key")
        try:
            return await self.get_issue(key)
        except TrackerError:
            # The issue exists: failing now would make the caller create it again. What is
            # known stands in; the status comes with the next poll or webhook.
            return IssueState(
                tracker=JIRA,
                key=key,
                external_id=issue_id,
                url=f"{self.base_url}/browse/{key}",
                title=title,
                status="",
                stage=TODO,
            )

    async def add_remote_link(self, key: str, url: str, title: str) -> None:
        """Link `url` from the issue; linking the same url again updates the link (its
        globalId is the url) rather than adding a second one."""
        body = {"globalId": url, "object": {"url": url, "title": title}}
        await self._call("POST", f"{API}/issue/{_path(key)}/remotelink", json=body, issue=key)

    async def get_issue(self, key: str) -> IssueState:
        data = await self._call(
            "GET",
            f"{API}/issue/{_path(key)}",
            params={"fields": ",".join(ISSUE_FIELDS)},
            issue=key,
        )
        state = issue_state(_dict(data), self.base_url)
        if state is None:
            raise TrackerError("bad_response", f"Jira's answer about {key} is not an issue")
        return state

    async def search(self, keys: list[str], updated_since: str | None = None) -> list[IssueState]:
        """Where the issues `keys` stand; with `updated_since` (ISO 8601, e.g. the latest
        `IssueState.updated` seen), only those changed since (give or take JQL_ZONE_MARGIN).
        Keys that do not exist (any more) are left out, as are malformed ones."""
        stripped = (key.strip() for key in keys)
        wanted = list(dict.fromkeys(key for key in stripped if ISSUE_KEY.fullmatch(key)))
        since = _jql_date(updated_since) if updated_since else None
        found: list[IssueState] = []
        for chunk in _chunks(wanted, SEARCH_CHUNK):
            found.extend(await self._search_chunk(chunk, since))
        return found

    async def _search_chunk(self, keys: list[str], since: str | None) -> list[IssueState]:
        while keys:
            try:
                return await self._search_pages(_jql(keys, since))
            except TrackerError as exc:
                missing = _missing_keys(exc, keys)
                if not missing:
                    raise
                keys = [key for key in keys if key not in missing]
        return []

    async def _search_pages(self, jql: str) -> list[IssueState]:
        found: list[IssueState] = []
        token: str | None = None
        seen_tokens: set[str] = set()
        while True:
            body: dict[str, Any] = {
                "jql": jql,
                "fields": list(ISSUE_FIELDS),
                "maxResults": SEARCH_PAGE,
            }
            if token:
                body["nextPageToken"] = token
            page = _dict(await self._call("POST", f"{API}/search/jql", json=body))
            for issue in page.get("issues") or []:
                state = issue_state(_dict(issue), self.base_url)
                if state is not None:
                    found.append(state)
            token = page.get("nextPageToken") or None
            # A token seen before would loop forever: a misbehaving server ends the search.
            if not token or page.get("isLast") is True or token in seen_tokens:
                return found
            seen_tokens.add(token)

    async def issue_types(self, project: str) -> list[str]:
        """The names of the issue types one can create in `project` (sub-tasks left out:
        they need a parent)."""
        names: list[str] = []
        start = 0
        while True:
            page = _dict(
                await self._call(
                    "GET",
                    f"{API}/issue/createmeta/{_path(project)}/issuetypes",
                    params={"startAt": start, "maxResults": TYPES_PAGE},
                )
            )
            types = page.get("issueTypes") or page.get("values") or page.get("createMetaIssueType")
            items = [_dict(item) for item in types or []]
            names.extend(
                str(item["name"]) for item in items if item.get("name") and not item.get("subtask")
            )
            start += len(items)
            total = page.get("total")
            if not items or page.get("isLast") is True:
                return names
            if isinstance(total, int) and start >= total:
                return names

    # --- HTTP ----------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        issue: str | None = None,
    ) -> Any:
        """One request; its JSON answer, or a TrackerError (IssueNotFound for a 404 when
        `issue` names the issue the request is about)."""
        import httpx

        try:
            async with asyncio.timeout(self.timeout * TOTAL_TIMEOUT_FACTOR):
                response = await self._http.request(method, path, json=json, params=params)
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise TrackerError(
                "timeout", f"Jira did not answer within {self.timeout:g} s", retry=True
            ) from exc
        except httpx.HTTPError as exc:
            raise TrackerError(
                "unreachable", _clip(f"{exc.__class__.__name__}: {exc}"), retry=True
            ) from exc
        if response.status_code >= 300:
            raise _error(response, issue)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise TrackerError(
                "bad_response", "Jira's answer is not JSON", retry=True, status=response.status_code
            ) from exc


# --- what Jira says ----------------------------------------------------------------------


def issue_state(issue: dict[str, Any], base_url: str) -> IssueState | None:
    """An issue as the REST API or a webhook gives it (id, key, fields); None when it is not
    one (no key, or no status category to say where it stands)."""
    key = issue.get("key")
    fields = _dict(issue.get("fields"))
    status = _dict(fields.get("status"))
    category = _dict(status.get("statusCategory")).get("key")
    if not isinstance(key, str) or not key or category not in _STAGES:
        return None
    stage = _STAGES[category]
    resolution = _dict(fields.get("resolution")).get("name")
    if stage == DONE and isinstance(resolution, str) and resolution.lower() in NOT_DONE_RESOLUTIONS:
        stage = CANCELED
    release = _released_version(fields.get("fixVersions"))
    updated = fields.get("updated")
    return IssueState(
        tracker=JIRA,
        key=key,
        external_id=str(issue.get("id") or ""),
        url=f"{base_url.rstrip('/')}/browse/{key}",
        title=str(fields.get("summary") or ""),
        status=str(status.get("name") or ""),
        stage=stage,
        release=release.get("name") if release else None,
        release_note=(release.get("description") or None) if release else None,
        updated=updated if isinstance(updated, str) else None,
    )


def _released_version(versions: Any) -> dict[str, Any] | None:
    """The released fix version (the latest by release date, when there are several)."""
    released = [
        _dict(version)
        for version in versions or []
        if _dict(version).get("released") is True and _dict(version).get("name")
    ]
    if not released:
        return None
    return max(released, key=lambda version: str(version.get("releaseDate") or ""))


def parse_webhook(body: dict[str, Any], base_url: str) -> IssueState | None:
    """The issue of a `jira:issue_created` or `jira:issue_updated` delivery. None for any
    other event, `jira:issue_deleted` included: a deleted issue has no state to tell, and the
    next poll hears IssueNotFound for it."""
    if body.get("webhookEvent") not in ISSUE_EVENTS:
        return None
    return issue_state(_dict(body.get("issue")), base_url)


def adf_document(paragraphs: list[str], link: tuple[str, str] | None = None) -> dict[str, Any]:
    """An Atlassian Document Format document: one paragraph per non-empty string (its line
    breaks kept as hard breaks), then `link` = (text, url) as a linked paragraph."""
    content: list[dict[str, Any]] = []
    for paragraph in paragraphs:
        nodes: list[dict[str, Any]] = []
        for line in paragraph.strip().splitlines():
            if nodes:
                nodes.append({"type": "hardBreak"})
            if line:  # ADF refuses empty text nodes
                nodes.append({"type": "text", "text": line})
        if nodes:
            content.append({"type": "paragraph", "content": nodes})
    if link is not None:
        text, url = link
        mark = {"type": "link", "attrs": {"href": url}}
        node = {"type": "text", "text": text or url, "marks": [mark]}
        content.append({"type": "paragraph", "content": [node]})
    return {"type": "doc", "version": 1, "content": content}


# --- errors ------------------------------------------------------------------------------


def _error(response: httpx.Response, issue: str | None) -> TrackerError:
    status = response.status_code
    message = _message(response)
    if status == 429:
        return TrackerError(
            "rate_limited",
            message,
            retry=True,
            retry_after=_retry_after(response.headers),
            status=status,
        )
    if status >= 500:
        return TrackerError(
            "unavailable",
            message or f"HTTP {status}",
            retry=True,
            retry_after=_retry_after(response.headers),
            status=status,
        )
    if status == 404 and issue is not None:
        return IssueNotFound(issue)
    code = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found"}.get(
        status, "bad_response" if status < 400 else f"http_{status}"
    )
    if status < 400:  # a redirect: not where Jira's API answers
        message = f"HTTP {status} to {response.headers.get('location', '?')}"
    return TrackerError(code, message, status=status)


def _message(response: httpx.Response) -> str:
    """Jira's words: errorMessages, then errors by field; else the start of the body."""
    try:
        data = response.json()
    except ValueError:
        return _clip(response.text)
    if not isinstance(data, dict):
        return _clip(str(data))
    parts = [str(message) for message in data.get("errorMessages") or [] if message]
    parts += [f"{field}: {text}" for field, text in _dict(data.get("errors")).items()]
    if not parts and data.get("message"):
        parts.append(str(data["message"]))
    return _clip("; ".join(parts))


def _retry_after(headers: httpx.Headers, now: datetime | None = None) -> float | None:
    """Seconds to wait: Retry-After (seconds or an HTTP date), else X-RateLimit-Reset."""
    now = now or datetime.now(UTC)
    value = headers.get("retry-after", "").strip()
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            return max(0.0, (parsedate_to_datetime(value) - now).total_seconds())
        except (TypeError, ValueError):
            pass
    reset = headers.get("x-ratelimit-reset", "").strip()
    if reset:
        try:
            moment = datetime.fromisoformat(reset)
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return max(0.0, (moment - now).total_seconds())
    return None


def _missing_keys(error: TrackerError, keys: list[str]) -> set[str]:
    if error.code != "bad_request":
        return set()
    named = set(_KEY_IN_MESSAGE.findall(error.message))
    return {key for key in keys if key in named}


# --- small helpers -----------------------------------------------------------------------


def _jql(keys: list[str], since: str | None) -> str:
    # Keys match ISSUE_KEY (letters, digits, underscore, dash): nothing to quote or escape.
    jql = f"key in ({', '.join(keys)})"
    if since:
        jql += f' AND updated >= "{since}"'
    return jql


def _jql_date(updated_since: str) -> str:
    """ISO 8601 → JQL's "yyyy/MM/dd HH:mm", moved back by JQL_ZONE_MARGIN."""
    moment = datetime.fromisoformat(updated_since.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment.astimezone(UTC) - JQL_ZONE_MARGIN).strftime("%Y/%m/%d %H:%M")


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _path(segment: str) -> str:
    return quote(segment.strip(), safe="")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"
