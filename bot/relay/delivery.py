"""Sending what an item owes its lead and its reporter, and triage's alerts (the outbox's
handlers for these purposes; bot/outbox/worker.py runs them).

- lead_dm: the item's card with its actions, to the lead (with why it came: handed over,
  reassigned, reopened); Slack refusing it for good hands the item to the backup, else
  triage (bot/relay/lead_actions.py's `lead_unreachable`).
- lead_dm_update: re-renders that DM; waits (Deferred) while the DM is not out yet.
- lead_notice: a line in the thread of the lead's DM (else a DM).
- receipt, answer, reporter_notice, resolution: into the reporter's thread (the reply
  thread, else their DM thread for the item), or the slash command's response_url; if that
  thread or channel is gone, sent again by DM (`_to_dm`) with a note (`_fallback_from`).
- reopen_offer: the reporter wrote under a resolved item: Reopen / Ask a new question, in
  their thread (like a notice).
- reporter_reopened: the item was reopened: the reporter's messages that said it was
  resolved (or offered to reopen it) are rewritten in place (chat.update) to say so.
- triage_alert: a line for product ops' triage channel (else its lead).

Slack or network trouble is retried until it passes (the outbox tells triage when its backlog
gets old); a delivery whose sending keeps raising something unexpected (a bug) is given up
and reported to triage (`alert_gave_up`), except triage's own alerts.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import t
from bot.items.cards import load_card
from bot.items.store import triage_team
from bot.outbox.registry import (
    Deferred,
    OutboxContext,
    OutboxHandler,
    OutboxRegistry,
    PermanentDeliveryError,
    Posted,
    nothing_more,
    require_item,
)
from bot.outbox.store import enqueue, owed_for_item
from bot.relay.digest import (
    LeadDigest,
    lead_card,
    post_card,
    reader_card,
    reader_timezone,
    send_digest,
    went_in_digest,
)
from bot.relay.lead_actions import lead_unreachable
from bot.relay.mention_names import with_mention_names
from bot.relay.notes import PURPOSE_NOTE_KEPT
from bot.relay.resolution import REOPEN_WINDOW, REPORTER_REOPENED, within_reopen_window
from bot.triage import ANONYMOUS_REPORTER, TRIAGE_COPY, alert_gave_up, alert_triage
from bot.views import items as views
from bot.views import lead_actions as lead_action_views
from bot.views import similar as similar_views
from models.base import utcnow
from models.deliveries import Delivery
from models.items import CLOSED_STATUSES, Item

log = logging.getLogger("jerry.delivery")

# Stands for an anonymous reporter in a triage alert's `who` (rendered without the name).
TRIAGE_ALERT = "triage_alert"
REPORTER_PURPOSES = ("receipt", "answer", "reporter_notice", "resolution", "reopen_offer")


def register_outbox(registry: OutboxRegistry, digest: LeadDigest | None = None) -> None:
    """`digest`: when a lead's DMs go as one digest (bot/relay/digest.py)."""
    policy = digest if digest is not None else LeadDigest()

    async def lead_dm(
        outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
    ) -> Posted:
        return await _lead_dm(outbox, session, delivery, item, policy)

    # Triage's own alerts fail quietly: alerting about an alert would loop.
    registry.register(
        TRIAGE_ALERT,
        OutboxHandler(send=_triage_alert, undeliverable=nothing_more, gave_up=nothing_more),
    )
    registry.register(
        "lead_dm",
        OutboxHandler(
            send=with_mention_names(lead_dm),
            undeliverable=_lead_unreachable,
            gave_up=alert_gave_up,
        ),
    )
    registry.register(
        "lead_dm_update",
        OutboxHandler(
            send=with_mention_names(_lead_dm_update),
            undeliverable=nothing_more,
            gave_up=alert_gave_up,
        ),
    )
    registry.register(
        TRIAGE_COPY,
        OutboxHandler(
            send=with_mention_names(_triage_copy), undeliverable=nothing_more, gave_up=alert_gave_up
        ),
    )
    registry.register(
        PURPOSE_NOTE_KEPT,
        OutboxHandler(send=_note_kept, undeliverable=nothing_more, gave_up=alert_gave_up),
    )
    registry.register(
        "lead_notice",
        OutboxHandler(send=_lead_notice, undeliverable=nothing_more, gave_up=alert_gave_up),
    )
    to_reporter = OutboxHandler(
        send=with_mention_names(_to_reporter),
        undeliverable=reporter_undeliverable,
        gave_up=alert_gave_up,
    )
    for purpose in REPORTER_PURPOSES:
        registry.register(purpose, to_reporter)
    # A message that cannot be rewritten (gone with its channel) needs nothing more.
    registry.register(
        REPORTER_REOPENED,
        OutboxHandler(
            send=with_mention_names(_reporter_reopened),
            undeliverable=nothing_more,
            gave_up=alert_gave_up,
        ),
    )


