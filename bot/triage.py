"""Telling product ops: an alert to the triage channel (else the triage lead) through the outbox.

Every capability that meets something it cannot fix (an undeliverable message, a feed or a
channel gone, a survey audience that no longer exists) tells triage here."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.items.store import triage_team
from bot.outbox.store import enqueue
from models.deliveries import Delivery
from models.items import Item


async def alert_triage(
    session: AsyncSession, alert: str, *, exclude: str | None = None, **params: object
) -> None:
    triage = await triage_team(session)
    recipient = None
    if triage is not None and triage.channel:
        recipient = triage.channel
    elif triage is not None and triage.lead != exclude and alert != "lead_unreachable":
        recipient = triage.lead
    if recipient is not None:
        # params["item"] is the item's number for the text, not enqueue's `item` (an Item).
        delivery = enqueue(session, "triage_alert", recipient=recipient)
        delivery.params = {"alert": alert, **params}


# Who could not be reached, when that is an anonymous reporter: the alert never names them.
ANONYMOUS_REPORTER = "anonymous-reporter"


def alert_recipient_label(delivery: Delivery, item: Item | None) -> str:
    """Who could not be reached, for product ops: never an anonymous reporter's identity."""
    who = delivery.recipient or (item.reporter_id if item else "")
    if item is not None and item.anonymous and who in {item.reporter_id, None, ""}:
        return ANONYMOUS_REPORTER
    return who or ""


async def alert_gave_up(
    session: AsyncSession, delivery: Delivery, item: Item | None, error: str
) -> None:
    """The outbox gave a delivery up (its sending kept raising something unexpected):
    product ops hears of it."""
    await alert_triage(
        session,
        "undeliverable",
        item=delivery.item_id or 0,
        who=alert_recipient_label(delivery, item),
        error=error,
    )


# A late item's one message for product ops, and its updates (bot/sla/late.py sends them;
# they are owed here, where every change to an item can reach them without a circle).
LATE_MESSAGE, LATE_UPDATE = "late_message", "late_update"
ESCALATION = "escalation"  # the item's card sent to the backup or triage (bot/sla/reminders.py)


def late_lane(item: Item) -> str:
    """The outbox lane of an item's late message and its updates: they go out in order."""
    return f"late:{item.id}"


async def owe_late_message(session: AsyncSession, item: Item, *, exclude: str | None) -> None:
    """The item went late: its message in the triage channel (else a DM to the triage lead,
    unless `exclude`, the triage lead already asked by DM), posted once; when it goes late
    again (its answer after its acknowledgement), the same message is updated."""
    if item.late_message_ts:
        late_item_moved(session, item)
        return
    triage = await triage_team(session)
    recipient = None
    if triage is not None and triage.channel:
        recipient = triage.channel
    elif triage is not None and triage.lead != exclude:
        recipient = triage.lead
    if recipient is not None:
        delivery = enqueue(session, LATE_MESSAGE, item=item, recipient=recipient)
        delivery.lane = late_lane(item)


def late_item_moved(session: AsyncSession, item: Item) -> None:
    """The item changed (acknowledged, answered, reassigned, resolved, reopened, taken): its
    late message and the escalation DMs about it are re-rendered, in place. Nothing for an
    item that never went late."""
    if item.escalated_at is None:
        return
    delivery = enqueue(session, LATE_UPDATE, item=item)
    delivery.lane = late_lane(item)


# A blocking item, or one whose customer is at risk: product ops hears of it on arrival.
TRIAGE_COPY = "triage_item_copy"
TRIAGE_COPY_LANE = "triage-copy"  # its own lane: nobody's rate limit holds it back


def stands_out(item: Item) -> bool:
    return item.impact == "blocking" or bool(item.customer_at_risk)


def owe_triage_copy(session: AsyncSession, item: Item) -> None:
    """Owe the triage channel one copy of an item that stands out, as it arrives at its
    lead (who gets it is decided when it is sent: the triage channel, else its lead)."""
    if stands_out(item):
        delivery = enqueue(session, TRIAGE_COPY, item=item)
        delivery.lane = TRIAGE_COPY_LANE
