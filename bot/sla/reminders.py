"""Nothing waits silently: reminders, escalation, and leads who have left.

`run_reminders(sessions, directory, now)` is the periodic tick (bot/scheduler.py runs it every
minute; tests call it with a controlled clock). For every item waiting on someone:

- not acknowledged by its team's target: a reminder to the lead, in the thread of the lead's
  item DM; at twice the target, the backup lead (else the triage lead) gets the item with its
  actions and a note, and triage gets a short alert;
- a question acknowledged but not answered: the same, on the team's answer target;
- a question the lead asked the reporter (an ItemEvent "details_requested" with no later
  "details_given"): the reporter is reminded at the answer target; at twice it, the lead
  is told the reporter has not answered.

Targets count business time in the lead's timezone (bot/sla/business_time.py). A message
goes out only while its recipient is in business hours in their own timezone: one that falls
due at night waits for the first tick of their next business morning. Each is sent once: its key is
inserted in `sent_reminders` in the same transaction as the outbox row, so a restart or a
second replica never sends it again.

Leads who are deactivated or have left Slack (users.info `deleted`, `user_not_found`) are
found by the same tick and by the `user_change` event: their open items go to the backup,
else triage, with a note, and triage is told once per lead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import t
from bot.items.cards import load_card
from bot.items.store import add_event, forget_lead_dm, get_item, triage_team
from bot.outbox.registry import (
    OutboxContext,
    OutboxHandler,
    OutboxRegistry,
    PermanentDeliveryError,
    Posted,
    require_item,
)
from bot.outbox.store import enqueue
from bot.relay.digest import lead_card, went_in_digest
from bot.relay.lead_actions import hand_over, lead_unreachable
from bot.sla import business_time as sla
from bot.sla.reminder_store import (
    DETAILS_ANSWERED,
    DETAILS_ASKED,
    DueCursor,
    NextReminder,
    claim_reminder,
    due_items,
    events_of_kinds,
    leads_with_open_items,
    open_items_assigned_to,
    reminder_sent,
    store_next_reminders,
    teams_led_by,
)
from bot.triage import alert_gave_up, alert_triage
from bot.views import items as views
from models.base import utcnow
from models.deliveries import Delivery
from models.items import Item, ItemEvent
from models.routing import Team
from models.users import SlackUser

log = logging.getLogger("jerry.reminders")

# Outbox purposes this module renders (`register_outbox`; bot/outbox/worker.py sends them).
REMINDER, ESCALATION = "reminder", "escalation"
PURPOSES = frozenset({REMINDER, ESCALATION})
GONE_ERROR = "deactivated"


@dataclass
class ReminderSummary:
    reminders: int = 0  # first reminders to a lead
    escalations: int = 0  # backups (or triage) asked to take an item
    reporter_reminders: int = 0  # reporters reminded of a lead's question
    deferred: int = 0  # due, but the recipient is outside business hours: next tick
    leads_gone: list[str] = field(default_factory=list)
    items_moved: int = 0

    @property
    def sent(self) -> int:
        return self.reminders + self.escalations + self.reporter_reminders


class _People:
    """Timezones (and whether people still exist), asked once per tick."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], directory: Any | None) -> None:
        self.sessions = sessions
        self.directory = directory
        self._users: dict[str, SlackUser | None] = {}

    async def user(self, user_id: str | None) -> SlackUser | None:
        if not user_id:
            return None
        if user_id not in self._users:
            found: SlackUser | None = None
            try:
                if self.directory is not None:
                    found = await self.directory.user(user_id)
                else:
                    async with self.sessions() as session:
                        found = await session.get(SlackUser, user_id)
            except Exception:  # Slack or the cache unavailable: no timezone, UTC
                log.warning("could not look up %s", user_id, exc_info=True)
            self._users[user_id] = found
        return self._users[user_id]

    async def tz(self, user_id: str | None) -> str | None:
        user = await self.user(user_id)
        if user is None or not user.tz:
            log.info("no timezone known for %s: counting business hours in UTC", user_id)
            return None
        return user.tz

    async def gone(self, user_id: str | None) -> bool:
        user = await self.user(user_id)
        return bool(user is not None and user.deleted)


# --- the tick -----------------------------------------------------------------------------------


