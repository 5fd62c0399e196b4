"""The App Home: what each person sees (plain data), and publishing it.

Everyone sees their own items (open, and closed in the last 30 days); a lead or backup of a
team also sees their queue, oldest first, with its SLA state; Jerry's admins also see the
routing model at a glance, items per team this week, SLA breaches and what could not be
delivered. Nothing here knows Slack's payload shapes: the handlers pass a user id and the
offsets a Home was published with; the CLI or the scheduler can re-publish a Home too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import DATABASE_ERRORS
from bot.help import service as welcome
from bot.help.service import led_teams
from bot.home import queries as q
from bot.items.cards import connected_trackers, issues_of_items, tracker_of
from bot.items.demand import DEFAULT_QUEUE_SORT, QUEUE_SORTS, demand_for
from bot.items.domain import ItemDemand, LinkedIssue
from bot.sla.business_time import CLOSED_STATUSES, sla_state
from bot.slack import TRANSPORT_ERRORS, AsyncWebClient, SlackApiError, classify
from bot.views.help import Welcome
from bot.views.home import (
    BREACHES,
    MINE,
    PAGE_SIZES,
    QUEUE,
    TEAMS,
    UNDELIVERED,
    AdminHome,
    HomeData,
    HomeItem,
    Page,
    RuleGlance,
    TeamGlance,
    UndeliveredRow,
    home_view,
)
from models.base import utcnow
from models.items import Item
from models.routing import Team

log = logging.getLogger("jerry.home")

RECENTLY_CLOSED = timedelta(days=30)  # closed items stay on the reporter's Home this long
REOPEN_WINDOW = timedelta(days=30)
WEEK = timedelta(days=7)
LATE_STATES = frozenset({"breached", "escalated"})
UNDELIVERED_STATUSES = ("failed", "dead")
# How long after using their Home a person's modal submissions re-publish it.
HOME_IN_USE_SECONDS = 30 * 60.0
MAX_OFFSET = 10_000_000


def _clamp(offset: int, total: int, size: int) -> int:
    """An offset inside the list, at a page boundary (the list may have shrunk since)."""
    if total <= 0 or offset <= 0:
        return 0
    offset = min(offset, MAX_OFFSET, (total - 1) // size * size)
    return offset - offset % size


def _lead_of(item: Any, team: Team | None) -> str | None:
    return item.assignee_id or (team.lead if team is not None else None)


def _home_item(
    item: Item,
    team: Team | None,
    now: datetime,
    tzs: dict[str, str | None],
    *,
    with_sla: bool,
    areas: dict[int, str] | None = None,
    demand: dict[int, ItemDemand | None] | None = None,
    issues: dict[int, tuple[LinkedIssue, ...]] | None = None,
) -> HomeItem:
    lead = _lead_of(item, team)
    state, due = "none", None
    if with_sla:
        sla = sla_state(item, team, now, tzs.get(lead or ""))
        state, due = sla.state, sla.due_at
    closed = item.status in CLOSED_STATUSES
    return HomeItem(
        id=item.id,
        kind=item.kind,
        status=item.status,
        text=item.text,
        team=team.name if team is not None else "—",
        lead=lead,
        reporter_id=item.reporter_id,
        anonymous=item.anonymous,
        created_at=item.created_at,
        age=max(now - item.created_at, timedelta(0)),
        area=(areas or {}).get(item.area_id or -1),
        resolved_at=item.resolved_at if closed else None,
        sla=state,
        due_at=due,
        can_reopen=closed
        and item.resolved_at is not None
        and now - item.resolved_at <= REOPEN_WINDOW
        # A merged item is reopened as its kept item, or unmerged by a lead.
        and item.merged_into is None,
        demand=(demand or {}).get(item.id),
        follows=item.merged_into,
        issues=(issues or {}).get(item.id, ()),
        create_in=tracker_of(team) if issues is not None else None,
        can_link=issues is not None and bool(connected_trackers()),
    )


async def _page(
    name: str,
    offsets: dict[str, int],
    fetch: Callable[[int, int], Awaitable[tuple[list[Any], int]]],
) -> tuple[list[Any], int, int]:
    """Fetch one page of a list at the asked offset, or its last page if that is past the end."""
    size = PAGE_SIZES[name]
    offset = max(0, min(offsets.get(name, 0), MAX_OFFSET))
    offset -= offset % size
    rows, total = await fetch(offset, size)
    if not rows and total and offset:
        offset = _clamp(offset, total, size)
        rows, total = await fetch(offset, size)
    return rows, total, offset


async def load_home(
    session: AsyncSession,
    user_id: str,
    *,
    admins: Iterable[str],
    offsets: dict[str, int] | None = None,
    now: datetime | None = None,
    welcome_expanded: bool = False,
) -> HomeData:
    """Everything `user_id`'s Home shows, a page per list at `offsets` (default: first pages),
    with the welcome in full or collapsed."""
    now = now or utcnow()
    offsets = dict(offsets or {})
    is_admin = user_id in set(admins)
    closed = sorted(CLOSED_STATUSES)
    teams = await q.active_teams(session)
    led = [team.id for team in teams if user_id in {team.lead, team.backup}]
    areas = {area.id: area.name for team in teams for area in team.areas}

    mine_rows, mine_total, offsets[MINE] = await _page(
        MINE,
        offsets,
        lambda o, n: q.reported_items(
            session,
            user_id,
            closed=closed,
            closed_since=now - RECENTLY_CLOSED,
            offset=o,
            limit=n,
        ),
    )
    queue_rows: list[Any] = []
    queue_total, queue_sort = 0, DEFAULT_QUEUE_SORT
    tzs: dict[str, str | None] = {}
    if led:
        queue_sort = await q.queue_sort_of(session, user_id)
        queue_rows, queue_total, offsets[QUEUE] = await _page(
            QUEUE,
            offsets,
            lambda o, n: q.queue_items(
                session,
                lead_id=user_id,
                team_ids=led,
                closed=closed,
                offset=o,
                limit=n,
                sort=queue_sort,
            ),
        )
        tzs = await q.timezones(session, {_lead_of(i, t) or "" for i, t in queue_rows})
    # Who else asked for each item shown: one query for both lists' pages.
    demand = await demand_for(session, [i for i, _ in [*mine_rows, *queue_rows]])
    # Their Jira or Linear issues: one query, only when a shown item has some.
    issues = await issues_of_items(session, [i for i, _ in queue_rows])
    mine = Page(
        MINE,
        tuple(
            _home_item(i, t, now, {}, with_sla=False, areas=areas, demand=demand)
            for i, t in mine_rows
        ),
        offsets[MINE],
        mine_total,
    )
    queue = None
    if led:
        queue = Page(
            QUEUE,
            tuple(
                _home_item(i, t, now, tzs, with_sla=True, areas=areas, demand=demand, issues=issues)
                for i, t in queue_rows
            ),
            offsets[QUEUE],
            queue_total,
        )

    admin = await _admin(session, teams, offsets, now, closed) if is_admin else None
    return HomeData(
        user_id=user_id,
        now=now,
        mine=mine,
        queue=queue,
        admin=admin,
        offsets=offsets,
        welcome=Welcome(expanded=welcome_expanded, teams=led_teams(teams, user_id)),
        queue_sort=queue_sort,
        insights_tab=is_admin or bool(led),
    )


async def _admin(
    session: AsyncSession,
    teams: list[Team],
    offsets: dict[str, int],
    now: datetime,
    closed: list[str],
) -> AdminHome:
    by_id = {team.id: team for team in teams}
    # SLA breaches: the items whose wait was due by now, as the reminders tick stored it
    # (past due is late: an escalation only happens past due), counted and paged in SQL;
    # plus those changed since the tick last looked (usually none or a few), whose state is
    # computed here and merged in; then the page's items in full.
    late_per_team = await q.late_counts(session, now, closed)
    unchecked = await q.unchecked_item_clocks(session, closed)
    tzs = await q.timezones(
        session, {_lead_of(row, by_id.get(row.team_id)) or "" for row in unchecked}
    )
    unchecked_late = []
    for row in unchecked:
        team = by_id.get(row.team_id)
        if sla_state(row, team, now, tzs.get(_lead_of(row, team) or "")).state in LATE_STATES:
            unchecked_late.append((row.created_at, row.id))
            late_per_team[row.team_id] = late_per_team.get(row.team_id, 0) + 1
    late_total = sum(late_per_team.values())

    async def breach_page(offset: int, size: int) -> tuple[list[Any], int]:
        # Oldest first: the stored ones up to the end of the page, merged with the others.
        stored = await q.late_page(session, now, closed, limit=offset + size)
        ids = [item_id for _, item_id in sorted([*stored, *unchecked_late])][offset : offset + size]
        found = await q.items_by_ids(session, ids)
        return [found[i] for i in ids if i in found], late_total

    rows, total, offset = await _page(BREACHES, offsets, breach_page)
    tzs = await q.timezones(session, {_lead_of(i, t) or "" for i, t in rows})
    breaches = Page(
        BREACHES,
        tuple(_home_item(i, t, now, tzs, with_sla=True) for i, t in rows),
        offset,
        total,
    )
    offsets[BREACHES] = offset

    counts = await q.team_counts(session, since=now - WEEK, closed=closed)
    glances = [
        TeamGlance(
            id=team.id,
            name=team.name,
            lead=team.lead,
            backup=team.backup,
            channel=team.channel,
            areas=tuple(area.name for area in team.areas if not area.archived),
            is_triage=team.is_triage,
            new_this_week=counts.get(team.id, (0, 0))[0],
            open_now=counts.get(team.id, (0, 0))[1],
            breached=late_per_team.get(team.id, 0),
        )
        for team in teams
    ]
    size = PAGE_SIZES[TEAMS]
    offset = _clamp(offsets.get(TEAMS, 0), len(glances), size)
    team_page = Page(TEAMS, tuple(glances[offset : offset + size]), offset, len(glances))
    offsets[TEAMS] = offset

    areas = {area.id: area.name for team in teams for area in team.areas}
    rules = tuple(
        RuleGlance(
            name=rule.name,
            channel=rule.channel,
            pattern=rule.pattern,
            target=areas.get(rule.area_id or -1)
            or (by_id[rule.team_id].name if rule.team_id in by_id else "—"),
        )
        for rule in await q.routing_rules(session)
    )

    rows, total, offset = await _page(
        UNDELIVERED,
        offsets,
        lambda o, n: q.undelivered(session, statuses=UNDELIVERED_STATUSES, offset=o, limit=n),
    )
    undelivered = Page(
        UNDELIVERED,
        tuple(
            UndeliveredRow(
                id=d.id,
                purpose=d.purpose,
                recipient=d.recipient,
                item_id=d.item_id,
                status=d.status,
                error=d.last_error,
                attempts=d.attempts,
                created_at=d.created_at,
            )
            for d in rows
        ),
        offset,
        total,
    )
    offsets[UNDELIVERED] = offset
    return AdminHome(
        teams=team_page,
        rules=rules,
        breaches=breaches,
        undelivered=undelivered,
        new_this_week=sum(new for new, _ in counts.values()),
        has_model=bool(teams),
    )


class HomePublisher:
    """Renders and publishes Homes (views.publish), in the background, one at a time per person.

    `schedule` returns at once (Slack is waiting for an ack); a Home asked for again while it
    is being published is published once more afterwards, so the last one shows the last
    state. A Slack error is logged, never raised. `drain` waits for what is in progress.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        client: AsyncWebClient,
        *,
        admins: Iterable[str],
        language: Callable[[str], Awaitable[str]],
    ) -> None:
        self.sessions = sessions
        self.client = client
        self.admins = frozenset(admins)
        self.language = language
        self.now: Callable[[], datetime] = utcnow
        self._offsets: dict[str, dict[str, int]] = {}
        self._in_use: dict[str, float] = {}
        # Who opened the tab since their Home was last rendered here: the render records the
        # open (the welcome's state lives in the database, shared by every replica).
        self._opening: set[str] = set()
        self._dirty: set[str] = set()
        self._running: dict[str, asyncio.Task[None]] = {}

    # --- who is using their Home (in memory: a hint, not a record) -----------------------

    def used(self, user_id: str) -> None:
        """`user_id` opened or clicked their Home."""
        self._in_use[user_id] = time.monotonic() + HOME_IN_USE_SECONDS
        if len(self._in_use) > 10_000:
            now = time.monotonic()
            self._in_use = {u: until for u, until in self._in_use.items() if until > now}

    def in_use(self, user_id: str) -> bool:
        return self._in_use.get(user_id, 0.0) > time.monotonic()

    # --- publishing -----------------------------------------------------------------------

    def opened(self, user_id: str) -> None:
        """`user_id` opened the tab: every list at its first page, and the welcome in full if
        this is their first open ever, else collapsed."""
        self._opening.add(user_id)
        self.schedule(user_id, {})

    async def show_welcome(self, user_id: str, expanded: bool) -> None:
        """The "How Jerry works" / "hide" buttons: recorded, then the Home published."""
        async with self.sessions() as session:
            await welcome.show_welcome(session, user_id, expanded, self.now())
        self.schedule(user_id)

    async def sort_queue(self, user_id: str, sort: str, offsets: dict[str, int]) -> bool:
        """ "Oldest first" / "Newest first" / "Most asked for": kept for `user_id`, then their
        Home (published with `offsets`) published again with the queue at its first page;
        False (nothing changed) for a sort Jerry does not know."""
        if sort not in QUEUE_SORTS:
            return False
        async with self.sessions() as session:
            await q.save_queue_sort(session, user_id, sort)
        offsets = {**offsets, QUEUE: 0}
        self.schedule(user_id, offsets)
        return True

    async def choose(
        self, user_id: str, *, tab: str | None = None, period: str | None = None
    ) -> None:
        """The "Items" / "Insights" buttons and the Insights period: kept for `user_id` (every
        replica reads them), then their Home published again."""
        async with self.sessions() as session:
            await q.save_home_choice(session, user_id, tab=tab, period=period)
        self.schedule(user_id)

    async def render(self, user_id: str, offsets: dict[str, int] | None = None) -> dict[str, Any]:
        lang = await self.language(user_id)
        async with self.sessions() as session:
            tab, period = await q.home_choice(session, user_id)
        if tab == "insights":
            from bot.insights import home as insights_home

            audience = await insights_home.reader(self.sessions, user_id, self.admins)
            if audience is not None:  # else (no longer a lead): the items, as for anyone
                return await insights_home.insights_view(
                    self.sessions, self.client, audience, lang, period_choice=period, now=self.now()
                )
        async with self.sessions() as session:
            if user_id in self._opening:
                self._opening.discard(user_id)
                # In full on the first open only: what the open recorded, no need to read it.
                expanded = await welcome.home_opened(session, user_id, self.now())
            else:
                expanded = await welcome.welcome_expanded(session, user_id)
            data = await load_home(
                session,
                user_id,
                admins=self.admins,
                offsets=offsets,
                now=self.now(),
                welcome_expanded=expanded,
            )
        return home_view(data, lang)

    async def publish(self, user_id: str, offsets: dict[str, int] | None = None) -> bool:
        """Render and publish `user_id`'s Home now; False (logged) if it could not be."""
        if offsets is not None:
            self._offsets[user_id] = dict(offsets)
        try:
            view = await self.render(user_id, self._offsets.get(user_id))
        except DATABASE_ERRORS:
            log.exception("could not read the Home of %s", user_id)
            return False
        try:
            await self.client.views_publish(user_id=user_id, view=view)
        except SlackApiError as exc:
            log.warning("could not publish the Home of %s: %s", user_id, classify(exc).code)
            return False
        except TRANSPORT_ERRORS as exc:
            log.warning("could not publish the Home of %s: %s", user_id, exc.__class__.__name__)
            return False
        return True

    def schedule(self, user_id: str, offsets: dict[str, int] | None = None) -> None:
        """Publish `user_id`'s Home soon (after the ack), with `offsets` if given."""
        if offsets is not None:
            self._offsets[user_id] = dict(offsets)
        self._dirty.add(user_id)
        if user_id not in self._running:
            self._running[user_id] = asyncio.create_task(
                self._run(user_id), name=f"jerry-home-{user_id}"
            )

    async def _run(self, user_id: str) -> None:
        try:
            while user_id in self._dirty:
                self._dirty.discard(user_id)
                try:
                    await self.publish(user_id)
                except Exception:  # a bug must not kill the loop of the next publish
                    log.exception("publishing the Home of %s failed", user_id)
        finally:
            self._running.pop(user_id, None)

    async def drain(self) -> None:
        while self._running:
            await asyncio.gather(*list(self._running.values()), return_exceptions=True)

    async def stop(self) -> None:
        for task in list(self._running.values()):
            task.cancel()
        for task in list(self._running.values()):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._running.clear()
