"""Linking items to Jira and Linear issues, and what Jerry does when an issue moves.

A lead's "Create issue" and "Link issue" are stored at once and done by the outbox
(bot/trackers/delivery.py) after Slack has its ack: the tracker may be slow or down, and
nothing a lead asked is lost then (it is retried, and the lead is told). What the trackers
say of an issue, from a webhook, the poller or Jerry's own read, goes through `apply_state`:
the same news twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import t
from bot.items.cards import connected_trackers, load_card, tracker_of
from bot.items.domain import JERRY_ACTOR, NO_REPORTER, ItemCard
from bot.items.store import add_event
from bot.outbox.store import enqueue
from bot.relay.lead_actions import RefusedError, load_for_action, update_lead_dm
from bot.text import mentioned_users, readable
from bot.trackers import store
from bot.trackers.connection import Trackers
from bot.trackers.domain import IN_PROGRESS, ISSUE_KEY, JIRA, IssueState
from bot.trackers.shipping import ship
from models.deliveries import Delivery
from models.items import Item
from models.routing import Team
from models.trackers import TrackerIssue
from models.users import SlackUser

TITLE_LIMIT = 255  # Jira's summary field
DESCRIPTION_LIMIT = 30_000
MAX_LINKS = 5  # issues per item: a card lists them in one overflow menu
TRACKER_LANE = "tracker:"  # + the tracker: its calls go one after the other
CREATE = "tracker_create"  # outbox purposes (bot/trackers/delivery.py)
CHECK = "tracker_check"
NEWS = "tracker_news"  # a message to the lead about their request
STATUS_NOTICE = "tracker_status_notice"  # the reporter: work on their item started


@dataclass(frozen=True)
class CreateForm:
    """What the "Create issue" form shows, prefilled from the item."""

    item_id: int
    tracker: str
    project: str
    issue_type: str | None
    title: str
    description: str
    # The issue will link back to the Slack message the item came from (none for an item
    # typed in a form, nor for one whose origin would point at its anonymous reporter).
    links_back: bool = False


@dataclass(frozen=True)
class CreateRequest:
    tracker: str
    project: str
    issue_type: str | None
    title: str
    description: str


def _project_of(team: Team | None, tracker: str) -> str:
    if team is None:
        return ""
    return (team.jira_project if tracker == JIRA else team.linear_team) or ""


def issue_title(item: Item, names: dict[str, str]) -> str:
    """The item's first line, readable (names, not <@U…>), cut to a title's length."""
    first = next((line for line in readable(item.text, names).splitlines() if line.strip()), "")
    title = first.strip() or f"#{item.id}"
    return title if len(title) <= TITLE_LIMIT else title[: TITLE_LIMIT - 1].rstrip() + "…"


def issue_description(item: Item, lang: str, names: dict[str, str]) -> str:
    """The item as the tracker's readers need it: its text, who asked (never an anonymous
    reporter), the customer. Plain text: each tracker formats it in its own way."""
    parts = [readable(item.text, names).strip()]
    facts = [t("trackers.description.item", lang, id=item.id)]
    if not item.anonymous and item.reporter_id != NO_REPORTER:
        who = names.get(item.reporter_id, item.reporter_id)
        facts.append(t("trackers.description.reporter", lang, who=who))
    if item.customer:
        key = (
            "trackers.description.customer_at_risk"
            if item.customer_at_risk
            else "trackers.description.customer"
        )
        facts.append(t(key, lang, customer=readable(item.customer)))
    parts.append("\n".join(facts))
    return "\n\n".join(part for part in parts if part)[:DESCRIPTION_LIMIT]


async def create_form(
    sessions: async_sessionmaker[AsyncSession],
    item_id: int,
    actor: str,
    admins: Iterable[str],
    lang: str,
) -> CreateForm:
    """For opening "Create issue": the item's team's tracker and project, prefilled."""
    async with sessions() as session:
        item, team, _ = await load_for_action(session, item_id, actor, admins, for_update=False)
        tracker = tracker_of(team)
        if tracker is None:
            raise RefusedError(
                "trackers.refused.no_project", "project", team=team.name if team else "—"
            )
        names = await _names(session, [item.text, item.customer or ""], item)
        return CreateForm(
            item_id=item.id,
            tracker=tracker,
            project=_project_of(team, tracker),
            issue_type=team.issue_type if team else None,
            title=issue_title(item, names),
            description=issue_description(item, lang, names),
            links_back=bool(item.permalink) and not item.hide_origin,
        )


async def _names(session: AsyncSession, texts: list[str], item: Item) -> dict[str, str]:
    """The names of the people the texts mention, and of the reporter unless anonymous, as
    Jerry's cache of people knows them (the tracker's readers are not in Slack)."""
    wanted = mentioned_users(texts)
    if not item.anonymous:
        wanted.add(item.reporter_id)
    if not wanted:
        return {}
    rows = await session.execute(select(SlackUser).where(SlackUser.id.in_(sorted(wanted))))
    return {person.id: person.real_name or person.name or person.id for person in rows.scalars()}


async def request_create(
    sessions: async_sessionmaker[AsyncSession],
    item_id: int,
    actor: str,
    admins: Iterable[str],
    request: CreateRequest,
    lang: str,
) -> ItemCard:
    """Owe the issue's creation (the outbox does it); refused with a clear answer when the
    form is wrong. The card says it is being created."""
    title = " ".join(request.title.split())
    project = request.project.strip().upper()
    if not title:
        raise RefusedError("trackers.refused.title", "title")
    if len(title) > TITLE_LIMIT:
        raise RefusedError("trackers.refused.title_long", "title", limit=TITLE_LIMIT)
    if not project or ISSUE_KEY.fullmatch(f"{project}-1") is None:
        raise RefusedError("trackers.refused.project", "project", project=request.project)
    if request.tracker not in connected_trackers():
        raise RefusedError("trackers.refused.not_connected", "project", tracker=request.tracker)
    async with sessions() as session:
        item, _, _ = await load_for_action(session, item_id, actor, admins, for_update=False)
        if (item.issue_link_count or 0) >= MAX_LINKS:
            raise RefusedError("trackers.refused.link_limit", "title", limit=MAX_LINKS)
        permalink = None if item.hide_origin else item.permalink
        add_event(session, item, actor, "issue_requested", tracker=request.tracker, project=project)
        delivery = enqueue(
            session,
            CREATE,
            item=item,
            recipient=actor,
            tracker=request.tracker,
            project=project,
            issue_type=(request.issue_type or "").strip() or None,
            title=title,
            description=request.description.strip()[:DESCRIPTION_LIMIT],
            permalink=permalink,
            lang=lang,
        )
        delivery.lane = TRACKER_LANE + request.tracker
        card = await load_card(session, item)
        await session.commit()
        return card


async def link_issue(
    sessions: async_sessionmaker[AsyncSession],
    trackers: Trackers,
    item_id: int,
    actor: str,
    admins: Iterable[str],
    reference: str,
    lang: str,
) -> ItemCard:
    """Link the item to the issue a lead pasted (PAY-123, or its URL); Jerry reads it in the
    tracker next (a key that does not exist is unlinked, and the lead told)."""
    async with sessions() as session:
        item, team, _ = await load_for_action(session, item_id, actor, admins, for_update=False)
        found = trackers.parse_reference(reference, tracker_of(team))
        if found is None:
            key = (
                "trackers.refused.reference_ambiguous"
                if (ISSUE_KEY.fullmatch(reference.strip().upper()) and len(trackers.connected) > 1)
                else "trackers.refused.reference"
            )
            raise RefusedError(key, "reference", text=reference.strip()[:100])
        tracker, key = found
        if (item.issue_link_count or 0) >= MAX_LINKS:
            raise RefusedError("trackers.refused.link_limit", "reference", limit=MAX_LINKS)
        issue = await store.issue_row(session, tracker, key)
        if not await store.link(session, item, issue, actor):
            raise RefusedError(
                "trackers.refused.already_linked", "reference", issue=key, id=item.id
            )
        add_event(session, item, actor, "issue_linked", tracker=tracker, key=key)
        update_lead_dm(session, item)
        delivery = enqueue(
            session, CHECK, item=item, recipient=actor, tracker=tracker, key=key, lang=lang
        )
        delivery.lane = TRACKER_LANE + tracker
        card = await load_card(session, item)
        await session.commit()
        return card


async def unlink_issue(
    sessions: async_sessionmaker[AsyncSession],
    item_id: int,
    actor: str,
    admins: Iterable[str],
    tracker: str,
    key: str,
) -> ItemCard:
    async with sessions() as session:
        item, _, _ = await load_for_action(session, item_id, actor, admins, for_update=False)
        issue = await store.issue_by_key(session, tracker, key)
        if issue is None or not await store.unlink(session, item, issue):
            raise RefusedError("trackers.refused.not_linked", "reference", issue=key, id=item.id)
        add_event(session, item, actor, "issue_unlinked", tracker=tracker, key=key)
        update_lead_dm(session, item)
        card = await load_card(session, item)
        await session.commit()
        return card


async def apply_state(
    session: AsyncSession, state: IssueState, *, source: str, link_actor: str | None = None
) -> TrackerIssue | None:
    """What a tracker said of an issue, in the caller's transaction: kept on its row, shown
    on every linked item (its event log, its lead's card), the reporters told when work
    starts, and "it shipped" owed once when it ships. None for an issue no item is linked
    to (a webhook tells of every issue of a project)."""
    issue = await store.issue_by_key(session, state.tracker, state.key)
    if issue is None:
        return None
    before = issue.stage
    changed = store.record_state(issue, state)
    items = await store.items_of(session, issue)
    if changed:
        for item in items:
            add_event(
                session,
                item,
                JERRY_ACTOR,
                "issue_status",
                tracker=issue.tracker,
                key=issue.key,
                status=issue.status,
                stage=issue.stage,
                release=issue.release,
                source=source,
            )
            update_lead_dm(session, item)
            if issue.stage == IN_PROGRESS and before is not None and not state.shipped:
                await _owe_started(session, item, issue)
    shipping = state.shipped and issue.shipped_at is None and items
    if shipping and await store.claim_shipped(session, issue):
        await ship(session, items, issue=issue)
    return issue


async def _owe_started(session: AsyncSession, item: Item, issue: TrackerIssue) -> None:
    """The reporter hears once per issue that work on their item started (not for a resolved
    or merged item: a merged item's reporter follows the kept one)."""
    if item.status == "resolved" or item.merged_into or item.reporter_id == NO_REPORTER:
        return
    told = await session.execute(
        select(Delivery.id)
        .where(Delivery.item_id == item.id, Delivery.purpose == STATUS_NOTICE)
        .where(Delivery.params["key"].as_string() == issue.key)
        .limit(1)
    )
    if told.first() is not None:
        return
    enqueue(
        session,
        STATUS_NOTICE,
        item=item,
        tracker=issue.tracker,
        key=issue.key,
        url=issue.url,
        status=issue.status,
    )
