"""Fake Jira Cloud and Linear servers on 127.0.0.1, for Jerry's real HTTP clients.

Each keeps its issues in memory, logs every request (method, path, query, headers, JSON
body), checks the credentials as the service does, and answers with the documented shapes:

- FakeJira: REST API v3 (POST /issue, GET /issue/{key}, POST /issue/{key}/remotelink, POST
  /search/jql with nextPageToken paging, GET /issue/createmeta/{project}/issuetypes with
  startAt paging); errors `{"errorMessages": [...], "errors": {...}}`; basic auth.
- FakeLinear: POST /graphql, serving the operations Jerry's client sends (teams, issueCreate,
  attachmentCreate, issue, issues with first/after paging), chosen by their root field and
  read from the variables (no GraphQL engine: the answer holds every field Jerry asks for);
  errors `{"data": null, "errors": [{"message", "extensions": {"type", "code", …}}]}`;
  `Authorization: <api key>`.

`page_size` caps a page (small in tests that exercise paging); `fail(kind, times)` makes the
next requests fail ("500", "429", "hang", "401"); `webhook(...)` builds a signed delivery
(body bytes and headers) from an issue's current state. Time is the fake's own `now`, moved
a minute on by every change unless a test sets it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from bot.trackers.signatures import sign_jira, sign_linear

FAILURES = ("500", "429", "hang", "401")
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    status: int = 0


class _FakeServer:
    """What both fakes share: the aiohttp server, the request log and the failures."""

    requests: list[Seen]
    failures: list[str]
    now: datetime
    port: int
    _runner: web.AppRunner | None
    _release: asyncio.Event

    async def start(self) -> Any:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._handle)
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

    def fail(self, kind: str, times: int = 1) -> None:
        """Make the next `times` requests fail as `kind`."""
        assert kind in FAILURES, kind
        self.failures.extend([kind] * times)

    def heal(self) -> None:
        self.failures.clear()

    def tick(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        seen = Seen(request.method, request.path, dict(request.query), dict(request.headers), body)
        self.requests.append(seen)
        if self.failures:
            kind = self.failures.pop(0)
            if kind == "hang":
                await self._release.wait()
                response: web.StreamResponse = web.Response(status=500, text="too late")
            else:
                response = self._failure(kind)
        elif not self._authorized(request):
            response = self._failure("401")
        else:
            response = self._serve(request, body)
        seen.status = response.status
        return response

    def _authorized(self, request: web.Request) -> bool:
        raise NotImplementedError

    def _failure(self, kind: str) -> web.StreamResponse:
        raise NotImplementedError

    def _serve(self, request: web.Request, body: Any) -> web.StreamResponse:
        raise NotImplementedError


# --- Jira ----------------------------------------------------------------------------------


@dataclass
class JiraIssue:
    id: str
    key: str
    project: str
    issue_type: str
    summary: str
    description: Any
    status: str
    category: str
    updated: datetime
    resolution: str | None = None
    fix_versions: list[dict[str, Any]] = field(default_factory=list)
    remote_links: dict[str, dict[str, Any]] = field(default_factory=dict)  # globalId → link


def jira_time(moment: datetime) -> str:
    """Jira's timestamps: 2026-03-01T09:00:00.000+0000."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _jira_error(status: int, messages: list[str], errors: dict[str, str] | None = None) -> Any:
    return web.json_response({"errorMessages": messages, "errors": errors or {}}, status=status)


_CATEGORY_NAMES = {"new": "To Do", "indeterminate": "In Progress", "done": "Done"}
_JQL_KEYS = re.compile(r"key\s+in\s*\(([^)]*)\)", re.IGNORECASE)
_JQL_UPDATED = re.compile(r'updated\s*>=\s*"(\d{4}/\d{2}/\d{2} \d{2}:\d{2})"', re.IGNORECASE)


