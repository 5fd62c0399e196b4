"""Similar items at intake, the reporter's side: a new item is checked against the others off
Slack's request path, its reporter is offered the ones that look like theirs (or a past
answer to their question), and their lead's DM waits while they may choose.

At intake (bot/intake/service.py, in the item's own transaction, only when similar items are
on):
- the lead's DM is owed for later (`hold_lead_dm`: `next_attempt_at` and `created_at` at the
  end of the hold, param `held`); the item's `assigned_at` is the same instant, so the team's
  targets count from when the lead gets it, not from the reporter's minutes of choosing. An
  item that stands out (blocking, customer at risk) is not held: product ops and its lead
  hear of it at once, as before (its triage copy is never held either);
- a `similar_check` is owed in the reporter's lane, before their receipt: it looks the
  similar items up once (bot/similar/suggestions.py, stored on the item), indexes the item,
  and decides what the reporter is offered. Nothing offered: the lead's DM goes now. A
  receipt that only its reporter sees (a DM, an ephemeral answer) carries the offer itself
  (the receipt waits for the check: it comes after it in the lane, and defers while it is
  owed); otherwise the offer is its own message (`similar_offer`): after a slash command's
  receipt (in its ack) through the command's response_url, and under a receipt in a
  channel's thread only to its reporter (an ephemeral message: other people's items are not
  shown to the channel), else by DM.

The reporter's click (`choose`, from handlers/similar.py) is taken once (`Item.similar_choice`,
set by a conditional UPDATE): "add me" merges the item into the suggested one
(bot/similar/merge.py, by="reporter": they follow it); "This answers it" resolves it as
*answered from a past answer* (event `answered_from_past`: the time it saved is counted from
these events; no "answered" or "resolved" event, so the team's timings are not its); both
withdraw the held lead DM (never sent), or, when the lead has it already, update their card
and tell them in its thread (`similar_lead_notice`). "Mine is different" and "I still need
help" let the lead's DM go now. A hold that ends without a choice lets it go as usual.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.db import DATABASE_ERRORS, affected_rows
from bot.errors import KeyedRefusal
from bot.items.store import add_event, get_item
from bot.outbox.registry import (
    Deferred,
    OutboxContext,
    OutboxHandler,
    OutboxRegistry,
    Posted,
    nothing_more,
    require_item,
)
from bot.outbox.store import enqueue, owed_for_item
from bot.similar.domain import Choice, ChoiceMade, Offer, Shown
from bot.similar.merge import MergeRefusedError, merge_item
from bot.similar.service import index_item
from bot.similar.suggestions import Suggestion, suggestions_for
from bot.slack import FailureKind, kind_of
from bot.text import has_visible_text
from bot.triage import alert_gave_up, late_item_moved, stands_out
from bot.views import similar as views
from models.base import utcnow
from models.deliveries import Delivery
from models.items import CLOSED_STATUSES, Item, ItemEvent

log = logging.getLogger("jerry.similar")

SIMILAR_CHECK = "similar_check"  # after intake: look up, index, offer (or release the hold)
SIMILAR_OFFER = "similar_offer"  # the offer as its own message
SIMILAR_INDEX = "similar_index"  # an item's text was edited: its entry again
SIMILAR_LEAD_NOTICE = "similar_lead_notice"  # the lead had it: the reporter found theirs
LEAD_DM = "lead_dm"
HELD = "held"  # a lead DM's param: owed for later, while its reporter may choose
# A receipt's params: the purpose it waits for (the check), and the offer it carries.
RECEIPT_WAITS_FOR = "similar_wait"
RECEIPT_OFFER = "similar_offer"
# What a past answer may have been closed as and still answer a question.
ANSWERING_OUTCOMES = ("answered", "fixed", "known_issue")
WITHDRAWN = "withdrawn"  # a delivery status: no longer owed, never sent


def _default(setting: str) -> float:
    return float(Settings.model_fields[setting].default)


@dataclass(frozen=True)
class SimilarPolicy:
    """Similar items at intake are on: the thresholds, and how long a lead's DM waits."""

    suggest_threshold: float = _default("jerry_similar_suggest_threshold")
    answer_threshold: float = _default("jerry_similar_answer_threshold")
    hold: timedelta = timedelta(minutes=_default("jerry_similar_hold_minutes"))

    @classmethod
    def from_settings(cls, settings: Settings) -> SimilarPolicy | None:
        """None when similar items are off: intake is then as it was before them."""
        if not settings.similar_enabled:
            return None
        return cls(
            suggest_threshold=settings.jerry_similar_suggest_threshold,
            answer_threshold=settings.jerry_similar_answer_threshold,
            hold=timedelta(minutes=settings.jerry_similar_hold_minutes),
        )


