"""What Jerry knows of an issue in Jira or Linear, whichever said it (plain data).

The clients (bot/trackers/jira.py, bot/trackers/linear.py) turn the trackers' answers and
webhook payloads into `IssueState`; the rest of Jerry never reads a tracker's own shapes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

JIRA = "jira"
LINEAR = "linear"
TRACKERS = (JIRA, LINEAR)

# Where an issue stands, whatever the tracker calls it. Jira: the status category's key
# ("new" → todo, "indeterminate" → in_progress, "done" → done); Linear: the workflow state's
# type (triage, backlog, unstarted → todo; started → in_progress; completed → done;
# canceled → canceled).
TODO = "todo"
IN_PROGRESS = "in_progress"
DONE = "done"
CANCELED = "canceled"
STAGES = (TODO, IN_PROGRESS, DONE, CANCELED)

# PAY-123 (Jira), ENG-42 (Linear): a project or team key, a dash, a number.
ISSUE_KEY = re.compile(r"\b([A-Z][A-Z0-9_]{0,29}-[1-9][0-9]{0,9})\b")


@dataclass(frozen=True)
class IssueState:
    tracker: str  # JIRA | LINEAR
    key: str  # "PAY-123", "ENG-42"
    external_id: str  # Jira's issue id ("10042"), Linear's issue uuid
    url: str  # where a person opens it (Jira: {base}/browse/PAY-123)
    title: str
    status: str  # the tracker's own name of the status: "In Progress", "Done"
    stage: str  # one of STAGES
    # Jira: the name and description of a released fix version of the issue (it shipped
    # with that release); Linear: None (a completed issue has shipped).
    release: str | None = None
    release_note: str | None = None
    # The tracker's last change of the issue, ISO 8601 as it said it: a poll asks for what
    # changed after the latest one seen.
    updated: str | None = None

    @property
    def shipped(self) -> bool:
        """The work is out: done, or (Jira) in a released fix version."""
        return self.stage == DONE or self.release is not None


class TrackerError(Exception):
    """A tracker refused or could not answer. `retry`: worth trying again later (network,
    5xx, rate limit: `retry_after` seconds when it said); otherwise it never will (bad
    project, no permission, bad input): `code` says why, `message` is the tracker's words."""

    def __init__(
        self,
        code: str,
        message: str = "",
        *,
        retry: bool = False,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message
        self.retry = retry
        self.retry_after = retry_after
        self.status = status


class IssueNotFound(TrackerError):
    """No such issue (or Jerry's service account may not see it)."""

    def __init__(self, key: str) -> None:
        super().__init__("not_found", key, status=404)
        self.key = key