# --- when a delivery fails for good -----------------------------------------------------------


async def _lead_unreachable(
    session: AsyncSession, delivery: Delivery, item: Item | None, error: str
) -> None:
    if item is not None:
        await lead_unreachable(session, delivery, item, error)


async def reporter_undeliverable(
    session: AsyncSession, delivery: Delivery, item: Item | None, error: str
) -> None:
    """The reporter's thread or channel is gone: reach them by DM instead; when the DM is
    what failed (or there was no thread), triage hears of it."""
    if item is None:
        return
    params = delivery.params or {}
    if not params.get("_to_dm") and (item.reply_channel or params.get("response_url")):
        enqueue(
            session,
            delivery.purpose,
            item=item,
            **{
                **{k: v for k, v in params.items() if k not in {"response_url", "_defers"}},
                "_to_dm": True,
                "_fallback_from": item.reply_channel or "",
            },
        )
    else:
        await alert_triage(
            session, "reporter_unreachable", item=item.id, who=item.reporter_id, error=error
        )


# --- sending ----------------------------------------------------------------------------------


async def _triage_alert(
    outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
) -> Posted:
    params: dict[str, Any] = dict(delivery.params or {})
    lang = await outbox.directory.language(delivery.recipient, outbox.default_language)
    if params.get("who") == ANONYMOUS_REPORTER:
        params["who"] = t("item.anonymous", lang)
    elif str(params.get("who") or "").startswith(("U", "W")):
        params["who"] = f"<@{params['who']}>"
    message = views.triage_alert(lang, params.pop("alert"), **params)
    return await outbox.post(delivery.recipient or "", message)


async def _triage_copy(
    outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
) -> Posted:
    """A blocking item or a customer at risk, copied to product ops' triage channel (else
    its lead, unless the item is theirs: they have its card)."""
    item = require_item(item)
    triage = await triage_team(session)
    recipient = None
    if triage is not None:
        recipient = triage.channel or (triage.lead if triage.lead != item.assignee_id else None)
    if not recipient:
        return None, None  # no triage to tell
    lang = await outbox.directory.language(recipient, outbox.default_language)
    card = await load_card(session, item)
    return await outbox.post(recipient, views.triage_copy(card, lang))


async def _note_kept(
    outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
) -> Posted:
    """Jerry's line under a "note:" reply in the lead's thread: kept, not sent."""
    item = require_item(item)
    params: dict[str, Any] = dict(delivery.params or {})
    lang = await outbox.directory.language(item.assignee_id, outbox.default_language)
    card = await load_card(session, item)
    message = lead_action_views.note_kept(card, lang)
    return await outbox.post(params.get("channel", ""), message, thread_ts=params.get("thread_ts"))


