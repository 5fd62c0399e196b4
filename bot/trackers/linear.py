"""Linear through its GraphQL API: create an issue for an item, attach the item's link, and
read where issues stand (on demand, in batches for the poll, or from a webhook delivery).

    async with LinearClient(api_key) as linear:
        issue = await linear.create_issue("ENG", title, markdown)
        await linear.attach_link(issue.external_id, permalink, "Slack thread")
        changed = await linear.changed_issues(ids, updated_since=latest.updated)

What it follows of Linear's documentation (linear.app/developers) and its SDK (@linear/sdk):

- One endpoint, POST https://api.linear.app/graphql, `{"query", "variables"}`; a personal
  or service API key goes as is in `Authorization: <key>` (an OAuth token would need
  "Bearer ": pass the whole header value as `api_key` then).
- `teams(filter: {key: {eq}})`, `issueCreate(input: {teamId, title, description})` (the
  description in Markdown), `attachmentCreate(input: {issueId, url, title})` (Attachments:
  "the URL is an idempotent value with the same issue": attaching again updates the
  attachment), `issue(id: String!)` (a uuid or an identifier like ENG-42; a missing one is a
  GraphQL error "Entity not found"), `issues(filter: IssueFilter, first, after,
  includeArchived)` with `pageInfo { hasNextPage endCursor }` (Relay pagination); the filter
  `{id: {in}, updatedAt: {gt}}` (IDComparator, DateComparator).
- Workflow state types: triage, backlog, unstarted, started, completed, canceled.
- Errors: an `errors` array, each `{message, extensions: {type, code, userError,
  userPresentableMessage}}` (SDK error.ts: types "authentication error", "ratelimited",
  "forbidden", "invalid input", "internal error", …), in a 200 or a 400 answer. Rate limiting
  answers HTTP 400 with `extensions.code` "RATELIMITED" (some report 429) and the headers
  `X-RateLimit-Requests-Reset` / `X-RateLimit-Complexity-Reset` (epoch milliseconds), maybe
  `Retry-After` (seconds).
- Webhooks: `{action: create|update|remove, type: "Issue", data: {id, identifier, title,
  url, updatedAt, state: {name, type}}, url, webhookTimestamp}` (signatures:
  bot/trackers/signatures.py).

Every failure comes out as a TrackerError (IssueNotFound when it is about an issue): no httpx
exception leaves this module.
"""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from bot.trackers.domain import (
    CANCELED,
    DONE,
    IN_PROGRESS,
    LINEAR,
    TODO,
    IssueNotFound,
    IssueState,
    TrackerError,
)
from bot.trackers.jira import USER_AGENT

if TYPE_CHECKING:
    # Imported when a client is first made (see bot/trackers/jira.py).
    import httpx

API_URL = "https://api.linear.app/graphql"
PAGE = 50  # issues per page, and ids per filter
TOTAL_TIMEOUT_FACTOR = 3
MESSAGE_LIMIT = 500

_STAGES = {
    "triage": TODO,
    "backlog": TODO,
    "unstarted": TODO,
    "started": IN_PROGRESS,
    "completed": DONE,
    "canceled": CANCELED,
}

ISSUE_FIELDS = "id identifier url title updatedAt state { name type }"
TEAM_QUERY = """
query JerryTeam($key: String!) {
  teams(filter: {key: {eq: $key}}) { nodes { id key name } }
}"""
CREATE_MUTATION = f"""
mutation JerryIssueCreate($input: IssueCreateInput!) {{
  issueCreate(input: $input) {{ success issue {{ {ISSUE_FIELDS} }} }}
}}"""
ATTACH_MUTATION = """
mutation JerryAttachmentCreate($input: AttachmentCreateInput!) {
  attachmentCreate(input: $input) { success attachment { id url } }
}"""
ISSUE_QUERY = f"""
query JerryIssue($id: String!) {{
  issue(id: $id) {{ {ISSUE_FIELDS} }}
}}"""
ISSUES_QUERY = f"""
query JerryIssues($filter: IssueFilter, $first: Int, $after: String) {{
  issues(filter: $filter, first: $first, after: $after, includeArchived: true) {{
    nodes {{ {ISSUE_FIELDS} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}"""