def _closed(item: Item) -> bool:
    return item.status in CLOSED_STATUSES or item.resolved_at is not None


# --- at intake (in the item's transaction) ---------------------------------------------------


def hold_new_item(item: Item, policy: SimilarPolicy | None, now: datetime) -> None:
    """Before the routed item is inserted: its lead gets it at the end of the hold (its
    `assigned_at`), unless it stands out or holding is off."""
    if policy is None or policy.hold <= timedelta(0) or stands_out(item):
        return
    if item.assignee_id:
        item.assigned_at = now + policy.hold


def held_until(item: Item, policy: SimilarPolicy | None) -> datetime | None:
    """When the new item's lead DM is due: the end of its hold (set by `hold_new_item`, the
    only thing that gives a new item an `assigned_at`), or None (at once)."""
    return item.assigned_at if policy is not None else None


def hold_lead_dm(delivery: Delivery, until: datetime) -> None:
    """The lead DM just owed waits until `until` (or until released)."""
    delivery.params = {**(delivery.params or {}), HELD: True}
    delivery.next_attempt_at = delivery.created_at = until


def owe_check(session: AsyncSession, item: Item, *, response_url: str | None) -> None:
    """Owe the similar check of a new item, in its reporter's lane, before its receipt;
    `response_url`: the slash command's, when its receipt was the command's ack."""
    params = {"response_url": response_url} if response_url else {}
    enqueue(session, SIMILAR_CHECK, item=item, **params)


def receipt_waits(params: dict[str, Any]) -> dict[str, Any]:
    """A receipt's params when a similar check is owed before it."""
    return {**params, RECEIPT_WAITS_FOR: SIMILAR_CHECK}


def owe_reindex(session: AsyncSession, item: Item) -> None:
    """The item's text was edited: its index entry again, off the request path (its stored
    suggestions stay what they were when it came in)."""
    delivery = enqueue(session, SIMILAR_INDEX, item=item)
    delivery.lane = f"similar-index:{item.id}"  # nobody's messages wait for it


# --- the hold --------------------------------------------------------------------------------


async def _lead_dms(session: AsyncSession, item_id: int) -> list[Any]:
    statement = select(
        Delivery.id, Delivery.status, Delivery.params, Delivery.next_attempt_at
    ).where(Delivery.item_id == item_id, Delivery.purpose == LEAD_DM)
    return list((await session.execute(statement.order_by(Delivery.id))).all())


async def hold_left(session: AsyncSession, item: Item, now: datetime) -> timedelta | None:
    """How long the item's lead DM still waits for its reporter's choice (None: not held)."""
    ends = [
        row.next_attempt_at
        for row in await _lead_dms(session, item.id)
        if row.status == "pending" and (row.params or {}).get(HELD) and row.next_attempt_at > now
    ]
    return max(ends) - now if ends else None


async def release_hold(session: AsyncSession, item: Item, now: datetime) -> bool:
    """The lead's DM goes now (nothing to choose, or the reporter chose to send it); True
    when one was waiting. Its targets count from now."""
    released = False
    for row in await _lead_dms(session, item.id):
        held = row.status == "pending" and (row.params or {}).get(HELD)
        if not held or row.next_attempt_at <= now:
            continue
        result = await session.execute(
            update(Delivery)
            .where(Delivery.id == row.id, Delivery.status == "pending")
            .values(next_attempt_at=now, created_at=now)
            .execution_options(synchronize_session=False)
        )
        released = released or affected_rows(result) == 1
    if item.assigned_at is not None and item.assigned_at > now:
        item.assigned_at = now
    return released


