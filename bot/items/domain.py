"""The plain data of items that the core computes and views render: the card of an item, the
outcomes of a resolution, the choices the intake and reassign forms offer.

No I/O and nothing of Jerry's imported here, so views (bot/views/) and the core both import
it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# The team that gets what nothing else routes (named by the routing file's `triage:`).
TRIAGE_TEAM_NAME = "Triage"

# Items brought in by `jerry items import` (bot/intake/importing.py): their `source`, and the
# `reporter_id` of a row that names nobody. Nothing is ever sent to NO_REPORTER (the outbox's
# `post_in_reporter_thread` drops it) and views name it in words, never as a mention.
IMPORT_SOURCE = "import"
NO_REPORTER = "imported"

OUTCOMES = ("fixed", "answered", "wont_fix", "duplicate", "known_issue")
# What kind of problem a pain point is: the reporter may pick it, the lead sets or corrects it
# when resolving; the insights count "bug" items opened against those resolved as fixed.
CATEGORIES = ("bug", "feature", "process", "other")
# Events in which a person takes an item up (bot/sla/timings.py: time to acknowledge).
ACKNOWLEDGING_EVENTS = frozenset({"acknowledged", "answered", "resolved"})
JERRY_ACTOR = "jerry"


def kind_acknowledges(kind: str) -> bool:
    return kind in ACKNOWLEDGING_EVENTS


def breaches_target(kind: str, detail: dict[str, Any] | None) -> bool:
    """An event that says a lead's target passed with nobody acting: the lead's reminder
    (bot/sla/reminders.py) for the acknowledgement or the answer, or the escalation."""
    if kind == "escalated":
        return True
    return kind == "reminder_sent" and (detail or {}).get("reminder") in ("ack", "answer")


CUSTOMER_OUTCOMES = ("kept", "lost", "unknown")
# The orders a lead's App Home queue offers (bot/items/demand.py's `queue_order`); the
# first is the queue as it always was, what waits longest first.
QUEUE_SORTS = ("oldest", "newest", "demand")


@dataclass(frozen=True)
class InternalNote:
    """A note a lead, backup or admin kept on an item for the team: never sent to the
    reporter (an item event of kind "note", bot/relay/notes.py)."""

    author: str
    text: str  # Slack-formatted, as written
    at: datetime


@dataclass(frozen=True)
class ItemDemand:
    """How many asked for an item: its reporter and the reporters of the items merged into
    it (each person once), and the customers named on any of them (each once). A card
    carries it only when more than the item's own reporter asked (bot/items/demand.py)."""

    people: int
    customers: tuple[str, ...] = ()


@dataclass(frozen=True)
class LooksLike:
    """An item that looks like the one a lead's card shows ("Looks like #12"), as it is now
    (bot/similar/looks_like.py): its text only when the card's reader may see it."""

    id: int
    kind: str
    status: str
    outcome: str | None
    people: int  # who asked for it: its reporter and the reporters of the items merged into it
    text: str | None = None  # None when the reader may not see it (another team's item)


@dataclass(frozen=True)
class LinkedIssue:
    """A Jira or Linear issue an item's work is tracked in (bot/trackers), as Jerry last
    heard of it: status None while the link waits to be checked."""

    tracker: str  # jira | linear
    key: str  # PAY-123
    url: str | None = None
    title: str | None = None
    status: str | None = None  # the tracker's name for it: "In Progress"
    stage: str | None = None  # todo | in_progress | done | canceled
    release: str | None = None  # Jira: the released fix version it shipped in
    shipped: bool = False


@dataclass(frozen=True)
class ItemCard:
    """What a message needs to know about an item (bot/items/cards.py builds it from the
    database)."""

    id: int
    kind: str
    status: str
    text: str
    reporter_id: str
    anonymous: bool
    source: str
    team: str
    assignee_id: str
    route_step: str
    route_detail: dict[str, Any] = field(default_factory=dict)
    area: str | None = None
    channel_id: str | None = None
    permalink: str | None = None
    impact: str | None = None
    category: str | None = None  # CATEGORIES, or None when nobody said
    customer: str | None = None
    customer_at_risk: bool = False
    created_at: datetime | None = None
    answer: str | None = None
    answered_by: str | None = None
    acknowledged_by: str | None = None
    note: str | None = None
    awaiting_reporter: bool = False  # a question asked with "Ask for details" waits
    # How it was resolved (see bot/relay/resolution.py)
    outcome: str | None = None
    resolution_note: str | None = None
    resolved_by: str | None = None
    duplicate_of: int | None = None
    customer_outcome: str | None = None
    helped_deal: bool = False
    resolved_at: datetime | None = None
    # Anonymous and its origin (channel, message) would point at the reporter: not shown.
    hide_origin: bool = False
    # The reporter can still be reached (not deactivated): replies to them are delivered.
    reporter_reachable: bool = True
    # The team's internal notes, oldest first (the latest few), and how many there are.
    internal_notes: tuple[InternalNote, ...] = ()
    internal_note_count: int = 0
    # Who else asked for it (items merged into it); None when only its own reporter did.
    demand: ItemDemand | None = None
    # Merged into another item (bot/similar/merge.py): its reporter follows that one.
    merged_into: int | None = None
    # The items that look like it, for its lead's card (empty elsewhere, and when none do).
    looks_like: tuple[LooksLike, ...] = ()
    # The Jira or Linear issues its work is tracked in, and the trackers its card offers to
    # create an issue in ("create") and to link one from ("link"): empty when none is
    # connected (bot/trackers).
    issues: tuple[LinkedIssue, ...] = ()
    create_in: str | None = None
    can_link: bool = False
    # Filed with a reaction on someone else's message (bot/capture): who wrote it.
    said_by: str | None = None
    # Slack Connect: from someone of this other organisation (bot/capture/external.py).
    external_org: str | None = None
    reporter_external: bool = False  # its reporter is of that organisation


@dataclass(frozen=True)
class AreaChoice:
    """An area the intake form offers (bot/intake/service.py lists them)."""

    id: int
    name: str
    team: str


@dataclass(frozen=True)
class ReassignTarget:
    """Where the reassign form can send an item (bot/relay/lead_actions.py lists them)."""

    value: str  # "team:3", "area:7" or "triage"
    label: str
    group: str  # "teams" | "areas" | "triage"


# Row ids are 32-bit integers on PostgreSQL: a larger number (only a forged request has one)
# names no row, and would make the query fail as if the database were down.
MAX_ROW_ID = 2**31 - 1


def row_id(value: object) -> int | None:
    """A row id from a button's value, a form's option or metadata (an int or its digits),
    or None when `value` cannot be one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
        number = int(value)
    else:
        return None
    return number if 0 < number <= MAX_ROW_ID else None
