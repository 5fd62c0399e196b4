"""Which trackers this Jerry is connected to, and one way to ask either of them.

A tracker is connected when its service account's credentials are set (bot/config.py):
Jira needs JERRY_JIRA_URL, JERRY_JIRA_EMAIL and JERRY_JIRA_TOKEN, Linear needs
JERRY_LINEAR_API_KEY. Each call opens a client and closes it: the calls are rare (a lead's
click, a poll every few minutes), so no pool outlives them.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from bot.config import Settings
from bot.trackers.domain import ISSUE_KEY, JIRA, LINEAR, IssueState, TrackerError
from bot.trackers.jira import JiraClient, adf_document
from bot.trackers.linear import LinearClient

# linear.app/<workspace>/issue/ENG-42/<slug>
LINEAR_URL = re.compile(r"/issue/([A-Za-z][A-Za-z0-9_]{0,29}-[1-9][0-9]{0,9})(?:/|$)")
# <jira>/browse/PAY-123, and the boards' ?selectedIssue=PAY-123
JIRA_URL = re.compile(r"/browse/([A-Za-z][A-Za-z0-9_]{0,29}-[1-9][0-9]{0,9})(?:/|$)")
JIRA_SELECTED = re.compile(r"[?&]selectedIssue=([A-Za-z][A-Za-z0-9_]{0,29}-[1-9][0-9]{0,9})")


@dataclass(frozen=True)
class NewIssue:
    """What "Create issue" sends: the tracker's project (Jira) or team (Linear) key, the
    issue type (Jira), the title, the description's paragraphs (plain text), and the Slack
    permalink of the item, attached to the issue."""

    project: str
    issue_type: str | None
    title: str
    paragraphs: tuple[str, ...]
    permalink: str | None
    link_title: str


class TrackerClient(Protocol):
    async def create(self, new: NewIssue) -> IssueState: ...
    async def attach(self, issue: IssueState, url: str, title: str) -> None: ...
    async def read(self, key: str) -> IssueState: ...
    async def changed(
        self, issues: list[tuple[str, str | None]], since: str | None
    ) -> list[IssueState]: ...
    async def issue_types(self, project: str) -> list[str]: ...
    async def check_project(self, project: str) -> None: ...


class _Jira:
    def __init__(self, client: JiraClient) -> None:
        self.api = client

    async def create(self, new: NewIssue) -> IssueState:
        link = (new.link_title, new.permalink) if new.permalink else None
        description = adf_document(list(new.paragraphs), link)
        return await self.api.create_issue(
            new.project, new.issue_type or "Task", new.title, description
        )

    async def attach(self, issue: IssueState, url: str, title: str) -> None:
        await self.api.add_remote_link(issue.key, url, title)

    async def read(self, key: str) -> IssueState:
        return await self.api.get_issue(key)

    async def changed(
        self, issues: list[tuple[str, str | None]], since: str | None
    ) -> list[IssueState]:
        return await self.api.search([key for key, _ in issues], since)

    async def issue_types(self, project: str) -> list[str]:
        return await self.api.issue_types(project)

    async def check_project(self, project: str) -> None:
        """The project exists and the service account may create issues in it."""
        if not await self.api.issue_types(project):
            raise TrackerError("no_issue_types", project)


class _Linear:
    def __init__(self, client: LinearClient) -> None:
        self.api = client

    async def create(self, new: NewIssue) -> IssueState:
        body = "\n\n".join(p for p in new.paragraphs if p.strip())
        if new.permalink:
            body += f"\n\n[{new.link_title}]({new.permalink})"
        return await self.api.create_issue(new.project, new.title, body.strip())

    async def attach(self, issue: IssueState, url: str, title: str) -> None:
        await self.api.attach_link(issue.external_id, url, title)

    async def read(self, key: str) -> IssueState:
        return await self.api.get_issue(key)

    async def changed(
        self, issues: list[tuple[str, str | None]], since: str | None
    ) -> list[IssueState]:
        # Linear filters on ids; an issue never read yet is asked by its key.
        ids = [external for _key, external in issues if external]
        found = await self.api.changed_issues(ids, since) if ids else []
        for key, external in issues:
            if not external:
                found.append(await self.api.get_issue(key))
        return found

    async def issue_types(self, project: str) -> list[str]:
        return []

    async def check_project(self, project: str) -> None:
        await self.api.team_id(project)


class Trackers:
    """The trackers configured in `settings`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def connected(self) -> tuple[str, ...]:
        return tuple(name for name in (JIRA, LINEAR) if self.is_connected(name))

    def is_connected(self, tracker: str) -> bool:
        s = self.settings
        if tracker == JIRA:
            return bool(s.jerry_jira_url and s.jerry_jira_email and s.jerry_jira_token)
        if tracker == LINEAR:
            return bool(s.jerry_linear_api_key)
        return False

    def webhook_secret(self, tracker: str) -> str | None:
        """The secret its webhook signs with; None: its endpoint answers 404."""
        if not self.is_connected(tracker):
            return None
        if tracker == JIRA:
            return self.settings.jerry_jira_webhook_secret or None
        return self.settings.jerry_linear_webhook_secret or None

    @property
    def jira_base(self) -> str:
        return (self.settings.jerry_jira_url or "").rstrip("/")

    @asynccontextmanager
    async def client(self, tracker: str) -> AsyncIterator[TrackerClient]:
        s = self.settings
        timeout = s.jerry_tracker_timeout_seconds
        if not self.is_connected(tracker):
            raise TrackerError("not_connected", tracker)
        if tracker == JIRA:
            assert s.jerry_jira_email and s.jerry_jira_token
            async with JiraClient(
                self.jira_base, s.jerry_jira_email, s.jerry_jira_token, timeout=timeout
            ) as jira:
                yield _Jira(jira)
        else:
            assert s.jerry_linear_api_key
            async with LinearClient(
                s.jerry_linear_api_key, url=s.jerry_linear_api_url, timeout=timeout
            ) as linear:
                yield _Linear(linear)

    def parse_reference(self, text: str, default: str | None) -> tuple[str, str] | None:
        """(tracker, key) from what a lead pasted: a key like PAY-123 (the team's tracker,
        else the only one connected) or an issue's URL in Jira or Linear; None if neither."""
        text = text.strip().strip("<>").split("|")[0].strip()
        if text.startswith(("http://", "https://")):
            parts = urlsplit(text)
            if JIRA in self.connected and _same_host(text, self.jira_base):
                found = JIRA_URL.search(parts.path) or JIRA_SELECTED.search("?" + parts.query)
                if found:
                    return JIRA, found.group(1).upper()
            if LINEAR in self.connected and parts.hostname in ("linear.app", "www.linear.app"):
                found = LINEAR_URL.search(parts.path)
                if found:
                    return LINEAR, found.group(1).upper()
            return None
        match = ISSUE_KEY.fullmatch(text.upper())
        if match is None:
            return None
        connected = self.connected
        if default in connected:
            return default, match.group(1)
        if len(connected) == 1:
            return connected[0], match.group(1)
        return None


def _same_host(url: str, base: str) -> bool:
    return bool(base) and urlsplit(url).hostname == urlsplit(base).hostname
