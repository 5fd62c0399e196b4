"""Turning stored items into the plain cards that views render, and who may act on them."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.items.demand import demand_for
from bot.items.domain import NO_REPORTER, InternalNote, ItemCard, ItemDemand, LinkedIssue
from bot.items.store import team_and_area
from models.items import Item, ItemEvent
from models.routing import Team
from models.trackers import ItemIssueLink, TrackerIssue
from models.users import SlackUser

UNROUTED_TEAM_LABEL = "—"


NOTE_EVENT = "note"  # an internal note kept on an item (bot/relay/notes.py)
NOTES_ON_CARD = 5  # the latest notes a card shows; it counts the others


# The trackers (bot/trackers) this process is connected to, set once by build_services from
# the settings: a card offers "Create issue" in its team's tracker and "Link issue" only for
# a connected one. A process talks to one set of trackers, as it talks to one Slack.
_connected_trackers: frozenset[str] = frozenset()


def connect_trackers(names: Iterable[str]) -> None:
    global _connected_trackers
    _connected_trackers = frozenset(names)


def connected_trackers() -> frozenset[str]:
    return _connected_trackers


def tracker_of(team: Team | None) -> str | None:
    """The connected tracker a team's work goes to (its routing file's `jira:` or
    `linear:`), else None."""
    if team is None:
        return None
    wanted = "jira" if team.jira_project else "linear" if team.linear_team else None
    return wanted if wanted in _connected_trackers else None


def card_from(
    item: Item,
    team_name: str | None,
    area_name: str | None,
    *,
    note: str | None = None,
    reporter_reachable: bool = True,
    internal_notes: tuple[InternalNote, ...] = (),
    internal_note_count: int = 0,
    demand: ItemDemand | None = None,
    issues: tuple[LinkedIssue, ...] = (),
    create_in: str | None = None,
) -> ItemCard:
    return ItemCard(
        id=item.id,
        kind=item.kind,
        status=item.status,
        text=item.text,
        reporter_id=item.reporter_id,
        anonymous=item.anonymous,
        source=item.source,
        team=team_name or UNROUTED_TEAM_LABEL,
        assignee_id=item.assignee_id or "",
        route_step=item.route_step,
        route_detail=dict(item.route_detail or {}),
        area=area_name,
        channel_id=item.channel_id,
        permalink=item.permalink,
        impact=item.impact,
        category=item.category,
        customer=item.customer,
        customer_at_risk=item.customer_at_risk,
        created_at=item.created_at,
        answer=item.answer_text,
        answered_by=item.answered_by,
        acknowledged_by=item.acknowledged_by,
        note=note,
        awaiting_reporter=item.awaiting_reporter_since is not None,
        outcome=item.outcome,
        resolution_note=item.resolution_note,
        resolved_by=item.resolved_by,
        duplicate_of=item.duplicate_of,
        customer_outcome=item.customer_outcome,
        helped_deal=item.helped_deal,
        resolved_at=item.resolved_at,
        hide_origin=bool(item.hide_origin),
        reporter_reachable=reporter_reachable,
        internal_notes=internal_notes,
        internal_note_count=internal_note_count,
        demand=demand,
        merged_into=item.merged_into,
        issues=issues,
        create_in=create_in,
        can_link=bool(_connected_trackers),
        said_by=item.said_by,
        external_org=item.external_org,
        reporter_external=bool(item.reporter_external),
    )


async def load_card(session: AsyncSession, item: Item, *, note: str | None = None) -> ItemCard:
    team, area = await team_and_area(session, item)
    notes, count = await internal_notes(session, item)
    return card_from(
        item,
        team.name if team else None,
        area.name if area else None,
        note=note,
        reporter_reachable=await reporter_reachable(session, item),
        internal_notes=notes,
        internal_note_count=count,
        demand=(await demand_for(session, [item])).get(item.id),
        issues=await linked_issues(session, item),
        create_in=tracker_of(team),
    )


async def linked_issues(session: AsyncSession, item: Item) -> tuple[LinkedIssue, ...]:
    """The issues the item is linked to (no query for an item without any: most items)."""
    if not item.issue_link_count:
        return ()
    rows = await session.execute(
        select(TrackerIssue)
        .join(ItemIssueLink, ItemIssueLink.issue_id == TrackerIssue.id)
        .where(ItemIssueLink.item_id == item.id)
        .order_by(ItemIssueLink.id)
    )
    return tuple(linked_issue(issue) for issue in rows.scalars())


async def issues_of_items(
    session: AsyncSession, items: Iterable[Item]
) -> dict[int, tuple[LinkedIssue, ...]]:
    """The linked issues of many items in one query, none when no item has any."""
    ids = [item.id for item in items if item.issue_link_count]
    if not ids:
        return {}
    rows = await session.execute(
        select(ItemIssueLink.item_id, TrackerIssue)
        .join(TrackerIssue, TrackerIssue.id == ItemIssueLink.issue_id)
        .where(ItemIssueLink.item_id.in_(ids))
        .order_by(ItemIssueLink.id)
    )
    found: dict[int, list[LinkedIssue]] = {}
    for item_id, issue in rows:
        found.setdefault(item_id, []).append(linked_issue(issue))
    return {item_id: tuple(issues) for item_id, issues in found.items()}


def linked_issue(issue: TrackerIssue) -> LinkedIssue:
    return LinkedIssue(
        tracker=issue.tracker,
        key=issue.key,
        url=issue.url,
        title=issue.title,
        status=issue.status,
        stage=issue.stage,
        release=issue.release,
        shipped=issue.shipped_at is not None,
    )


async def reporter_reachable(session: AsyncSession, item: Item) -> bool:
    """Whether what the lead writes can reach the reporter: not when they left Slack (as far
    as Jerry's cache of people knows, without asking Slack)."""
    if not item.reporter_id or item.reporter_id == NO_REPORTER:
        return False
    person = await session.get(SlackUser, item.reporter_id)
    return person is None or not person.deleted


async def internal_notes(
    session: AsyncSession, item: Item, *, latest: int = NOTES_ON_CARD
) -> tuple[tuple[InternalNote, ...], int]:
    """The latest `latest` internal notes on the item, oldest first, and how many it has
    (no query for an item without notes: most items)."""
    count = item.internal_note_count or 0
    if not count:
        return (), 0
    rows = await session.execute(
        select(ItemEvent)
        .where(ItemEvent.item_id == item.id, ItemEvent.kind == NOTE_EVENT)
        .order_by(ItemEvent.id.desc())
        .limit(latest)
    )
    notes = [
        InternalNote(author=row.actor, text=str((row.detail or {}).get("text", "")), at=row.at)
        for row in rows.scalars()
    ]
    return tuple(reversed(notes)), count


def may_act(
    item: Item,
    team: Team | None,
    user_id: str,
    admins: Iterable[str],
    *,
    triage_lead: str | None = None,
) -> bool:
    """The assigned lead, the team's lead and backup, product ops' triage lead (who gets
    what nobody else handles) and Jerry's admins; nobody else."""
    allowed = {item.assignee_id, triage_lead, *(admins or ())}
    if team is not None:
        allowed |= {team.lead, team.backup}
    allowed.discard(None)
    return user_id in allowed


def may_see(
    item: Item,
    team: Team | None,
    user_id: str,
    admins: Iterable[str],
    *,
    triage_lead: str | None = None,
) -> bool:
    """Who may see an item's text and answer: whoever may act on it (`may_act`), and its
    reporter. A lead of another team may not (items can be confidential to their team)."""
    return user_id == item.reporter_id or may_act(
        item, team, user_id, admins, triage_lead=triage_lead
    )