async def run_reminders(
    sessions: async_sessionmaker[AsyncSession],
    directory: Any | None,
    now: datetime,
    *,
    check_leads: bool = True,
) -> ReminderSummary:
    """One pass over the items due at `now`; what it owed is in the outbox when it returns.

    Only items whose `next_reminder_at` has come are read (in batches of TICK_BATCH, at most
    TICK_LIMIT a tick, the earliest first); for each, the next instant anything may be owed
    is computed in business time and stored, so an item is looked at again only then or
    when something it depends on changes (models/items.py).
    """
    summary = ReminderSummary()
    people = _People(sessions, directory)
    if check_leads:
        async with sessions() as session:
            leads = await leads_with_open_items(session)
        for user_id in leads:
            if await people.gone(user_id):
                moved = await lead_gone(sessions, user_id, now, people=people)
                summary.leads_gone.append(user_id)
                summary.items_moved += moved
    cursor: DueCursor | None = None
    looked_at = 0
    while looked_at < TICK_LIMIT:
        async with sessions() as session:
            due = await due_items(session, now, TICK_BATCH, after=cursor)
            if not due:
                break
            history = await events_of_kinds(
                session,
                [item.id for item, _ in due],
                (*DETAILS_ASKED, *DETAILS_ANSWERED),
            )
        plans: list[NextReminder] = []
        for item, team in due:
            events = history.get(item.id, [])
            try:
                lead_next = await _lead_phase(sessions, people, item, team, events, now, summary)
                details_next = await _details_phase(
                    sessions, people, item, team, events, now, summary
                )
                # When the wait is due as the Home shows it (in the lead's, else the team
                # lead's, business hours): the admin Home counts late items with it.
                lead_tz = await people.tz(item.assignee_id or team.lead)
                sla_due = sla.due_at(item, team, lead_tz)
            except Exception:  # one item must not stop the others; it is tried again next tick
                log.exception("reminders for item %s failed", item.id)
                continue
            next_at = _earliest(lead_next, details_next)
            plans.append(NextReminder(item.id, item.updated_at, next_at, sla_due))
        async with sessions() as session:
            await store_next_reminders(session, plans)
            await session.commit()
        last = due[-1][0]
        cursor = (last.next_reminder_at or now, last.id)
        looked_at += len(due)
        if len(due) < TICK_BATCH:
            break
    return summary


# Items looked at per query, and at most per tick (the earliest first; the rest next tick).
TICK_BATCH = 500
TICK_LIMIT = 20_000


def _earliest(*instants: datetime | None) -> datetime | None:
    known = [instant for instant in instants if instant is not None]
    return min(known) if known else None


def _key(item: Item, kind: str, level: int, cycle: str) -> str:
    return f"{item.id}:{kind}:{level}:{cycle}"


async def _lead_phase(
    sessions: async_sessionmaker[AsyncSession],
    people: _People,
    item: Item,
    team: Team | None,
    events: list[ItemEvent],
    now: datetime,
    summary: ReminderSummary,
) -> datetime | None:
    """The lead's reminder and the escalation; returns when this phase may owe something next."""
    phase = sla.current_phase(item, team)
    lead = item.assignee_id
    if phase is None or not lead:
        return None
    since = phase.since  # a new lead (reassigned, handed over, reopened) starts afresh
    hours = sla.team_hours(team)
    target = phase.target.duration(hours)
    lead_tz = await people.tz(lead)
    due = sla.add_business_time(since, target, hours, lead_tz)
    if now < due:
        return due
    cycle = f"{lead}@{int(since.timestamp())}"
    waited = now - since
    escalate_at = sla.add_business_time(since, target * 2, hours, lead_tz)
    retry: datetime | None = escalate_at  # when the escalation is to be tried (again)
    if now >= escalate_at:
        escalation_key = _key(item, phase.kind, 2, cycle)
        async with sessions() as session:
            if await reminder_sent(session, escalation_key):
                return None
        outcome, retry = await _escalate(
            sessions, people, item.id, team, phase, lead, escalation_key, now, waited, hours
        )
        if outcome == "sent":
            summary.escalations += 1
            return None
        if outcome == "taken":
            return None
        if outcome == "deferred":
            summary.deferred += 1
        # Deferred (the backup's night) or nobody to ask: the lead's reminder may still go.
    if not sla.in_business_hours(now, hours, lead_tz):
        summary.deferred += 1
        return _earliest(retry, sla.next_business_moment(now, hours, lead_tz))
    async with sessions() as session:
        fresh = await get_item(session, item.id, for_update=True)
        if fresh is None or fresh.assignee_id != lead or sla.current_phase(fresh, team) != phase:
            return now  # acted on since the tick started: looked at again next tick
        if not await claim_reminder(
            session,
            _key(item, phase.kind, 1, cycle),
            kind=phase.kind,
            level=1,
            item_id=item.id,
            recipient=lead,
            now=now,
        ):
            return retry
        _remind_lead(session, fresh, lead, phase.kind, 1, waited, phase.target.text)
        await session.commit()
    summary.reminders += 1
    return retry


