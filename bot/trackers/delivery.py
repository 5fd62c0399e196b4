"""The outbox's handlers for Jira and Linear: creating an issue and reading a linked one
(calls to the tracker, retried through its outages like any delivery), what the lead hears
of it, and the reporter's "work started" and "it shipped" messages.

A tracker's trouble is not Slack's: a call it could not answer raises `RetryLater` (its
Retry-After, else the outbox's backoff); one it refused for good ends the delivery, and the
lead hears why. The first time a creation has to wait, the lead hears that too, once.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.items.domain import row_id
from bot.items.store import add_event, get_item
from bot.outbox.registry import (
    OutboxContext,
    OutboxHandler,
    OutboxRegistry,
    PermanentDeliveryError,
    Posted,
    RetryLater,
    nothing_more,
    require_item,
)
from bot.outbox.store import enqueue
from bot.relay.delivery import reporter_undeliverable
from bot.relay.lead_actions import update_lead_dm
from bot.relay.mention_names import with_mention_names
from bot.trackers import store
from bot.trackers.connection import NewIssue, Trackers
from bot.trackers.domain import IssueNotFound, IssueState, TrackerError
from bot.trackers.service import CHECK, CREATE, NEWS, STATUS_NOTICE, apply_state
from bot.trackers.shipping import SHIPPED, ship
from bot.triage import alert_gave_up
from bot.views import trackers as views
from bot.views.items import with_fallback_note
from models.deliveries import Delivery
from models.items import Item


def register_outbox(registry: OutboxRegistry, trackers: Trackers) -> None:
    async def create(
        outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
    ) -> Posted:
        return await _create(trackers, session, delivery, require_item(item))

    async def check(
        outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
    ) -> Posted:
        return await _check(trackers, session, delivery, require_item(item))

    registry.register(
        CREATE, OutboxHandler(send=create, undeliverable=_create_refused, gave_up=alert_gave_up)
    )
    registry.register(
        CHECK, OutboxHandler(send=check, undeliverable=nothing_more, gave_up=alert_gave_up)
    )
    registry.register(
        NEWS, OutboxHandler(send=_lead_news, undeliverable=nothing_more, gave_up=alert_gave_up)
    )
    registry.register(
        STATUS_NOTICE,
        OutboxHandler(
            send=with_mention_names(_work_started),
            undeliverable=reporter_undeliverable,
            gave_up=alert_gave_up,
        ),
    )
    registry.register(
        SHIPPED,
        OutboxHandler(
            send=with_mention_names(_shipped),
            undeliverable=reporter_undeliverable,
            gave_up=alert_gave_up,
        ),
    )


def _tell_lead(
    session: AsyncSession, item: Item, lead: str | None, news: str, **params: Any
) -> None:
    if lead:
        enqueue(session, NEWS, item=item, recipient=lead, news=news, id=item.id, **params)


async def _create(
    trackers: Trackers, session: AsyncSession, delivery: Delivery, item: Item
) -> Posted:
    params: dict[str, Any] = dict(delivery.params or {})
    tracker = str(params["tracker"])
    lang = str(params.get("lang") or "en")
    created = params.get("_created")
    try:
        async with trackers.client(tracker) as client:
            if created is None:
                state = await client.create(
                    NewIssue(
                        project=str(params["project"]),
                        issue_type=params.get("issue_type"),
                        title=str(params["title"]),
                        paragraphs=tuple(str(params.get("description") or "").split("\n\n")),
                        permalink=params.get("permalink"),
                        link_title=f"Slack · #{item.id}",
                    )
                )
                # Kept at once: a later failure (the link back) must not create it twice.
                issue = await store.issue_row(session, tracker, state.key)
                store.record_state(issue, state)
                await store.link(session, item, issue, str(delivery.recipient or ""), created=True)
                add_event(
                    session,
                    item,
                    str(delivery.recipient or ""),
                    "issue_created",
                    tracker=tracker,
                    key=state.key,
                )
                update_lead_dm(session, item)
                _tell_lead(
                    session,
                    item,
                    delivery.recipient,
                    "created",
                    tracker=tracker,
                    key=state.key,
                    url=state.url,
                    lang=lang,
                )
                created = {"key": state.key, "external_id": state.external_id, "url": state.url}
                delivery.params = {**params, "_created": created}
                await session.flush()
            if params.get("permalink"):
                await client.attach(
                    IssueState(
                        tracker=tracker,
                        key=created["key"],
                        external_id=created["external_id"],
                        url=created["url"],
                        title="",
                        status="",
                        stage="todo",
                    ),
                    str(params["permalink"]),
                    f"Slack · #{item.id}",
                )
    except TrackerError as exc:
        if exc.retry:
            if created is None and not params.get("_told_waiting"):
                _tell_lead(
                    session,
                    item,
                    delivery.recipient,
                    "waiting",
                    tracker=tracker,
                    error=exc.code,
                    lang=lang,
                )
                delivery.params = {**(delivery.params or params), "_told_waiting": True}
            raise RetryLater(f"{tracker}: {exc.code}", exc.retry_after) from exc
        if created is not None:
            return None, None  # created; only the link back was refused: nothing lost
        delivery.params = {**params, "_refusal": exc.message or exc.code}
        raise PermanentDeliveryError(f"{tracker}: {exc.code}") from exc
    return None, None


async def _create_refused(
    session: AsyncSession, delivery: Delivery, item: Item | None, error: str
) -> None:
    """The tracker will never create it (a wrong project, no permission): the lead hears
    its words."""
    if item is None:
        return
    params = delivery.params or {}
    add_event(session, item, "jerry", "issue_refused", tracker=params.get("tracker"), error=error)
    _tell_lead(
        session,
        item,
        delivery.recipient,
        "refused",
        tracker=params.get("tracker"),
        error=params.get("_refusal") or error,
    )


async def _check(
    trackers: Trackers, session: AsyncSession, delivery: Delivery, item: Item
) -> Posted:
    """Read a newly linked issue: its status shows on the card; a key the tracker does not
    know is unlinked and the lead told; one already shipped is told to the reporters."""
    params: dict[str, Any] = dict(delivery.params or {})
    tracker, key = str(params["tracker"]), str(params["key"])
    issue = await store.issue_by_key(session, tracker, key)
    if issue is None:
        return None, None
    try:
        async with trackers.client(tracker) as client:
            state = await client.read(key)
    except IssueNotFound:
        if await store.unlink(session, item, issue):
            add_event(
                session, item, "jerry", "issue_unlinked", tracker=tracker, key=key, why="not_found"
            )
            update_lead_dm(session, item)
            _tell_lead(session, item, delivery.recipient, "not_found", tracker=tracker, key=key)
        return None, None
    except TrackerError as exc:
        if exc.retry:
            raise RetryLater(f"{tracker}: {exc.code}", exc.retry_after) from exc
        _tell_lead(
            session,
            item,
            delivery.recipient,
            "unreadable",
            tracker=tracker,
            key=key,
            error=exc.message or exc.code,
        )
        return None, None
    if state.key != key:  # the tracker spells it its own way (a moved issue's new key)
        state = replace(state, key=key)
    await apply_state(session, state, source="link")
    update_lead_dm(session, item)
    if issue.shipped_at is not None:
        await ship(session, [item], issue=issue)
    return None, None


async def _lead_news(
    outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
) -> Posted:
    """Under the item's card when the lead has it, else a DM."""
    item = require_item(item)
    params: dict[str, Any] = dict(delivery.params or {})
    lead = str(delivery.recipient or "")
    lang = await outbox.directory.language(lead, outbox.default_language)
    news = str(params.pop("news", ""))
    shown = {
        key: value for key, value in params.items() if not key.startswith("_") and key != "lang"
    }
    message = views.lead_news(news, lang, **shown)
    if item.lead_dm_channel and item.lead_dm_ts and lead == item.assignee_id:
        return await outbox.post(item.lead_dm_channel, message, thread_ts=item.lead_dm_ts)
    return await outbox.post(lead, message)


