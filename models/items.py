"""Items (pain points and questions) and the events that record everything done to them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Connection,
    ForeignKey,
    Index,
    String,
    Text,
    and_,
    event,
    false,
    inspect,
    update,
)
from sqlalchemy.orm import Mapped, Mapper, mapped_column, relationship

from models.base import Base, utcnow
from models.routing import Team
from models.users import SlackUser

# `Item.next_reminder_at` for "the reminders tick must look at this item at its next pass":
# earlier than any clock, including the controlled clocks of tests.
CHECK_NOW = datetime(1970, 1, 1, tzinfo=UTC)
CLOSED_STATUSES = ("resolved", "closed")
# What an item's deadlines depend on (bot/sla/business_time.py): a change to any of these
# makes the reminders tick look at the item again.
DEADLINE_FIELDS = (
    "status",
    "kind",
    "team_id",
    "assignee_id",
    "assigned_at",
    "created_at",
    "acknowledged_at",
    "answered_at",
    "resolved_at",
    "escalated_at",
    "awaiting_reporter_since",
)
# Events that start a deadline (a question the lead asked the reporter).
DEADLINE_EVENTS = ("details_requested",)


class Item(Base):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)  # the item number people see (#42)
    kind: Mapped[str] = mapped_column(String(20))  # painpoint | question
    status: Mapped[str] = mapped_column(String(20), default="open")
    # Slack-formatted (mrkdwn-escaped) text, exactly as the reporter wrote it, never cut.
    text: Mapped[str] = mapped_column(Text)
    # "Send to Jerry": the shared message as Slack sent it (its markup: <@U…>, <url|label>),
    # while `text` is what the reporter sent from the form, readable (names, labels).
    source_text: Mapped[str | None] = mapped_column(Text)
    # Filed from someone else's message (a reaction, bot/capture): who wrote it. The
    # reporter is who reacted; the author is shown as "said by".
    said_by: Mapped[str | None] = mapped_column(String(64))
    # Slack Connect: the item came from someone of another organisation (its name here). Its
    # words are never answered where they can read them, unless a lead replies to the customer.
    external_org: Mapped[str | None] = mapped_column(String(200))
    # Its reporter is that organisation's (not a colleague who filed their message): nothing
    # of the team's reaches them but "Reply to the customer".
    reporter_external: Mapped[bool] = mapped_column(default=False, server_default=false())
    reporter_id: Mapped[str] = mapped_column(String(64))
    anonymous: Mapped[bool] = mapped_column(default=False)
    # command | modal | mention | shortcut | dm | reaction
    source: Mapped[str] = mapped_column(String(20))
    # Idempotency: one item per Slack event / view submission, whatever Slack retries.
    intake_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    language: Mapped[str] = mapped_column(String(5), default="en")

    # Where it came from, and where the reporter hears back (no reply channel: a DM).
    channel_id: Mapped[str | None] = mapped_column(String(64))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    permalink: Mapped[str | None] = mapped_column(String(1000))
    reply_channel: Mapped[str | None] = mapped_column(String(64))
    reply_thread_ts: Mapped[str | None] = mapped_column(String(32))
    # Where it came from would point at an anonymous reporter (their own message, or the
    # channel they wrote from): leads are not shown the channel nor the message.
    hide_origin: Mapped[bool] = mapped_column(default=False, server_default=false())

    impact: Mapped[str | None] = mapped_column(String(20))  # low | medium | high | blocking
    customer: Mapped[str | None] = mapped_column(String(500))
    customer_at_risk: Mapped[bool] = mapped_column(default=False)

    chosen_area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    # No team yet means Jerry had no routing model when the item came in: it waits, stored,
    # and is routed by the next `jerry routing import`.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    assignee_id: Mapped[str | None] = mapped_column(String(64))  # the lead it was sent to
    # When the current assignee got it: their targets count from here, not from creation.
    assigned_at: Mapped[datetime | None]
    # chosen_area | rule | keywords | triage | unrouted
    route_step: Mapped[str] = mapped_column(String(20))
    route_detail: Mapped[dict[str, Any]] = mapped_column(default=dict)

    lead_dm_channel: Mapped[str | None] = mapped_column(String(64))
    lead_dm_ts: Mapped[str | None] = mapped_column(String(32))
    # The item reached its lead in a digest (one DM listing many items, bot/relay/digest.py):
    # that message. Its card (lead_dm_*) is posted when the lead opens it or something needs
    # it; `lead_card_by` is the delivery that claimed posting it (only one does).
    lead_digest_channel: Mapped[str | None] = mapped_column(String(64))
    lead_digest_ts: Mapped[str | None] = mapped_column(String(32))
    lead_card_by: Mapped[int | None]
    # The item went late (escalated): its one message in product ops' triage channel (else a
    # DM to the triage lead), updated in place as the item moves (bot/sla/late.py).
    late_message_channel: Mapped[str | None] = mapped_column(String(64))
    late_message_ts: Mapped[str | None] = mapped_column(String(32))
    # The first DM Jerry sent the reporter about this item: later news threads under it.
    reporter_dm_channel: Mapped[str | None] = mapped_column(String(64))
    reporter_dm_ts: Mapped[str | None] = mapped_column(String(32))

    # The latest answer and acknowledgement, kept here so messages render without a scan.
    answer_text: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(64))
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    # The lead ticked "share in the summary" when answering: the weekly summary quotes it.
    share_in_summary: Mapped[bool] = mapped_column(default=False, server_default=false())
    # When the shared answer was given (the latest answer, not the first): the summary of
    # that week quotes it.
    shared_at: Mapped[datetime | None]

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    acknowledged_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    # When Jerry last asked the backup (or triage) to take over a late item (bot/sla/reminders.py).
    escalated_at: Mapped[datetime | None]
    # Conversation: since when a question the lead asked waits for the reporter (None: none).
    awaiting_reporter_since: Mapped[datetime | None]
    # The earliest instant the reminders tick (bot/sla/reminders.py) may owe something for
    # this item; None once it is closed. The tick reads only rows whose instant has come
    # (`ix_items_next_reminder_at`), so its cost follows what is due, not what is stored.
    # Any change to what deadlines depend on sets it to CHECK_NOW (the listeners below); the
    # tick then stores the next instant it computed in business time.
    next_reminder_at: Mapped[datetime | None] = mapped_column(default=CHECK_NOW)
    # When the current wait (acknowledgement, answer) is due in the lead's business hours, as
    # the reminders tick last computed it; None when nothing waits or while a change waits for
    # the tick (next_reminder_at is CHECK_NOW then). The admin Home counts late items with it.
    sla_due_at: Mapped[datetime | None]

    # How it was resolved (lead actions): cleared when the item is reopened; the events keep
    # every past resolution. outcome: fixed | answered | wont_fix | duplicate | known_issue.
    outcome: Mapped[str | None] = mapped_column(String(20))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    # Merged (bot/similar/merge.py): this item's reporter follows the kept item, hears its
    # answer and resolution, and counts in its demand. Always the kept item itself, never
    # an item merged in turn (merging re-points followers), so one hop finds the root.
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    # The items that looked like this one when it came in ([{"id": 12, "score": 0.61}],
    # best first; [] when none did; None while not looked up yet): the reporter's
    # suggestions and the lead's "Looks like #12" read them, so both show the same items.
    similar_suggestions: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # What the reporter chose among those suggestions (bot/similar/intake.py): "added" (to a
    # suggested item), "different", "answered" (by a past answer), "needs_help"; None while
    # they have not. Set once, by a conditional UPDATE: the first click stands.
    similar_choice: Mapped[str | None] = mapped_column(String(20))
    # Only for items with a customer: kept | lost | unknown, and whether it helped a deal.
    customer_outcome: Mapped[str | None] = mapped_column(String(20))
    helped_deal: Mapped[bool] = mapped_column(default=False, server_default=false())
    # bug | feature | process | other: picked by the reporter, set or corrected by the lead
    # when resolving; None when nobody said (insights count it as "not set").
    category: Mapped[str | None] = mapped_column(String(20))
    # Kept for the insights (bot/insights/), so a quarter's timings read no events: the
    # first time a person took the item up (acknowledged, answered or resolved it) and the
    # first answer, even if it was reopened since (`acknowledged_at` and `answered_at` are
    # cleared on reopening). Set by bot/items/store.add_event, as bot/sla/timings.py defines.
    first_acknowledged_at: Mapped[datetime | None]
    first_answered_at: Mapped[datetime | None]
    # Its lead was reminded that a target passed (a "reminder_sent" event for the
    # acknowledgement or the answer): an SLA breach, counted once per item.
    sla_breached: Mapped[bool] = mapped_column(default=False, server_default=false())

    # How many internal notes the team kept on it (item events of kind "note"): a card reads
    # them only when there are some.
    internal_note_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # How many Jira or Linear issues it is linked to (bot/trackers): a card reads the links
    # only when there are some.
    issue_link_count: Mapped[int] = mapped_column(default=0, server_default="0")

    events: Mapped[list[ItemEvent]] = relationship(
        back_populates="item", order_by="ItemEvent.id", lazy="raise"
    )

    __table_args__ = (
        Index("ix_items_created_at", "created_at"),
        Index("ix_items_team_status", "team_id", "status"),
        Index("ix_items_reporter", "reporter_id"),
        # Weekly summaries (migration 0006): resolved in a period; answers shared in a period.
        Index("ix_items_resolved_at", "resolved_at"),
        Index("ix_items_shared_at", "shared_at"),
        # The reminders tick (migration 0013): what is due, and the open items per lead.
        Index("ix_items_next_reminder_at", "next_reminder_at"),
        Index("ix_items_assignee_status", "assignee_id", "status"),
        Index("ix_items_sla_due_at", "sla_due_at"),
        # Demand and followers (migration 0023): the items merged into one.
        Index("ix_items_merged_into", "merged_into"),
        # Insights (migration 0026): the bug trend reads one category's items by week; a
        # period's numbers read these two indexes alone (covering: no row is read), so a
        # quarter of a million-item database takes a fraction of a second.
        Index("ix_items_category_created_at", "category", "created_at"),
        Index("ix_items_category_resolved_at", "category", "resolved_at", "outcome"),
        Index(
            "ix_items_insights",
            "created_at",
            "team_id",
            "area_id",
            "kind",
            "category",
            "sla_breached",
            "similar_choice",
            "merged_into",
            "route_step",
            "source",
            "status",
            "first_acknowledged_at",
            "first_answered_at",
            "resolved_at",
        ),
        Index(
            "ix_items_insights_resolved",
            "resolved_at",
            "status",
            "merged_into",
            "team_id",
            "area_id",
            "customer_at_risk",
            "customer_outcome",
            "helped_deal",
        ),
    )


class ItemEvent(Base):
    """Who did what to an item, and when: the timings come straight from these rows."""

    __tablename__ = "item_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))  # Slack user id, or "jerry"
    kind: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)

    item: Mapped[Item] = relationship(back_populates="events", lazy="raise")


def _is_open() -> ColumnElement[bool]:
    return and_(Item.status.not_in(CLOSED_STATUSES), Item.resolved_at.is_(None))


def _recheck_value(item: Item) -> datetime | None:
    if item.status in CLOSED_STATUSES or item.resolved_at is not None:
        return None
    return CHECK_NOW


@event.listens_for(Item, "before_update")
def _deadline_changed(_mapper: Mapper[Item], _connection: Connection, item: Item) -> None:
    state = inspect(item)
    if any(state.attrs[name].history.has_changes() for name in DEADLINE_FIELDS):
        item.next_reminder_at = _recheck_value(item)
        item.sla_due_at = None


@event.listens_for(Item, "before_insert")
def _new_item(_mapper: Mapper[Item], _connection: Connection, item: Item) -> None:
    item.next_reminder_at = _recheck_value(item)
    item.sla_due_at = None


@event.listens_for(ItemEvent, "after_insert")
def _deadline_event(_mapper: Mapper[ItemEvent], connection: Connection, row: ItemEvent) -> None:
    if row.kind in DEADLINE_EVENTS:
        connection.execute(
            update(Item)
            .where(Item.id == row.item_id, _is_open())
            .values(next_reminder_at=CHECK_NOW, sla_due_at=None)
        )


# Team settings the deadlines are counted with (targets and business hours).
TEAM_DEADLINE_FIELDS = (
    "lead",  # an item without an assignee counts in its team lead's timezone
    "ack_target",
    "answer_target",
    "business_days",
    "business_start",
    "business_end",
    "backup",
    "is_triage",
)


@event.listens_for(Team, "after_update")
def _team_deadlines_changed(_mapper: Mapper[Team], connection: Connection, team: Team) -> None:
    state = inspect(team)
    if any(state.attrs[name].history.has_changes() for name in TEAM_DEADLINE_FIELDS):
        connection.execute(
            update(Item)
            .where(Item.team_id == team.id, _is_open())
            .values(next_reminder_at=CHECK_NOW, sla_due_at=None)
        )


def _person_changed(connection: Connection, user: SlackUser) -> None:
    # Deadlines count in the lead's business hours and the reporter's; the tick learns a
    # person's timezone when it first looks at their items.
    connection.execute(
        update(Item)
        .where(
            (Item.assignee_id == user.id) | (Item.reporter_id == user.id),
            _is_open(),
        )
        .values(next_reminder_at=CHECK_NOW, sla_due_at=None)
    )


@event.listens_for(SlackUser, "after_update")
def _timezone_changed(_mapper: Mapper[SlackUser], connection: Connection, user: SlackUser) -> None:
    if inspect(user).attrs.tz.history.has_changes():
        _person_changed(connection, user)


@event.listens_for(SlackUser, "after_insert")
def _person_known(_mapper: Mapper[SlackUser], connection: Connection, user: SlackUser) -> None:
    if user.tz:
        _person_changed(connection, user)