def _remind_lead(
    session: AsyncSession,
    item: Item,
    lead: str,
    reminder: str,
    level: int,
    waited: timedelta,
    target: str | None,
) -> None:
    """Record and owe a reminder to the item's lead (`reminder`: the phase, or "details")."""
    add_event(session, item, "jerry", "reminder_sent", reminder=reminder, level=level, to=lead)
    enqueue(
        session,
        REMINDER,
        item=item,
        recipient=lead,
        reminder=reminder,
        waited=int(waited.total_seconds()),
        target=target or "",
    )


async def _escalate(
    sessions: async_sessionmaker[AsyncSession],
    people: _People,
    item_id: int,
    team: Team | None,
    phase: sla.Phase,
    lead: str,
    key: str,
    now: datetime,
    waited: timedelta,
    hours: sla.BusinessHours,
) -> tuple[str, datetime | None]:
    """Ask the backup (else the triage lead) to take the item.

    "sent"; "taken" (another replica did it); "deferred" (the recipient's night or weekend,
    with when their business hours open); "nobody" (the item changed meanwhile).
    """
    async with sessions() as session:
        triage = await triage_team(session)
    candidates = []
    if team is not None and not team.is_triage and team.backup:
        candidates.append(team.backup)
    if triage is not None:
        candidates.append(triage.lead)
    recipient = None
    for candidate in candidates:
        if candidate != lead and not await people.gone(candidate):
            recipient = candidate
            break
    if recipient is not None:
        recipient_tz = await people.tz(recipient)
        if not sla.in_business_hours(now, hours, recipient_tz):
            return "deferred", sla.next_business_moment(now, hours, recipient_tz)
    async with sessions() as session:
        item = await get_item(session, item_id, for_update=True)
        if item is None or item.assignee_id != lead or sla.current_phase(item, team) != phase:
            return "nobody", now
        if not await claim_reminder(
            session, key, kind=phase.kind, level=2, item_id=item.id, recipient=recipient, now=now
        ):
            return "taken", None  # another replica did it
        item.escalated_at = now
        add_event(
            session, item, "jerry", "escalated", reminder=phase.kind, level=2, to=recipient or ""
        )
        if recipient is not None:
            enqueue(
                session,
                ESCALATION,
                item=item,
                recipient=recipient,
                reminder=phase.kind,
                lead=lead,
                waited=int(waited.total_seconds()),
                target=phase.target.text or "",
                backup=bool(team is not None and recipient == team.backup),
            )
        await alert_triage(
            session,
            "escalated",
            exclude=recipient,
            item=item.id,
            team=team.name if team is not None else "",
            lead=f"<@{lead}>",
            to=f"<@{recipient}>" if recipient else "—",
        )
        await session.commit()
    return "sent", None