async def withdraw_lead_dm(session: AsyncSession, item: Item, why: str) -> bool:
    """The item will never need its lead: a lead DM still owed is withdrawn (never sent).
    True when the lead has it anyway (sent, or being sent: a worker took it first), so that
    their card must say what happened."""
    lead_has_it = False
    for row in await _lead_dms(session, item.id):
        status = row.status
        if status == "pending":
            result = await session.execute(
                update(Delivery)
                .where(Delivery.id == row.id, Delivery.status == "pending")
                .values(status=WITHDRAWN, params={**(row.params or {}), WITHDRAWN: why})
                .execution_options(synchronize_session=False)
            )
            if affected_rows(result) == 1:
                continue
            status = "sending"  # a worker took it meanwhile: it goes out
        lead_has_it = lead_has_it or status in ("sending", "sent")
    return lead_has_it


# --- the check (an outbox delivery) ------------------------------------------------------------


def answers_question(suggestion: Suggestion) -> bool:
    """A suggested question whose answer is still good: answered (not reopened since, which
    reopening's status says), or resolved with that answer (not as won't fix)."""
    if suggestion.kind != "question" or not has_visible_text(suggestion.answer_text or ""):
        return False
    if suggestion.status == "answered":
        return True
    return suggestion.closed and suggestion.outcome in ANSWERING_OUTCOMES


def shown(suggestion: Suggestion) -> Shown:
    return Shown(
        id=suggestion.id,
        text=suggestion.text,
        status=suggestion.status,
        outcome=suggestion.outcome,
        answer=suggestion.answer_text,
        followers=suggestion.followers,
    )


def make_offer(
    item: Item, found: list[Suggestion], policy: SimilarPolicy, hold: timedelta | None
) -> Offer | None:
    """What the reporter is offered: a past answer to their question when one scores at
    least the answer threshold, else the suggested items; None when nothing is."""
    if not found:
        return None
    minutes = math.ceil(hold.total_seconds() / 60) if hold else 0
    if item.kind == "question":
        past = next(
            (s for s in found if s.score >= policy.answer_threshold and answers_question(s)),
            None,
        )
        if past is not None:
            return Offer(item.id, item.kind, past_answer=shown(past), hold_minutes=minutes)
    suggestions = tuple(shown(s) for s in found)
    return Offer(item.id, item.kind, suggestions=suggestions, hold_minutes=minutes)


async def _owed_receipt(session: AsyncSession, item: Item) -> Delivery | None:
    statement = (
        select(Delivery)
        .where(
            Delivery.item_id == item.id,
            Delivery.purpose == "receipt",
            Delivery.status == "pending",
        )
        .order_by(Delivery.id)
        .limit(1)
    )
    return (await session.execute(statement)).scalar_one_or_none()


def _private(item: Item, params: dict[str, Any]) -> bool:
    """Whether only the reporter sees where their receipt goes: an ephemeral answer, a DM."""
    if params.get("response_url") or params.get("_to_dm"):
        return True
    return not item.reply_channel or item.reply_channel.startswith("D")