async def _work_started(
    outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
) -> Posted:
    item = require_item(item)
    if item.status == "resolved" or item.merged_into:
        return None, None  # it moved on before this was sent
    params: dict[str, Any] = dict(delivery.params or {})
    lang = await outbox.reporter_language(item)
    message = views.work_started(
        lang, item_id=item.id, kind=item.kind, about=item.text, tracker=params.get("tracker")
    )
    if params.get("_fallback_from"):
        message = with_fallback_note(message, lang, params["_fallback_from"])
    return await outbox.post_in_reporter_thread(item, message, params)


async def _shipped(
    outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
) -> Posted:
    item = require_item(item)
    params: dict[str, Any] = dict(delivery.params or {})
    lang = await outbox.reporter_language(item)
    customer_item = row_id(params.get("customer_item"))
    customer = params.get("customer")
    if customer_item is not None and customer_item != item.id:
        other = await get_item(session, customer_item)
        customer = other.customer if other is not None else None
    message = views.shipped_notice(
        lang,
        item_id=item.id,
        root_id=row_id(params.get("root")) or item.id,
        kind=item.kind,
        about=item.text,
        title=str(params.get("title") or ""),
        note=str(params.get("note") or ""),
        url=params.get("url"),
        release=params.get("release"),
        customer_item=customer_item,
        customer=customer,
    )
    if params.get("_fallback_from"):
        message = with_fallback_note(message, lang, params["_fallback_from"])
    return await outbox.post_in_reporter_thread(item, message, params)
