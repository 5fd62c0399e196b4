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