async def check(
    session: AsyncSession,
    item: Item,
    policy: SimilarPolicy,
    *,
    response_url: str | None = None,
    now: datetime | None = None,
) -> Offer | None:
    """Look the similar items up (stored on the item), index it, and owe what its reporter is
    offered; nothing offered (or the lookup failed): the lead's DM goes now. In the caller's
    transaction."""
    now = now or utcnow()
    offer = None
    if item.similar_choice is None and not _closed(item):
        try:
            threshold = policy.suggest_threshold
            found = await suggestions_for(session, item, threshold=threshold, now=now)
            offer = make_offer(item, found, policy, await hold_left(session, item, now))
        except DATABASE_ERRORS:
            raise
        except Exception:  # the engine failing must not keep the item from its team
            log.exception("similar items: the lookup for item %s failed", item.id)
    try:
        # Indexed after the lookup: on SQLite, the write lock is then held only briefly.
        await index_item(session, item)
    except DATABASE_ERRORS:
        raise
    except Exception:  # found anyway (lookups encode recent items that have no entry)
        log.exception("similar items: item %s could not be indexed", item.id)
    if offer is None:
        await release_hold(session, item, now)
        return None
    receipt = await _owed_receipt(session, item)
    if receipt is not None and _private(item, receipt.params or {}):
        receipt.params = {**(receipt.params or {}), RECEIPT_OFFER: offer.to_params()}
        return offer
    where: dict[str, Any] = {}
    if response_url:
        where["response_url"] = response_url
    elif item.reply_channel and not item.reply_channel.startswith("D"):
        where = {"channel": item.reply_channel, "thread_ts": item.reply_thread_ts}
    enqueue(session, SIMILAR_OFFER, item=item, offer=offer.to_params(), **where)
    return offer


# --- the reporter's choice ---------------------------------------------------------------------


async def _offered_ids(session: AsyncSession, item: Item) -> set[int]:
    """The items suggested for `item`, and the items those were merged into since."""
    stored = {
        int(s["id"])
        for s in item.similar_suggestions or []
        if isinstance(s, dict) and isinstance(s.get("id"), int)
    }
    if not stored:
        return set()
    rows = await session.execute(select(Item.merged_into).where(Item.id.in_(stored)))
    return stored | {root for (root,) in rows if root}


async def _target(session: AsyncSession, item: Item, target_id: int | None, choice: Choice) -> Item:
    """The suggested item a click names, when it was suggested for `item` (a forged or stale
    value names nothing); for a past answer, a question that still has its answer."""
    target = await get_item(session, target_id) if target_id else None
    if target is None or target.id not in await _offered_ids(session, item):
        raise KeyedRefusal("similar.refused.not_offered", id=item.id, target=target_id or 0)
    if choice == "answered" and not (
        target.kind == "question" and has_visible_text(target.answer_text or "")
    ):
        raise KeyedRefusal("similar.refused.not_offered", id=item.id, target=target.id)
    return target


async def _claim_choice(session: AsyncSession, item: Item, choice: Choice) -> bool:
    """Take the reporter's choice, once: a second click (or a concurrent one) finds it made."""
    result = await session.execute(
        update(Item)
        .where(Item.id == item.id, Item.similar_choice.is_(None))
        .values(similar_choice=choice)
        .execution_options(synchronize_session=False)
    )
    if affected_rows(result) != 1:
        return False
    item.similar_choice = choice
    return True


async def _past_source(session: AsyncSession, item: Item) -> int | None:
    statement = (
        select(ItemEvent.detail)
        .where(ItemEvent.item_id == item.id, ItemEvent.kind == ANSWERED_FROM_PAST)
        .order_by(ItemEvent.id.desc())
        .limit(1)
    )
    detail = (await session.execute(statement)).scalar_one_or_none() or {}
    source = detail.get("source")
    return source if isinstance(source, int) else None


ANSWERED_FROM_PAST = "answered_from_past"  # the item event: time saved, with its source item
DECLINED = "similar_declined"  # the item event: the reporter said the suggestions are not it


async def _as_made(session: AsyncSession, item: Item, *, already: bool) -> ChoiceMade:
    """What the reporter's choice did, as it stands."""
    choice: Choice | None = item.similar_choice  # type: ignore[assignment]
    target = None
    if choice == "added":
        target = item.merged_into or item.duplicate_of
    elif choice == "answered":
        target = await _past_source(session, item)
    return ChoiceMade(
        item.id,
        item.kind,
        choice,
        target=target,
        anonymous=item.anonymous,
        already=already,
        team_had_it=True,
    )


