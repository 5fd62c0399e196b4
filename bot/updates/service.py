"""Product updates people record in Slack: what shipped (/shipped) and what is coming
(/upcoming). Create, edit, withdraw and list them, with the checks on who may.

Plain data in and out (no Slack payloads), so the CLI and tests reuse it. Texts are kept in
Slack's format (typed text escaped with `escape_plain` by the caller), broadcast mentions
defused, like every other text Jerry stores for reposting.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.errors import Refusal
from bot.i18n import t
from bot.text import neutralize
from bot.trackers.shipping import ship
from bot.updates.domain import (
    AUDIENCES,
    CONFIDENCES,
    IMPACT_LIMIT,
    ITEM_NUMBER,
    ITEMS_LIMIT,
    LINK_LIMIT,
    TITLE_LIMIT,
    UPDATE_KINDS,
    UpdateCard,
)
from bot.updates.store import (
    active_area,
    area_name,
    area_names,
    get_update,
    link_items,
    missing_items,
    recent_updates_by,
)
from models.updates import ProductUpdate

Kind = Literal["shipped", "upcoming"]
LIST_LIMIT = 20
_HOST = re.compile(r"^[A-Za-z0-9\-._~%\[\]:]+$")


class UpdateRefusal(Refusal):
    """Nothing changed: "not_allowed", "not_found" or "withdrawn", said under the title."""

    reason = ""
    field = "title"

    def message(self, lang: str) -> str:
        return t(f"updates.refused.{self.reason}", lang)


class UpdateNotFoundError(UpdateRefusal):
    reason = "not_found"


class UpdateNotAllowedError(UpdateRefusal):
    """Only the author or a Jerry admin may change an update."""

    reason = "not_allowed"


class UpdateWithdrawnError(UpdateRefusal):
    """The update was withdrawn: nothing more can change it."""

    reason = "withdrawn"


class UpdateInvalidError(ValueError):
    """What is wrong with a form, field by field: {field: (catalog key, params)}."""

    def __init__(self, errors: dict[str, tuple[str, dict[str, object]]]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class UpdateDraft:
    """An update as the form gives it (texts in Slack's format, already escaped)."""

    kind: str
    title: str
    customer_impact: str | None = None
    area_id: int | None = None
    link: str | None = None
    shipped_on: date | None = None
    target_date: date | None = None
    confidence: str | None = None
    audience: str = "internal"
    # Editing, and the form said nothing about the area (no choice made: the update's area
    # is archived, or there is no routing model): the update keeps its area.
    keep_area: bool = False
    # Items it answers, as typed in the form's "items" field ("#12 #40"); `#12` in the
    # title or the customer impact counts too.
    items_text: str = ""


def card_of(update: ProductUpdate, area: str | None) -> UpdateCard:
    return UpdateCard(
        id=update.id,
        kind=update.kind,
        title=update.title,
        customer_impact=update.customer_impact,
        area=area,
        area_id=update.area_id,
        link=update.link,
        shipped_on=update.shipped_on,
        target_date=update.target_date,
        confidence=update.confidence,
        audience=update.audience,
        author_id=update.author_id,
        status=update.status,
        created_at=update.created_at,
        updated_at=update.updated_at,
        withdrawn_at=update.withdrawn_at,
        from_feed=update.feed_id is not None,
    )


def today_in(timezone: str | None, now: datetime) -> date:
    """The date it is at `now` for someone in `timezone` (UTC when unknown)."""
    try:
        zone = ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return now.astimezone(zone).date()


def valid_link(link: str) -> bool:
    """An absolute http(s) address with a host, no spaces, within the column's size."""
    if len(link) > LINK_LIMIT or any(c.isspace() for c in link) or any(c in link for c in "<>|"):
        return False
    try:
        parts = urlsplit(link)
        port = parts.port  # raises on a bad port
    except ValueError:
        return False
    del port
    host = parts.hostname or ""
    return (
        parts.scheme.lower() in {"http", "https"}
        and bool(host)
        and bool(_HOST.match(host))
        and ("." in host or host == "localhost" or host.startswith("["))
    )


def typed_length(text: str) -> int:
    """The length of Slack-formatted text as the person typed it (entities count as one)."""
    return len(text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))