async def _lead_dm(
    outbox: OutboxContext,
    session: AsyncSession,
    delivery: Delivery,
    item: Item | None,
    digest: LeadDigest,
) -> Posted:
    item = require_item(item)
    params: dict[str, Any] = dict(delivery.params or {})
    recipient = delivery.recipient or ""
    user = await outbox.directory.user(recipient)
    if user is not None and user.deleted:
        raise PermanentDeliveryError("user_deactivated")
    if params.get("open"):
        return await _open_card(outbox, session, delivery, item)
    if params.get("held") and (item.assignee_id != recipient or item.status in CLOSED_STATUSES):
        # Held while its reporter looked at similar items (bot/similar/intake.py), and moved
        # to another lead or resolved meanwhile: this lead's card is not needed any more.
        return None, None
    digested = await send_digest(outbox, session, delivery, item, digest)
    if digested is not None:
        return digested
    lang = await outbox.directory.language(recipient, outbox.default_language)
    note = None
    if params.get("reason") == "unreachable":
        note = t(
            "note.lead_unreachable",
            lang,
            who=f"<@{params.get('failed', '')}>",
            error=params.get("error", ""),
        )
    elif params.get("reason") == "reassigned":
        note = t(
            "note.reassigned",
            lang,
            who=f"<@{params.get('moved_by', '')}>",
            team=params.get("from_team", ""),
        )
        if params.get("note"):
            note += "\n" + t("note.reassign_note", lang, note=params["note"])
    elif params.get("reason") == "taken":  # from the late item's message (bot/sla/late_actions.py)
        note = t("late.took_note", lang, lead=f"<@{params.get('from_lead') or ''}>")
    elif params.get("reason") == "reopened":
        note = lead_action_views.reopen_note(
            lang,
            who=params.get("reopened_by", ""),
            by_reporter=bool(params.get("by_reporter")),
            anonymous=item.anonymous,
            what=params.get("what", ""),
        )
    channel, ts = await post_card(outbox, session, item, recipient, note=note)
    if item.assignee_id == recipient:
        item.lead_dm_channel, item.lead_dm_ts = channel, ts
    return channel, ts


async def _open_card(
    outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item
) -> Posted:
    """The lead clicked "Open" in a digest: the item's card, which becomes its lead DM; if
    it is out already, a line in its thread points at it."""
    recipient = delivery.recipient or ""
    if item.assignee_id == recipient:
        if item.lead_dm_channel and item.lead_dm_ts:
            lang = await outbox.directory.language(recipient, outbox.default_language)
            card = await load_card(session, item)
            notice = lead_action_views.lead_notice(card, lang, "card_here")
            return await outbox.post(item.lead_dm_channel, notice, thread_ts=item.lead_dm_ts)
        posted = await lead_card(outbox, session, delivery, item)
        if posted is not None:
            return posted
    # Someone else who may act (the backup, an admin), or an item without a digest: its card.
    channel, ts = await post_card(outbox, session, item, recipient)
    if item.assignee_id == recipient and not item.lead_dm_ts:
        item.lead_dm_channel, item.lead_dm_ts = channel, ts
    return channel, ts


async def _lead_dm_update(
    outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
) -> Posted:
    item = require_item(item)
    params: dict[str, Any] = dict(delivery.params or {})
    channel = params.get("channel") or item.lead_dm_channel
    ts = params.get("ts") or item.lead_dm_ts
    if (not channel or not ts) and went_in_digest(item):
        return None, None  # no card yet: when it is posted, it shows the item as it is then
    if not channel or not ts:
        raise Deferred
    reader = params.get("reader") or item.assignee_id
    lang = await outbox.directory.language(reader, outbox.default_language)
    if params.get("reassigned_to"):  # the item left this reader: no actions on it any more
        card = await load_card(session, item)
    else:
        card = await reader_card(outbox, session, item, reader)
    # The text follows the state too: it is what notifications and screen readers show.
    message = views.lead_dm(
        card,
        lang,
        reassigned_to=params.get("reassigned_to"),
        fallback_timezone=await reader_timezone(outbox, reader, item),
    )
    await outbox.client.chat_update(
        channel=channel, ts=ts, text=message["text"], blocks=message["blocks"]
    )
    return channel, ts