def _answer_from(item: Item, source: Item, actor: str, now: datetime) -> None:
    """Resolve `item` as answered by `source`'s answer (the reporter said it answers it)."""
    item.status = "resolved"
    item.outcome = "answered"
    item.answer_text = source.answer_text
    item.answered_by = source.answered_by
    item.answered_at = item.answered_at or now
    item.resolved_at = now
    item.resolved_by = actor
    item.resolution_note = None
    item.awaiting_reporter_since = None


def _tell_lead(session: AsyncSession, item: Item, choice: Choice, target: int) -> None:
    """The lead has (or is being sent) the item's card: a line in its thread says why it is
    resolved, and the card is re-rendered (`_send_lead_notice`, once the card is out)."""
    if item.assignee_id:
        enqueue(
            session,
            SIMILAR_LEAD_NOTICE,
            item=item,
            recipient=item.assignee_id,
            choice=choice,
            target=target,
        )


async def choose(
    sessions: async_sessionmaker[AsyncSession],
    *,
    item_id: int,
    user_id: str,
    choice: Choice,
    target_id: int | None = None,
    now: datetime | None = None,
) -> ChoiceMade:
    """The reporter's click on their offer. Only the item's reporter may; the first choice
    stands (a later click says what it did and changes nothing). Raises a refusal (nothing
    changed) for someone else, a gone item, or an item that was not offered."""
    now = now or utcnow()
    async with sessions() as session:
        item = await get_item(session, item_id, for_update=True)
        if item is None:
            raise KeyedRefusal("similar.refused.gone", id=item_id)
        if item.reporter_id != user_id:
            raise KeyedRefusal("similar.refused.not_yours", id=item_id)
        if item.similar_choice is not None:
            return await _as_made(session, item, already=True)
        if _closed(item):
            return ChoiceMade(item.id, item.kind, None, anonymous=item.anonymous)
        target = None
        if choice in ("added", "answered"):
            target = await _target(session, item, target_id, choice)
        if not await _claim_choice(session, item, choice):
            await session.rollback()
            item = await get_item(session, item_id)
            assert item is not None
            return await _as_made(session, item, already=True)
        made = ChoiceMade(item.id, item.kind, choice, anonymous=item.anonymous)
        if choice == "added" and target is not None:
            try:
                merged = await merge_item(session, item, target, user_id, by="reporter", now=now)
            except MergeRefusedError as refused:
                await session.rollback()
                raise KeyedRefusal(
                    "similar.refused.cannot_add", id=item_id, target=target.id
                ) from refused
            if await withdraw_lead_dm(session, item, choice):
                _tell_lead(session, item, choice, merged.into_id)
            made = ChoiceMade(
                item.id, item.kind, choice, target=merged.into_id, anonymous=item.anonymous
            )
        elif choice == "answered" and target is not None:
            _answer_from(item, target, user_id, now)
            add_event(session, item, user_id, ANSWERED_FROM_PAST, source=target.id)
            if await withdraw_lead_dm(session, item, choice):
                _tell_lead(session, item, choice, target.id)
            made = ChoiceMade(
                item.id, item.kind, choice, target=target.id, anonymous=item.anonymous
            )
        else:
            released = await release_hold(session, item, now)
            suggested = [s.get("id") for s in item.similar_suggestions or [] if isinstance(s, dict)]
            add_event(session, item, user_id, DECLINED, choice=choice, suggested=suggested)
            made = ChoiceMade(
                item.id, item.kind, choice, anonymous=item.anonymous, team_had_it=not released
            )
        late_item_moved(session, item)  # a late item's message in triage says so (if it went late)
        await session.commit()
        return made


# --- sending ---------------------------------------------------------------------------------