def _clean(draft: UpdateDraft) -> UpdateDraft:
    link = (draft.link or "").strip() or None
    impact = neutralize((draft.customer_impact or "").strip()) or None
    return replace(
        draft,
        title=neutralize(" ".join(draft.title.split())),
        customer_impact=impact,
        link=link,
        area_id=None if draft.keep_area else draft.area_id,
    )


async def _validate(session: AsyncSession, draft: UpdateDraft, today: date) -> UpdateDraft:
    """The cleaned draft, or UpdateInvalidError listing every problem."""
    if draft.kind not in UPDATE_KINDS:
        raise ValueError(f"unknown update kind {draft.kind!r}")
    draft = _clean(draft)
    errors: dict[str, tuple[str, dict[str, object]]] = {}
    if not draft.title:
        errors["title"] = ("updates.error.title_empty", {})
    elif len(draft.title) > TITLE_LIMIT:
        errors["title"] = (
            "updates.error.title_long",
            {"limit": TITLE_LIMIT, "n": len(draft.title)},
        )
    if draft.customer_impact and typed_length(draft.customer_impact) > IMPACT_LIMIT:
        errors["impact"] = ("updates.error.impact_long", {"limit": IMPACT_LIMIT})
    if draft.link is not None and not valid_link(draft.link):
        errors["link"] = ("updates.error.link", {})
    if draft.area_id is not None and await active_area(session, draft.area_id) is None:
        errors["area"] = ("updates.error.area", {})
    if draft.audience not in AUDIENCES:
        errors["audience"] = ("updates.error.audience", {})
    if draft.kind == "shipped":
        named = _named_items(draft)
        if len(named) > ITEMS_LIMIT:
            errors["items"] = ("updates.error.items_limit", {"limit": ITEMS_LIMIT})
        elif draft.items_text.strip() and not re.findall(ITEM_NUMBER, draft.items_text):
            errors["items"] = ("updates.error.items_none", {})
        else:
            missing = await missing_items(session, named)
            if missing:
                errors["items"] = (
                    "updates.error.items_missing",
                    {"ids": ", ".join(f"#{i}" for i in missing)},
                )
        if draft.shipped_on is not None and draft.shipped_on > today:
            errors["date"] = ("updates.error.shipped_future", {"today": today.isoformat()})
        draft = replace(draft, shipped_on=draft.shipped_on or today)
    else:
        if draft.target_date is None:
            errors["date"] = ("updates.error.target_missing", {})
        elif draft.target_date < today:
            errors["date"] = ("updates.error.target_past", {"today": today.isoformat()})
        if draft.confidence not in CONFIDENCES:
            errors["confidence"] = ("updates.error.confidence", {})
    if errors:
        raise UpdateInvalidError(errors)
    return draft


def _named_items(draft: UpdateDraft) -> list[int]:
    """The items the update names, each once, in the order named."""
    texts = [draft.items_text, draft.title, draft.customer_impact or ""]
    found = [int(number) for text in texts for number in re.findall(ITEM_NUMBER, text)]
    return list(dict.fromkeys(found))


def _apply(update: ProductUpdate, draft: UpdateDraft) -> None:
    update.title = draft.title
    update.customer_impact = draft.customer_impact
    if not draft.keep_area:
        update.area_id = draft.area_id
    update.link = draft.link
    update.audience = draft.audience
    if draft.kind == "shipped":
        update.shipped_on, update.target_date, update.confidence = draft.shipped_on, None, None
    else:
        update.shipped_on = None
        update.target_date, update.confidence = draft.target_date, draft.confidence


def may_change(update: ProductUpdate, actor: str, admins: Iterable[str]) -> bool:
    return actor in set(admins) or (update.author_id is not None and update.author_id == actor)