async def _details_phase(
    sessions: async_sessionmaker[AsyncSession],
    people: _People,
    item: Item,
    team: Team | None,
    events: list[ItemEvent],
    now: datetime,
    summary: ReminderSummary,
) -> datetime | None:
    """A question the lead asked the reporter, still without a reply; returns when this may
    owe something next."""
    asked = [event for event in events if event.kind in DETAILS_ASKED]
    if not asked:
        return None
    last = asked[-1]
    if any(e.kind in DETAILS_ANSWERED and e.id > last.id for e in events):
        return None
    target = sla.team_target(team, "answer")
    reporter_tz = await people.tz(item.reporter_id)
    hours = sla.DEFAULT_HOURS  # the reporter is not on the team: ordinary business hours
    duration = target.duration(hours)
    due = sla.add_business_time(last.at, duration, hours, reporter_tz)
    if now < due:
        return due
    cycle = f"asked{last.id}"
    waited = now - last.at
    question = str((last.detail or {}).get("question") or (last.detail or {}).get("text") or "")
    tell_lead_at = sla.add_business_time(last.at, duration * 2, hours, reporter_tz)
    retry: datetime | None = tell_lead_at  # when the lead is to be told (again)
    if now >= tell_lead_at:
        retry = None
        lead = item.assignee_id
        lead_key = _key(item, "details", 2, cycle)
        lead_hours, lead_tz = sla.team_hours(team), await people.tz(lead) if lead else None
        if lead and sla.in_business_hours(now, lead_hours, lead_tz):
            async with sessions() as session:
                fresh = await get_item(session, item.id, for_update=True)
                if fresh is not None and await claim_reminder(
                    session, lead_key, kind="details", level=2, item_id=item.id, recipient=lead
                ):
                    _remind_lead(session, fresh, lead, "details", 2, waited, target.text)
                    await session.commit()
                    summary.reminders += 1
                    return None
        elif lead:
            summary.deferred += 1
            retry = sla.next_business_moment(now, lead_hours, lead_tz)
    if not sla.in_business_hours(now, hours, reporter_tz):
        summary.deferred += 1
        return _earliest(retry, sla.next_business_moment(now, hours, reporter_tz))
    async with sessions() as session:
        fresh = await get_item(session, item.id, for_update=True)
        if fresh is None or not await claim_reminder(
            session,
            _key(item, "details", 1, cycle),
            kind="details",
            level=1,
            item_id=item.id,
            recipient=item.reporter_id,
            now=now,
        ):
            return retry
        add_event(session, fresh, "jerry", "reminder_sent", reminder="details", level=1, to="")
        enqueue(
            session,
            "reporter_notice",
            item=fresh,
            notice="details_reminder",
            question=views.safe(question, 1500) if question else "",
        )
        await session.commit()
    summary.reporter_reminders += 1
    return retry


# --- leads who have left ------------------------------------------------------------------------


async def lead_gone(
    sessions: async_sessionmaker[AsyncSession],
    user_id: str,
    now: datetime | None = None,
    *,
    people: _People | None = None,
) -> int:
    """`user_id` is deactivated or has left: their open items go to the backup, else triage.

    Triage is told once per person (not per item) to fix the routing model. Returns how
    many items moved.
    """
    now = now or utcnow()
    people = people or _People(sessions, None)
    moved = 0
    async with sessions() as session:
        triage = await triage_team(session)
        items = await open_items_assigned_to(session, user_id)
        team_names: list[str] = []
        targets: list[str] = []
        for item in items:
            team = await session.get(Team, item.team_id) if item.team_id else None
            if team is not None and team.name not in team_names:
                team_names.append(team.name)
            target_team, recipient = None, None
            if (
                team is not None
                and not team.is_triage
                and team.backup
                and team.backup != user_id
                and not await people.gone(team.backup)
            ):
                target_team, recipient = team, team.backup
            elif triage is not None and triage.lead != user_id:
                target_team, recipient = triage, triage.lead
            if target_team is None or recipient is None:
                continue
            forget_lead_dm(item)  # nobody reads the gone lead's DM
            hand_over(
                session,
                item,
                target_team,
                recipient,
                old_team=team.name if team is not None else "",
                failed=user_id,
                error=GONE_ERROR,
                tried=[user_id],
                rerouted="lead_gone",
                reason="lead_gone",
            )
            if recipient not in targets:
                targets.append(recipient)
            moved += 1
        led = [team.name for team in await teams_led_by(session, user_id)]
        for name in led:
            if name not in team_names:
                team_names.append(name)
        if (items or led) and await claim_reminder(
            session, f"lead_gone:{user_id}", kind="lead_gone", recipient=user_id, now=now
        ):
            await alert_triage(
                session,
                "lead_gone",
                who=user_id,
                count=moved,
                teams=", ".join(team_names) or "—",
                to=", ".join(f"<@{target}>" for target in targets) or "—",
            )
        await session.commit()
    if moved:
        log.warning("%s is gone: %s open item(s) handed over", user_id, moved)
    return moved