def register_outbox(registry: OutboxRegistry, policy: SimilarPolicy | None = None) -> None:
    """The purposes of similar items at intake. `policy`: the thresholds (the settings'
    defaults when not given: the check runs only for items intake owed it for)."""
    rules = policy if policy is not None else SimilarPolicy()

    async def send_check(
        outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
    ) -> Posted:
        item = require_item(item)
        params = delivery.params or {}
        await check(session, item, rules, response_url=params.get("response_url"))
        return None, None

    registry.register(
        SIMILAR_CHECK,
        OutboxHandler(send=send_check, undeliverable=nothing_more, gave_up=_check_gave_up),
    )
    registry.register(
        SIMILAR_OFFER,
        OutboxHandler(send=_send_offer, undeliverable=_offer_undeliverable, gave_up=_check_gave_up),
    )
    registry.register(
        SIMILAR_INDEX,
        OutboxHandler(send=_send_index, undeliverable=nothing_more, gave_up=nothing_more),
    )
    registry.register(
        SIMILAR_LEAD_NOTICE,
        OutboxHandler(send=_send_lead_notice, undeliverable=nothing_more, gave_up=alert_gave_up),
    )


async def _check_gave_up(
    session: AsyncSession, delivery: Delivery, item: Item | None, error: str
) -> None:
    """The check (or the offer) kept failing: the lead's DM waits no longer."""
    if item is not None:
        await release_hold(session, item, utcnow())
    await alert_gave_up(session, delivery, item, error)


async def _send_offer(
    outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
) -> Posted:
    item = require_item(item)
    params: dict[str, Any] = dict(delivery.params or {})
    offer = Offer.from_params(params.get("offer"))
    if offer is None or item.similar_choice is not None or _closed(item):
        return None, None  # chosen or resolved meanwhile: nothing to offer any more
    message = views.offer_message(offer, await outbox.reporter_language(item))
    if params.get("_to_dm"):
        return await outbox.post_in_reporter_thread(item, message, {"_to_dm": True})
    if params.get("response_url"):
        return await outbox.respond(params["response_url"], message)
    if params.get("channel"):
        return await outbox.post_ephemeral(
            params["channel"], item.reporter_id, message, thread_ts=params.get("thread_ts")
        )
    return await outbox.post_in_reporter_thread(item, message, params)


async def _offer_undeliverable(
    session: AsyncSession, delivery: Delivery, item: Item | None, error: str
) -> None:
    """Not there (an expired response_url, a channel they left): by DM. The DM failing too,
    the reporter cannot choose: the lead's DM waits no longer."""
    if item is None:
        return
    params = delivery.params or {}
    if not params.get("_to_dm") and kind_of(error) is not FailureKind.PERSON_GONE:
        enqueue(session, SIMILAR_OFFER, item=item, offer=params.get("offer"), _to_dm=True)
    else:
        await release_hold(session, item, utcnow())


async def _send_index(
    outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
) -> Posted:
    if item is None:
        return None, None
    try:
        await index_item(session, item)
    except DATABASE_ERRORS:
        raise
    except Exception:  # lookups still find it (they encode recent items without an entry)
        log.exception("similar items: item %s could not be indexed again", item.id)
    return None, None


async def _send_lead_notice(
    outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
) -> Posted:
    """Under the lead's card, which is then re-rendered (else, for an item they got in a
    digest, a DM of its own; the digest's "Open" shows the card as it is then)."""
    item = require_item(item)
    params: dict[str, Any] = dict(delivery.params or {})
    recipient = delivery.recipient or item.assignee_id or ""
    lang = await outbox.directory.language(recipient, outbox.default_language)
    message = views.lead_notice(
        item.id,
        str(params.get("choice") or "added"),
        int(params.get("target") or 0),
        lang,
        who=item.reporter_id,
        anonymous=item.anonymous,
    )
    if item.lead_dm_channel and item.lead_dm_ts:
        posted = await outbox.post(item.lead_dm_channel, message, thread_ts=item.lead_dm_ts)
        # The card shows it resolved (owed here: only once it is known to be out).
        dm = {"channel": item.lead_dm_channel, "ts": item.lead_dm_ts}
        enqueue(session, "lead_dm_update", item=item, **dm)
        return posted
    if item.lead_digest_ts:
        return await outbox.post(recipient, message)
    if await owed_for_item(session, item.id, LEAD_DM):
        raise Deferred  # its card is being sent: the line goes under it
    return None, None  # the lead never got it: nothing to tell them