@dataclass
class FakeJira(_FakeServer):
    email: str = "jerry@example.com"
    token: str = "jira-api-token"
    webhook_secret: str = "jira-webhook-secret"
    page_size: int = 100  # the most issues (search) or types (createmeta) in one page
    projects: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)  # (name, subtask)
    issues: dict[str, JiraIssue] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    now: datetime = START
    port: int = 0
    _runner: web.AppRunner | None = None
    _release: asyncio.Event = field(default_factory=asyncio.Event)
    _ids: int = 10000
    _links: int = 0

    # --- driving it ----------------------------------------------------------------------

    def add_project(
        self,
        key: str,
        issue_types: list[str] | tuple[str, ...] = ("Task", "Bug", "Story"),
        subtask_types: list[str] | tuple[str, ...] = ("Subtask",),
    ) -> None:
        self.projects[key] = [(name, False) for name in issue_types] + [
            (name, True) for name in subtask_types
        ]

    def add_issue(
        self,
        project: str,
        summary: str,
        *,
        issue_type: str = "Task",
        description: Any = None,
        status: str = "To Do",
        category: str = "new",
    ) -> JiraIssue:
        if project not in self.projects:
            self.add_project(project)
        self._ids += 1
        number = 1 + sum(1 for issue in self.issues.values() if issue.project == project)
        issue = JiraIssue(
            id=str(self._ids),
            key=f"{project}-{number}",
            project=project,
            issue_type=issue_type,
            summary=summary,
            description=description,
            status=status,
            category=category,
            updated=self.tick(),
        )
        self.issues[issue.key] = issue
        return issue

    def move(
        self, key: str, status: str, category: str, *, resolution: str | None = None
    ) -> JiraIssue:
        issue = self.issues[key]
        issue.status, issue.category, issue.resolution = status, category, resolution
        issue.updated = self.tick()
        return issue

    def release(
        self, key: str, version: str, description: str = "", *, released: bool = True
    ) -> JiraIssue:
        issue = self.issues[key]
        issue.fix_versions.append(
            {
                "self": f"{self.base}/rest/api/3/version/{len(issue.fix_versions) + 1}",
                "id": str(len(issue.fix_versions) + 1),
                "name": version,
                "description": description,
                "archived": False,
                "released": released,
                "releaseDate": self.now.date().isoformat(),
            }
        )
        issue.updated = self.tick()
        return issue

    def issue_json(self, issue: JiraIssue, fields: list[str] | None = None) -> dict[str, Any]:
        category = issue.category
        every = {
            "summary": issue.summary,
            "description": issue.description,
            "issuetype": {"name": issue.issue_type, "subtask": False},
            "project": {"key": issue.project},
            "status": {
                "self": f"{self.base}/rest/api/3/status/1",
                "name": issue.status,
                "id": "1",
                "statusCategory": {
                    "self": f"{self.base}/rest/api/3/statuscategory/{category}",
                    "id": {"new": 2, "indeterminate": 4, "done": 3}.get(category, 1),
                    "key": category,
                    "name": _CATEGORY_NAMES.get(category, "No Category"),
                },
            },
            "resolution": {"name": issue.resolution} if issue.resolution else None,
            "fixVersions": issue.fix_versions,
            "updated": jira_time(issue.updated),
        }
        chosen = every if not fields else {name: every.get(name) for name in fields}
        return {
            "expand": "renderedFields,names,schema,operations",
            "id": issue.id,
            "self": f"{self.base}/rest/api/3/issue/{issue.id}",
            "key": issue.key,
            "fields": chosen,
        }

    def webhook(
        self,
        key: str,
        *,
        event: str = "jira:issue_updated",
        secret: str | None = None,
        identifier: str | None = None,
        timestamp: int | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """A signed delivery of `event` for the issue as it is now."""
        issue = self.issues[key]
        payload = {
            "timestamp": timestamp if timestamp is not None else _ms(self.now),
            "webhookEvent": event,
            "issue_event_type_name": "issue_generic",
            "user": {"accountId": "5b10a2844c20165700ede21g", "displayName": "Ana Lead"},
            "issue": self.issue_json(issue),
            "changelog": {"id": "10400", "items": []},
        }
        # Webhook payloads name the issue with its v2 URL, as Jira's do.
        payload["issue"]["self"] = f"{self.base}/rest/api/2/issue/{issue.id}"
        body = json.dumps(payload).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature": sign_jira(secret or self.webhook_secret, body),
            "X-Atlassian-Webhook-Identifier": identifier or str(uuid.uuid4().int % 10**12),
        }
        return body, headers

    # --- answering -----------------------------------------------------------------------

    def _authorized(self, request: web.Request) -> bool:
        expected = base64.b64encode(f"{self.email}:{self.token}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {expected}"

    def _failure(self, kind: str) -> web.StreamResponse:
        if kind == "500":
            return _jira_error(500, ["Internal server error"])
        if kind == "429":
            reset = (datetime.now(UTC) + timedelta(seconds=61)).strftime("%Y-%m-%dT%H:%MZ")
            return web.json_response(
                {"errorMessages": ["Rate limit exceeded."], "errors": {}},
                status=429,
                headers={
                    "Retry-After": "1",
                    "X-RateLimit-Reset": reset,
                    "X-RateLimit-Limit": "100",
                    "X-RateLimit-Remaining": "0",
                    "RateLimit-Reason": "jira-quota-based",
                },
            )
        # 401: what Jira says to a request without valid credentials.
        return _jira_error(401, ["Client must be authenticated to access this resource."])

    def _serve(self, request: web.Request, body: Any) -> web.StreamResponse:
        path, method = request.path, request.method
        if path == "/rest/api/3/issue" and method == "POST":
            return self._create(body)
        if path == "/rest/api/3/search/jql" and method == "POST":
            return self._search(body)
        match = re.fullmatch(r"/rest/api/3/issue/createmeta/([^/]+)/issuetypes", path)
        if match and method == "GET":
            return self._issue_types(match.group(1), request.query)
        match = re.fullmatch(r"/rest/api/3/issue/([^/]+)/remotelink", path)
        if match and method == "POST":
            return self._remote_link(match.group(1), body)
        match = re.fullmatch(r"/rest/api/3/issue/([^/]+)", path)
        if match and method == "GET":
            issue = self._find(match.group(1))
            if issue is None:
                return _not_found_issue()
            fields = [name for name in request.query.get("fields", "").split(",") if name]
            return web.json_response(self.issue_json(issue, fields or None))
        return _jira_error(404, ["null for uri: " + str(request.url)])

    def _find(self, key_or_id: str) -> JiraIssue | None:
        issue = self.issues.get(key_or_id.upper())
        if issue is None:
            issue = next((i for i in self.issues.values() if i.id == key_or_id), None)
        return issue

    def _create(self, body: Any) -> web.StreamResponse:
        fields = (body or {}).get("fields") or {}
        project = (fields.get("project") or {}).get("key")
        type_name = (fields.get("issuetype") or {}).get("name")
        errors = {}
        if project not in self.projects:
            errors["project"] = "valid project is required"
        elif type_name not in [name for name, _ in self.projects[project]]:
            errors["issuetype"] = "Specify a valid issue type"
        if not (fields.get("summary") or "").strip():
            errors["summary"] = "You must specify a summary of the issue."
        description = fields.get("description")
        if description is not None and not (
            isinstance(description, dict)
            and description.get("type") == "doc"
            and description.get("version") == 1
            and isinstance(description.get("content"), list)
        ):
            errors["description"] = (
                "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
            )
        if errors:
            return _jira_error(400, [], errors)
        issue = self.add_issue(
            project, fields["summary"], issue_type=type_name, description=description
        )
        return web.json_response(
            {"id": issue.id, "key": issue.key, "self": f"{self.base}/rest/api/3/issue/{issue.id}"},
            status=201,
        )

    def _remote_link(self, key: str, body: Any) -> web.StreamResponse:
        issue = self._find(key)
        if issue is None:
            return _not_found_issue()
        link = body or {}
        target = link.get("object") or {}
        if not target.get("url") or not target.get("title"):
            return _jira_error(400, [], {"object": "A remote link must have a url and a title."})
        global_id = link.get("globalId")
        existing = issue.remote_links.get(global_id) if global_id else None
        if existing is not None:
            existing.update(link)
            link_id, status = existing["id"], 200
        else:
            self._links += 1
            link_id, status = self._links, 201
            issue.remote_links[global_id or f"link-{link_id}"] = {"id": link_id, **link}
        return web.json_response(
            {"id": link_id, "self": f"{self.base}/rest/api/3/issue/{key}/remotelink/{link_id}"},
            status=status,
        )

    def _search(self, body: Any) -> web.StreamResponse:
        body = body or {}
        jql = str(body.get("jql") or "")
        keys_match = _JQL_KEYS.search(jql)
        if keys_match is None:
            return _jira_error(400, ["The fake understands only `key in (…)` queries."])
        keys = [key.strip().upper() for key in keys_match.group(1).split(",") if key.strip()]
        missing = [key for key in keys if key not in self.issues]
        if missing:
            return _jira_error(
                400,
                [f"An issue with key '{key}' does not exist for field 'key'." for key in missing],
            )
        found = [self.issues[key] for key in keys]
        since_match = _JQL_UPDATED.search(jql)
        if since_match:
            since = datetime.strptime(since_match.group(1), "%Y/%m/%d %H:%M").replace(tzinfo=UTC)
            found = [issue for issue in found if issue.updated >= since]
        found.sort(key=lambda issue: int(issue.id))
        size = min(int(body.get("maxResults") or 50), self.page_size)
        token = body.get("nextPageToken")
        start = int(base64.b64decode(token).decode()) if token else 0
        page = found[start : start + size]
        answer: dict[str, Any] = {
            "issues": [self.issue_json(issue, body.get("fields")) for issue in page],
            "isLast": start + size >= len(found),
        }
        if not answer["isLast"]:
            answer["nextPageToken"] = base64.b64encode(str(start + size).encode()).decode()
        return web.json_response(answer)

    def _issue_types(self, project: str, query: Any) -> web.StreamResponse:
        if project not in self.projects:
            return _jira_error(404, [f"No project could be found with key '{project}'."])
        start = int(query.get("startAt", 0))
        size = min(int(query.get("maxResults", 50)), self.page_size)
        types = self.projects[project]
        page = types[start : start + size]
        return web.json_response(
            {
                "issueTypes": [
                    {
                        "self": f"{self.base}/rest/api/3/issuetype/{index}",
                        "id": str(index),
                        "name": name,
                        "description": "",
                        "subtask": subtask,
                        "hierarchyLevel": -1 if subtask else 0,
                    }
                    for index, (name, subtask) in enumerate(page, start=start + 1)
                ],
                "maxResults": size,
                "startAt": start,
                "total": len(types),
            }
        )


def _not_found_issue() -> web.StreamResponse:
    return _jira_error(404, ["Issue does not exist or you do not have permission to see it."])


# --- Linear --------------------------------------------------------------------------------


@dataclass
class LinearIssue:
    id: str
    identifier: str
    team: str
    title: str
    description: str | None
    state_name: str
    state_type: str
    updated: datetime
    created: datetime
    attachments: dict[str, dict[str, Any]] = field(default_factory=dict)  # url → attachment

    @property
    def url(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")[:40]
        return f"https://linear.app/acme/issue/{self.identifier}/{slug}"


def linear_time(moment: datetime) -> str:
    """Linear's timestamps: 2026-03-01T09:00:00.000Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _graphql_error(
    message: str, code: str, kind: str, *, status: int = 200, presentable: str | None = None
) -> web.Response:
    extensions: dict[str, Any] = {"type": kind, "code": code, "userError": True}
    if presentable:
        extensions["userPresentableMessage"] = presentable
    return web.json_response(
        {"data": None, "errors": [{"message": message, "extensions": extensions}]}, status=status
    )


_ROOT_FIELD = re.compile(r"\{\s*(teams|issueCreate|attachmentCreate|issues|issue)\s*\(")


@dataclass
class FakeLinear(_FakeServer):
    api_key: str = "lin_api_fake0123456789"
    webhook_secret: str = "linear-webhook-secret"
    page_size: int = 50  # the most issues in one page, whatever `first` asks
    teams: dict[str, dict[str, Any]] = field(default_factory=dict)  # key → {id, key, name, …}
    issues: dict[str, LinearIssue] = field(default_factory=dict)  # id → issue
    requests: list[Seen] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    now: datetime = START
    port: int = 0
    _runner: web.AppRunner | None = None
    _release: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"{self.base}/graphql"

    # --- driving it ----------------------------------------------------------------------

    def add_team(
        self,
        key: str,
        name: str | None = None,
        *,
        default_state: tuple[str, str] = ("Todo", "unstarted"),
    ) -> str:
        team_id = str(uuid.uuid4())
        self.teams[key] = {
            "id": team_id,
            "key": key,
            "name": name or key.title(),
            "default": default_state,
        }
        return team_id

    def add_issue(
        self,
        team: str,
        title: str,
        *,
        description: str | None = None,
        state: tuple[str, str] | None = None,
    ) -> LinearIssue:
        if team not in self.teams:
            self.add_team(team)
        name, kind = state or self.teams[team]["default"]
        number = 1 + sum(1 for issue in self.issues.values() if issue.team == team)
        moment = self.tick()
        issue = LinearIssue(
            id=str(uuid.uuid4()),
            identifier=f"{team}-{number}",
            team=team,
            title=title,
            description=description,
            state_name=name,
            state_type=kind,
            updated=moment,
            created=moment,
        )
        self.issues[issue.id] = issue
        return issue

    def find(self, key_or_id: str) -> LinearIssue | None:
        issue = self.issues.get(key_or_id)
        if issue is None:
            issue = next(
                (i for i in self.issues.values() if i.identifier == key_or_id.upper()), None
            )
        return issue

    def set_state(self, identifier: str, name: str, type: str) -> LinearIssue:
        issue = self.find(identifier)
        assert issue is not None, identifier
        issue.state_name, issue.state_type = name, type
        issue.updated = self.tick()
        return issue

    def issue_json(self, issue: LinearIssue) -> dict[str, Any]:
        return {
            "id": issue.id,
            "identifier": issue.identifier,
            "url": issue.url,
            "title": issue.title,
            "description": issue.description,
            "updatedAt": linear_time(issue.updated),
            "state": {"name": issue.state_name, "type": issue.state_type},
        }

    def webhook(
        self,
        identifier: str,
        *,
        action: str = "update",
        type: str = "Issue",
        secret: str | None = None,
        delivery: str | None = None,
        timestamp: int | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """A signed delivery of `action` for the issue as it is now."""
        issue = self.find(identifier)
        assert issue is not None, identifier
        team = self.teams[issue.team]
        data = {
            **self.issue_json(issue),
            "number": int(issue.identifier.rsplit("-", 1)[1]),
            "priority": 0,
            "createdAt": linear_time(issue.created),
            "teamId": team["id"],
            "stateId": str(uuid.uuid5(uuid.NAMESPACE_URL, issue.state_name)),
            "state": {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, issue.state_name)),
                "color": "#5e6ad2",
                "name": issue.state_name,
                "type": issue.state_type,
            },
            "team": {"id": team["id"], "key": team["key"], "name": team["name"]},
        }
        del data["url"]  # the issue's url comes at the top of the payload
        payload = {
            "action": action,
            "actor": {"id": str(uuid.uuid4()), "name": "Ana Lead", "type": "user"},
            "createdAt": linear_time(self.now),
            "data": data,
            "url": issue.url,
            "type": type,
            "organizationId": "f1d2c3b4-0000-4000-8000-000000000001",
            "webhookTimestamp": timestamp if timestamp is not None else _ms(self.now),
            "webhookId": "3c5e1f2a-0000-4000-8000-000000000002",
        }
        if action == "update":
            payload["updatedFrom"] = {"updatedAt": linear_time(issue.created)}
        body = json.dumps(payload).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Linear-Delivery": delivery or str(uuid.uuid4()),
            "Linear-Event": type,
            "Linear-Signature": sign_linear(secret or self.webhook_secret, body),
            "User-Agent": "Linear-Webhook",
        }
        return body, headers

    # --- answering -----------------------------------------------------------------------

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == self.api_key

    def _failure(self, kind: str) -> web.StreamResponse:
        if kind == "500":
            return web.Response(status=500, text="Internal Server Error")
        if kind == "429":
            # Linear's rate limit: HTTP 400, RATELIMITED, the budgets' reset in epoch ms.
            reset = str(_ms(datetime.now(UTC)) + 1000)
            response = _graphql_error(
                "Rate limit exceeded",
                "RATELIMITED",
                "ratelimited",
                status=400,
                presentable="Too many requests, please slow down.",
            )
            response.headers.update(
                {
                    "X-RateLimit-Requests-Limit": "5000",
                    "X-RateLimit-Requests-Remaining": "0",
                    "X-RateLimit-Requests-Reset": reset,
                }
            )
            return response
        return _graphql_error(
            "Authentication required, not authenticated",
            "AUTHENTICATION_ERROR",
            "authentication error",
            status=400,
            presentable="You need to authenticate to access this operation.",
        )

    def _serve(self, request: web.Request, body: Any) -> web.StreamResponse:
        if request.path != "/graphql" or request.method != "POST":
            return web.Response(status=404, text="Not Found")
        body = body if isinstance(body, dict) else {}
        query = str(body.get("query") or "")
        variables = body.get("variables") or {}
        match = _ROOT_FIELD.search(query)
        if match is None:
            return _graphql_error(
                "The fake serves only Jerry's operations",
                "GRAPHQL_VALIDATION_FAILED",
                "graphql error",
                status=400,
            )
        operation = match.group(1)
        if operation == "teams":
            nodes = [
                {"id": team["id"], "key": team["key"], "name": team["name"]}
                for team in self.teams.values()
                if team["key"] == variables.get("key")
            ]
            return web.json_response({"data": {"teams": {"nodes": nodes}}})
        if operation == "issueCreate":
            return self._create(variables.get("input") or {})
        if operation == "attachmentCreate":
            return self._attach(variables.get("input") or {})
        if operation == "issue":
            issue = self.find(str(variables.get("id") or ""))
            if issue is None:
                return _not_found("Issue")
            return web.json_response({"data": {"issue": self.issue_json(issue)}})
        return self._issues(variables)

    def _create(self, values: dict[str, Any]) -> web.StreamResponse:
        team = next((t for t in self.teams.values() if t["id"] == values.get("teamId")), None)
        if team is None:
            return _not_found("Team")
        if not str(values.get("title") or "").strip():
            return _graphql_error(
                "Argument Validation Error",
                "INVALID_INPUT",
                "invalid input",
                status=400,
                presentable="title must not be empty",
            )
        issue = self.add_issue(team["key"], values["title"], description=values.get("description"))
        return web.json_response(
            {"data": {"issueCreate": {"success": True, "issue": self.issue_json(issue)}}}
        )

    def _attach(self, values: dict[str, Any]) -> web.StreamResponse:
        issue = self.find(str(values.get("issueId") or ""))
        if issue is None:
            return _not_found("Issue")
        url = str(values.get("url") or "")
        attachment = issue.attachments.get(url)
        if attachment is None:  # the url is the attachment's identity on its issue
            attachment = {"id": str(uuid.uuid4()), "url": url}
            issue.attachments[url] = attachment
        attachment.update({"title": values.get("title"), "subtitle": values.get("subtitle")})
        return web.json_response(
            {
                "data": {
                    "attachmentCreate": {
                        "success": True,
                        "attachment": {"id": attachment["id"], "url": url},
                    }
                }
            }
        )

    def _issues(self, variables: dict[str, Any]) -> web.StreamResponse:
        issue_filter = variables.get("filter") or {}
        found = sorted(self.issues.values(), key=lambda issue: issue.created)
        ids = (issue_filter.get("id") or {}).get("in")
        if ids is not None:
            found = [issue for issue in found if issue.id in ids]
        since = (issue_filter.get("updatedAt") or {}).get("gt")
        if since is not None:
            moment = datetime.fromisoformat(str(since))
            found = [issue for issue in found if issue.updated > moment]
        after = variables.get("after")
        start = 0
        if after:
            start = next(
                (index + 1 for index, issue in enumerate(found) if issue.id == after), len(found)
            )
        size = min(int(variables.get("first") or 50), self.page_size)
        page = found[start : start + size]
        more = start + size < len(found)
        return web.json_response(
            {
                "data": {
                    "issues": {
                        "nodes": [self.issue_json(issue) for issue in page],
                        "pageInfo": {
                            "hasNextPage": more,
                            "endCursor": page[-1].id if page else None,
                        },
                    }
                }
            }
        )


def _not_found(entity: str) -> web.Response:
    return _graphql_error(
        f"Entity not found: {entity}",
        "INPUT_ERROR",
        "invalid input",
        presentable=f"Could not find referenced {entity}.",
    )


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