async def mark_user_gone(sessions: async_sessionmaker[AsyncSession], user_id: str) -> None:
    """Slack said (user_change) that this person is deactivated: remember it in the cache."""
    async with sessions() as session:
        user = await session.get(SlackUser, user_id) or SlackUser(id=user_id)
        user.deleted = True
        user.fetched_at = utcnow()
        session.add(user)
        await session.commit()


# --- rendering (the outbox calls this) ----------------------------------------------------------


def target_label(text: str, lang: str) -> str:
    try:
        target = sla.parse_target(text or None)
    except sla.SlaError:
        return text
    amount = target.days or (target.minutes / 60 if target.minutes >= 60 else target.minutes)
    unit = "days" if target.days else "hours" if target.minutes >= 60 else "minutes"
    shown = f"{amount:g}"
    return t(f"reminders.target.{unit}", lang, n=shown)


async def render(
    session: AsyncSession,
    directory: Any,
    delivery: Delivery,
    item: Item | None,
    default_language: str,
) -> tuple[str, dict[str, Any], str | None]:
    """(channel, message, thread_ts) for a reminder or an escalation."""
    item = require_item(item)
    recipient = delivery.recipient or ""
    user = await directory.user(recipient) if directory is not None else None
    if user is not None and user.deleted:
        raise PermanentDeliveryError("user_deactivated")
    lang = await directory.language(recipient, default_language)
    params = dict(delivery.params or {})
    kind = params.get("reminder", "ack")
    values = {
        "id": item.id,
        "kind": views.kind_label(item.kind, lang).lower(),
        "waited": views.human_duration(params.get("waited", 0), lang),
        "target": target_label(params.get("target", ""), lang),
        "lead": f"<@{params.get('lead', '')}>",
    }
    if delivery.purpose == ESCALATION:
        role = "backup" if params.get("backup") else "triage"
        note = t(f"escalation.{kind}.{role}", lang, **values)
        card = await load_card(session, item, note=note)
        # A copy for the backup (or triage): its thread is not the item's conversation.
        message = views.lead_dm(card, lang, thread_relays=False)
        return recipient, message, None
    line = t(f"reminder.{kind}", lang, **values)
    if item.lead_dm_channel and item.lead_dm_ts and item.assignee_id == recipient:
        return item.lead_dm_channel, views.reminder_in_thread(line), item.lead_dm_ts
    # No DM to thread under (it never went out): the reminder carries the item and its actions.
    card = await load_card(session, item, note=line)
    return recipient, views.reminder_with_item(card, lang, line), None


def register_outbox(registry: OutboxRegistry) -> None:
    handler = OutboxHandler(send=_send, undeliverable=undeliverable, gave_up=alert_gave_up)
    for purpose in sorted(PURPOSES):
        registry.register(purpose, handler)


async def _send(
    outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
) -> Posted:
    part = None
    if (
        delivery.purpose == REMINDER
        and item is not None
        and item.assignee_id == delivery.recipient
        and went_in_digest(item)
        # The item reached its lead in a digest: its card first, the reminder under it.
        and await lead_card(outbox, session, delivery, item) is not None
    ):
        part = 2
    channel, message, thread_ts = await render(
        session, outbox.directory, delivery, item, outbox.default_language
    )
    return await outbox.post(channel, message, thread_ts=thread_ts, part=part)


async def undeliverable(
    session: AsyncSession, delivery: Delivery, item: Item | None, error: str
) -> None:
    """A reminder or escalation Slack will never take: a gone lead hands the item over."""
    if item is None:
        return  # the item is gone: nobody is waiting for it
    if delivery.purpose == REMINDER and delivery.recipient == item.assignee_id:
        await lead_unreachable(session, delivery, item, error)
        return
    await alert_triage(
        session,
        "undeliverable",
        item=delivery.item_id or 0,
        who=delivery.recipient or "",
        error=error,
    )


__all__ = [
    "ESCALATION",
    "PURPOSES",
    "REMINDER",
    "ReminderSummary",
    "lead_gone",
    "mark_user_gone",
    "register_outbox",
    "render",
    "run_reminders",
    "undeliverable",
]