async def _lead_notice(
    outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
) -> Posted:
    """A line for the item's lead, in the thread of their DM about it (lead actions)."""
    item = require_item(item)
    params: dict[str, Any] = dict(delivery.params or {})
    lang = await outbox.directory.language(item.assignee_id, outbox.default_language)
    card = await load_card(session, item)
    message = lead_action_views.lead_notice(
        card, lang, params.get("notice", ""), what=params.get("what", "")
    )
    # An item that went in a digest gets its card first: the line makes sense under it.
    dm = await lead_card(outbox, session, delivery, item)
    if dm is not None:
        return await outbox.post(dm[0] or "", message, thread_ts=dm[1], part=2)
    return await outbox.post(item.assignee_id or "", message)


async def _to_reporter(
    outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
) -> Posted:
    item = require_item(item)
    params: dict[str, Any] = dict(delivery.params or {})
    lang = await outbox.reporter_language(item)
    card = await load_card(session, item)
    purpose = delivery.purpose
    if purpose == "reporter_notice" and params.get("notice") in views.INTERNAL_NOTICES:
        return None, None  # owed before reporters stopped hearing of internal moves
    if purpose == "reopen_offer":
        if item.status != "resolved":
            return None, None  # reopened meanwhile: their message is for an open item now
        can_reopen = within_reopen_window(item, utcnow())
        message = lead_action_views.reopen_offer(
            card, lang, can_reopen=can_reopen, days=REOPEN_WINDOW.days
        )
    elif purpose == "receipt":
        message = views.receipt(card, lang, messages=int(params.get("messages") or 1))
        # Similar items at intake (bot/similar/intake.py): a check owed before the receipt
        # may give it an offer to carry; the receipt waits for it.
        waits_for = params.get("similar_wait")
        if (
            waits_for
            and "similar_offer" not in params
            and await owed_for_item(session, item.id, str(waits_for))
        ):
            raise Deferred
        if item.similar_choice is None:  # (not chosen already: nothing left to offer)
            message = similar_views.receipt_with_offer(message, params.get("similar_offer"), lang)
    elif purpose == "resolution":
        message = lead_action_views.resolution_to_reporter(card, lang, **params)
    elif purpose == "answer":
        message = views.answer_to_reporter(
            card,
            lang,
            answer=params.get("answer", ""),
            by=params.get("by", ""),
            team=params.get("team", ""),
        )
    else:
        extra = {k: v for k, v in params.items() if not k.startswith("_") and k not in {"notice"}}
        if "who" in extra:
            extra["who"] = f"<@{extra['who']}>"
        message = views.reporter_notice(card, lang, params.get("notice", "updated"), **extra)
    if params.get("_fallback_from"):
        message = views.with_fallback_note(message, lang, params["_fallback_from"])
    if params.get("response_url"):
        return await outbox.respond(params["response_url"], message)
    return await outbox.post_in_reporter_thread(item, message, params)


async def _reporter_reopened(
    outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
) -> Posted:
    """Rewrite, in place, each message that told the reporter the item was resolved (or
    offered to reopen it): it was reopened. One owed before this one and not sent yet is
    waited for (it is in the same lane, so it goes first); one never sent is skipped."""
    item = require_item(item)
    params: dict[str, Any] = dict(delivery.params or {})
    lang = await outbox.reporter_language(item)
    card = await load_card(session, item)
    message = lead_action_views.reopened_for_reporter(
        card,
        lang,
        who=params.get("by", ""),
        by_reporter=bool(params.get("by_reporter")),
        what=params.get("what", ""),
    )
    rewritten: Posted = (None, None)
    for earlier_id in params.get("replaces") or []:
        earlier = await session.get(Delivery, earlier_id)
        if earlier is None or earlier.status == "failed":
            continue
        if earlier.status != "sent":
            raise Deferred
        if not earlier.result_channel or not earlier.result_ts:
            continue  # sent where it cannot be found again (a response_url)
        await outbox.client.chat_update(
            channel=earlier.result_channel,
            ts=earlier.result_ts,
            text=message["text"],
            blocks=message["blocks"],
        )
        rewritten = (earlier.result_channel, earlier.result_ts)
    return rewritten