class LinearClient:
    """One Linear workspace, as one API key."""

    def __init__(
        self,
        api_key: str,
        *,
        url: str = API_URL,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        import httpx

        self.url = url
        self.timeout = timeout
        self._teams: dict[str, str] = {}  # key → id: a team's id does not change
        self._http = httpx.AsyncClient(
            headers={
                "Authorization": api_key,
                "Accept": "application/json",
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

    # --- teams and issues ----------------------------------------------------------------

    async def team_id(self, key: str) -> str:
        """The id of the team whose key is `key` ("ENG"); TrackerError "unknown_team"."""
        if key in self._teams:
            return self._teams[key]
        data = await self._query(TEAM_QUERY, {"key": key})
        nodes = _dict(data.get("teams")).get("nodes") or []
        for node in nodes:
            node = _dict(node)
            if node.get("key") == key and node.get("id"):
                self._teams[key] = str(node["id"])
                return self._teams[key]
        raise TrackerError("unknown_team", key)

    async def create_issue(self, team_key: str, title: str, description: str) -> IssueState:
        """Create an issue in the team `team_key`; `description` is Markdown."""
        team = await self.team_id(team_key)
        data = await self._query(
            CREATE_MUTATION, {"input": {"teamId": team, "title": title, "description": description}}
        )
        payload = _dict(data.get("issueCreate"))
        state = issue_state(_dict(payload.get("issue")))
        if not payload.get("success") or state is None:
            raise TrackerError("refused", f"Linear did not create the issue in {team_key}")
        return state

    async def attach_link(self, issue_id: str, url: str, title: str) -> None:
        """Attach `url` to the issue (its uuid or identifier); attaching the same url again
        updates the attachment rather than adding a second one."""
        data = await self._query(
            ATTACH_MUTATION,
            {"input": {"issueId": issue_id, "url": url, "title": title}},
            issue=issue_id,
        )
        if not _dict(data.get("attachmentCreate")).get("success"):
            raise TrackerError("refused", f"Linear did not attach the link to {issue_id}")

    async def get_issue(self, key_or_id: str) -> IssueState:
        data = await self._query(ISSUE_QUERY, {"id": key_or_id}, issue=key_or_id)
        raw = data.get("issue")
        if raw is None:
            raise IssueNotFound(key_or_id)
        state = issue_state(_dict(raw))
        if state is None:
            raise TrackerError("bad_response", f"Linear's answer about {key_or_id} is not an issue")
        return state

    async def changed_issues(
        self, ids: list[str], updated_since: str | None = None
    ) -> list[IssueState]:
        """Where the issues `ids` (uuids) stand; with `updated_since` (ISO 8601, e.g. the
        latest `IssueState.updated` seen), only those changed after it. Archived issues
        count; ids of issues that no longer exist are left out."""
        wanted = list(dict.fromkeys(issue_id for issue_id in ids if issue_id))
        found: list[IssueState] = []
        for start in range(0, len(wanted), PAGE):
            issue_filter: dict[str, Any] = {"id": {"in": wanted[start : start + PAGE]}}
            if updated_since:
                issue_filter["updatedAt"] = {"gt": updated_since}
            found.extend(await self._pages(issue_filter))
        return found

    async def _pages(self, issue_filter: dict[str, Any]) -> list[IssueState]:
        found: list[IssueState] = []
        after: str | None = None
        seen: set[str] = set()
        while True:
            variables = {"filter": issue_filter, "first": PAGE, "after": after}
            connection = _dict((await self._query(ISSUES_QUERY, variables)).get("issues"))
            for node in connection.get("nodes") or []:
                state = issue_state(_dict(node))
                if state is not None:
                    found.append(state)
            page = _dict(connection.get("pageInfo"))
            cursor = page.get("endCursor")
            # A cursor seen before would loop forever: a misbehaving server ends the reading.
            if not page.get("hasNextPage") or not isinstance(cursor, str) or cursor in seen:
                return found
            seen.add(cursor)
            after = cursor

    # --- HTTP ----------------------------------------------------------------------------

    async def _query(
        self, query: str, variables: dict[str, Any], *, issue: str | None = None
    ) -> dict[str, Any]:
        """One GraphQL request; its `data`, or a TrackerError (IssueNotFound for "Entity not
        found" when `issue` names the issue the request is about)."""
        import httpx

        try:
            async with asyncio.timeout(self.timeout * TOTAL_TIMEOUT_FACTOR):
                response = await self._http.post(
                    self.url, json={"query": query, "variables": variables}
                )
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise TrackerError(
                "timeout", f"Linear did not answer within {self.timeout:g} s", retry=True
            ) from exc
        except httpx.HTTPError as exc:
            raise TrackerError(
                "unreachable", _clip(f"{exc.__class__.__name__}: {exc}"), retry=True
            ) from exc
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        errors = _dict(body).get("errors")
        if isinstance(errors, list) and errors:
            raise _graphql_error(errors, response, issue)
        if status == 429:
            raise _rate_limited(response, "rate limited")
        if status >= 500:
            raise TrackerError(
                "unavailable",
                _clip(response.text) or f"HTTP {status}",
                retry=True,
                retry_after=_retry_after(response.headers),
                status=status,
            )
        if status >= 300:
            code = {401: "unauthorized", 403: "forbidden"}.get(status, f"http_{status}")
            raise TrackerError(code, _clip(response.text), status=status)
        data = _dict(body).get("data")
        if not isinstance(data, dict):
            raise TrackerError("bad_response", "Linear's answer has no data", retry=True)
        return data


# --- what Linear says --------------------------------------------------------------------


def issue_state(issue: dict[str, Any]) -> IssueState | None:
    """An issue as the API or a webhook gives it; None when it is not one (no identifier,
    or no known state type to say where it stands)."""
    identifier = issue.get("identifier")
    state = _dict(issue.get("state"))
    kind = state.get("type")
    if not isinstance(identifier, str) or not identifier or kind not in _STAGES:
        return None
    updated = issue.get("updatedAt")
    return IssueState(
        tracker=LINEAR,
        key=identifier,
        external_id=str(issue.get("id") or ""),
        url=str(issue.get("url") or ""),
        title=str(issue.get("title") or ""),
        status=str(state.get("name") or ""),
        stage=_STAGES[kind],
        updated=updated if isinstance(updated, str) else None,
    )


def parse_webhook(body: dict[str, Any]) -> IssueState | None:
    """The issue of an Issue `create` or `update` delivery. None for other types (comments,
    projects, …) and for `remove`: a deleted issue has no state to tell, and the next poll
    leaves it out."""
    if body.get("type") != "Issue" or body.get("action") not in ("create", "update"):
        return None
    data = dict(_dict(body.get("data")))
    if not data.get("url") and isinstance(body.get("url"), str):
        data["url"] = body["url"]
    return issue_state(data)


# --- errors ------------------------------------------------------------------------------


def _graphql_error(errors: list[Any], response: httpx.Response, issue: str | None) -> TrackerError:
    first = _dict(errors[0])
    extensions = _dict(first.get("extensions"))
    code = str(extensions.get("code") or "").upper()
    kind = str(extensions.get("type") or "").lower()
    message = _clip(
        str(extensions.get("userPresentableMessage") or first.get("message") or "GraphQL error")
    )
    raw_message = str(first.get("message") or "")
    status = response.status_code
    if code == "RATELIMITED" or kind == "ratelimited" or status == 429:
        return _rate_limited(response, message)
    if code == "AUTHENTICATION_ERROR" or kind == "authentication error" or status == 401:
        return TrackerError("unauthorized", message, status=status)
    if code == "FORBIDDEN" or kind == "forbidden" or status == 403:
        return TrackerError("forbidden", message, status=status)
    if raw_message.lower().startswith("entity not found") and issue is not None:
        return IssueNotFound(issue)
    if kind in ("internal error", "lock timeout", "network error") or status >= 500:
        return TrackerError("unavailable", message, retry=True, status=status)
    return TrackerError("bad_request", message, status=status)


def _rate_limited(response: httpx.Response, message: str) -> TrackerError:
    return TrackerError(
        "rate_limited",
        message,
        retry=True,
        retry_after=_retry_after(response.headers),
        status=response.status_code,
    )


def _retry_after(headers: httpx.Headers, now: datetime | None = None) -> float | None:
    """Whole seconds to wait (at least one): Retry-After, else the earliest reset of the
    request or complexity budget (epoch milliseconds)."""
    value = headers.get("retry-after", "").strip()
    if value:
        try:
            return float(max(1, math.ceil(float(value))))
        except ValueError:
            pass
    now_ms = (now or datetime.now(UTC)).timestamp() * 1000
    for name in ("x-ratelimit-requests-reset", "x-ratelimit-complexity-reset"):
        reset = headers.get(name, "").strip()
        if reset.isdigit():
            return float(max(1, math.ceil((int(reset) - now_ms) / 1000)))
    return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"