async def _load_for_change(
    session: AsyncSession, update_id: int, actor: str, admins: Iterable[str]
) -> ProductUpdate:
    update = await get_update(session, update_id, for_update=True)
    if update is None:
        raise UpdateNotFoundError(update_id)
    if not may_change(update, actor, admins):
        raise UpdateNotAllowedError(update_id)
    if update.status == "withdrawn":
        raise UpdateWithdrawnError(update_id)
    return update


async def create(
    sessions: async_sessionmaker[AsyncSession],
    draft: UpdateDraft,
    author: str,
    *,
    today: date,
    now: datetime,
) -> UpdateCard:
    """Store a new update by `author` (UpdateInvalidError when the form is wrong)."""
    async with sessions() as session:
        draft = await _validate(session, draft, today)
        update = ProductUpdate(
            kind=draft.kind, author_id=author, status="active", created_at=now, updated_at=now
        )
        draft = replace(draft, keep_area=False)
        _apply(update, draft)
        session.add(update)
        await session.flush()
        items, told = await _ship_named(session, update, draft)
        card = card_of(update, await area_name(session, update.area_id))
        await session.commit()
        return replace(card, items=items, told=told)


async def edit(
    sessions: async_sessionmaker[AsyncSession],
    update_id: int,
    draft: UpdateDraft,
    actor: str,
    admins: Iterable[str],
    *,
    today: date,
    now: datetime,
) -> UpdateCard:
    """Change an update (its kind stays what it was); only its author or an admin may."""
    async with sessions() as session:
        update = await _load_for_change(session, update_id, actor, admins)
        draft = await _validate(session, replace(draft, kind=update.kind), today)
        _apply(update, draft)
        update.updated_at = now
        await session.flush()
        items, told = await _ship_named(session, update, draft)
        card = card_of(update, await area_name(session, update.area_id))
        await session.commit()
        return replace(card, items=items, told=told)


async def _ship_named(
    session: AsyncSession, update: ProductUpdate, draft: UpdateDraft
) -> tuple[tuple[int, ...], int]:
    """A shipped update's items: linked to it, and everyone who asked told it shipped (once:
    an edit naming them again tells nobody twice). The items and how many were told now."""
    if update.kind != "shipped":
        return (), 0
    named = _named_items(draft)
    items = await link_items(session, update, named)
    told = await ship(session, items, update=update) if items else 0
    return tuple(item.id for item in items), told


async def withdraw(
    sessions: async_sessionmaker[AsyncSession],
    update_id: int,
    actor: str,
    admins: Iterable[str],
    *,
    now: datetime,
) -> UpdateCard:
    """Take an update back: summaries no longer show it. Only its author or an admin may."""
    async with sessions() as session:
        update = await _load_for_change(session, update_id, actor, admins)
        update.status = "withdrawn"
        update.withdrawn_at = now
        update.updated_at = now
        await session.flush()
        card = card_of(update, await area_name(session, update.area_id))
        await session.commit()
        return card


async def check_can_edit(
    sessions: async_sessionmaker[AsyncSession], update_id: int, actor: str, admins: Iterable[str]
) -> UpdateCard:
    """For opening the edit form: the update's card if `actor` may change it."""
    async with sessions() as session:
        update = await _load_for_change(session, update_id, actor, admins)
        return card_of(update, await area_name(session, update.area_id))


async def get_card(sessions: async_sessionmaker[AsyncSession], update_id: int) -> UpdateCard:
    async with sessions() as session:
        update = await get_update(session, update_id)
        if update is None:
            raise UpdateNotFoundError(update_id)
        return card_of(update, await area_name(session, update.area_id))


async def recent(
    sessions: async_sessionmaker[AsyncSession], author: str, kind: str, *, limit: int = LIST_LIMIT
) -> list[UpdateCard]:
    """`author`'s active updates of `kind` (at most `limit`), newest first."""
    async with sessions() as session:
        updates = await recent_updates_by(session, author, kind, limit=min(limit, LIST_LIMIT))
        names = await area_names(session, {u.area_id for u in updates if u.area_id is not None})
        return [card_of(u, names.get(u.area_id) if u.area_id else None) for u in updates]
